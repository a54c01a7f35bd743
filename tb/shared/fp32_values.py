"""Exact values for the ``fp32`` rounding mode's directed stimulus: binary32 scales that bring
accumulators into the output range, and (acc, scale) pairs that land on each rounding step's
edge (a tie of the accumulator's rounding to binary32 that decides the output, a tie of the product's rounding to 24
bits, a tie of the final rounding to an integer, and the double-rounding cases where the
product's rounding makes a half-integer out of ``n + 1/2 - d``). Plain integers and
``fractions``; the generators in :mod:`tb.shared.generators` turn them into jobs.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

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
    return scale_to_mult(np.clip(scale, 2.0 ** -126, 2.0 ** 127))


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
    j = int(rng.integers(0, 7))                      # |acc| < 2^(25 + j) <= 2^31
    if kind == 0:
        acc, scale = ((1 << 24) + 1) << j, Fraction(2 * n + 1, 1 << (25 + j))
    else:
        acc, scale = ((1 << 25) - 1) << j, Fraction(2 * n + 1, 1 << (26 + j))
    return sign * acc, _mult_of(scale)


def near_half(rng: np.random.Generator, n: int, sign: int, mode: str,
              cap: int) -> tuple[int, int] | None:
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
