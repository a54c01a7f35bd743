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
