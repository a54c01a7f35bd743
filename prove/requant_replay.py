"""The replay search of a failed proof of the requantizer's rounding in a shift mode
(qmac_round_shift, qmac_requant_round, qmac_sat at the requantizer's widths), for a witness whose
right r a zero point cannot bring to y = 0 (or whose wrong r saturates to the same): the RTL
module put back into the spec's chain ``p = acc * mult``, ``r = sat(round(p / 2^shift))``
(``prove/replay/replay_requant.v``) and the solver asked for a job, an accumulator in the bias
range, a multiplier and a shift, under which the chain's r differs from the spec's inside that
window."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pyref.arith import requantize
from pyref.config import QmacConfig
from pyref.layer import Layer

from . import replay_search
from .plan import Check
from .replay_layer import one_job_layer
from .witness import signed

SHIFT_MODES = ("floor", "trunc", "half_up", "half_down", "half_zero", "half_away", "half_even")
STAGES = {"qmac_round_shift": 0, "qmac_requant_round": 1, "qmac_sat": 2}
"""The harness's STAGE of each module."""


def replays(check: Check, cfg: QmacConfig) -> bool:
    """Whether ``check`` is one of the requantizer's shift-mode modules at ``cfg``'s widths."""
    if cfg.rounding not in SHIFT_MODES or check.module not in STAGES:
        return False
    params, rtl = dict(check.params), cfg.rtl_parameters()
    p_bits = cfg.acc_bits + cfg.mult_bits
    if check.module == "qmac_round_shift":
        want = {"W": p_bits, "T_BITS": cfg.shift_bits, "ROUNDING": rtl["ROUNDING"]}
    elif check.module == "qmac_requant_round":
        want = {"P_BITS": p_bits, "SHIFT_BITS": cfg.shift_bits, "ROUNDING": rtl["ROUNDING"]}
        want["OUT_BITS"] = cfg.out_bits
    else:
        want = {"IN_W": p_bits, "OUT_W": cfg.out_bits + 2}
    return params == want


def search(
    check: Check,
    cfg: QmacConfig,
    rtl_dir: Path,
    work: Path,
    solver: str = "yices",
    timeout: float = 600,
    jobs: list[tuple[int, int, int]] | None = None,
) -> tuple[str, tuple[int, int, int] | None]:
    """The search's status (``failed``: a job found; ``proven``: there is none; ``timeout``,
    ``error``) and ``(acc, mult, shift)`` of the job found; ``jobs``: only among these
    ``(acc, mult, shift)`` (gemmlowp's witness jobs, prove/gemmlowp_replay.py)."""
    lo, hi = cfg.out_range
    params = {
        "STAGE": STAGES[check.module],
        "ACC_BITS": cfg.acc_bits,
        "BIAS_BITS": cfg.bias_bits,
        "MULT_BITS": cfg.mult_bits,
        "SHIFT_BITS": cfg.shift_bits,
        "ROUNDING": cfg.rtl_parameters()["ROUNDING"],
        "OUT_BITS": cfg.out_bits,
        "R_BELOW": max(hi, 0),
        "R_ABOVE": max(-lo, 0),
    }
    task = Path(work) / (check.slug + "_replay")
    extra, define = {}, ""
    if jobs is not None:
        widths = (cfg.acc_bits, max(cfg.mult_bits, 1), cfg.shift_bits)
        rows = [dict(zip(("acc_i", "mult_i", "shift_i"), zip(widths, job))) for job in jobs]
        extra, define = replay_search.with_candidates(work, check.slug, rows)
        task = task.with_name(task.name + "_candidates")
    status, vals = replay_search.run(
        "replay_requant", params, rtl_dir, task, solver, timeout, extra, define
    )
    if vals is None:
        return status, None
    mult = vals["mult_i"] if cfg.mult_bits else 0
    shift = vals["shift_i"]
    if cfg.rounding == "gemmlowp":  # a two's complement shift
        shift = signed(shift, cfg.shift_bits)
    return status, (signed(vals["acc_i"], cfg.acc_bits), mult, shift)


def requant_layer(
    check: Check, cfg: QmacConfig, rtl_dir: Path, work: Path, timeout: float = 600
) -> Layer | None:
    """The one-job layer of :func:`search`'s answer (the accumulator as the bias, x = 0, and
    the zero point that takes pyref's r to y = 0); None when ``check`` is not such a module at
    ``cfg`` or the search finds no job."""
    if not replays(check, cfg):
        return None
    _, found = search(check, cfg, rtl_dir, work, timeout=timeout)
    if found is None:
        return None
    acc, mult, shift = found
    r = int(np.asarray(requantize(np.array([acc], np.int64), mult, shift, cfg))[0])
    return one_job_layer(cfg, acc, mult if cfg.mult_bits else None, shift, -r)
