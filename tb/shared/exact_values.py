"""Exact values for directed stimulus: operands whose accumulator is exactly a wanted value
(:func:`realize_acc`), requantization that hits a wanted output exactly (:func:`exact_requant`),
and the extreme products and overflow lengths a config allows."""

from __future__ import annotations

import math

import numpy as np

from pyref.config import QmacConfig
from pyref.fixed_point import ceil_div

from .fp32_values import fit_mult, pow2_mult


OVERFLOW_K_CAP = 1024
"""The longest job (in elements) the overflow generator builds; overflow that needs more is
treated as unreachable for the config (see coverage)."""


def bitlen(v: int) -> int:
    return abs(int(v)).bit_length()


def corner_products(cfg: QmacConfig) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """``(x, w, x*w)`` of the largest positive and the most negative single product."""
    xs, ws = cfg.in_range, cfg.w_range
    corners = [(x, w, x * w) for x in xs for w in ws]
    return max(corners, key=lambda c: c[2]), min(corners, key=lambda c: c[2])


def extreme_x(cfg: QmacConfig) -> int:
    """The x of the issue's extreme beat: -2^(n-1) when signed, else the largest x."""
    return cfg.in_range[0] if cfg.in_signed else cfg.in_range[1]


class Unrealizable(ValueError):
    """The config cannot build the requested accumulator value within the length cap."""


def realize_acc(cfg: QmacConfig, rng: np.random.Generator, target: int, *, k_min: int = 1,
                k_cap: int = OVERFLOW_K_CAP) -> tuple[list[int], list[int], int]:
    """``(x, w, bias)`` with ``bias + sum(x * w) == target`` exactly, every value in range.

    The bias carries as much as its width allows; the products carry the rest, all with the
    same sign so the running sum moves monotonically from the bias to ``target`` (no overflow
    on the way when ``target`` is in range, whatever the accumulator mode). A few random
    products come first when ``target`` is far from the accumulator's limits.
    """
    target = int(target)
    blo, bhi = cfg.bias_range
    xlo, xhi = cfg.in_range
    wlo, whi = cfg.w_range
    acc_lo, acc_hi = cfg.acc_range
    xs: list[int] = []
    ws: list[int] = []
    # Optional random prefix (either sign), only well away from the accumulator's limits.
    n_pre = int(rng.integers(0, 2 * cfg.lanes + 1))
    pre_max = n_pre * max(abs(xlo), xhi) * max(abs(wlo), whi)
    if n_pre and abs(target) + 2 * pre_max < acc_hi // 2:
        xs = [int(v) for v in rng.integers(xlo, xhi + 1, n_pre)]
        ws = [int(v) for v in rng.integers(wlo, whi + 1, n_pre)]
    want = target - sum(a * b for a, b in zip(xs, ws))
    # Same-sign products: x > 0 always (works for unsigned x), w carries the sign.
    xp = xhi
    sgn = 1 if want >= 0 else -1
    wmag = whi if sgn > 0 else -wlo
    big = xp * wmag
    if blo <= want <= bhi:
        bias = want
        d = 0
    else:
        edge = bhi if want > bhi else blo
        # Leave room (< wmag) for the remainder of the greedy split.
        bias = edge - sgn * min(wmag, bhi - blo)
        bias = min(max(bias, blo), bhi)
        d = want - bias
    n_full, rest = divmod(abs(d), big)
    x_part, rest = divmod(rest, wmag)
    n_unit = 0
    if not blo <= bias + sgn * rest <= bhi:
        n_unit = ceil_div(rest, xp)  # finish with w = +-1 (narrow bias)
    if len(xs) + n_full + (x_part > 0) + n_unit > k_cap:
        raise Unrealizable(f"accumulator {target} needs more than {k_cap} products")
    xs += [xp] * n_full
    ws += [sgn * wmag] * n_full
    if x_part:
        xs.append(int(x_part))
        ws.append(sgn * wmag)
    if n_unit:
        for _ in range(n_unit):
            step = min(xp, rest)
            xs.append(int(step))
            ws.append(sgn)
            rest -= step
    else:
        bias += sgn * rest
    if not xs or len(xs) < k_min:
        # Zero products to reach k_min: x = 0 with a random w.
        extra = max(k_min - len(xs), 1 if not xs else 0)
        xs += [0] * extra
        ws += [int(v) for v in rng.integers(wlo, whi + 1, extra)]
    assert bias + sum(a * b for a, b in zip(xs, ws)) == target and blo <= bias <= bhi
    return xs, ws, int(bias)


def acc_cap(cfg: QmacConfig) -> int:
    """A comfortable largest |accumulator| for directed jobs (realizable in a few beats)."""
    (_, _, pmax), (_, _, pmin) = corner_products(cfg)
    return min(cfg.acc_range[1], cfg.bias_range[1] + 4 * cfg.lanes * max(pmax, -pmin, 1))


def exact_requant(cfg: QmacConfig, rng: np.random.Generator, r: int) -> tuple[int, int, int]:
    """``(acc, mult, shift)`` whose requantized value is exactly ``r`` (no rounding involved)."""
    cap = acc_cap(cfg)
    room = max(0, int(math.floor(math.log2(cap / max(abs(r), 1)))))
    if cfg.rounding == "gemmlowp":
        # M = 2^30, s = -e: h = acc / 2 exactly, then an exact divide by 2^e.
        e = int(rng.integers(0, max(0, min(30, room - 1)) + 1))
        return r << (e + 1), 1 << 30, -e
    if cfg.rounding == "fp32":
        # scale = 2^-e, acc = r * 2^e: exact in binary32 while |acc| < 2^24.
        e = int(rng.integers(0, max(0, min(24 - bitlen(r), room)) + 1))
        return r << e, pow2_mult(-e), 0
    shift_max = cfg.shift_range[1]
    if cfg.mult_bits == 0:
        t = int(rng.integers(0, min(shift_max, room) + 1))
        return r << t, 0, t
    j = int(rng.integers(0, min(cfg.mult_bits - 1, shift_max) + 1))
    t = int(rng.integers(j, max(j, min(shift_max, j + room)) + 1))
    return r << (t - j), 1 << j, t


def overflow_lengths(cfg: QmacConfig) -> tuple[int | None, int | None]:
    """Products needed (at the extreme product, from the extreme bias) to push the accumulator
    past its top and past its bottom; None when more than :data:`OVERFLOW_K_CAP` would be
    needed (or no product has that sign)."""
    (_, _, pmax), (_, _, pmin) = corner_products(cfg)
    acc_lo, acc_hi = cfg.acc_range
    blo, bhi = cfg.bias_range
    up = (acc_hi - bhi) // pmax + 1 if pmax > 0 else None      # bhi + up * pmax > acc_hi
    down = (blo - acc_lo) // -pmin + 1 if pmin < 0 else None   # blo + down * pmin < acc_lo
    return (up if up is not None and up <= OVERFLOW_K_CAP else None,
            down if down is not None and down <= OVERFLOW_K_CAP else None)


def fit_requant(cfg: QmacConfig, rng: np.random.Generator, acc: np.ndarray,
                 mult: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(mult, shift)`` that scale accumulators of about ``|acc|`` into the output range
    (give or take a bit, so that some saturate and some are small)."""
    acc = np.abs(np.asarray(acc, dtype=np.float64))
    m = acc.shape[0]
    acc_bl = np.frexp(acc)[1].astype(np.int64)  # bit length of |acc| (0 for 0)
    jitter = rng.integers(-1, 2, m)
    if cfg.rounding == "gemmlowp":
        if mult is None:
            mult = rng.integers(1 << 30, 1 << 31, m)
        # r ~ acc * M / 2^31 * 2^s with M / 2^31 in [1/2, 1)
        s = (cfg.out_bits - 1) - acc_bl + 1 + jitter
        lo, hi = cfg.shift_range
        return np.asarray(mult, np.int64), np.clip(s, lo, hi).astype(np.int64)
    if cfg.rounding == "fp32":
        if mult is None:
            mult = fit_mult(rng, acc, cfg.out_bits)
        return np.asarray(mult, np.int64), np.zeros(m, np.int64)
    if mult is None:
        mult = (rng.integers(max(1, 1 << (cfg.mult_bits - 1)), 1 << cfg.mult_bits, m)
                if cfg.mult_bits else np.zeros(m, np.int64))
    mult = np.asarray(mult, np.int64)
    mult_bl = np.frexp(mult.astype(np.float64))[1].astype(np.int64) if cfg.mult_bits else 0
    t = acc_bl + mult_bl - (cfg.out_bits - 1) + jitter
    lo, hi = cfg.shift_range
    return mult, np.clip(t, lo, hi).astype(np.int64)
