"""backends: see docs/hil.md."""
