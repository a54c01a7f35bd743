"""The one-job layer a counterexample's replay writes: the accumulator as the bias (x = w = 0),
so the requantizer sees exactly ``acc``, with the config's full output range."""

from __future__ import annotations

from pyref.config import QmacConfig
from pyref.layer import Layer


def one_job_layer(cfg: QmacConfig, acc: int, mult: int | None, shift: int, out_zp: int) -> Layer:
    """One output of ``acc`` requantized by ``mult`` (None: a shift-only config) and ``shift``,
    offset by ``out_zp`` and clamped to ``cfg.out_range``."""
    lo, hi = cfg.out_range
    return Layer.build(
        cfg,
        x=[[0] * cfg.lanes],
        w=[[0] * cfg.lanes],
        bias=[acc],
        mult=None if mult is None else [mult],
        shift=[shift],
        out_zp=out_zp,
        act_min=lo,
        act_max=hi,
    )
