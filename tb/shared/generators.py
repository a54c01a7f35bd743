"""Stimulus generators: jobs for the datapath as :class:`pyref.beats.BeatStream`\\ s.

Each generator ``gen_<kind>(config, rng, m)`` returns a :class:`Stimulus` of ``m`` jobs (fewer
only when the config cannot produce that kind at all, e.g. accumulator overflow with a wide
accumulator and a narrow bias). Directed generators build the accumulator value they need
exactly (:func:`realize_acc`) and pick the requantization so that the interesting step
(a rounding tie, a clamp bound, an overflow) is visible in the output.

=================  =========================================================================
kind               what the jobs are
=================  =========================================================================
``uniform``        x, w uniform over their ranges, log-uniform bias, random K and channel values
``extremes``       every lane at the extreme product (-2^(n-1) * -2^(n-1) when x is signed)
``ties``           accumulators that land exactly on a rounding tie, both signs, both parities
``clamp_edges``    r + out_zp one inside, on, and one outside each of act_min and act_max
``overflow``       bias + products past the accumulator's range, up and down, with and
                   without coming back in range (wrap vs saturate differ there)
``shift_extremes`` the smallest and the largest shift (and 0 in gemmlowp mode)
``mult_extremes``  multiplier 0 and its maximum
``single_beat``    jobs of one beat (K <= lanes)
``long_k``         jobs of 16-40 beats whose K is not a multiple of lanes (padded last beat)
``boundaries``     each side of every edge, built exactly (:mod:`tb.shared.boundaries`)
``vectors``        a layer replayed from a vector file, or given beats (:func:`from_beats`)
=================  =========================================================================

Padding lanes carry a zero product with the other operand random (x = 0 with a random w, or the
reverse), which the interface allows and which a datapath must not mistake for data.
"""

from __future__ import annotations

import math
from typing import Callable, Mapping

import numpy as np

from pyref.config import QmacConfig
from pyref.fixed_point import beats_per_job, ceil_div

from . import fp32_values
from .boundaries import VARIANTS as BOUNDARY_VARIANTS
from .boundaries import gen_boundaries
from .exact_values import (
    OVERFLOW_K_CAP,
    Unrealizable,
    acc_cap,
    bitlen,
    bitlens,
    corner_products,
    exact_requant,
    exact_requants,
    extreme_x,
    int64_exact,
    overflow_lengths,
    pick_odds,
    place,
    realize_acc,
    realize_accs,
)
from .exact_values import fit_requant as _fit_requant
from .stimulus import (
    LONG_JOB_BEATS,
    Stimulus,
    assemble,
    assemble_jobs,
    empty_stimulus,
    from_slots,
    padding_slots,
)

DEFAULT_MIX: dict[str, float] = {
    "uniform": 0.46,
    "extremes": 0.04,
    "ties": 0.10,
    "clamp_edges": 0.08,
    "overflow": 0.04,
    "shift_extremes": 0.05,
    "mult_extremes": 0.04,
    "single_beat": 0.11,
    "long_k": 0.02,
    "boundaries": 0.06,
}
"""Share of each kind in :func:`mixed_stimulus` (``uniform`` takes what the others leave)."""


MIN_DIRECTED_JOBS = 12
"""Each directed kind gets at least this many jobs when the run is big enough, so that every
coverage bin is hit even in short regression runs."""


MIN_JOBS = {"boundaries": 2 * len(BOUNDARY_VARIANTS)}
"""Kinds that need more than :data:`MIN_DIRECTED_JOBS` jobs (every variant twice)."""


def _rand_k(cfg: QmacConfig, rng: np.random.Generator, m: int) -> np.ndarray:
    """Random job lengths: mostly one to a few beats, some longer; any padding."""
    lanes = cfg.lanes
    u = rng.random(m)
    beats = np.where(
        u < 0.5,
        1,
        np.where(
            u < 0.8,
            rng.integers(2, 5, m),
            np.where(u < 0.95, rng.integers(5, 13, m), rng.integers(13, 33, m)),
        ),
    )
    pad = rng.integers(0, lanes, m)
    return np.maximum(beats * lanes - pad, 1).astype(np.int64)


def _rand_bias(cfg: QmacConfig, rng: np.random.Generator, m: int) -> np.ndarray:
    """Bias with a log-uniform magnitude (so small and large biases both occur)."""
    lo, hi = cfg.bias_range
    bits = rng.integers(0, min(cfg.bias_bits, 62) + 1, m)
    mag = rng.integers(0, 1 << 62, m, dtype=np.int64) >> (62 - bits)
    sign = np.where(rng.random(m) < 0.5, -1, 1)
    return np.clip(sign * mag, lo, hi).astype(np.int64)


def _rand_out(cfg: QmacConfig, rng: np.random.Generator, m: int) -> dict[str, np.ndarray]:
    """out_zp / act_min / act_max: full range, random sub-ranges, fused ReLU."""
    lo, hi = cfg.out_range
    mode = rng.integers(0, 4, m)
    zp = np.where(mode == 0, 0, rng.integers(lo, hi + 1, m))
    a = rng.integers(lo, hi + 1, m)
    b = rng.integers(lo, hi + 1, m)
    sub_lo, sub_hi = np.minimum(a, b), np.maximum(a, b)
    relu_hi = rng.integers(np.maximum(zp, lo), hi + 1)
    act_min = np.select([mode <= 1, mode == 2], [lo, sub_lo], zp)
    act_max = np.select(
        [mode <= 1, mode == 2], [hi, sub_hi], np.where(rng.random(m) < 0.5, hi, relu_hi)
    )
    return {
        "out_zp": zp.astype(np.int64),
        "act_min": act_min.astype(np.int64),
        "act_max": act_max.astype(np.int64),
    }


def _centred_out(cfg: QmacConfig, r_estimate: np.ndarray) -> dict[str, np.ndarray]:
    """Full clamp range and an out_zp that brings ``r_estimate`` to about 0 (so a rounding step
    is visible in the output instead of clamped away)."""
    lo, hi = cfg.out_range
    r_estimate = np.asarray(r_estimate, dtype=np.int64)
    m = r_estimate.shape[0]
    return {
        "out_zp": np.clip(-r_estimate, lo, hi).astype(np.int64),
        "act_min": np.full(m, lo, np.int64),
        "act_max": np.full(m, hi, np.int64),
    }


def _uniform_requant(
    cfg: QmacConfig, rng: np.random.Generator, m: int
) -> tuple[np.ndarray, np.ndarray]:
    mlo, mhi = cfg.mult_range if cfg.mult_bits else (0, 0)
    slo, shi = cfg.shift_range
    return rng.integers(mlo, mhi + 1, m), rng.integers(slo, shi + 1, m)


def _dots(k: np.ndarray, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per-job dot products as float (for magnitude estimates only)."""
    starts = np.cumsum(k) - k
    if not len(k):
        return np.zeros(0)
    # Exact in int64 (products of at most 32 bits, at most a few thousand per job), then float.
    return np.add.reduceat(np.multiply(x, w, dtype=np.int64), starts).astype(np.float64)


def _random_jobs(
    cfg: QmacConfig,
    rng: np.random.Generator,
    k: np.ndarray,
    kind: str,
    uniform_requant: float = 0.5,
) -> Stimulus:
    """Jobs of lengths ``k`` with x and w uniform, drawn straight into their beats: every lane
    slot gets a random x and w, then each padding slot (after a job's K elements) loses one of
    the two (a zero product with the other operand random)."""
    m = k.shape[0]
    lanes = cfg.lanes
    beats = beats_per_job(k, lanes)
    slots = int(beats.sum()) * lanes
    xx = rng.integers(cfg.in_range[0], cfg.in_range[1] + 1, slots)
    ww = rng.integers(cfg.w_range[0], cfg.w_range[1] + 1, slots)
    pad = padding_slots(cfg, k)
    if pad.size:
        zero_x = rng.random(pad.size) < 0.5
        xx[pad[zero_x]] = 0
        ww[pad[~zero_x]] = 0
    bias = _rand_bias(cfg, rng, m)
    # The exact dot product of each job (its padding products are 0), as float for the scale.
    sums = np.einsum("jl,jl->j", xx.reshape(-1, lanes), ww.reshape(-1, lanes))
    dots = np.add.reduceat(sums, np.cumsum(beats) - beats).astype(np.float64) if m else np.zeros(0)
    acc = bias + dots
    mult, shift = _fit_requant(cfg, rng, acc)
    um, us = _uniform_requant(cfg, rng, m)
    pick = rng.random(m) < uniform_requant
    values = {
        "bias": bias,
        "mult": np.where(pick, um, mult),
        "shift": np.where(pick, us, shift),
        **_rand_out(cfg, rng, m),
    }
    return from_slots(cfg, k, xx, ww, values, kind)


def gen_uniform(cfg: QmacConfig, rng: np.random.Generator, m: int) -> Stimulus:
    """x and w uniform over their full ranges, random K, log-uniform bias; half the jobs with a
    uniform random multiplier and shift, half scaled into the output range."""
    return _random_jobs(cfg, rng, _rand_k(cfg, rng, m), "uniform")


def gen_single_beat(cfg: QmacConfig, rng: np.random.Generator, m: int) -> Stimulus:
    """Jobs of one beat: K from 1 to lanes."""
    return _random_jobs(cfg, rng, rng.integers(1, cfg.lanes + 1, m), "single_beat", 0.2)


def gen_long_k(cfg: QmacConfig, rng: np.random.Generator, m: int) -> Stimulus:
    """Long jobs (16-40 beats) whose K is not a multiple of lanes (when lanes > 1)."""
    lanes = cfg.lanes
    beats = rng.integers(LONG_JOB_BEATS, 41, m)
    pad = rng.integers(1, lanes, m) if lanes > 1 else np.zeros(m, np.int64)
    return _random_jobs(cfg, rng, beats * lanes - pad, "long_k", 0.2)


def gen_extremes(cfg: QmacConfig, rng: np.random.Generator, m: int) -> Stimulus:
    """Whole beats at the extreme products: every lane -2^(n-1) * -2^(n-1) (the largest
    product; x at its maximum when unsigned), alternating with every lane at the most negative
    product."""
    lanes = cfg.lanes
    k = rng.integers(1, 5, m) * lanes
    (px, pw, _), (nx, nw, _) = corner_products(cfg)
    ex, ew = extreme_x(cfg), cfg.w_range[0]
    neg = np.arange(m) % 2 == 1
    x = np.repeat(np.where(neg, nx, ex), k)
    w = np.repeat(np.where(neg, nw, ew), k)
    bias = _rand_bias(cfg, rng, m) // 1024
    acc = bias + _dots(k, x, w)
    mult, shift = _fit_requant(cfg, rng, acc)
    values = {"bias": bias, "mult": mult, "shift": shift, **_rand_out(cfg, rng, m)}
    return assemble(cfg, rng, k, x, w, values, "extremes")


def _pick_odd(rng: np.random.Generator, max_abs: int) -> int:
    """A random odd number in [1, max_abs] (max_abs >= 1)."""
    return 2 * int(rng.integers(0, (max_abs + 1) // 2)) + 1


def gen_ties(cfg: QmacConfig, rng: np.random.Generator, m: int) -> Stimulus:
    """Accumulators that land exactly on a rounding tie of the shift in use, alternating
    positive / negative and the parity of the lower neighbour (so ``half_even`` rounds both
    ways). In gemmlowp mode: ties of the doubling high multiply, ties of the final
    rounding divide, and values where the two roundings differ from one rounding.

    All jobs at once (:func:`_shift_ties`, :func:`_gemmlowp_ties`); the job-by-job builders
    below are the readable definition and build the fp32 ties and, past int64, every kind."""
    if cfg.rounding == "fp32" and int64_exact(cfg):
        acc, mult, r_est, keep = _fp32_ties(cfg, rng, m)
        return realize_jobs(
            cfg,
            rng,
            acc[keep],
            {"mult": mult[keep], "shift": 0, **_centred_out(cfg, r_est[keep])},
            "ties",
        )
    if cfg.rounding != "fp32" and int64_exact(cfg):
        if cfg.rounding == "gemmlowp":
            acc, mult, shift, r_est = _gemmlowp_ties(cfg, rng, m)
        else:
            acc, mult, shift, r_est = _shift_ties(cfg, rng, m)
        return realize_jobs(
            cfg, rng, acc, {"mult": mult, "shift": shift, **_centred_out(cfg, r_est)}, "ties"
        )
    return gen_ties_by_job(cfg, rng, m)


def realize_jobs(
    cfg: QmacConfig,
    rng: np.random.Generator,
    acc: np.ndarray,
    values: Mapping[str, np.ndarray],
    kind: str,
) -> Stimulus:
    """Jobs whose accumulators are exactly ``acc`` (:func:`realize_accs`), with the other job
    values given; a job the length cap cannot build is left out."""
    rz = realize_accs(cfg, rng, acc)
    if not rz.ok.all():
        values = {name: np.asarray(v)[rz.ok] if np.ndim(v) else v for name, v in values.items()}
        rz = rz.select(rz.ok)
    if not rz.k.shape[0]:
        return empty_stimulus(cfg, kind)
    return assemble(cfg, rng, rz.k, rz.x, rz.w, {**values, "bias": rz.bias}, kind)


def _shift_ties(cfg: QmacConfig, rng: np.random.Generator, m: int):
    """``(acc, mult, shift, r_est)`` of ``m`` ties of the shift modes (:func:`_shift_tie_job`,
    for all jobs at once: the parity of the lower neighbour is reached by moving an odd ``a``
    that misses it by 2, not by drawing it again)."""
    i = np.arange(m)
    sign = np.where(i % 2 == 0, 1, -1)
    parity = (i // 2) % 2
    c_max = (1 << cfg.out_bits) - 1
    cap = acc_cap(cfg)
    shift_max = cfg.shift_range[1]
    if cfg.mult_bits == 0:
        m_odd, j = np.ones(m, np.int64), np.zeros(m, np.int64)
    else:
        m_odd = pick_odds(rng, np.full(m, min((1 << min(cfg.mult_bits, cfg.out_bits)) - 1, c_max)))
        j = rng.integers(0, np.minimum(cfg.mult_bits - bitlens(m_odd), shift_max - 1) + 1)
    a_max = np.maximum(1, c_max // m_odd)
    a_abs = pick_odds(rng, a_max)
    wrong = ((sign * a_abs * m_odd - 1) // 2) % 2 != parity
    a_abs = np.where(
        wrong & (a_abs + 2 <= a_max), a_abs + 2, np.where(wrong & (a_abs >= 3), a_abs - 2, a_abs)
    )
    a = sign * a_abs
    c = a * m_odd
    t_room = np.maximum(bitlens(cap // a_abs) - 1, 0)  # |a| * 2^(t-1-j) <= cap
    t = rng.integers(j + 1, np.maximum(j + 1, np.minimum(shift_max, j + 1 + t_room)) + 1)
    acc = a << (t - 1 - j)
    mult = m_odd << j if cfg.mult_bits else np.zeros(m, np.int64)
    return acc, mult, t, (c - 1) // 2


def _gemmlowp_ties(cfg: QmacConfig, rng: np.random.Generator, m: int):
    """``(acc, mult, shift, r_est)`` of ``m`` gemmlowp ties (:func:`_gemmlowp_tie_job` for all
    jobs at once, variant by variant)."""
    i = np.arange(m)
    variant = i % 3
    sign = np.where((i // 3) % 2 == 0, 1, -1)
    c_max = (1 << cfg.out_bits) - 1
    acc = np.zeros(m, np.int64)
    mult = np.full(m, 1 << 30, np.int64)
    shift = np.zeros(m, np.int64)
    r_est = np.zeros(m, np.int64)
    # Tie in SaturatingRoundingDoublingHighMul: x * M = odd * 2^30.
    v = variant == 0
    n = int(v.sum())
    m_odd = pick_odds(rng, np.full(n, min(c_max, (1 << 15) - 1)))
    a = sign[v] * pick_odds(rng, np.maximum(1, c_max // m_odd))
    j = rng.integers(np.maximum(0, bitlens(a) - 1), 31 - bitlens(m_odd) + 1)
    acc[v], mult[v], r_est[v] = a << (30 - j), m_odd << j, (a * m_odd + 1) // 2
    # Tie in RoundingDivideByPOT: M = 2^30, x = C * 2^e, h = C * 2^(e-1), C odd.
    v = variant == 1
    cc = sign[v] * pick_odds(rng, np.full(int(v.sum()), c_max))
    e = rng.integers(1, 31 - bitlens(cc) + 1)
    acc[v], shift[v], r_est[v] = cc << e, -e, cc // 2
    # Both roundings round up where one rounding would not (x = 1, M = 2^30, s = -1).
    v = variant == 2
    a = 4 * rng.integers(0, max(1, c_max // 2), int(v.sum())) + 1
    acc[v], shift[v], r_est[v] = a, -1, a // 4
    return acc, mult, shift, r_est


FP32_TIE_POOL = 24
"""fp32 tie variants 3-12 (near-half, sticky, tie-neighbour and carry products, found by
search with exact fractions) build at most this many distinct ``(acc, scale)`` pairs per
variant and run; their other jobs reuse one of these pairs of the same sign, each with its own
operands (x, w, bias). Variants 0-2 build every job afresh."""


def _fp32_ties(cfg: QmacConfig, rng: np.random.Generator, m: int):
    """``(acc, mult, r_est, keep)`` of ``m`` fp32 ties: variants 0-2 (ties of the final
    rounding and of the accumulator's rounding to binary32) computed for all their jobs at
    once, variants 3-12 from a pool of :data:`FP32_TIE_POOL` pairs per variant built by
    :func:`_fp32_tie_value`."""
    nv = _FP32_TIE_VARIANTS
    i = np.arange(m)
    variant = i % nv
    sign = np.where((i // nv) % 2 == 0, 1, -1)
    parity = (i // (2 * nv)) % 2
    cap = acc_cap(cfg)
    acc = np.zeros(m, np.int64)
    mult = np.zeros(m, np.int64)
    r_est = np.zeros(m, np.int64)
    keep = np.ones(m, bool)
    # Variants 0-2: n + 1/2 (n of the given parity) from acc * 2^-t, or from an accumulator
    # halfway between two binary32 values whose even neighbour times the scale is n + 1/2.
    v = variant <= 2
    nn = 2 * rng.integers(0, max(1, (1 << cfg.out_bits) // 4), int(v.sum())) + parity[v]
    a = 2 * nn + 1
    t_max = np.maximum(1, np.minimum(24 - bitlens(a), bitlens(np.maximum(cap // a, 1))))
    t = rng.integers(1, t_max + 1)
    j = rng.integers(0, 7, a.shape[0])
    kind1 = variant[v] == 2
    acc_v = np.where(
        variant[v] == 0, a << (t - 1), np.where(kind1, ((1 << 25) - 1) << j, ((1 << 24) + 1) << j)
    )
    # scale = a * 2^-e exactly: a odd below 2^24 is the mantissa, shifted to 24 bits.
    e = np.where(variant[v] == 0, t, np.where(kind1, 26 + j, 25 + j))
    la = bitlens(a)
    mult_v = np.where(
        variant[v] == 0,
        (127 - t) << 23,  # 2^-t
        ((la - 1 - e + 127) << 23) | ((a << (24 - la)) & 0x7F_FFFF),
    )
    acc[v], mult[v], r_est[v] = sign[v] * acc_v, mult_v, sign[v] * nn
    # Variants 3-12: a pool per variant.
    for var in range(3, nv):
        idx = np.flatnonzero(variant == var)
        pool = []
        for jj in idx[:FP32_TIE_POOL].tolist():
            try:
                pool.append((jj, *_fp32_tie_value(cfg, rng, jj)))
            except Unrealizable:
                keep[jj] = False
        built = {p[0] for p in pool}
        for sgn in (1, -1):
            mine = [p for p in pool if sign[p[0]] == sgn]
            rest = np.array(
                [jj for jj in idx.tolist() if sign[jj] == sgn and jj not in built], np.int64
            )
            if not rest.size:
                continue
            if not mine:
                keep[rest] = False
                continue
            table = np.array([p[1:] for p in mine], np.int64)
            pick = table[rng.integers(0, len(mine), rest.size)]
            acc[rest], mult[rest], r_est[rest] = pick[:, 0], pick[:, 1], pick[:, 2]
        for jj, a_, m_, r_ in pool:
            acc[jj], mult[jj], r_est[jj] = a_, m_, r_
    return acc, mult, r_est, keep


def gen_ties_by_job(cfg: QmacConfig, rng: np.random.Generator, m: int) -> Stimulus:
    """:func:`gen_ties` job by job."""
    jobs = []
    for i in range(m):
        try:
            if cfg.rounding == "gemmlowp":
                job = _gemmlowp_tie_job(cfg, rng, i)
            elif cfg.rounding == "fp32":
                job = _fp32_tie_job(cfg, rng, i)
            else:
                job = _shift_tie_job(cfg, rng, i)
        except Unrealizable:
            continue
        jobs.append(job)
    return assemble_jobs(cfg, rng, jobs, "ties")


def _shift_tie_job(cfg: QmacConfig, rng: np.random.Generator, i: int) -> dict:
    sign = 1 if i % 2 == 0 else -1
    parity = (i // 2) % 2
    c_max = (1 << cfg.out_bits) - 1  # r ~ C/2 stays within reach of out_zp
    cap = acc_cap(cfg)
    shift_max = cfg.shift_range[1]
    if cfg.mult_bits == 0:
        m_odd, j = 1, 0
    else:
        m_odd = _pick_odd(rng, min((1 << min(cfg.mult_bits, cfg.out_bits)) - 1, c_max))
        j_max = min(cfg.mult_bits - bitlen(m_odd), shift_max - 1)
        j = int(rng.integers(0, j_max + 1))
    a_max = max(1, c_max // m_odd)
    for _ in range(16):
        a = sign * _pick_odd(rng, a_max)
        c = a * m_odd
        if ((c - 1) // 2) % 2 == parity:
            break
    t_room = max(0, int(math.floor(math.log2(cap / abs(a)))))  # |a| * 2^(t-1-j) <= cap
    t = int(rng.integers(j + 1, max(j + 1, min(shift_max, j + 1 + t_room)) + 1))
    acc = a << (t - 1 - j)
    mult = m_odd << j if cfg.mult_bits else 0
    x, w, bias = realize_acc(cfg, rng, acc)
    r_est = (c - 1) // 2
    out = _centred_out(cfg, np.array([r_est]))
    return {
        "x": x,
        "w": w,
        "bias": bias,
        "mult": mult,
        "shift": t,
        **{k: int(v[0]) for k, v in out.items()},
    }


def _gemmlowp_tie_job(cfg: QmacConfig, rng: np.random.Generator, i: int) -> dict:
    variant = i % 3
    sign = 1 if (i // 3) % 2 == 0 else -1
    c_max = (1 << cfg.out_bits) - 1
    if variant == 0:
        # Tie in SaturatingRoundingDoublingHighMul: x * M = odd * 2^30.
        m_odd = _pick_odd(rng, min(c_max, (1 << 15) - 1))
        a = sign * _pick_odd(rng, max(1, c_max // m_odd))
        j_lo = max(0, bitlen(a) - 1)
        j_hi = 31 - bitlen(m_odd)
        j = int(rng.integers(j_lo, j_hi + 1))
        acc, mult, s = a << (30 - j), m_odd << j, 0
        r_est = (a * m_odd + 1) // 2
    elif variant == 1:
        # Tie in RoundingDivideByPOT: M = 2^30, x = C * 2^e, h = C * 2^(e-1), C odd.
        cc = sign * _pick_odd(rng, c_max)
        e = int(rng.integers(1, 31 - bitlen(cc) + 1))
        acc, mult, s = cc << e, 1 << 30, -e
        r_est = cc // 2
    else:
        # Both roundings round up where one rounding would not (x = 1, M = 2^30, s = -1).
        a = 4 * int(rng.integers(0, max(1, c_max // 2))) + 1
        acc, mult, s = a, 1 << 30, -1
        r_est = a // 4
    x, w, bias = realize_acc(cfg, rng, acc)
    out = _centred_out(cfg, np.array([r_est]))
    return {
        "x": x,
        "w": w,
        "bias": bias,
        "mult": mult,
        "shift": s,
        **{k: int(v[0]) for k, v in out.items()},
    }


FP32_TIE_NEIGHBOURS = (
    ("ulp_below", 0),
    ("ulp_below", 1),
    ("ulp_above", None),
    ("sticky_high", 0),
    ("sticky_high", 1),
)
"""fp32 tie variants 7-11: (kind of :func:`tb.shared.fp32_values.tie_neighbour`, shape of the
mantissa product: 1 = 48 bits, 0 = 47, None = alternating)."""

_FP32_TIE_VARIANTS = 8 + len(FP32_TIE_NEIGHBOURS)
"""Variant 12 (the last): a product whose rounding to 24 bits carries into the next binade."""


def _fp32_tie_value(cfg: QmacConfig, rng: np.random.Generator, i: int) -> tuple[int, int, int]:
    """``(acc, mult, r)`` of fp32 tie job ``i``: ties of the final rounding, accumulator ties that
    decide the output, the double-rounding cases, ties of the product's rounding, products one LSB
    above such a tie, exact products one binary32 ulp either side of ``n + 1/2`` or a quarter ulp
    above a tie of their rounding, for both shapes of the mantissa product, and products whose
    rounding carries into the next binade (tb.shared.fp32_values)."""
    nv = _FP32_TIE_VARIANTS
    variant = i % nv
    sign = 1 if (i // nv) % 2 == 0 else -1
    cap = acc_cap(cfg)
    if variant == 6:
        # n + 1 and n must both be seen through out_zp = -sign * n: n <= 2^(out_bits-1) - 2.
        found = fp32_values.product_sticky(rng, (1 << (cfg.out_bits - 1)) - 2, sign, cap)
        if found is None:
            raise Unrealizable("no fp32 product one LSB above a tie fits the output range")
        acc, mult, n = found
    elif variant == _FP32_TIE_VARIANTS - 1:
        # r = sign * 2^p, and 2^p must be seen through out_zp = -sign * 2^p.
        n = 1 << int(rng.integers(0, cfg.out_bits - 1))
        found = fp32_values.product_carry(rng, n.bit_length() - 1, sign, cap)
        if found is None:
            raise Unrealizable("no fp32 product whose rounding carries fits the accumulator")
        acc, mult = found
    elif variant > 6:
        kind, top = FP32_TIE_NEIGHBOURS[variant - 7]
        top = (i // (2 * nv)) % 2 if top is None else top
        ns = fp32_values.tie_neighbour_ns(kind, top, (1 << (cfg.out_bits - 1)) - 1, cap)
        if not ns:
            raise Unrealizable(f"no fp32 {kind} product (top = {top}) fits the output range")
        n = ns[int(rng.integers(0, len(ns)))]
        acc, mult = fp32_values.tie_neighbour(rng, kind, n, sign, top, cap)
    else:
        acc, mult, n = _fp32_half_pair(cfg, rng, variant, sign, (i // (2 * nv)) % 2)
    return acc, mult, sign * n


def _fp32_tie_job(cfg: QmacConfig, rng: np.random.Generator, i: int) -> dict:
    """fp32 tie job ``i`` (:func:`_fp32_tie_value`, realized)."""
    acc, mult, r = _fp32_tie_value(cfg, rng, i)
    x, w, bias = realize_acc(cfg, rng, acc)
    out = _centred_out(cfg, np.array([r]))
    return {
        "x": x,
        "w": w,
        "bias": bias,
        "mult": mult,
        "shift": 0,
        **{k: int(v[0]) for k, v in out.items()},
    }


def _fp32_half_pair(
    cfg: QmacConfig, rng: np.random.Generator, variant: int, sign: int, parity: int
) -> tuple[int, int, int]:
    """``(acc, mult, n)`` of fp32 tie variants 0-5 around ``sign * (n + 1/2)``."""
    cap = acc_cap(cfg)
    for _ in range(16):  # a near-half case needs an n with a small odd divisor: try a few
        n = 2 * int(rng.integers(0, max(1, (1 << cfg.out_bits) // 4))) + parity
        if variant == 0:
            pair = fp32_values.final_tie(rng, n, sign, cap)
        elif variant in (1, 2):
            pair = fp32_values.acc_tie(rng, n, sign, variant - 1)
        else:
            pair = fp32_values.near_half(
                rng, n, sign, ("below", "tie_below", "tie_above")[variant - 3], cap
            )
        if pair is not None:
            return pair[0], pair[1], n
    raise Unrealizable(f"no fp32 near-half case found (variant {variant})")


def gen_clamp_edges(cfg: QmacConfig, rng: np.random.Generator, m: int) -> Stimulus:
    """``r + out_zp`` exactly one inside, on, and one outside act_max and act_min, with random
    clamp ranges and zero points (all jobs at once; :func:`gen_clamp_edges_by_job` is the same
    job by job, used past int64)."""
    if not int64_exact(cfg):
        return gen_clamp_edges_by_job(cfg, rng, m)
    lo, hi = cfg.out_range
    edge = np.arange(m) % 6
    # A clamp range at least 3 wide when the output width allows it.
    span = np.minimum(hi - lo, np.maximum(2, rng.integers(0, hi - lo + 1, m)))
    act_min = rng.integers(lo, hi - span + 1)
    act_max = act_min + span
    zp = rng.integers(lo, hi + 1, m)
    z = np.where(edge < 3, act_max, act_min) + edge % 3 - 1  # -1, 0, +1 around the bound
    acc, mult, shift = exact_requants(cfg, rng, z - zp)
    return realize_jobs(
        cfg,
        rng,
        acc,
        {"mult": mult, "shift": shift, "out_zp": zp, "act_min": act_min, "act_max": act_max},
        "clamp_edges",
    )


def gen_clamp_edges_by_job(cfg: QmacConfig, rng: np.random.Generator, m: int) -> Stimulus:
    """:func:`gen_clamp_edges` job by job."""
    lo, hi = cfg.out_range
    jobs = []
    for i in range(m):
        edge = i % 6
        # A clamp range at least 3 wide when the output width allows it.
        span = min(hi - lo, max(2, int(rng.integers(0, hi - lo + 1))))
        act_min = int(rng.integers(lo, hi - span + 1))
        act_max = act_min + span
        zp = int(rng.integers(lo, hi + 1))
        bound = act_max if edge < 3 else act_min
        z = bound + (edge % 3) - 1  # -1, 0, +1 around the bound
        try:
            acc, mult, shift = exact_requant(cfg, rng, z - zp)
            x, w, bias = realize_acc(cfg, rng, acc)
        except Unrealizable:
            continue
        jobs.append(
            {
                "x": x,
                "w": w,
                "bias": bias,
                "mult": mult,
                "shift": shift,
                "out_zp": zp,
                "act_min": act_min,
                "act_max": act_max,
            }
        )
    return assemble_jobs(cfg, rng, jobs, "clamp_edges")


def gen_overflow(cfg: QmacConfig, rng: np.random.Generator, m: int) -> Stimulus:
    """Bias near the top (bottom) plus extreme products past the accumulator's range;
    every other job then comes back in range with products of the other sign, where wrapping
    and saturating accumulators give different answers. Empty when the config cannot
    overflow within :data:`OVERFLOW_K_CAP` products. All jobs at once
    (:func:`gen_overflow_by_job` is the same job by job, used past int64)."""
    if not int64_exact(cfg):
        return gen_overflow_by_job(cfg, rng, m)
    (px, pw, pmax), (nx, nw, pmin) = corner_products(cfg)
    acc_lo, acc_hi = cfg.acc_range
    blo, bhi = cfg.bias_range
    lanes = cfg.lanes
    n_up, n_down = overflow_lengths(cfg)
    if n_up is None and n_down is None:
        return empty_stimulus(cfg, "overflow")
    i = np.arange(m)
    up = i % 2 == 0 if n_up is not None and n_down is not None else np.full(m, n_up is not None)
    recover = (i // 2) % 2 == 1
    step, back = np.where(up, pmax, pmin), np.where(up, pmin, pmax)
    off = rng.integers(0, np.where(up, min(pmax, bhi - blo), min(-pmin, bhi - blo)) + 1)
    bias = np.where(up, bhi - off, blo + off)
    need = np.where(up, (acc_hi - bias) // max(pmax, 1) + 1, (bias - acc_lo) // max(-pmin, 1) + 1)
    # Whole beats of extreme products, plus possibly one beat more.
    n_p = (ceil_div(need, lanes) + rng.integers(0, 2, m)) * lanes
    # Just far enough back that the exact sum is in range again, plus a few more.
    over = np.where(up, bias + n_p * step - acc_hi, acc_lo - bias - n_p * step)
    more = rng.integers(0, 2 * lanes + 1, m)
    n_b = np.where(recover & (back != 0), ceil_div(over, np.maximum(np.abs(back), 1)) + more, 0)
    keep = n_p + n_b <= OVERFLOW_K_CAP
    n_p, n_b, up, bias = n_p[keep], n_b[keep], up[keep], bias[keep]
    n = int(keep.sum())
    if not n:
        return empty_stimulus(cfg, "overflow")
    k, x, w = place(
        [n_p, n_b],
        [
            (np.repeat(np.where(up, px, nx), n_p), np.repeat(np.where(up, pw, nw), n_p)),
            (np.repeat(np.where(up, nx, px), n_b), np.repeat(np.where(up, nw, pw), n_b)),
        ],
    )
    # Accumulators end anywhere up to the full range: scale for that.
    mult, shift = _fit_requant(cfg, rng, np.full(n, float(acc_hi)))
    values = {"bias": bias, "mult": mult, "shift": shift, **_rand_out(cfg, rng, n)}
    return assemble(cfg, rng, k, x, w, values, "overflow")


def gen_overflow_by_job(cfg: QmacConfig, rng: np.random.Generator, m: int) -> Stimulus:
    """:func:`gen_overflow` job by job."""
    (px, pw, pmax), (nx, nw, pmin) = corner_products(cfg)
    acc_lo, acc_hi = cfg.acc_range
    blo, bhi = cfg.bias_range
    lanes = cfg.lanes
    n_up, n_down = overflow_lengths(cfg)
    jobs = []
    for i in range(m):
        up = i % 2 == 0
        recover = (i // 2) % 2 == 1
        if (n_up if up else n_down) is None:
            up = not up
            if (n_up if up else n_down) is None:
                break
        step, back = (pmax, pmin) if up else (pmin, pmax)
        if up:
            bias = bhi - int(rng.integers(0, min(pmax, bhi - blo) + 1))
            need = (acc_hi - bias) // pmax + 1
        else:
            bias = blo + int(rng.integers(0, min(-pmin, bhi - blo) + 1))
            need = (bias - acc_lo) // -pmin + 1
        # Whole beats of extreme products, plus possibly one beat more.
        n_p = (beats_per_job(need, lanes) + int(rng.integers(0, 2))) * lanes
        xs = [px if up else nx] * n_p
        ws = [pw if up else nw] * n_p
        if recover and back != 0:
            # Just far enough back that the exact sum is in range again, plus a few more.
            over = (bias + n_p * step - acc_hi) if up else (acc_lo - bias - n_p * step)
            n_b = ceil_div(over, abs(back)) + int(rng.integers(0, 2 * lanes + 1))
            xs += [nx if up else px] * n_b
            ws += [nw if up else pw] * n_b
        if len(xs) > OVERFLOW_K_CAP:
            continue
        jobs.append((xs, ws, bias))
    if not jobs:
        return empty_stimulus(cfg, "overflow")
    n = len(jobs)
    k = np.array([len(j[0]) for j in jobs], np.int64)
    x = np.concatenate([np.asarray(j[0], np.int64) for j in jobs])
    w = np.concatenate([np.asarray(j[1], np.int64) for j in jobs])
    # Accumulators end anywhere up to the full range: scale for that.
    mult, shift = _fit_requant(cfg, rng, np.full(n, float(acc_hi)))
    values = {
        "bias": np.array([j[2] for j in jobs], np.int64),
        "mult": mult,
        "shift": shift,
        **_rand_out(cfg, rng, n),
    }
    return assemble(cfg, rng, k, x, w, values, "overflow")


def gen_shift_extremes(cfg: QmacConfig, rng: np.random.Generator, m: int) -> Stimulus:
    """The smallest and the largest shift (and 0 in gemmlowp mode, whose shift is signed),
    with accumulators small enough to be seen at shift 0 and large ones at the largest shift."""
    slo, shi = cfg.shift_range
    choices = [slo, shi] + ([0] if slo < 0 else [])
    k = rng.integers(1, 2 * cfg.lanes + 1, m)
    n = int(k.sum())
    x = rng.integers(cfg.in_range[0], cfg.in_range[1] + 1, n)
    w = rng.integers(cfg.w_range[0], cfg.w_range[1] + 1, n)
    shift = np.array([choices[i % len(choices)] for i in range(m)], np.int64)
    bias = _rand_bias(cfg, rng, m)
    # Where the output should show the accumulator directly, make it small: x = 0 products.
    small = (shift == 0) | ((cfg.rounding == "gemmlowp") & (shift == shi))
    job_of = np.repeat(np.arange(m), k)
    x = np.where(small[job_of] & (rng.random(n) < 0.9), 0, x)
    lo, hi = cfg.out_range
    bias = np.where(small, rng.integers(lo, hi + 1, m), bias)
    bias = np.clip(bias, *cfg.bias_range)
    mult, _ = _fit_requant(cfg, rng, bias + _dots(k, x, w))
    if cfg.mult_bits and cfg.rounding not in ("gemmlowp", "fp32"):
        mult = np.where(small, rng.integers(0, min(4, 1 << cfg.mult_bits), m), mult)
    values = {"bias": bias, "mult": mult, "shift": shift, **_rand_out(cfg, rng, m)}
    return assemble(cfg, rng, k, x, w, values, "shift_extremes")


def gen_mult_extremes(cfg: QmacConfig, rng: np.random.Generator, m: int) -> Stimulus:
    """The smallest multiplier (0; 2^-126 in fp32 mode) and the largest (none when the config
    has no multiplier)."""
    if cfg.mult_bits == 0:
        return empty_stimulus(cfg, "mult_extremes")
    mlo, mhi = cfg.mult_range
    k = _rand_k(cfg, rng, m)
    n = int(k.sum())
    x = rng.integers(cfg.in_range[0], cfg.in_range[1] + 1, n)
    w = rng.integers(cfg.w_range[0], cfg.w_range[1] + 1, n)
    bias = _rand_bias(cfg, rng, m)
    mult = np.where(np.arange(m) % 2 == 0, mlo, mhi).astype(np.int64)
    _, shift = _fit_requant(cfg, rng, bias + _dots(k, x, w), mult=np.full(m, mhi, np.int64))
    values = {"bias": bias, "mult": mult, "shift": shift, **_rand_out(cfg, rng, m)}
    return assemble(cfg, rng, k, x, w, values, "mult_extremes")


GENERATORS: dict[str, Callable[[QmacConfig, np.random.Generator, int], Stimulus]] = {
    "uniform": gen_uniform,
    "extremes": gen_extremes,
    "ties": gen_ties,
    "clamp_edges": gen_clamp_edges,
    "overflow": gen_overflow,
    "shift_extremes": gen_shift_extremes,
    "mult_extremes": gen_mult_extremes,
    "single_beat": gen_single_beat,
    "long_k": gen_long_k,
    "boundaries": gen_boundaries,
}
"""The generators by kind (all but ``vectors``)."""


def mixed_stimulus(
    cfg: QmacConfig,
    rng: np.random.Generator,
    n_jobs: int,
    mix: Mapping[str, float] | None = None,
    *,
    validate_stream: bool = True,
) -> Stimulus:
    """``n_jobs`` jobs from every generator in ``mix`` (default :data:`DEFAULT_MIX`), shuffled.

    Each directed kind gets at least :data:`MIN_DIRECTED_JOBS` jobs when ``n_jobs`` leaves room;
    ``uniform`` fills up whatever the others do not produce. ``validate_stream = False`` leaves
    the beat stream's own checks to the caller (``pyref.beats.predict_jobs`` runs them: the
    testbench's :func:`tb.shared.prepare.prepare` predicts right after).
    """
    mix = dict(DEFAULT_MIX if mix is None else mix)
    unknown = sorted(set(mix) - set(GENERATORS))
    if unknown:
        raise ValueError(f"unknown stimulus kind(s) {unknown}; known: {', '.join(GENERATORS)}")
    if n_jobs < 1:
        raise ValueError(f"n_jobs = {n_jobs} is out of range: allowed 1 or more")
    total_w = sum(mix.values())
    directed = [k for k, v in mix.items() if k != "uniform" and v > 0]
    counts = {k: int(round(mix[k] / total_w * n_jobs)) for k in directed}
    if n_jobs >= 4 * MIN_DIRECTED_JOBS * max(len(directed), 1):
        counts = {k: max(c, MIN_DIRECTED_JOBS, MIN_JOBS.get(k, 0)) for k, c in counts.items()}
    parts = []
    for kind, count in counts.items():
        count = min(count, n_jobs - sum(p.n_jobs for p in parts))
        if count > 0:
            parts.append(GENERATORS[kind](cfg, rng, count))
    rest = n_jobs - sum(p.n_jobs for p in parts)
    if rest > 0:
        parts.append(gen_uniform(cfg, rng, rest))
    stim = Stimulus.concat_take(parts, rng.permutation(sum(p.n_jobs for p in parts)))
    if validate_stream:
        stim.validate()
    else:
        stim.validate_jobs()
    return stim


def plan_resets(stim: Stimulus, rng: np.random.Generator, n_resets: int) -> np.ndarray:
    """Jobs to cut with a reset after their first beat: multi-beat jobs spread over the run
    (never the first two jobs, at least three jobs apart). Fewer when the stimulus has fewer
    candidates."""
    if n_resets <= 0:
        return np.zeros(0, np.int64)
    cand = np.flatnonzero(stim.beats_per_job >= 2)
    cand = cand[cand >= 2]
    chosen: list[int] = []
    if cand.size:
        edges = np.linspace(0, stim.n_jobs, n_resets + 1)
        for a, b in zip(edges[:-1], edges[1:]):
            inside = cand[(cand >= a) & (cand < b)]
            if chosen:  # at least three jobs from every job chosen so far
                inside = inside[
                    np.all(np.abs(inside[:, None] - np.array(chosen)[None, :]) >= 3, axis=1)
                ]
            if inside.size:
                chosen.append(int(rng.choice(inside)))
    return np.array(sorted(chosen), np.int64)
