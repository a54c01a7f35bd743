"""The fp32 mode's rounding of the accumulator to 24 significant bits, seen from the outputs.

``|acc|`` with its leading one at bit ``p >= 24`` drops ``d = p - 23`` bits: the guard bit
(bit ``d - 1``), the sticky bits (below it) and the mantissa's last kept bit (LSB, bit ``d``)
decide the direction (up when guard and (sticky or LSB): ties to even). A wrong rule rounds the
other way, to the other binary32 neighbour of ``acc``; the output shows it when that neighbour,
scaled and rounded like any binary32 accumulator, gives another ``r``.

:func:`rounding_jobs` builds accumulators for each (guard, sticky, LSB) combination, with the
sticky bits one set bit among several (not all ones, so a sticky that ANDs the bits instead of
ORing them rounds the other way), and a scale chosen so the direction shows; everything for all
jobs at once. :func:`features` finds the same cases among any jobs (the coverage bins).
"""

from __future__ import annotations

import numpy as np

from pyref.arith import requantize
from pyref.config import QmacConfig
from pyref.fp32_math import scale_to_mult

from .exact_values import Unrealizable

COMBOS = tuple((g, s, lsb) for g in (0, 1) for s in (0, 1) for lsb in (0, 1))
"""(guard, sticky, LSB) of the accumulator's rounding, every combination."""

ACC_MIN_BIN = "fp32_acc_min"
"""The bin of the accumulator -2^31 (|acc| = 2^31, the only one with its leading one at bit 31)."""


def bin_name(g: int, s: int, lsb: int) -> str:
    """``fp32_acc_g1s0l1``: the bin of one (guard, sticky, LSB) combination."""
    return f"fp32_acc_g{g}s{s}l{lsb}"


BINS = tuple(bin_name(*c) for c in COMBOS)


def _bitlen(mag: np.ndarray) -> np.ndarray:
    return np.frexp(mag.astype(np.float64))[1].astype(np.int64)  # exact below 2^53


def rounding_bits(acc) -> tuple[np.ndarray, ...]:
    """``(d, guard, sticky, lsb)`` of ``|acc|``'s rounding to 24 significant bits (int64
    arrays, ``|acc| <= 2^31``); ``d`` = 0 when nothing is dropped (then all three are 0)."""
    mag = np.abs(np.asarray(acc, np.int64))
    d = np.maximum(_bitlen(mag) - 24, 0)
    dm = np.maximum(d - 1, 0)
    one = np.int64(1)
    guard = np.where(d >= 1, (mag >> dm) & 1, 0)
    sticky = np.where(d >= 2, (mag & ((one << dm) - 1)) != 0, False).astype(np.int64)
    lsb = np.where(d >= 1, (mag >> d) & 1, 0)
    return d, guard, sticky, lsb


def neighbours(acc) -> tuple[np.ndarray, np.ndarray]:
    """``(fl32(acc), the other binary32 neighbour)`` of each accumulator, signed int64: the
    value rounded by ties to even, and the one the opposite direction gives (equal to
    ``acc`` when nothing is dropped)."""
    acc = np.asarray(acc, np.int64)
    d, g, s, lsb = rounding_bits(acc)
    mag = np.abs(acc)
    down = (mag >> d) << d
    up = down + np.where(d >= 1, np.int64(1) << d, 0)
    go_up = (g == 1) & ((s == 1) | (lsb == 1))
    sign = np.where(acc < 0, -1, 1)
    right = np.where(go_up, up, down)
    other = np.where(d >= 1, np.where(go_up, down, up), mag)
    return sign * right, sign * other


def flip_shows(cfg: QmacConfig, acc, mult, r) -> np.ndarray:
    """Whether rounding each accumulator the other way would give another ``r`` (the RTL's
    later steps see only the binary32 value, so that ``r`` is pyref's for the neighbour)."""
    acc = np.asarray(acc, np.int64)
    _, other = neighbours(acc)
    fits = (other >= -(1 << 31)) & (other < (1 << 31))
    r_other = np.asarray(requantize(np.where(fits, other, 0), mult, 0, cfg)).astype(np.int64)
    return fits & (other != acc) & (r_other != np.asarray(r, np.int64))


def features(cfg: QmacConfig, acc, mult, r, visible) -> dict[str, np.ndarray]:
    """The bins of this module for each job: its (guard, sticky, LSB) combination when the
    direction shows in an unclamped output, and the accumulator -2^31 (unclamped)."""
    m = len(acc)
    out = {name: np.zeros(m, bool) for name in (*BINS, ACC_MIN_BIN)}
    if cfg.rounding != "fp32" or not m:
        return out
    acc = np.asarray(acc).astype(np.int64)
    vis = np.asarray(visible, bool)
    d, g, s, lsb = rounding_bits(acc)
    shows = vis & (d >= 1) & flip_shows(cfg, acc, np.asarray(mult).astype(np.int64), r)
    for gg, ss, ll in COMBOS:
        out[bin_name(gg, ss, ll)] = shows & (g == gg) & (s == ss) & (lsb == ll)
    out[ACC_MIN_BIN] = vis & (acc == -(1 << 31))
    return out


def rounding_jobs(
    cfg: QmacConfig, rng: np.random.Generator, n: int, combo: tuple[int, int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(acc, mult, r, ok)`` of ``n`` accumulators with the rounding bits ``combo`` and a
    scale under which the other direction gives another ``r`` (``|r|`` small enough for the
    output to show it); ``ok`` False for a job no scale tried could show.

    ``|acc|`` has its leading one at bit 25 .. 30 (2 .. 7 dropped bits), a random mantissa with
    the LSB given, the guard given, and the sticky bits 0 or exactly one of them set. The scale
    puts ``n + 1/2`` (``n`` random, small) between the two neighbours times the scale: the
    binary32 nearest ``(n + 1/2) / tie`` and its four closest neighbours are tried, then
    another ``n``."""
    if cfg.rounding != "fp32":
        raise Unrealizable("fp32 mode only")
    g, s, lsb = combo
    p = rng.integers(25, 31, n)
    d = p - 23
    mant = ((np.int64(1) << 23) | rng.integers(0, 1 << 23, n)) & ~np.int64(1) | lsb
    low = np.int64(g) << (d - 1)
    if s:
        low |= np.int64(1) << rng.integers(0, d - 1)  # one of the d - 1 sticky bits
    sign = np.where(rng.random(n) < 0.5, -1, 1)
    acc = sign * ((mant << d) | low)
    right, other = neighbours(acc)
    tie = (np.abs(right) + np.abs(other)) / 2.0  # exact in float64 (< 2^32, a half at most)
    r_max = (1 << (cfg.out_bits - 2)) - 1
    mult = np.zeros(n, np.int64)
    r = np.zeros(n, np.int64)
    ok = np.zeros(n, bool)
    for _ in range(8):
        pend = np.flatnonzero(~ok)
        if not pend.size:
            break
        half = rng.integers(0, max(r_max, 1), pend.size) + 0.5
        base = scale_to_mult(half / tie[pend]).astype(np.int64)
        for step in (0, -1, 1, -2, 2):
            pend2 = pend[~ok[pend]]
            if not pend2.size:
                break
            cand = base[np.searchsorted(pend, pend2)] + step
            rr = np.asarray(requantize(acc[pend2], cand, 0, cfg)).astype(np.int64)
            good = flip_shows(cfg, acc[pend2], cand, rr) & (np.abs(rr) <= r_max)
            hit = pend2[good]
            mult[hit], r[hit], ok[hit] = cand[good], rr[good], True
    return acc, mult, r, ok


def acc_min_jobs(
    cfg: QmacConfig, rng: np.random.Generator, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(acc, mult, r)``: the accumulator -2^31 with a power-of-two scale that brings it to
    ``r = -2^k``, ``k`` below ``out_bits - 1`` (exact: no rounding anywhere)."""
    if cfg.rounding != "fp32":
        raise Unrealizable("fp32 mode only")
    if cfg.acc_range[0] > -(1 << 31):
        raise Unrealizable("the accumulator cannot hold -2^31")
    k = rng.integers(0, max(cfg.out_bits - 2, 1), n)
    mult = (127 + k - 31) << 23  # 2^(k - 31)
    acc = np.full(n, -(1 << 31), np.int64)
    return acc, mult.astype(np.int64), -(np.int64(1) << k)
