"""The fp32 accumulator-rounding stimulus: each (guard, sticky, LSB) job has those bits, and
rounding its accumulator the other way changes the output, both checked with Python integers
and exact fractions (not with pyref); the coverage bins find the same jobs; -2^31 is exact."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from pyref.arith import requantize
from pyref.config import NAMED_CONFIGS
from tb.shared import fp32_acc_rounding as far
from tb.shared.exact_values import Unrealizable

CFG = NAMED_CONFIGS["fp32"]


def _scale(bits: int) -> Fraction:
    m, e = (bits & 0x7F_FFFF) | 0x80_0000, ((bits >> 23) & 0xFF) - 150
    return Fraction(m) * Fraction(2) ** e


def _fl32(v: Fraction) -> Fraction:
    """``v`` rounded to 24 significant bits, ties to even (v != 0)."""
    a = abs(v)
    e = a.numerator.bit_length() - a.denominator.bit_length()
    while Fraction(2) ** e > a:
        e -= 1
    while Fraction(2) ** (e + 1) <= a:
        e += 1
    ulp = Fraction(2) ** (e - 23)
    q, rem = divmod(a, ulp)
    q += rem > ulp / 2 or (rem == ulp / 2 and q % 2 == 1)
    return q * ulp if v > 0 else -q * ulp


def _r(acc_value: Fraction, bits: int) -> int:
    """round_half_even(fl32(acc_value * scale)) for a binary32 acc_value (arithmetic.md)."""
    v = _fl32(acc_value * _scale(bits))
    q = v.numerator // v.denominator
    rem = v - q
    return q + (rem > Fraction(1, 2) or (rem == Fraction(1, 2) and q % 2 == 1))


@pytest.mark.parametrize("combo", far.COMBOS, ids=[far.bin_name(*c) for c in far.COMBOS])
def test_each_combination_is_built_and_shows(combo):
    g, s, lsb = combo
    acc, mult, r, ok = far.rounding_jobs(CFG, np.random.default_rng(3), 40, combo)
    assert ok.all()
    for a, m, rr in zip(acc.tolist(), mult.tolist(), r.tolist()):
        mag = abs(a)
        d = mag.bit_length() - 24
        assert 2 <= d <= 7
        assert (mag >> d) & 1 == lsb and (mag >> (d - 1)) & 1 == g
        sticky = mag & ((1 << (d - 1)) - 1)
        assert (sticky != 0) == bool(s)
        assert sticky != (1 << (d - 1)) - 1 or d == 2 or not s  # one bit, not all of them
        down = (mag >> d) << d
        up_ = g and (s or lsb)
        right, other = (down + (1 << d), down) if up_ else (down, down + (1 << d))
        sign = 1 if a > 0 else -1
        assert _fl32(Fraction(a)) == sign * right
        assert _r(Fraction(sign * right), m) == rr
        assert _r(Fraction(sign * other), m) != rr  # the other direction shows
        assert abs(rr) < 1 << (CFG.out_bits - 2)
    assert (np.asarray(requantize(acc, mult, 0, CFG)) == r).all()
    hits = far.features(CFG, acc, mult, r, np.ones(len(acc), bool))
    assert hits[far.bin_name(*combo)].all()
    assert sum(int(v.sum()) for v in hits.values()) == len(acc)


def test_a_hidden_direction_is_not_a_hit():
    """The same accumulator under scale 2^-31 (r = 0 both ways) counts for no bin."""
    acc, mult, r, _ = far.rounding_jobs(CFG, np.random.default_rng(4), 8, (1, 1, 0))
    tiny = np.full(8, (127 - 40) << 23, np.int64)
    r0 = np.asarray(requantize(acc, tiny, 0, CFG))
    assert (r0 == 0).all()
    hits = far.features(CFG, acc, tiny, r0, np.ones(8, bool))
    assert not any(v.any() for v in hits.values())


def test_acc_min_is_exact():
    acc, mult, r = far.acc_min_jobs(CFG, np.random.default_rng(5), 6)
    for a, m, rr in zip(acc.tolist(), mult.tolist(), r.tolist()):
        assert a == -(1 << 31) and _r(Fraction(a), m) == rr and -64 <= rr < 0


def test_other_modes_cannot_build_them():
    with pytest.raises(Unrealizable):
        far.rounding_jobs(NAMED_CONFIGS["tflite"], np.random.default_rng(0), 1, (1, 1, 0))
    empty = far.features(NAMED_CONFIGS["tflite"], [1 << 30], [1], [0], [True])
    assert not any(v.any() for v in empty.values())


SHOWN_AT_TWO_BITS = [(0, 0, 0), (0, 0, 1), (0, 1, 0), (0, 1, 1), (1, 0, 0)]
"""The combinations a 2-bit output can show (r = 0 one way, +-1 the other); about one draw in
six of them finds no scale."""


@pytest.mark.parametrize(
    "combo", SHOWN_AT_TWO_BITS, ids=[far.bin_name(*c) for c in SHOWN_AT_TWO_BITS]
)
def test_every_directed_job_is_built_at_two_output_bits(combo):
    """At out_bits = 2 a first draw that finds no scale is drawn again rather than leaving the
    bin empty (the ci sweep's point l16-s4x4-a32w-b32-m32-s6-fp32-o2, seed 1985416466, missed
    fp32_acc_g0s1l0)."""
    from tb.shared import boundaries

    cfg = NAMED_CONFIGS["default"].replace(
        lanes=16, in_bits=4, w_bits=4, mult_bits=32, rounding="fp32", out_bits=2
    )
    g, s, lsb = combo
    for seed in range(24):
        batch = boundaries._fp32_rounding_batch(cfg, np.random.default_rng(seed), 2, far, combo)
        assert batch.keep.all(), seed
        ends = np.cumsum(batch.k)
        accs = [
            int(b) + int(np.dot(batch.x[e - k : e].astype(object), batch.w[e - k : e]))
            for b, k, e in zip(batch.values["bias"], batch.k, ends)
        ]
        for a in accs:
            mag = abs(a)
            d = mag.bit_length() - 24
            assert 2 <= d <= 7
            assert (mag >> d) & 1 == lsb and (mag >> (d - 1)) & 1 == g
            assert (mag & ((1 << (d - 1)) - 1) != 0) == bool(s)
        job = boundaries._fp32_acc_rounding_job(cfg, np.random.default_rng(seed), combo)
        a = int(job["bias"]) + sum(int(x) * int(w) for x, w in zip(job["x"], job["w"]))
        assert (abs(a) >> (abs(a).bit_length() - 24)) & 1 == lsb
