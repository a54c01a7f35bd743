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
MUL_STAGE = 3
"""The harness's STAGE of qmac_requant_mul with its chunked multiplier (qmac_mul_pipe)."""


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
    stage: int | None = None,
) -> tuple[str, tuple[int, int, int] | None]:
    """The search's status (``failed``: a job found; ``proven``: there is none; ``timeout``,
    ``error``) and ``(acc, mult, shift)`` of the job found; ``jobs``: only among these
    ``(acc, mult, shift)`` (gemmlowp's witness jobs, prove/gemmlowp_replay.py); ``stage``: the
    harness's STAGE, else that of ``check``'s module."""
    lo, hi = cfg.out_range
    params = {
        "STAGE": STAGES[check.module] if stage is None else stage,
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
    return None if found is None else _job_layer(cfg, found)


def mul_pipe_layer(
    check: Check, cfg: QmacConfig, rtl_dir: Path, work: Path, timeout: float = 300
) -> Layer | None:
    """The chunked multiplier (qmac_mul_pipe), whose proof is its ladder at small widths and
    chunks that no job reaches: the harness's STAGE 3 puts the RTL's qmac_requant_mul, with its
    own chunked multiplier, at ``cfg``'s widths into the spec's chain and asks for a job whose
    wrong product reaches ``r`` (a search for a counterexample, quick where one exists; the
    equivalence at these widths is what no solver proves). The one-job layer, or None when
    ``check`` is not qmac_mul_pipe, ``cfg`` has no multiplier in a shift mode, or none found."""
    if check.module != "qmac_mul_pipe" or cfg.rounding not in SHIFT_MODES or not cfg.mult_bits:
        return None
    _, found = search(check, cfg, rtl_dir, work, timeout=timeout, stage=MUL_STAGE)
    return None if found is None else _job_layer(cfg, found)


def _job_layer(cfg: QmacConfig, found: tuple[int, int, int]) -> Layer:
    acc, mult, shift = found
    r = int(np.asarray(requantize(np.array([acc], np.int64), mult, shift, cfg))[0])
    return one_job_layer(cfg, acc, mult if cfg.mult_bits else None, shift, -r)
