"""Replayable counterexamples of the protocol properties: the failed proof's waveform (the
checker's qmac, prove/spec/qmac_protocol.v) read step by step into a cycle trace
(tb/shared/cycle_trace.py) at the checker's own parameters, which ``make sim TRACE=...`` drives
cycle by cycle into the RTL and checks against the protocol: the property's failure lands in a
simulation report as an ``in_ready``, ``extra``, ``value`` or ``missing`` mismatch."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pyref.config import QmacConfig
from tb.shared.cycle_trace import save_trace

from .witness import signed, trace_steps

CONFIG = QmacConfig(
    lanes=2,
    in_bits=3,
    in_signed=True,
    w_bits=3,
    acc_bits=6,
    acc_mode="wrap",
    bias_bits=6,
    mult_bits=0,
    shift_bits=1,
    rounding="floor",
    out_bits=6,
)
"""The parameters of the checker's qmac instance, as a config pyref validates."""

PORTS = {
    "rst": "rst_i",
    "valid": "in_valid_i",
    "first": "in_first_i",
    "last": "in_last_i",
    "out_ready": "out_ready_i",
    "x": "in_x_i",
    "w": "in_w_i",
    "bias": "in_bias_i",
    "mult": "in_mult_i",
    "shift": "in_shift_i",
    "out_zp": "in_out_zp_i",
    "act_min": "in_act_min_i",
    "act_max": "in_act_max_i",
}
"""The trace's rows and the checker's input ports they come from."""


def trace_rows(workdir: Path, cfg: QmacConfig = CONFIG) -> dict[str, np.ndarray]:
    """The inputs of the counterexample in ``workdir``, one row per step, as a cycle trace's
    rows: lanes and signed fields as values."""
    steps = trace_steps(workdir, tuple(PORTS.values()))
    rows: dict[str, np.ndarray] = {}
    for key, port in PORTS.items():
        raw = [s.get(port, 0) for s in steps]
        if key in ("x", "w"):
            b = cfg.in_bits if key == "x" else cfg.w_bits
            lanes = [[(v >> (k * b)) & ((1 << b) - 1) for k in range(cfg.lanes)] for v in raw]
            if key == "w" or cfg.in_signed:
                lanes = [[signed(v, b) for v in row] for row in lanes]
            rows[key] = np.array(lanes, dtype=np.int64)
        elif key in ("bias", "out_zp", "act_min", "act_max"):
            b = cfg.bias_bits if key == "bias" else cfg.out_bits
            rows[key] = np.array([signed(v, b) for v in raw], dtype=np.int64)
        else:
            rows[key] = np.array(raw, dtype=np.int64)
    if not cfg.mult_bits:  # in_mult_i is free in the proof and unread without a multiplier
        rows["mult"][:] = 0
    return rows


def replay_command(result, out_dir: Path, rtl: Path | None = None) -> str:
    """Write the cycle trace of ``result``'s failed protocol proof and return the ``make sim``
    line that drives it (``rtl``: the RTL= of the command, None: rtl/)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = save_trace(out_dir / f"{result.check.slug}.npz", CONFIG, trace_rows(result.workdir))
    return f"make sim TRACE={path}" + (f" RTL={rtl}" if rtl else "")
