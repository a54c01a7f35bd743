"""Exact values for directed stimulus: operands whose accumulator is exactly a wanted value
(:func:`realize_acc`), requantization that hits a wanted output exactly (:func:`exact_requant`),
and the extreme products and overflow lengths a config allows."""

from __future__ import annotations

import dataclasses
import functools
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


@functools.lru_cache(maxsize=None)
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


def realize_acc(
    cfg: QmacConfig,
    rng: np.random.Generator,
    target: int,
    *,
    k_min: int = 1,
    k_cap: int = OVERFLOW_K_CAP,
) -> tuple[list[int], list[int], int]:
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


@functools.lru_cache(maxsize=None)
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
    up = (acc_hi - bhi) // pmax + 1 if pmax > 0 else None  # bhi + up * pmax > acc_hi
    down = (blo - acc_lo) // -pmin + 1 if pmin < 0 else None  # blo + down * pmin < acc_lo
    return (
        up if up is not None and up <= OVERFLOW_K_CAP else None,
        down if down is not None and down <= OVERFLOW_K_CAP else None,
    )


def fit_requant(
    cfg: QmacConfig, rng: np.random.Generator, acc: np.ndarray, mult: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
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
        mult = (
            rng.integers(max(1, 1 << (cfg.mult_bits - 1)), 1 << cfg.mult_bits, m)
            if cfg.mult_bits
            else np.zeros(m, np.int64)
        )
    mult = np.asarray(mult, np.int64)
    mult_bl = np.frexp(mult.astype(np.float64))[1].astype(np.int64) if cfg.mult_bits else 0
    t = acc_bl + mult_bl - (cfg.out_bits - 1) + jitter
    lo, hi = cfg.shift_range
    return mult, np.clip(t, lo, hi).astype(np.int64)


# --- The same, for whole arrays of jobs at once --------------------------------------------------


def bitlens(v: np.ndarray) -> np.ndarray:
    """``abs(v).bit_length()`` element by element (int64 ``|v|`` below 2^53)."""
    return np.frexp(np.abs(np.asarray(v, dtype=np.int64)).astype(np.float64))[1].astype(np.int64)


def pick_odds(rng: np.random.Generator, max_abs) -> np.ndarray:
    """Random odd numbers in ``[1, max_abs]`` (``max_abs >= 1``, a scalar or one per value)."""
    max_abs = np.asarray(max_abs, dtype=np.int64)
    return 2 * rng.integers(0, (max_abs + 1) // 2) + 1


def int64_exact(cfg: QmacConfig) -> bool:
    """Every accumulator, bias and sum of the vectorized builders fits int64 with room to spare
    (else they fall back to the job-by-job builders on Python integers)."""
    return cfg.acc_bits <= 60 and cfg.bias_bits <= 60


@dataclasses.dataclass
class Realized:
    """Operands for ``M`` wanted accumulators (:func:`realize_accs`): job j has ``k[j]`` elements
    in ``x``/``w`` (all jobs back to back) and ``bias[j]``; ``ok[j]`` is False where the value
    needs more than the length cap (those jobs hold no elements)."""

    k: np.ndarray
    x: np.ndarray
    w: np.ndarray
    bias: np.ndarray
    ok: np.ndarray

    def select(self, keep: np.ndarray) -> "Realized":
        """The jobs ``keep`` (a boolean mask), in order."""
        keep = np.asarray(keep, dtype=bool)
        elem = np.repeat(keep, self.k)
        return Realized(self.k[keep], self.x[elem], self.w[elem], self.bias[keep], self.ok[keep])


def place(
    lengths: list[np.ndarray], values: list[tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Join per-job segments: job j gets ``lengths[0][j]`` elements of segment 0, then
    ``lengths[1][j]`` of segment 1, ...; ``values[s]`` is ``(x, w)`` of segment s, all its
    elements (over all jobs) back to back. Returns ``(k, x, w)``, all jobs back to back."""
    lengths = [np.asarray(n, dtype=np.int64) for n in lengths]
    k = np.sum(lengths, axis=0).astype(np.int64)
    total = int(k.sum())
    x = np.empty(total, np.int64)
    w = np.empty(total, np.int64)
    offset = np.cumsum(k) - k
    for n, (vx, vw) in zip(lengths, values):
        cnt = int(n.sum())
        if cnt:
            pos = np.repeat(offset - (np.cumsum(n) - n), n) + np.arange(cnt)
            x[pos] = vx
            w[pos] = vw
        offset = offset + n
    return k, x, w


def job_sums(k: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Per-job sums of ``v`` (job j has ``k[j]`` values, all jobs back to back; int64)."""
    k = np.asarray(k, dtype=np.int64)
    cs = np.concatenate([[0], np.cumsum(v, dtype=np.int64)])
    ends = np.cumsum(k)
    return cs[ends] - cs[ends - k]


def realize_accs(
    cfg: QmacConfig, rng: np.random.Generator, targets: np.ndarray, *, k_cap: int = OVERFLOW_K_CAP
) -> Realized:
    """:func:`realize_acc` for many targets at once, built the same way: an optional random
    prefix well away from the limits, the bias as far as its width allows, then same-sign
    products (x > 0, w carries the sign), finishing with w = +-1 when the bias is too narrow for
    the remainder; one zero product (x = 0, random w) when nothing else is needed. The random
    values are drawn field by field for all jobs, not job by job. Needs :func:`int64_exact`."""
    if not int64_exact(cfg):
        raise ValueError("realize_accs needs accumulators and biases of at most 60 bits")
    targets = np.asarray(targets, dtype=np.int64)
    m = targets.shape[0]
    blo, bhi = cfg.bias_range
    xlo, xhi = cfg.in_range
    wlo, whi = cfg.w_range
    acc_hi = cfg.acc_range[1]
    n_pre = rng.integers(0, 2 * cfg.lanes + 1, m)
    pre_max = n_pre * max(abs(xlo), xhi) * max(abs(wlo), whi)
    n_pre = np.where(np.abs(targets) + 2 * pre_max < acc_hi // 2, n_pre, 0)
    xpre = rng.integers(xlo, xhi + 1, int(n_pre.sum()))
    wpre = rng.integers(wlo, whi + 1, xpre.shape[0])
    want = targets - job_sums(n_pre, xpre * wpre)
    xp = xhi
    sgn = np.where(want >= 0, 1, -1)
    wmag = np.where(sgn > 0, whi, -wlo)
    inside = (want >= blo) & (want <= bhi)
    edge = np.where(want > bhi, bhi, blo)
    bias = np.clip(edge - sgn * np.minimum(wmag, bhi - blo), blo, bhi)
    bias = np.where(inside, want, bias)
    d = np.where(inside, 0, want - bias)
    n_full, rest = np.divmod(np.abs(d), xp * wmag)
    x_part, rest = np.divmod(rest, wmag)
    unit = ~((bias + sgn * rest >= blo) & (bias + sgn * rest <= bhi))
    n_unit = np.where(unit, ceil_div(rest, xp), 0)
    bias = np.where(unit, bias, bias + sgn * rest)
    n_part = (x_part > 0).astype(np.int64)
    used = n_pre + n_full + n_part + n_unit
    ok = used <= k_cap
    keep = ok.astype(np.int64)
    pre_ok = np.repeat(ok, n_pre)
    xpre, wpre = xpre[pre_ok], wpre[pre_ok]
    n_pre, n_full, n_part, n_unit = (v * keep for v in (n_pre, n_full, n_part, n_unit))
    n_zero = ((used == 0) & ok).astype(np.int64)
    # Units: n_unit - 1 steps of xp, then what is left.
    unit_x = np.full(int(n_unit.sum()), xp, np.int64)
    has_unit = n_unit > 0
    unit_x[np.cumsum(n_unit)[has_unit] - 1] = (rest - (n_unit - 1) * xp)[has_unit]
    zero_w = rng.integers(wlo, whi + 1, int(n_zero.sum()))
    sw = sgn * wmag
    k, x, w = place(
        [n_pre, n_full, n_part, n_unit, n_zero],
        [
            (xpre, wpre),
            (np.full(int(n_full.sum()), xp, np.int64), np.repeat(sw, n_full)),
            (x_part[n_part > 0], sw[n_part > 0]),
            (unit_x, np.repeat(sgn, n_unit)),
            (np.zeros(zero_w.shape[0], np.int64), zero_w),
        ],
    )
    bias = np.where(ok, bias, 0).astype(np.int64)
    got = bias + job_sums(k, x * w)
    if not (
        np.array_equal(got[ok], targets[ok])
        and np.all((bias >= blo) & (bias <= bhi))
        and np.all((x >= xlo) & (x <= xhi) & (w >= wlo) & (w <= whi))
    ):
        raise AssertionError("realize_accs built a wrong accumulator")
    return Realized(k, x, w, bias, ok)


def exact_requants(
    cfg: QmacConfig, rng: np.random.Generator, r: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`exact_requant` for many ``r`` at once: ``(acc, mult, shift)`` arrays whose
    requantized value is exactly ``r`` (no rounding involved), ``|acc| <= acc_cap``."""
    r = np.asarray(r, dtype=np.int64)
    m = r.shape[0]
    cap = acc_cap(cfg)
    # floor(log2(cap / |r|)) exactly: the bit length of the integer quotient, minus one.
    room = np.maximum(bitlens(cap // np.maximum(np.abs(r), 1)) - 1, 0)
    if cfg.rounding == "gemmlowp":
        e = rng.integers(0, np.maximum(0, np.minimum(30, room - 1)) + 1)
        return r << (e + 1), np.full(m, 1 << 30, np.int64), -e
    if cfg.rounding == "fp32":
        e = rng.integers(0, np.maximum(0, np.minimum(24 - bitlens(r), room)) + 1)
        return r << e, ((127 - e) << 23).astype(np.int64), np.zeros(m, np.int64)
    shift_max = cfg.shift_range[1]
    if cfg.mult_bits == 0:
        t = rng.integers(0, np.minimum(shift_max, room) + 1)
        return r << t, np.zeros(m, np.int64), t
    j = rng.integers(0, min(cfg.mult_bits - 1, shift_max) + 1, m)
    t = rng.integers(j, np.maximum(j, np.minimum(shift_max, j + room)) + 1)
    return r << (t - j), np.int64(1) << j, t
