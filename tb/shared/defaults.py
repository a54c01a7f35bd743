"""The defaults of a run, in one table: ``make sim``, :class:`tb.shared.job.SimJob`, the tests and
docs/testbench.md all take them from here."""

from __future__ import annotations

RUN_DEFAULTS: dict[str, object] = {
    "sim": "verilator",
    "config": "default",
    "n": 100_000,
    "mode": "batch",
    "idle": "bursts",
    "ready": "mixed",
    "resets": 3,
}
"""Simulator, named config, outputs, transport, handshake patterns (input idle gaps, output
back-pressure) and mid-job resets of a run that does not say otherwise."""
