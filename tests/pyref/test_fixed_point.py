"""pyref.fixed_point against hand-worked values and exact formulas on Python ints / Fractions;
the vectorized forms also against the scalar ones (test_tflite_math.py has TFLite's and
gemmlowp's published values for the int32 requantization)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from pyref.fixed_point import (
    INT32_MAX,
    INT32_MIN,
    beats_per_job,
    ceil_div,
    multiply_by_quantized_multiplier,
    multiply_by_quantized_multiplier_greater_than_one,
    multiply_by_quantized_multiplier_smaller_than_one_exp,
    rounding_divide_by_pot,
    rounding_divide_by_pot_scalar,
    saturate,
    saturating_doubling_high_mul,
    saturating_rounding_doubling_high_mul,
    saturating_rounding_doubling_high_mul_scalar,
    saturating_rounding_multiply_by_pot,
    wrap,
    wrap_scalar,
)

HALF = Fraction(1, 2)


def half_away(q: Fraction) -> int:
    """``q`` rounded to the nearest integer, halves away from zero."""
    r = math.floor(abs(q) + HALF)
    return r if q >= 0 else -r


def srdhm_exact(a: int, b: int, bits: int) -> int:
    """round-half-up(a * b / 2^(bits-1)), saturating for min * min."""
    if a == b == -(1 << (bits - 1)):
        return (1 << (bits - 1)) - 1
    return math.floor(Fraction(a * b, 1 << (bits - 1)) + HALF)


def sample(rng, bits: int, n: int) -> list[int]:
    """Random ``bits``-bit values plus the extremes and the values next to 0 and +-2^(bits-2)."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    edges = [
        lo,
        lo + 1,
        -(1 << (bits - 2)) - 1,
        -(1 << (bits - 2)),
        -1,
        0,
        1,
        1 << (bits - 2),
        (1 << (bits - 2)) + 1,
        hi - 1,
        hi,
    ]
    return edges + rng.integers(lo, hi, n, endpoint=True).tolist()


# ----- beats per job ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "k, lanes, want",
    [
        (1, 1, 1),
        (1, 8, 1),
        (7, 8, 1),
        (8, 8, 1),
        (9, 8, 2),
        (16, 8, 2),
        (17, 8, 3),
        (100, 3, 34),
    ],
)
def test_beats_per_job_hand_worked(k, lanes, want):
    assert beats_per_job(k, lanes) == want
    assert ceil_div(k, lanes) == want


def test_beats_per_job_on_arrays_is_the_ceiling():
    k = np.arange(1, 200)
    for lanes in (1, 2, 3, 8, 32):
        got = beats_per_job(k, lanes)
        assert got.dtype == k.dtype
        assert got.tolist() == [math.ceil(Fraction(int(v), lanes)) for v in k]


# ----- wrap and saturate -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "v, bits, want",
    [
        (127, 8, 127),
        (128, 8, -128),
        (-129, 8, 127),
        (255, 8, -1),
        (256, 8, 0),
        (1 << 31, 32, INT32_MIN),
        (-(1 << 31) - 1, 32, INT32_MAX),
        (3 << 31, 32, INT32_MIN),
        (1 << 15, 16, -(1 << 15)),
        (5, 3, -3),
    ],
)
def test_wrap_hand_worked(v, bits, want):
    assert wrap_scalar(v, bits) == want
    assert int(wrap(np.array([v], dtype=np.int64), bits)[0]) == want
    assert int(wrap(np.array([v], dtype=object), bits)[0]) == want


def test_wrap_is_the_residue_in_the_signed_range():
    rng = np.random.default_rng(3)
    v = rng.integers(-(1 << 62), 1 << 62, 3000)
    for bits in (2, 8, 16, 31, 32, 48, 63):
        lo = -(1 << (bits - 1))
        want = [(x - lo) % (1 << bits) + lo for x in v.tolist()]
        assert wrap(v, bits).tolist() == want
        assert [wrap_scalar(x, bits) for x in v.tolist()] == want
    assert wrap_scalar(1 << 31) == INT32_MIN  # 32 bits by default
    wide = np.array([(1 << 95) + 5, -(1 << 95) - 5], dtype=object)
    assert wrap(wide, 96).tolist() == [-(1 << 95) + 5, (1 << 95) - 5]


def test_saturate_hand_worked():
    y, clipped = saturate(np.array([-200, -128, -127, 0, 127, 128, 300]), 8)
    assert y.tolist() == [-128, -128, -127, 0, 127, 127, 127]
    assert clipped.tolist() == [True, False, False, False, False, True, True]
    y, clipped = saturate(np.array([1 << 70, -(1 << 70), 5], dtype=object), 64)
    assert y.tolist() == [(1 << 63) - 1, -(1 << 63), 5] and y.dtype == np.int64
    assert clipped.tolist() == [True, True, False]


# ----- doubling high multiplies ----------------------------------------------------------------


@pytest.mark.parametrize(
    "a, b, bits, want",
    [
        (INT32_MIN, INT32_MIN, 32, INT32_MAX),  # the one saturating case
        (1 << 30, 1 << 30, 32, 1 << 29),  # 0.5 * 0.5 = 0.25
        (1, 1 << 30, 32, 1),  # +0.5 ulp rounds up
        (-1, 1 << 30, 32, 0),  # -0.5 ulp rounds up, toward +inf
        (-3, 1 << 30, 32, -1),  # -1.5 ulp -> -1
        (-32768, -32768, 16, 32767),
        (16384, 16384, 16, 8192),  # 0.5 * 0.5 in Q0.15
        (1, 16384, 16, 1),
        (-1, 16384, 16, 0),
        (-3, 16384, 16, -1),
        (3, 16384, 16, 2),
        (32767, 32767, 16, 32766),  # (2^15-1)^2 / 2^15 = 2^15 - 2 + 2^-15
        (-32768, 32767, 16, -32767),
    ],
)
def test_saturating_rounding_doubling_high_mul_hand_worked(a, b, bits, want):
    for x, y in ((a, b), (b, a)):
        assert int(saturating_rounding_doubling_high_mul(x, y, bits)) == want
        if bits == 32:
            assert saturating_rounding_doubling_high_mul_scalar(x, y) == want


@pytest.mark.parametrize("bits", [16, 32])
def test_saturating_rounding_doubling_high_mul_is_round_half_up(bits):
    rng = np.random.default_rng(bits)
    a = sample(rng, bits, 2000)
    b = sample(rng, bits, len(a) - 11)[::-1]
    a, b = a + a[:11], b + a[:11]  # the edges against each other too
    got = saturating_rounding_doubling_high_mul(np.array(a), np.array(b), bits).tolist()
    assert got == [srdhm_exact(x, y, bits) for x, y in zip(a, b)]
    if bits == 32:
        assert got == [saturating_rounding_doubling_high_mul_scalar(x, y) for x, y in zip(a, b)]


@pytest.mark.parametrize(
    "a, b, want",
    [
        (-32768, -32768, 32767),
        (16384, 16384, 8192),
        (1, 16384, 0),
        (-1, 16384, 0),
        (3, 16384, 1),
        (-3, 16384, -1),
        (32767, 32767, 32766),
        (-32768, 32767, -32767),
    ],
)
def test_saturating_doubling_high_mul_truncates(a, b, want):
    assert int(saturating_doubling_high_mul(a, b)) == want
    assert int(saturating_doubling_high_mul(b, a, 16)) == want


def test_saturating_doubling_high_mul_is_truncation_toward_zero():
    rng = np.random.default_rng(5)
    a, b = sample(rng, 16, 3000), sample(rng, 16, 3000)[::-1]
    got = saturating_doubling_high_mul(np.array(a), np.array(b), 16).tolist()
    want = [
        32767 if x == y == -32768 else math.trunc(Fraction(x * y, 1 << 15)) for x, y in zip(a, b)
    ]
    assert got == want


# ----- power-of-two shifts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "x, e, want",
    [
        (3, 1, 2),
        (-3, 1, -2),
        (5, 2, 1),
        (-5, 2, -1),
        (6, 2, 2),
        (-6, 2, -2),
        (-2, 2, -1),
        (1 << 30, 31, 1),
        (INT32_MIN, 31, -1),
        (INT32_MAX, 31, 1),
        (7, 0, 7),
    ],
)
def test_rounding_divide_by_pot_hand_worked(x, e, want):
    assert int(rounding_divide_by_pot(x, e)) == want
    assert rounding_divide_by_pot_scalar(x, e) == want


def test_rounding_divide_by_pot_is_half_away_with_exponent_arrays():
    rng = np.random.default_rng(7)
    x = sample(rng, 32, 4000)
    e = rng.integers(0, 32, len(x)).tolist()
    got = rounding_divide_by_pot(np.array(x), np.array(e)).tolist()
    assert got == [half_away(Fraction(v, 1 << s)) for v, s in zip(x, e)]
    assert got == [rounding_divide_by_pot_scalar(v, s) for v, s in zip(x, e)]


@pytest.mark.parametrize("bits", [16, 32])
def test_saturating_rounding_multiply_by_pot(bits):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    rng = np.random.default_rng(11)
    x = np.array(sample(rng, bits, 500) + [1 << 13, -(1 << 13), 1 << 12, -(1 << 12) - 1])
    for e in range(-(bits - 1), bits - 1):
        got = saturating_rounding_multiply_by_pot(x, e, bits).tolist()
        want = [
            min(max(v << e, lo), hi) if e >= 0 else half_away(Fraction(v, 1 << -e))
            for v in x.tolist()
        ]
        assert got == want, e
    assert int(saturating_rounding_multiply_by_pot(1 << 30, 1)) == INT32_MAX
    assert int(saturating_rounding_multiply_by_pot((1 << 29) - 1, 1)) == (1 << 30) - 2
    assert int(saturating_rounding_multiply_by_pot(-(1 << 30) - 1, 1)) == INT32_MIN


# ----- MultiplyByQuantizedMultiplier and its variants ------------------------------------------


def test_multiply_by_quantized_multiplier_variants_hand_worked():
    # GreaterThanOne: x << s, then the doubling high multiply; 3 * 4 * 0.5 = 6.
    assert int(multiply_by_quantized_multiplier_greater_than_one(3, 1 << 30, 2)) == 6
    # 2^30 << 1 wraps to -2^31 (as C does in practice): -2^31 * 0.5 = -2^30.
    got = multiply_by_quantized_multiplier_greater_than_one(1 << 30, 1 << 30, 1)
    assert int(got) == -(1 << 30)
    # SmallerThanOneExp: 10 * 0.5 = 5, / 2^2 = 1.25 -> 1; -6 * 0.5 = -3, / 2 = -1.5 -> -2.
    assert int(multiply_by_quantized_multiplier_smaller_than_one_exp(10, 1 << 30, -2)) == 1
    assert int(multiply_by_quantized_multiplier_smaller_than_one_exp(-6, 1 << 30, -1)) == -2
    # Double rounding: 1 * 0.5 rounds to 1 first, then 1 / 2 rounds away to 1 (0.25 exactly).
    assert int(multiply_by_quantized_multiplier(1, 1 << 30, -1)) == 1


def test_multiply_by_quantized_multiplier_is_both_variants():
    rng = np.random.default_rng(13)
    x = np.array(sample(rng, 32, 3000))
    m = rng.integers(0, 1 << 31, x.size)
    s = rng.integers(-31, 31, x.size)
    got = multiply_by_quantized_multiplier(x, m, s).tolist()
    want = []
    for v, mm, ss in zip(x.tolist(), m.tolist(), s.tolist()):
        shifted = (v * (1 << max(ss, 0)) - INT32_MIN) % (1 << 32) + INT32_MIN
        high = math.floor(Fraction(shifted * mm, 1 << 31) + HALF)
        want.append(half_away(Fraction(high, 1 << max(-ss, 0))))
    assert got == want
    up, down = s >= 0, s <= 0
    assert (
        multiply_by_quantized_multiplier_greater_than_one(x[up], m[up], s[up])
        == np.asarray(got)[up]
    ).all()
    assert (
        multiply_by_quantized_multiplier_smaller_than_one_exp(x[down], m[down], s[down])
        == np.asarray(got)[down]
    ).all()
