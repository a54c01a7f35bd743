"""gemmlowp's two roundings seen from the outputs: every guard / sticky / LSB combination of
each, in a job where rounding the other way changes the output.

Step 1, the doubling high multiply (``SaturatingRoundingDoublingHighMul``): ``h`` is
``ab = x' * M`` divided by 2^31 with the nudge: it drops ``ab``'s bits 30..0 (two's complement),
guard bit 30, sticky bits 29..0, LSB bit 31, and rounds up (toward +inf) exactly when the guard
is set. Step 2, the divide (``RoundingDivideByPOT(h, t)``): drops ``h``'s bits ``t-1 .. 0``,
guard bit ``t - 1``, sticky below, LSB bit ``t``; rounds up when the guard is set and (``h >= 0``
or a sticky bit is set): half away from zero.

:func:`mul_jobs` and :func:`div_jobs` build accumulators and requantizations for one
combination (the sticky bits 0 or exactly one of them set), all jobs at once; :func:`features`
finds the combinations among any jobs (the coverage bins).
"""

from __future__ import annotations

import numpy as np

from pyref.config import QmacConfig

from .exact_values import Unrealizable

COMBOS = tuple((g, s, lsb) for g in (0, 1) for s in (0, 1) for lsb in (0, 1))
"""(guard, sticky, LSB), every combination."""

STEPS = ("mul", "div")


def bin_name(step: str, g: int, s: int, lsb: int) -> str:
    """``gemmlowp_mul_g1s0l0``: the bin of one step's combination."""
    return f"gemmlowp_{step}_g{g}s{s}l{lsb}"


BINS = tuple(bin_name(step, *c) for step in STEPS for c in COMBOS)


def _divide(h: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``RoundingDivideByPOT(h, t)`` (TFLite's reference code), int64."""
    one = np.int64(1)
    mask = (one << t) - 1
    rem = h & mask
    threshold = (mask >> 1) + (h < 0)
    return (h >> t) + (rem > threshold)


def _stages(acc, mult, shift):
    """``(ab, h, t)``: the product, the doubling high multiply's result and the right shift of
    each job (int64; |ab| < 2^62)."""
    acc = np.asarray(acc).astype(np.int64)
    s = np.asarray(shift).astype(np.int64)
    left, t = np.maximum(s, 0), np.maximum(-s, 0)
    low32 = acc.view(np.uint64) & np.uint64(0xFFFF_FFFF)
    u = (low32 << left.astype(np.uint64)) & np.uint64(0xFFFF_FFFF)
    xs = u.astype(np.int64) - np.where(u >= np.uint64(1 << 31), np.int64(1 << 32), 0)
    ab = xs * np.asarray(mult).astype(np.int64)
    h = (ab >> 31) + ((ab >> 30) & 1)  # half up on the two's complement bits: the nudge
    return ab, h, t


def features(cfg: QmacConfig, acc, mult, shift, y, zp, act_min, act_max, visible):
    """The bins of this module for each job: each step's combination, when the job's output
    is unclamped and rounding that step the other way gives another ``y``."""
    m = len(acc)
    out = {name: np.zeros(m, bool) for name in BINS}
    if cfg.rounding != "gemmlowp" or not m:
        return out
    vis = np.asarray(visible, bool)
    shift = np.asarray(shift).astype(np.int64)
    if int(np.abs(shift).max()) > 31:
        return out
    ab, h, t = _stages(acc, mult, shift)
    one = np.int64(1)
    y = np.asarray(y).astype(np.int64)

    def shows(r_other):
        y_other = np.clip(r_other + zp, act_min, act_max)
        return vis & (y_other != y)

    g1, s1, l1 = (ab >> 30) & 1, (ab & ((one << 30) - 1)) != 0, (ab >> 31) & 1
    seen1 = shows(_divide(h - np.where(g1 == 1, 1, -1), t))
    tm = np.maximum(t - 1, 0)
    g2 = np.where(t >= 1, (h >> tm) & 1, 0)
    s2 = (t >= 2) & ((h & ((one << tm) - 1)) != 0)
    l2 = (h >> t) & 1
    up2 = (g2 == 1) & ((h >= 0) | s2)
    r = _divide(h, t)
    seen2 = (t >= 1) & shows(r - np.where(up2, 1, -1))
    for g, s, lsb in COMBOS:
        out[bin_name("mul", g, s, lsb)] = seen1 & (g1 == g) & (s1 == s) & (l1 == lsb)
        out[bin_name("div", g, s, lsb)] = seen2 & (g2 == g) & (s2 == s) & (l2 == lsb)
    return out


def _inverse_32(a: np.ndarray) -> np.ndarray:
    """``a^-1 mod 2^32`` for odd ``a`` (Newton's iteration, uint64 wrapping mod 2^64)."""
    a = a.astype(np.uint64)
    x = a.copy()
    for _ in range(5):
        x *= np.uint64(2) - a * x
    return (x & np.uint64(0xFFFF_FFFF)).astype(np.int64)


def _low_bits(rng, n, g, s, lsb, t):
    """``lsb << t | g << (t-1) | sticky`` with the sticky bits 0 or one of bits ``t-2 .. 0``."""
    one = np.int64(1)
    v = (np.int64(lsb) << t) | (np.int64(g) << (t - 1))
    if s:
        v = v | (one << rng.integers(0, t - 1))
    return v


def _quarter_range_bits(cfg: QmacConfig) -> int:
    """``out_bits - 3``, at least 0: results within a quarter of the output range (a 2-bit
    output keeps just the values next to 0)."""
    return max(cfg.out_bits - 3, 0)


def mul_jobs(cfg: QmacConfig, rng: np.random.Generator, n: int, combo) -> tuple[np.ndarray, ...]:
    """``(acc, mult, shift, r, ok)``: ``x' * M`` whose low 32 bits are the combination (shift 0,
    so r = h), ``M`` odd and small (``|h| < M``): ``x' = c * M^-1 mod 2^32``."""
    if cfg.rounding != "gemmlowp":
        raise Unrealizable("gemmlowp only")
    g, s, lsb = combo
    c = _low_bits(rng, n, g, s, lsb, np.full(n, 31, np.int64))
    m = 2 * rng.integers(0, 1 << _quarter_range_bits(cfg), n) + 1
    x = (c * _inverse_32(m)) & 0xFFFF_FFFF  # < 2^64: (c < 2^32) * (inverse < 2^32)
    x = np.where(x >= 1 << 31, x - (1 << 32), x)
    ok = (x >= cfg.acc_range[0]) & (x <= cfg.acc_range[1])
    _, h, t = _stages(x, m, np.zeros(n, np.int64))
    return x, m, np.zeros(n, np.int64), _divide(h, t), ok


def div_jobs(cfg: QmacConfig, rng: np.random.Generator, n: int, combo) -> tuple[np.ndarray, ...]:
    """``(acc, mult, shift, r, ok)``: ``h`` with the combination at a right shift ``t`` in 2 .. 8,
    reached exactly (``M = 2^30``, ``acc = 2h``: the doubling high multiply drops nothing)."""
    if cfg.rounding != "gemmlowp":
        raise Unrealizable("gemmlowp only")
    g, s, lsb = combo
    t = rng.integers(2, 9, n)
    k = _quarter_range_bits(cfg)
    # a 2-bit output keeps q = -1 only: q = 0 rounds up to 2, past its top (1)
    q = rng.integers(-(1 << k), (1 << k) if cfg.out_bits > 2 else 0, n)
    h = (q << (t + 1)) | _low_bits(rng, n, g, s, lsb, t)
    acc = 2 * h
    ok = (acc >= cfg.acc_range[0]) & (acc <= cfg.acc_range[1]) & (-t >= cfg.shift_range[0])
    return acc, np.full(n, 1 << 30, np.int64), -t, _divide(h, t), ok
