"""oracles: see docs/hil.md."""
