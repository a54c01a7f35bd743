"""The fp32 mode's rounding of the product ``fl32(acc) * scale`` to 24 bits, seen from the outputs.

The exact product of the two 24-bit mantissas, ``P`` (pyref's ``prod``, the RTL's ``prod_i``
normalized), keeps 24 bits from its leading one and drops ``d = bitlen(P) - 24``: the guard bit
(bit ``d - 1``), the sticky bits (below it) and the kept mantissa's LSB (bit ``d``) decide the
direction (up when guard and (sticky or LSB): ties to even, rtl/qmac_fp32_round.v step 1). The
two directions give the binary32 neighbours ``K * 2^e`` and ``(K + 1) * 2^e``, which round to
different integers only when one of them is a half-integer: ``K * 2^e = n + 1/2`` with ``n``
even (LSB 0) or ``(K + 1) * 2^e = n + 1/2`` with ``n`` odd (LSB 1).

:func:`rounding_jobs` builds, for each (guard, sticky, LSB) combination, an exact accumulator
``a * 2^j`` (``a`` odd, 3 to 12 bits) and a scale mantissa ``ms`` whose product has the
combination in its dropped bits and such a ``K`` above them (the sticky bits 0 or exactly one of
them set, among two or more): the low ``d + u + 1`` bits of ``a * ms`` are fixed, so ``ms`` is
``c * a^-1 mod 2^(d+u+1)``; candidates are drawn for all jobs at once and checked.
:func:`features` finds the same cases among any jobs (the coverage bins).
"""

from __future__ import annotations

import numpy as np

from pyref.config import QmacConfig
from pyref.fp32_math import R_LIMIT, bit_length, fp32_requantize, fp32_stages
from pyref.rounding import round_shift

from .exact_values import Unrealizable, acc_cap
from .fp32_values import odd_inverses, product_carry

COMBOS = tuple((g, s, lsb) for g in (0, 1) for s in (0, 1) for lsb in (0, 1))
"""(guard, sticky, LSB) of the product's rounding, every combination."""


def bin_name(g: int, s: int, lsb: int) -> str:
    """``fp32_prod_g1s0l1``: the bin of one (guard, sticky, LSB) combination."""
    return f"fp32_prod_g{g}s{s}l{lsb}"


BINS = tuple(bin_name(*c) for c in COMBOS)

CARRY_SAT_BIN = "fp32_prod_carry_sat"
"""The bin of a product whose rounding to 24 bits carries into the next binade at a magnitude of
2^24 or more: the RTL's rounded mantissa ``m`` is 2^24 at ``f >= 0`` (qmac_fp32_round's
``r_mag[24]``), where the output clamps. A lost carry would give r = 0 instead of the clamp."""

CARRY_SAT_P = (24, 30)
"""The powers of two ``r = sign * 2^p`` the :data:`CARRY_SAT_BIN` jobs reach (|r| < 2^31, the
limit pyref saturates r to)."""

_MANT_LO, _MANT_HI = 1 << 23, 1 << 24


def _to_int(mant: np.ndarray, exp: np.ndarray) -> np.ndarray:
    """``round_half_even(mant * 2^exp)`` saturated to ``R_LIMIT`` (``mant <= 2^24``), the last
    step of :func:`pyref.fp32_math.fp32_requantize`."""
    r = round_shift(mant, np.clip(-exp, 0, 26), "half_even")
    r = np.where(exp > 0, np.minimum(mant << np.clip(exp, 0, 8), R_LIMIT), r)
    return np.minimum(r, R_LIMIT)


def rounding_bits(acc, mult) -> tuple[np.ndarray, ...]:
    """``(d, guard, sticky, lsb, shows)`` of each job's product rounding (int64 / bool arrays):
    ``d`` dropped bits (0: nothing dropped, then the rest is 0 / False) and whether the two
    directions give different ``|r|``."""
    st = fp32_stages(np.asarray(acc, np.int64), np.asarray(mult, np.int64))
    p = st["prod"]
    d = np.maximum(bit_length(p) - 24, 0)
    dm = np.maximum(d - 1, 0)
    one = np.int64(1)
    guard = np.where(d >= 1, (p >> dm) & 1, 0)
    sticky = np.where(d >= 2, (p & ((one << dm) - 1)) != 0, False).astype(np.int64)
    lsb = np.where(d >= 1, (p >> d) & 1, 0)
    down = p >> d
    e = st["prod_exp"] + d
    shows = (d >= 1) & (_to_int(down, e) != _to_int(down + 1, e))
    return d, guard, sticky, lsb, shows


def features(cfg: QmacConfig, acc, mult, visible) -> dict[str, np.ndarray]:
    """The bins of this module for each job: its product's (guard, sticky, LSB) combination when
    the direction shows in an unclamped output, and a carry at 2^24 or more
    (:data:`CARRY_SAT_BIN`, clamped or not)."""
    m = len(acc)
    out = {name: np.zeros(m, bool) for name in (*BINS, CARRY_SAT_BIN)}
    if cfg.rounding != "fp32" or not m:
        return out
    _, g, s, lsb, shows = rounding_bits(np.asarray(acc).astype(np.int64), np.asarray(mult))
    shows &= np.asarray(visible, bool)
    for gg, ss, ll in COMBOS:
        out[bin_name(gg, ss, ll)] = shows & (g == gg) & (s == ss) & (lsb == ll)
    out[CARRY_SAT_BIN] = carries_past_2_24(acc, mult)
    return out


def carries_past_2_24(acc, mult) -> np.ndarray:
    """Per job: the product's kept 24 bits are all ones and its guard bit is set (it rounds up
    to 2^24 * 2^e) and ``e >= 0``, so the rounded magnitude is 2^24 or more (clamped or not)."""
    acc = np.asarray(acc).astype(np.int64)
    st = fp32_stages(acc, np.asarray(mult).astype(np.int64))
    p = st["prod"]
    d = np.maximum(bit_length(p) - 24, 0)
    guard = np.where(d >= 1, (p >> np.maximum(d - 1, 0)) & 1, 0)
    kept = p >> d
    return (acc != 0) & (kept == _MANT_HI - 1) & (guard == 1) & (st["prod_exp"] + d >= 0)


def carry_sat_jobs(
    cfg: QmacConfig, rng: np.random.Generator, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(acc, mult, r)`` of ``n`` jobs of :data:`CARRY_SAT_BIN`, signs alternating: an odd
    accumulator and a scale whose product rounds to 24 bits with a carry to exactly
    ``r = sign * 2^p``, ``p`` in :data:`CARRY_SAT_P` (:func:`tb.shared.fp32_values.product_carry`,
    which checks each pair with exact fractions)."""
    if cfg.rounding != "fp32":
        raise Unrealizable("fp32 mode only")
    cap = min(acc_cap(cfg), -cfg.acc_range[0], cfg.acc_range[1])
    acc = np.zeros(n, np.int64)
    mult = np.zeros(n, np.int64)
    for i in range(n):
        p = int(rng.integers(CARRY_SAT_P[0], CARRY_SAT_P[1] + 1))
        found = product_carry(rng, p, 1 if i % 2 == 0 else -1, cap)
        if found is None:
            raise Unrealizable(
                f"no odd |acc| <= {cap} has a scale whose product rounds up to the next binade"
            )
        acc[i], mult[i] = found
    return acc, mult, np.asarray(fp32_requantize(acc, mult)).astype(np.int64)


def _candidates(rng: np.random.Generator, k: int, combo, u_lo: int, cap: int):
    """``k`` drawn ``(acc, mult, ok)``, each meant to have ``combo`` (checked by the caller);
    ``ok`` False where ``ms`` or the product's length missed (or a set sticky bit would be the
    only one: ``d`` below 3)."""
    g, s, lsb = combo
    one = np.int64(1)
    la = rng.integers(3, 13, k)  # bit length of the odd accumulator mantissa a
    a = (one << (la - 1)) | (2 * rng.integers(0, one << np.maximum(la - 2, 0)) + 1)
    d = la - 1 + rng.integers(0, 2, k)  # bitlen(a * ms) - 24, for ms in [2^23, 2^24)
    u = rng.integers(u_lo, 24, k)  # K * 2^-u = n + 1/2 (or K + 1 does)
    low = np.int64(g) << (d - 1)
    if s:
        low |= one << rng.integers(0, np.maximum(d - 1, 1))  # one of the d - 1 sticky bits
    kpat = np.where(lsb == 1, (one << u) + (one << (u - 1)) - 1, one << (u - 1))
    m = d + u + 1
    c = (kpat << d) | low  # the low m bits of a * ms, m <= 11 + 23 + 1
    mask = ((one << m) - 1).astype(np.uint64)
    ms = ((c.astype(np.uint64) * odd_inverses(a)) & mask).astype(np.int64)
    free = np.maximum(23 - m, 0)  # ms's bits above the fixed ones, below its leading one
    ms = ms | (rng.integers(0, one << free) << m) | np.where(m <= 23, _MANT_LO, 0)
    ok = (ms >= _MANT_LO) & (ms < _MANT_HI) & (bit_length(a * ms) - 24 == d)  # a * ms < 2^36
    jmax = bit_length(np.maximum(cap // a, 1)) - 1
    j = np.minimum(np.floor(rng.random(k) * (jmax + 1)).astype(np.int64), jmax)
    es = 150 - u - d - j  # a * 2^j * ms * 2^(es - 150) = (a * ms) * 2^-(u + d)
    mult = (es << 23) | (ms & (_MANT_LO - 1))
    sign = np.where(rng.random(k) < 0.5, -1, 1)
    return sign * (a << j), mult, ok & (a <= cap) & ((d >= 3) | (s == 0))


def rounding_jobs(
    cfg: QmacConfig, rng: np.random.Generator, n: int, combo: tuple[int, int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(acc, mult, r, ok)`` of ``n`` jobs whose product rounding has ``combo`` (with 2 or more
    dropped bits, the sticky bits 0 or one set bit among two or more) and whose two directions
    give different ``r``, ``|r|`` small enough for the output to show it; ``ok`` False for a job
    no candidate tried gave."""
    if cfg.rounding != "fp32":
        raise Unrealizable("fp32 mode only")
    r_max = (1 << (cfg.out_bits - 2)) - 1
    u_lo = min(max(25 - r_max.bit_length(), 2), 23)  # n < 2^(24 - u) keeps |r| small
    cap = min(acc_cap(cfg), -cfg.acc_range[0], cfg.acc_range[1])
    g, s, lsb = combo
    acc = np.zeros(n, np.int64)
    mult = np.full(n, 127 << 23, np.int64)
    ok = np.zeros(n, bool)
    for _ in range(8):
        pend = np.flatnonzero(~ok)
        if not pend.size or cap < 4:
            break
        ca, cm, cok = _candidates(rng, 64 * pend.size, combo, u_lo, cap)
        ca, cm = np.where(cok, ca, 1), np.where(cok, cm, 127 << 23)
        _, gg, ss, ll, shows = rounding_bits(ca, cm)
        r = np.abs(fp32_requantize(ca, cm))
        good = np.flatnonzero(cok & shows & (gg == g) & (ss == s) & (ll == lsb) & (r <= r_max))[
            : pend.size
        ]
        take = pend[: good.size]
        acc[take], mult[take], ok[take] = ca[good], cm[good], True
    r = np.asarray(fp32_requantize(acc, mult)).astype(np.int64)
    return acc, mult, r, ok
