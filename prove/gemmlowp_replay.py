"""Replayable counterexamples of gemmlowp's rounding stage (qmac_requant_round, ROUNDING 7).

The witness is a product ``p`` and a shift that no job need give. Its difference sits in the
bits the two roundings drop: ``p``'s low 31 bits (the doubling high multiply's nudge) and, at a
right shift ``e``, the low ``e + 1`` bits of ``h`` (``RoundingDivideByPOT``). :func:`witness_jobs`
builds jobs that keep those bits (numpy, all at once): an odd accumulator ``a`` and
``M = low * a^-1 mod 2^31``, so ``a * M`` has the witness's low 31 bits and a high part below
``|a|`` (r in the output range); and ``acc = 2h``, ``M = 2^30`` (the high multiply gives exactly
``h``) for ``h`` with the witness's low ``e + 1`` bits. The requantizer's replay harness
(``prove/replay/replay_requant.v``, STAGE 1) then checks them all as one disjunction: a few
seconds, where the free search over ``acc * M`` (the spec's ``QMAC_REPLAY``) can take minutes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pyref.config import QmacConfig
from pyref.fixed_point import (
    multiply_by_quantized_multiplier,
    multiply_by_quantized_multiplier_scalar,
    saturating_rounding_doubling_high_mul,
    saturating_rounding_doubling_high_mul_scalar,
)
from pyref.layer import Layer

from . import miter, requant_replay, sby
from .plan import Check
from .replay_layer import one_job_layer
from .witness import signed, witness_inputs

LOW31 = (1 << 31) - 1


def replays(check: Check, cfg: QmacConfig) -> bool:
    """Whether ``check`` is gemmlowp's rounding stage at ``cfg``."""
    return check.module == "qmac_requant_round" and cfg.rounding == "gemmlowp"


def _inverse_31(a: np.ndarray) -> np.ndarray:
    """``a^-1 mod 2^31`` of odd ``a`` (Newton's iteration, uint64 wrapping)."""
    a = a.astype(np.uint64)
    x = a.copy()
    for _ in range(5):
        x *= np.uint64(2) - a * x
    return (x & np.uint64(LOW31)).astype(np.int64)


def _in_window(cfg: QmacConfig, acc, mult, shift) -> np.ndarray:
    lo, hi = cfg.out_range
    r = multiply_by_quantized_multiplier(acc, mult, shift)
    return (r >= -hi) & (r <= -lo)


def witness_jobs(
    cfg: QmacConfig, p: int, shift: int, per: int = 16, acc_bits: int = 16
) -> list[tuple[int, int, int]]:
    """Jobs ``(acc, mult, shift)`` that keep the bits of the witness (``p``, ``shift``, both
    signed) gemmlowp's roundings drop, with pyref's r in the window an output zero point takes to
    y = 0; ``per`` of each kind: shift 0 with ``p``'s low 31 bits and sign (odd accumulators
    below ``2^acc_bits``); at the witness's right shift, the same with ``h``'s low bits too; and
    ``acc = 2h``, ``M = 2^30`` with ``h``'s low bits."""
    low, neg = p & LOW31, p < 0
    e = max(-shift, 0)
    jobs: list[tuple[int, int, int]] = []
    a = np.arange(1, 1 << acc_bits, 2, dtype=np.int64)
    acc = -a if neg else a
    mult = (np.int64(low) * _inverse_31(acc & LOW31)) & LOW31  # M > 0: acc * M has p's sign
    mlo, mhi = cfg.mult_range
    ok = (mult > 0) & (mult >= mlo) & (mult <= mhi)
    h_w = saturating_rounding_doubling_high_mul_scalar(p, 1)  # the h of the product p
    for s in [0] + ([shift] if e else []):
        keep = ok & _in_window(cfg, acc, mult, np.full(acc.shape, s))
        if s:
            h = saturating_rounding_doubling_high_mul(acc, mult)
            keep &= (h - h_w) & ((1 << (e + 1)) - 1) == 0
        idx = np.flatnonzero(keep)[:per]
        jobs += [(int(acc[i]), int(mult[i]), s) for i in idx]
    if 0 < e <= 29:
        base = h_w & ((1 << (e + 1)) - 1)
        h = base + (np.arange(-per // 2, per // 2, dtype=np.int64) << (e + 1))
        acc = 2 * h
        blo, bhi = cfg.bias_range
        keep = (acc >= blo) & (acc <= bhi) & _in_window(cfg, acc, 1 << 30, np.full(h.shape, shift))
        jobs += [(int(v), 1 << 30, shift) for v in acc[keep]]
    return jobs


def _free_search(check: Check, cfg: QmacConfig, rtl_dir: Path, work: Path, timeout: float):
    """The proof run again with the spec's ``QMAC_REPLAY`` assumptions (the product is
    ``acc * M`` of two free constants, shift <= 0): ``(acc, M, shift)`` or None."""
    out = sby.run(
        Path(work) / (check.slug + "_replay"),
        miter.task_text(check, rtl_dir, "yices", replay=True),
        timeout=timeout,
        complete=True,
    )
    if out.status != sby.FAILED:
        return None
    vals = witness_inputs(out.workdir)
    return signed(vals["replay_acc"], 32), vals["replay_m"], signed(vals["shift_i"], cfg.shift_bits)


def gemmlowp_layer(
    check: Check, cfg: QmacConfig, rtl_dir: Path, workdir: Path, timeout: float = 300
) -> Layer | None:
    """The one-job layer (the accumulator as the bias, x = 0, the zero point that takes pyref's
    r to y = 0) of the first of the witness jobs under which the RTL's rounding stage differs
    from the spec's, else of the free search; None when ``check`` is not gemmlowp's rounding
    stage at ``cfg`` or neither finds a job."""
    if not replays(check, cfg):
        return None
    vals, work = witness_inputs(workdir), Path(workdir).parent
    p = signed(vals["p_i"], cfg.acc_bits + cfg.mult_bits)
    jobs = witness_jobs(cfg, p, signed(vals["shift_i"], cfg.shift_bits))
    found = None
    if jobs:
        _, found = requant_replay.search(check, cfg, rtl_dir, work, timeout=timeout, jobs=jobs)
    found = found or _free_search(check, cfg, rtl_dir, work, timeout)
    if found is None:
        return None
    acc, m, s = found
    lo, hi = cfg.out_range
    r = multiply_by_quantized_multiplier_scalar(acc, m, s)
    return one_job_layer(cfg, acc, m, s, min(max(-r, lo), hi))
