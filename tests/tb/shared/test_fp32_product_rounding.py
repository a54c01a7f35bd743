"""The fp32 product-rounding stimulus: each job's product ``fl32(acc) * scale`` has the (guard,
sticky, LSB) it was built for, and rounding it the other way changes r, both checked with Python
integers and exact fractions (not with pyref); the coverage bins find the same jobs."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from pyref.arith import requantize
from pyref.config import NAMED_CONFIGS
from tb.shared import fp32_product_rounding as fpr
from tb.shared.exact_values import Unrealizable

CFG = NAMED_CONFIGS["fp32"]


def _mant_exp(bits: int) -> tuple[int, int]:
    return (bits & 0x7F_FFFF) | 0x80_0000, ((bits >> 23) & 0xFF) - 150


def _round_half_even(v: Fraction) -> int:
    q = v.numerator // v.denominator
    rem = v - q
    return q + (rem > Fraction(1, 2) or (rem == Fraction(1, 2) and q % 2 == 1))


@pytest.mark.parametrize("combo", fpr.COMBOS, ids=[fpr.bin_name(*c) for c in fpr.COMBOS])
def test_each_combination_is_built_and_shows(combo):
    g, s, lsb = combo
    acc, mult, r, ok = fpr.rounding_jobs(CFG, np.random.default_rng(3), 40, combo)
    assert ok.all()
    for a, m, rr in zip(acc.tolist(), mult.tolist(), r.tolist()):
        mag = abs(a)
        odd = mag >> ((mag & -mag).bit_length() - 1)
        assert odd < 1 << 24  # fl32(acc) = acc: the accumulator is exact
        ms, e = _mant_exp(m)
        p = odd * ms  # the product's significant bits (the RTL normalizes them)
        d = p.bit_length() - 24
        assert d >= 2
        assert (p >> d) & 1 == lsb and (p >> (d - 1)) & 1 == g
        sticky = p & ((1 << (d - 1)) - 1)
        assert (sticky != 0) == bool(s)
        assert not s or (sticky & (sticky - 1) == 0 and d >= 3)  # one set bit among several
        down = p >> d
        up_ = g and (s or lsb)
        right, other = (down + 1, down) if up_ else (down, down + 1)
        ulp = Fraction(mag // odd) * Fraction(2) ** (e + d)  # value = K * ulp
        sign = 1 if a > 0 else -1
        assert Fraction(mag) * Fraction(ms) * Fraction(2) ** e == Fraction(p) * ulp / 2**d
        assert sign * _round_half_even(right * ulp) == rr
        assert sign * _round_half_even(other * ulp) != rr  # the other direction shows
        assert abs(rr) < 1 << (CFG.out_bits - 2)
    assert (np.asarray(requantize(acc, mult, 0, CFG)) == r).all()
    hits = fpr.features(CFG, acc, mult, np.ones(len(acc), bool))
    assert hits[fpr.bin_name(*combo)].all()
    assert sum(int(v.sum()) for v in hits.values()) == len(acc)


def test_hand_worked_job_is_found():
    """acc = 5, scale mantissa 13421773 at 2^-27: 5 * 13421773 = 2^26 + 1 (27 bits) drops 3
    bits, 001: guard 0, sticky 1, LSB 0 (kept 2^23), so fl32 gives 2^23 * 2^-24 = 1/2, a tie
    that rounds to r = 0; the other direction, (2^23 + 1) * 2^-24, gives r = 1."""
    ms = 13421773
    assert 5 * ms == (1 << 26) + 1
    mult = ((150 - 27) << 23) | (ms & 0x7F_FFFF)
    r = np.asarray(requantize(np.array([5]), np.array([mult]), 0, CFG))
    assert int(r[0]) == 0  # fl32 keeps 1/2 (guard 0), a tie to even 0
    hits = fpr.features(CFG, np.array([5]), np.array([mult]), np.array([True]))
    assert hits["fp32_prod_g0s1l0"][0]
    assert sum(int(v.sum()) for v in hits.values()) == 1
    hidden = fpr.features(CFG, np.array([5]), np.array([mult]), np.array([False]))
    assert not any(v.any() for v in hidden.values())


def test_a_hidden_direction_is_not_a_hit():
    """The same products scaled by a further 2^-40 (r = 0 both ways) count for no bin."""
    acc, mult, _, _ = fpr.rounding_jobs(CFG, np.random.default_rng(4), 8, (1, 1, 0))
    tiny = mult - (40 << 23)
    assert (np.asarray(requantize(acc, tiny, 0, CFG)) == 0).all()
    hits = fpr.features(CFG, acc, tiny, np.ones(8, bool))
    assert not any(v.any() for v in hits.values())


def test_other_modes_cannot_build_them():
    with pytest.raises(Unrealizable):
        fpr.rounding_jobs(NAMED_CONFIGS["tflite"], np.random.default_rng(0), 1, (1, 1, 0))
    empty = fpr.features(NAMED_CONFIGS["tflite"], [1 << 30], [1], [True])
    assert not any(v.any() for v in empty.values())


# ----- the carry at 2^24 and beyond (fpr.CARRY_SAT_BIN: qmac_fp32_round's r_mag[24])


def test_carry_at_2_24_hand_worked():
    """acc = 2^24 - 2 (a binary32), scale 1 + 2^-23 (0x3F800001): the mantissa product
    (2^24 - 2) * (2^23 + 1) = 2^47 - 2 keeps 24 ones and a set guard bit, so fl32 rounds it up
    to 2^47 * 2^-23 = 2^24 (e = 0: the RTL's m = 2^24 at f = 0, r_mag[24] set) and r = 2^24. At
    half the scale (0x3F000001) e = -1: r = 2^23 and no hit; at 2^24 - 4 the product
    (2^24 - 4) * (2^23 + 1) = 2^47 - 2^24 - 4 keeps 2^24 - 3 (not all ones) with the guard bit
    set: it rounds up to 2^24 - 2 without a carry, r = 2^24 - 2, no hit."""
    assert (2**24 - 2) * (2**23 + 1) == 2**47 - 2
    assert (2**24 - 4) * (2**23 + 1) == 2**47 - 2**24 - 4
    acc = np.array([2**24 - 2, -(2**24 - 2), 2**24 - 2, 2**24 - 4])
    mult = np.array([0x3F800001, 0x3F800001, 0x3F000001, 0x3F800001])
    r = np.asarray(requantize(acc, mult, 0, CFG)).tolist()
    assert r == [2**24, -(2**24), 2**23, 2**24 - 2]
    hits = fpr.features(CFG, acc, mult, np.zeros(4, bool))
    assert hits[fpr.CARRY_SAT_BIN].tolist() == [True, True, False, False]


def test_carry_at_2_24_jobs_are_exact():
    """Each job, with exact fractions (not pyref): the product's 24 kept bits all ones, its
    guard bit set, |acc * scale| below 2^p and fl32 of it exactly 2^p, p in CARRY_SAT_P,
    r = sign * 2^p."""
    acc, mult, r = fpr.carry_sat_jobs(CFG, np.random.default_rng(7), 12)
    lo, hi = fpr.CARRY_SAT_P
    for i, (a, m, rr) in enumerate(zip(acc.tolist(), mult.tolist(), r.tolist())):
        sign = 1 if i % 2 == 0 else -1
        mag = abs(a)
        odd = mag >> ((mag & -mag).bit_length() - 1)
        assert (a > 0) == (sign > 0) and odd < 1 << 24  # fl32(acc) = acc
        ms, e = _mant_exp(m)
        p = (odd << (24 - odd.bit_length())) * ms  # the RTL's normalized mantissa product
        d = p.bit_length() - 24
        assert p >> d == (1 << 24) - 1 and (p >> (d - 1)) & 1 == 1
        exact = Fraction(mag) * Fraction(ms) * Fraction(2) ** e
        k = rr.bit_length() - 1 if rr > 0 else (-rr).bit_length() - 1
        assert lo <= k <= hi and rr == sign * (1 << k)
        assert 2 ** (k - 1) < exact < 2**k  # rounds up to 2^k only through the carry
    assert fpr.features(CFG, acc, mult, np.zeros(12, bool))[fpr.CARRY_SAT_BIN].all()
    with pytest.raises(Unrealizable):
        fpr.carry_sat_jobs(NAMED_CONFIGS["tflite"], np.random.default_rng(0), 1)
