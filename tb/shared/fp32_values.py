"""Exact values for the ``fp32`` rounding mode's directed stimulus: binary32 scales that bring
accumulators into the output range, and (acc, scale) pairs that land on each rounding step's
edge: a tie of the accumulator's rounding to binary32 that decides the output, a tie of the
product's rounding to 24 bits, a tie of the final rounding to an integer, the double-rounding
cases where the product's rounding makes a half-integer out of ``n + 1/2 - d``, and products
one LSB above a tie of their rounding to 24 bits, where the exact product's last bit decides the
output. The neighbours of the final rounding's ties, built exactly: products that are
binary32 values one binary32 spacing (ulp) below or above ``n + 1/2`` (the product's rounding
must leave them alone), products whose dropped bits are half plus the bit right below it (the
sticky bit's top end), for each shape of the 48-bit mantissa product (leading one at bit 46 or
47), and products whose rounding carries into the next binade. Plain integers and
``fractions``; the generators in :mod:`tb.shared.generators` turn them into jobs.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np

from pyref.fixed_point import ceil_div
from pyref.fp32_math import scale_to_mult

ONE = 0x3F80_0000
"""Bit pattern of 1.0."""


def pow2_mult(e: int) -> int:
    """Bit pattern of the binary32 ``2^e`` (``-126 <= e <= 127``)."""
    return (e + 127) << 23


def fit_mult(rng: np.random.Generator, acc: np.ndarray, out_bits: int) -> np.ndarray:
    """Scales (bit patterns) that bring ``|acc|`` to about the output range, give or take a bit,
    with a random 24-bit mantissa."""
    mag = np.maximum(np.abs(np.asarray(acc, dtype=np.float64)), 1.0)
    jitter = rng.integers(-1, 2, mag.shape[0])
    scale = 2.0 ** (out_bits - 1 + jitter) / mag * rng.uniform(0.5, 1.0, mag.shape[0])
    return scale_to_mult(np.clip(scale, 2.0**-126, 2.0**127))


def _fl32_ulp(v: Fraction) -> Fraction:
    """The binary32 spacing at |v| (normal range)."""
    a = abs(v)
    e = a.numerator.bit_length() - a.denominator.bit_length()
    while Fraction(2) ** (e + 1) <= a:
        e += 1
    while Fraction(2) ** e > a:
        e -= 1
    return Fraction(2) ** (e - 23)


def _mult_of(scale: Fraction) -> int:
    """Bit pattern of a scale that is exactly a binary32 (checked)."""
    bits = int(scale_to_mult(float(scale)))
    m, e = (bits & 0x7F_FFFF) | 0x80_0000, ((bits >> 23) & 0xFF) - 150
    if Fraction(m) * Fraction(2) ** e != scale:
        raise ValueError(f"{scale} is not a binary32")
    return bits


def final_tie(rng: np.random.Generator, n: int, sign: int, cap: int) -> tuple[int, int]:
    """``(acc, mult)`` with ``acc * scale = sign * (n + 1/2)`` exactly, no other rounding:
    ``scale = 2^-t``, ``acc = (2n + 1) * 2^(t-1)``, ``|acc| <= cap``."""
    a = 2 * n + 1
    t_max = max(1, min(24 - a.bit_length(), int(np.log2(max(cap // a, 1))) + 1))
    t = int(rng.integers(1, t_max + 1))
    return sign * (a << (t - 1)), pow2_mult(-t)


def acc_tie(rng: np.random.Generator, n: int, sign: int, kind: int) -> tuple[int, int]:
    """``(acc, mult)`` where ``|acc|`` lies exactly halfway between two binary32 neighbours and
    the neighbour that ties to even times the scale is exactly ``n + 1/2``, so the tie rule of
    the accumulator's rounding shows in the output:

    - kind 0: ``|acc| = (2^24 + 1) * 2^j`` rounds to ``2^(24+j)`` (its other neighbour would
      give more than ``n + 1/2``), ``scale = (2n + 1) * 2^-(25+j)``;
    - kind 1: ``|acc| = (2^25 - 1) * 2^j`` rounds to ``2^(25+j)`` (the other one gives less),
      ``scale = (2n + 1) * 2^-(26+j)``.
    """
    j = int(rng.integers(0, 7))  # |acc| < 2^(25 + j) <= 2^31
    if kind == 0:
        acc, scale = ((1 << 24) + 1) << j, Fraction(2 * n + 1, 1 << (25 + j))
    else:
        acc, scale = ((1 << 25) - 1) << j, Fraction(2 * n + 1, 1 << (26 + j))
    return sign * acc, _mult_of(scale)


def near_half(
    rng: np.random.Generator, n: int, sign: int, mode: str, cap: int
) -> tuple[int, int] | None:
    """``(acc, mult)`` whose exact product is ``sign * (n + 1/2 + e)`` with a small ``e``:

    - ``mode = "below"``: ``e = -d``, ``0 < d <= 2^-18`` and ``d`` less than half the binary32
      spacing, so fl32 makes it ``n + 1/2`` (the double-rounding case: ties to even then
      gives ``n + 1`` for odd ``n`` where exact rounding gives ``n``);
    - ``mode = "tie_below"`` / ``"tie_above"``: ``e = -+ulp/2`` exactly, a tie of the product's
      rounding to 24 bits (ties to even picks ``n + 1/2``).
    None when this n has no such pair with a small accumulator.
    """
    v = Fraction(2 * n + 1, 2)
    ulp = _fl32_ulp(v)
    if mode == "below":
        if cap < 1 << 16:
            return None
        for _ in range(64):
            acc = int(rng.integers(1 << 16, min(cap, 1 << 24) + 1))
            exact = v / acc
            bits = int(scale_to_mult(float(exact)))
            for b in (bits - 1, bits, bits + 1):
                m, e = (b & 0x7F_FFFF) | 0x80_0000, ((b >> 23) & 0xFF) - 150
                d = v - acc * Fraction(m) * Fraction(2) ** e
                if 0 < d <= Fraction(1, 1 << 18) and d < ulp / 2:
                    return sign * acc, b
        return None
    target = v - ulp / 2 if mode == "tie_below" else v + ulp / 2
    # target = N * 2^-k with N odd; acc = a * 2^j for an odd divisor a of N, scale = N/a * ...
    num, den = target.numerator, target.denominator
    for a in range(3, 64, 2):
        if num % a == 0 and a <= cap:
            j = int(rng.integers(0, max(1, min(8, int(np.log2(cap // a)) + 1))))
            return sign * (a << j), _mult_of(Fraction(num // a, den) / (1 << j))
    return None


_MANT_LO, _MANT_HI = 1 << 23, 1 << 24  # a 24-bit mantissa, the hidden one included


def _fl32(v: Fraction) -> Fraction:
    """``v`` (normal range) rounded to 24 significant bits, ties to even."""
    ulp = _fl32_ulp(v)
    q, rem = divmod(abs(v), ulp)
    q += rem > ulp / 2 or (rem == ulp / 2 and q % 2 == 1)
    return (q * ulp) if v >= 0 else -(q * ulp)


def _round_half_even(v: Fraction) -> int:
    """``v`` rounded to an integer, ties to even."""
    q = v.numerator // v.denominator
    rem = v - q
    return q + (rem > Fraction(1, 2) or (rem == Fraction(1, 2) and q % 2 == 1))


def odd_inverses(a: np.ndarray) -> np.ndarray:
    """``a^-1 mod 2^64`` (uint64) for odd ``a`` (Newton: each step doubles the number of correct
    low bits, from 3 for ``x = a`` since ``a * a == 1 mod 8``; uint64 arithmetic wraps mod
    2^64); ``& (2^k - 1)`` gives the inverse mod 2^k."""
    a = np.asarray(a).astype(np.uint64)
    x = a.copy()
    for _ in range(5):
        x *= np.uint64(2) - a * x
    return x


PRODUCT_STICKY_TABLES = {
    126: (
        (8463219, 16759227, 24, 17),
        (8716041, 14696249, 23, 17),
        (8753347, 11116523, 23, 17),
        (8916787, 10912763, 23, 17),
        (8974597, 12006349, 23, 19),
        (9057785, 12745801, 23, 18),
        (9072935, 9694871, 23, 22),
        (9515923, 12247707, 23, 19),
        (9694871, 9072935, 23, 22),
        (10245171, 12502779, 23, 17),
        (10481665, 10489857, 23, 20),
        (10489857, 10481665, 23, 20),
        (10912763, 8916787, 23, 17),
        (11116523, 8753347, 23, 17),
        (11518409, 16132217, 24, 17),
        (12006349, 8974597, 23, 19),
        (12247707, 9515923, 23, 19),
        (12502779, 10245171, 23, 17),
        (12578817, 12587009, 24, 21),
        (12587009, 12578817, 24, 21),
        (12745801, 9057785, 23, 18),
        (14696249, 8716041, 23, 17),
        (15360431, 16749903, 24, 18),
        (16132217, 11518409, 24, 17),
        (16749903, 15360431, 24, 18),
        (16759227, 8463219, 24, 17),
    ),
}
"""The :func:`product_sticky_table` of ``out_bits = 8`` (``n_max = 126``: the fp32 named config),
kept here because finding it takes about a second, in every process that needs it (a test
holds it equal to the search)."""


@functools.lru_cache(maxsize=None)
def product_sticky_table(n_max: int) -> np.ndarray:
    """:func:`search_product_sticky_table`, or its stored copy (:data:`PRODUCT_STICKY_TABLES`)."""
    if n_max in PRODUCT_STICKY_TABLES:
        return np.array(PRODUCT_STICKY_TABLES[n_max], np.int64).reshape(-1, 4)
    return search_product_sticky_table(n_max)


def search_product_sticky_table(n_max: int) -> np.ndarray:
    """Every ``(mant_a, mant_s, k, u)`` (int64 rows) of two 24-bit mantissas, ``mant_a`` odd,
    whose product ``P`` has ``k = bitlen(P) - 24`` dropped bits equal to ``2^(k-1) + 1`` (one
    product LSB above a tie of its rounding to 24 bits) and whose kept bits ``K = P >> k``
    are ``n * 2^u + 2^(u-1)`` with ``n`` even, ``2 <= n <= n_max``: ``K * 2^-u = n + 1/2``.

    Found by solving ``mant_s = c * mant_a^-1 mod 2^(k+u+1)`` for the low bits ``c`` of such a
    product, for every odd ``mant_a`` (about a second, once per ``n_max``).
    """
    rows = []
    if n_max < 2:
        return np.zeros((0, 4), np.int64)
    u_lo = max(1, 23 - (n_max.bit_length() - 1))  # n >= 2^(23-u) must reach n_max
    chunk = 1 << 20
    for start in range(_MANT_LO + 1, _MANT_HI, 2 * chunk):
        a = np.arange(start, min(start + 2 * chunk, _MANT_HI), 2, dtype=np.uint64)
        inv = odd_inverses(a)
        for k in (23, 24):
            for u in range(u_lo, 23):
                m = k + u + 1  # bit k+u of P is 0: n is even
                c = (1 << (k + u - 1)) + (1 << (k - 1)) + 1
                s = (np.uint64(c) * inv) & np.uint64((1 << m) - 1)
                ok = (s >= _MANT_LO) & (s < _MANT_HI)
                a_ok, s_ok = a[ok], s[ok]
                p = a_ok * s_ok  # < 2^48: exact
                n = p >> np.uint64(k + u)
                keep = ((p >> np.uint64(k + 23)) == 1) & (n >= 2) & (n <= n_max)
                for ai, si in zip(a_ok[keep].tolist(), s_ok[keep].tolist()):
                    rows.append((ai, si, k, u))
    return np.array(sorted(rows), np.int64).reshape(-1, 4)


def product_sticky(
    rng: np.random.Generator, n_max: int, sign: int, cap: int
) -> tuple[int, int, int] | None:
    """``(acc, mult, n)`` with ``fl32(acc) = acc`` and a product ``fl32(acc) * scale`` one LSB
    of the exact 48-bit mantissa product above a tie of its rounding to 24 bits, whose lower
    neighbour is ``n + 1/2`` (``n`` even, ``2 <= n <= n_max``): the product rounds up, past
    ``n + 1/2``, and the result is ``sign * (n + 1)``, where a datapath that loses the product's
    last bit sees an exact tie, keeps ``n + 1/2`` (its 24-bit mantissa is even) and gives
    ``sign * n``.

    ``acc = sign * mant_a * 2^j`` (``mant_a`` odd, ``|acc| <= cap``),
    ``scale = mant_s * 2^-(k+u+j)`` (:func:`product_sticky_table`). None when the table has no
    row for ``n_max`` and ``cap``. Each pair is checked with exact fractions.
    """
    table = product_sticky_table(n_max)
    table = table[table[:, 0] <= cap]
    if not len(table):
        return None
    a, s, k, u = (int(v) for v in table[int(rng.integers(0, len(table)))])
    j = int(rng.integers(0, (cap // a).bit_length()))  # a * 2^j <= cap
    acc = sign * (a << j)
    scale = Fraction(s, 1 << (k + u + j))
    mult = _mult_of(scale)
    exact = acc * scale
    n = (a * s) >> (k + u)
    half = Fraction(2 * n + 1, 2)  # n + 1/2 = K * 2^-u
    mid = half + Fraction(1, 1 << (u + 1))  # the tie between K and K + 1
    step = Fraction(1, 1 << (k + u))  # one LSB of the exact product
    if not (
        n % 2 == 0
        and abs(exact) == mid + step
        and _fl32(exact) == sign * (half + Fraction(1, 1 << u))
        and _round_half_even(_fl32(exact)) == sign * (n + 1)
        and _fl32(sign * mid) == sign * half
        and _round_half_even(sign * half) == sign * n
    ):
        raise AssertionError(f"product_sticky built a wrong pair: acc = {acc}, mult = {mult:#x}")
    return acc, mult, n


# --- Exact products of a chosen value: factor its significant bits ------------------------------
#
# A product with nothing (or little) dropped has trailing zeros, so its significant bits q are a
# small odd number (24 or 26 bits) that trial division factors at once: q = a * s with two odd
# 24-bit-or-less factors gives acc = a * 2^j and a scale with mantissa s. The RTL's 48-bit
# product of the two normalized mantissas is then q * 2^(48 - bitlen(a) - bitlen(s)); its
# leading one is at bit 47 ("top", a 48-bit product) when bitlen(a) + bitlen(s) = bitlen(q),
# else at bit 46 (47 bits).

ULP_KINDS = ("ulp_below", "ulp_above", "sticky_high")
"""The kinds of :func:`tie_neighbour`."""


def _odd_splits(q: int, cap: int) -> list[tuple[int, int]]:
    """Every ``(a, s)`` with ``a * s = q`` (``q`` odd, below 2^28), ``a <= cap`` and both below
    2^24 (each fits a binary32 mantissa)."""
    d = np.arange(1, math.isqrt(q) + 1, 2, dtype=np.int64)
    out = set()
    for x in d[q % d == 0].tolist():
        for a, s in ((x, q // x), (q // x, x)):
            if a <= cap and a < _MANT_HI and s < _MANT_HI:
                out.add((a, s))
    return sorted(out)


def _split_pairs(q: int, cap: int, top: int) -> list[tuple[int, int]]:
    """The :func:`_odd_splits` of ``q`` whose normalized mantissa product has 48 bits (``top =
    1``) or 47 (``top = 0``)."""
    return [
        (a, s)
        for a, s in _odd_splits(q, cap)
        if (a.bit_length() + s.bit_length() == q.bit_length()) == bool(top)
    ]


def _target(kind: str, n: int) -> Fraction | None:
    """The exact product ``|acc * scale|`` of a :func:`tie_neighbour` kind at ``n`` (None when
    ``n`` has the wrong parity or is out of reach):

    - ``ulp_below``: ``n + 1/2 - ulp`` (``n`` odd), a binary32: exact rounding gives ``n``, the
      product rounded up by one ulp would be the tie ``n + 1/2`` and give ``n + 1``;
    - ``ulp_above``: ``n + 1/2 + ulp`` (``n`` even): ``n + 1``, one ulp down would give ``n``;
    - ``sticky_high``: ``n + 1/2 + ulp * 3/4`` (``n`` even): its rounding to 24 bits drops
      exactly half an ulp plus the bit right below it, rounds up (``n + 1``); without that bit
      it is a tie, which keeps ``n + 1/2`` (even) and gives ``n``.
    ``ulp`` is the binary32 spacing at ``n + 1/2``.
    """
    half = Fraction(2 * n + 1, 2)
    if n < 0 or n >= 1 << 21 or n % 2 != (kind == "ulp_below"):
        return None
    ulp = _fl32_ulp(half)
    return half + {"ulp_below": -ulp, "ulp_above": ulp, "sticky_high": 3 * ulp / 4}[kind]


def tie_neighbour(
    rng: np.random.Generator, kind: str, n: int, sign: int, top: int, cap: int
) -> tuple[int, int] | None:
    """``(acc, mult)`` with ``acc`` a binary32 (``|acc| <= cap``) and ``acc * scale = sign *``
    the :func:`_target` of ``kind`` at ``n``, whose 48-bit mantissa product has its leading one
    at bit 47 (``top = 1``) or 46 (``top = 0``); None when there is no such pair. Checked with
    exact fractions: the result is ``sign * n`` (``ulp_below``) or ``sign * (n + 1)``, and the
    product moved by the one bit the kind is about gives the other one."""
    v = _target(kind, n)
    if v is None:
        return None
    q, w = v.numerator, v.denominator.bit_length() - 1  # v = q * 2^-w, q odd
    pairs = _split_pairs(q, cap, top)
    if not pairs:
        return None
    a, s = pairs[int(rng.integers(0, len(pairs)))]
    j = int(rng.integers(0, (cap // a).bit_length()))  # a * 2^j <= cap
    acc = sign * (a << j)
    mult = _mult_of(Fraction(s) / Fraction(2) ** (w + j))
    exact = acc * (Fraction(s) / Fraction(2) ** (w + j))
    ulp = _fl32_ulp(Fraction(2 * n + 1, 2))
    r = n if kind == "ulp_below" else n + 1
    # The one bit: ulp_* rounded the wrong way by one ulp; sticky_high with its quarter lost.
    moved = {"ulp_below": v + ulp, "ulp_above": v - ulp, "sticky_high": v - ulp / 4}[kind]
    ok = (
        exact == sign * v
        and _round_half_even(_fl32(exact)) == sign * r
        and _round_half_even(_fl32(sign * moved)) == sign * (2 * n + 1 - r)
        and (kind == "sticky_high") != (_fl32(exact) == exact)
    )
    if not ok:
        raise AssertionError(
            f"tie_neighbour({kind!r}, n = {n}) built a wrong pair: acc = {acc}, mult = {mult:#x}"
        )
    return acc, mult


@functools.lru_cache(maxsize=None)
def tie_neighbour_ns(kind: str, top: int, n_max: int, cap: int) -> tuple[int, ...]:
    """Up to 64 ``n`` in ``[0, n_max]`` for which :func:`tie_neighbour` has a pair (looked for
    in a fixed shuffled order, so they spread over the range); empty when none has."""
    cands = [n for n in range(0, n_max + 1) if _target(kind, n) is not None]
    found = []
    for i in np.random.default_rng(0).permutation(len(cands)).tolist():
        n = cands[i]
        v = _target(kind, n)
        if _split_pairs(v.numerator, cap, top):
            found.append(n)
            if len(found) == 64:
                break
    return tuple(found)


# --- Products whose rounding to 24 bits carries into the next binade ----------------------------
#
# Only a 47-bit mantissa product can have all 24 kept bits ones (a 48-bit one is at most
# (2^24 - 1)^2 = (2^24 - 2) * 2^24 + 1, kept bits 2^24 - 2), so the carry always lands at 2^47.

_CARRY_LO = (1 << 47) - (1 << 22)  # (2^24 - 1) * 2^23 + 2^22: kept all ones, guard set


def _carry_scale(ma: int) -> int | None:
    """The 24-bit mantissa s with ma * s in [2^47 - 2^22, 2^47), if any."""
    s = ceil_div(_CARRY_LO, ma)
    return s if _MANT_LO <= s < _MANT_HI and ma * s < 1 << 47 else None


@functools.lru_cache(maxsize=None)
def product_carry_pairs(cap: int) -> tuple[tuple[int, int], ...]:
    """Up to 64 ``(a, s)``: ``a`` odd, ``a <= min(cap, 2^24 - 1)``, whose normalized mantissa
    times ``s`` lies in ``[2^47 - 2^22, 2^47)``: the 47-bit product's kept bits are all ones
    and its guard bit is set, so its rounding to 24 bits carries into the next binade. Odd ``a``
    up to 2^12 first, then a fixed random sample."""
    hi = min(cap, _MANT_HI - 1)
    cands = list(range(3, min(hi, 4095) + 1, 2))
    if hi > 4095:
        cands += (2 * np.random.default_rng(0).integers(2048, (hi + 1) // 2, 4096) + 1).tolist()
    out = []
    for a in cands:
        s = _carry_scale(a << (24 - a.bit_length()))
        if s is not None:
            out.append((a, s))
            if len(out) == 64:
                break
    return tuple(out)


def product_carry(rng: np.random.Generator, p: int, sign: int, cap: int) -> tuple[int, int] | None:
    """``(acc, mult)`` whose product rounds to 24 bits with a carry into the next binade, to
    exactly ``2^p``: ``r = sign * 2^p`` (``p >= 0``), where a datapath that loses the carry
    gives 0. None when no odd ``|acc| <= cap`` has such a scale."""
    pairs = product_carry_pairs(cap)
    if not pairs:
        return None
    a, s = pairs[int(rng.integers(0, len(pairs)))]
    j = int(rng.integers(0, (cap // a).bit_length()))
    ma = a << (24 - a.bit_length())
    scale = Fraction(s) * Fraction(2) ** (p - 47 + 24 - a.bit_length() - j)
    acc = sign * (a << j)
    mult = _mult_of(scale)
    exact = acc * scale
    if not (
        exact == sign * Fraction(ma * s, 1 << 47) * 2**p
        and abs(exact) < 2**p
        and _fl32(exact) == sign * 2**p
        and _round_half_even(_fl32(exact)) == sign * (1 << p)
    ):
        raise AssertionError(f"product_carry built a wrong pair: acc = {acc}, mult = {mult:#x}")
    return acc, mult
