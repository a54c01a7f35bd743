"""gemmlowp's rounding stimulus: each job has the (guard, sticky, LSB) it was built for in its
step, and rounding that step the other way changes r, checked with pyref's scalar
SaturatingRoundingDoublingHighMul and RoundingDivideByPOT on Python integers; the coverage bins
find the same jobs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pyref.config import NAMED_CONFIGS
from pyref.fixed_point import (
    rounding_divide_by_pot_scalar,
    saturating_rounding_doubling_high_mul_scalar,
)
from tb.shared import gemmlowp_rounding as gr
from tb.shared.exact_values import Unrealizable

CFG = NAMED_CONFIGS["tflite"]
CASES = [(step, c) for step in gr.STEPS for c in gr.COMBOS]


@pytest.mark.parametrize("out_bits", [8, 3, 2])
@pytest.mark.parametrize("step,combo", CASES, ids=[gr.bin_name(s, *c) for s, c in CASES])
def test_each_combination_is_built_and_shows(step, combo, out_bits):
    """Also at the narrowest outputs (a sweep point with out_bits = 2 once crashed the
    generator with a negative shift count)."""
    cfg = dataclasses.replace(CFG, out_bits=out_bits)
    g, s, lsb = combo
    build = gr.mul_jobs if step == "mul" else gr.div_jobs
    acc, mult, shift, r, ok = build(cfg, np.random.default_rng(11), 30, combo)
    assert ok.all()
    for a, m, sh, rr in zip(*(v.tolist() for v in (acc, mult, shift, r))):
        x = a << max(sh, 0)
        t = max(-sh, 0)
        ab = x * m
        h = saturating_rounding_doubling_high_mul_scalar(x, m)
        assert rounding_divide_by_pot_scalar(h, t) == rr
        if step == "mul":
            assert t == 0 and abs(rr) < max(1 << (out_bits - 2), 2)
            bits = ab % (1 << 32)
            assert (bits >> 31, (bits >> 30) & 1, bits % (1 << 30) != 0) == (lsb, g, bool(s))
            other = h - 1 if g else h + 1  # the guard alone decides (half up)
            assert rounding_divide_by_pot_scalar(other, t) != rr
        else:
            assert 2 <= t <= 8 and ab % (1 << 31) == 0  # the multiply drops nothing
            bits = h % (1 << (t + 1))
            assert (bits >> t, (bits >> (t - 1)) & 1) == (lsb, g)
            assert (bits % (1 << (t - 1)) != 0) == bool(s)
            exact_up = g and (h >= 0 or s)
            assert rr == (h >> t) + exact_up  # half away from zero
    lo, hi = -(1 << (out_bits - 1)), (1 << (out_bits - 1)) - 1
    assert ((r >= lo) & (r <= hi)).all()  # inside the output range: the rounding shows
    y = r + np.clip(-r, lo, hi)
    hits = gr.features(cfg, acc, mult, shift, y, np.clip(-r, lo, hi), lo, hi, ok)
    assert hits[gr.bin_name(step, *combo)].all()


def test_other_modes_cannot_build_them():
    with pytest.raises(Unrealizable):
        gr.mul_jobs(NAMED_CONFIGS["fp32"], np.random.default_rng(0), 1, (1, 0, 0))
    none = gr.features(NAMED_CONFIGS["default"], [5], [0], [1], [2], [0], -128, 127, [True])
    assert not any(v.any() for v in none.values())
