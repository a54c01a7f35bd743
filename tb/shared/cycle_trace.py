"""The cycle trace file: qmac's inputs cycle by cycle (``make sim TRACE=file.npz``), as a failed
protocol proof's counterexample gives them (prove/protocol_replay.py). Unlike a vector file,
which holds jobs that the driver plays with its own handshake, a trace fixes every input port
in every cycle, the reset and ``out_ready_i`` included; the cycle transport drives it as it is
and checks the outputs against the jobs the design takes (tb/cycle/trace_replay.py).

Keys: ``config`` (JSON of :class:`~pyref.config.QmacConfig` fields); one row per cycle of
``rst``, ``valid``, ``first``, ``last``, ``out_ready`` (0 or 1), ``x`` and ``w`` (``(T, lanes)``
lane values), ``bias``, ``mult``, ``shift``, ``out_zp``, ``act_min``, ``act_max`` (signed
values, ``mult`` unsigned), each in its port's range.
"""

from __future__ import annotations

import os
import zipfile

import numpy as np

from pyref.config import ConfigError, QmacConfig

FLAGS = ("rst", "valid", "first", "last", "out_ready")
LANE_KEYS = ("x", "w")
JOB_KEYS = ("bias", "mult", "shift", "out_zp", "act_min", "act_max")
KEYS = ("config", *FLAGS, *LANE_KEYS, *JOB_KEYS)


class TraceFileError(ValueError):
    """A trace file that cannot be replayed (missing key, bad shape or range)."""


def _ranges(cfg: QmacConfig) -> dict[str, tuple[int, int]]:
    out_lo, out_hi = -(1 << (cfg.out_bits - 1)), (1 << (cfg.out_bits - 1)) - 1
    shift_lo = -(1 << (cfg.shift_bits - 1)) if cfg.rounding == "gemmlowp" else 0
    return {
        **{k: (0, 1) for k in FLAGS},
        "x": cfg.in_range,
        "w": cfg.w_range,
        "bias": cfg.bias_range,
        "mult": cfg.mult_range if cfg.mult_bits else (0, 0),  # no multiplier: the port unread
        "shift": (shift_lo, shift_lo + (1 << cfg.shift_bits) - 1),
        "out_zp": (out_lo, out_hi),
        "act_min": (out_lo, out_hi),
        "act_max": (out_lo, out_hi),
    }


def save_trace(path: str | os.PathLike, cfg: QmacConfig, rows: dict[str, np.ndarray]) -> str:
    """Write ``rows`` (every key but ``config``) as a trace file of ``cfg``; checked first."""
    arrays = {k: np.asarray(rows[k], dtype=np.int64) for k in KEYS if k != "config"}
    _check(str(path), cfg, arrays)
    np.savez(path, config=np.array(cfg.to_json()), **arrays)
    return str(path)


def load_trace(path: str | os.PathLike) -> tuple[QmacConfig, dict[str, np.ndarray]]:
    """``(config, rows)`` of a trace file; every error names the file and the key."""
    path = str(path)
    if not os.path.isfile(path):
        raise TraceFileError(f"TRACE = {path!r}: no such file")
    if not zipfile.is_zipfile(path):
        raise TraceFileError(f"TRACE = {path!r}: not a .npz file")
    with np.load(path, allow_pickle=False) as data:
        missing = [k for k in KEYS if k not in data.files]
        if missing:
            raise TraceFileError(f"TRACE = {path!r}: missing key(s) {missing}")
        try:
            cfg = QmacConfig.from_json(str(data["config"]))
        except ConfigError as exc:
            raise TraceFileError(f"TRACE = {path!r}: bad config: {exc}") from None
        arrays = {k: np.asarray(data[k]).astype(np.int64) for k in KEYS if k != "config"}
    _check(path, cfg, arrays)
    return cfg, arrays


def _check(path: str, cfg: QmacConfig, arrays: dict[str, np.ndarray]) -> None:
    n = len(arrays["rst"])
    if n == 0:
        raise TraceFileError(f"TRACE = {path!r}: no cycles")
    for k, (lo, hi) in _ranges(cfg).items():
        a = arrays[k]
        shape = (n, cfg.lanes) if k in LANE_KEYS else (n,)
        if a.shape != shape:
            raise TraceFileError(f"TRACE = {path!r}: {k} has shape {a.shape}, expected {shape}")
        bad = np.flatnonzero(((a < lo) | (a > hi)).reshape(n, -1).any(axis=1))
        if bad.size:
            raise TraceFileError(
                f"TRACE = {path!r}: {k} in cycle {int(bad[0])} is out of range: "
                f"allowed {lo} .. {hi}"
            )
