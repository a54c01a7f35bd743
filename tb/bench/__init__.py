"""make bench: the transports' speed next to native ceilings (python -m tb.bench)."""
