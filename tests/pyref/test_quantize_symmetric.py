"""Symmetric quantization, rounding of reals, power-of-two scales and shifts."""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyref.checks import ValueRangeError
from pyref.config import QmacConfig
from pyref.model import run_layer
from pyref.quantize.layer import make_layer, real_multiplier
from pyref.quantize.symmetric import (
    REAL_ROUNDING_MODES,
    abs_max,
    frac_bits,
    int_range,
    po2_exponent,
    po2_scale,
    quantize_symmetric,
    quantize_to_scale,
    requant_shift,
    round_real,
)


def round_fraction(v: Fraction, mode: str) -> int:
    """Reference rounding on exact rationals, written from the mode names."""
    fl = math.floor(v)
    d = v - fl
    if mode == "floor":
        return fl
    if mode == "trunc":
        return fl if v >= 0 else math.ceil(v)
    if d != Fraction(1, 2):
        return fl + (d > Fraction(1, 2))
    return {
        "half_even": fl + (fl % 2),
        "half_away": fl + 1 if v > 0 else fl,
        "half_up": fl + 1,
        "half_down": fl,
        "half_zero": fl if v > 0 else fl + 1,
    }[mode]


# ----- rounding ---------------------------------------------------------------------------------

TIES = [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5]
EXPECTED_TIES = {
    "half_even": [-2, -2, 0, 0, 2, 2],
    "half_away": [-3, -2, -1, 1, 2, 3],
    "half_up": [-2, -1, 0, 1, 2, 3],
    "half_down": [-3, -2, -1, 0, 1, 2],
    "half_zero": [-2, -1, 0, 0, 1, 2],
    "floor": [-3, -2, -1, 0, 1, 2],
    "trunc": [-2, -1, 0, 0, 1, 2],
}


@pytest.mark.parametrize("mode", REAL_ROUNDING_MODES)
def test_round_real_ties_by_hand(mode):
    assert round_real(TIES, mode).tolist() == EXPECTED_TIES[mode]


def test_round_real_no_double_rounding():
    # 0.49999999999999994 + 0.5 rounds to 1.0 in floating point; the value itself is below 1/2.
    v = 0.49999999999999994
    assert round_real(v, "half_away") == 0
    assert round_real(-v, "half_away") == 0
    assert round_real(v, "half_up") == 0


@settings(max_examples=200, deadline=None)
@given(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), st.sampled_from(REAL_ROUNDING_MODES)
)
def test_round_real_matches_exact_rationals(v, mode):
    assert int(round_real(v, mode)) == round_fraction(Fraction(v), mode)


def test_round_real_errors():
    with pytest.raises(ValueError, match="rounding = 'nearest' is not one of"):
        round_real(1.0, "nearest")
    with pytest.raises(ValueRangeError, match=r"value\[1\] = nan is not finite"):
        round_real([1.0, float("nan")])


# ----- ranges and symmetric quantization --------------------------------------------------------


def test_int_range():
    assert int_range(8) == (-127, 127)
    assert int_range(8, narrow=False) == (-128, 127)
    assert int_range(4, signed=False) == (0, 15)
    with pytest.raises(ValueError, match="bits = 0 must be an integer >= 1"):
        int_range(0)


def test_per_tensor_by_hand():
    # max |x| = 2.0, 4 bits: scale = 2/7; x/scale = [3.5, -7, 0.875, 1.75]
    qt = quantize_symmetric([1.0, -2.0, 0.25, 0.5], 4)
    assert qt.scale == pytest.approx(2 / 7, rel=1e-15)
    assert qt.q.tolist() == [4, -7, 1, 2]  # 3.5 -> 4 (ties to even)
    qt = quantize_symmetric([1.0, -2.0, 0.25, 0.5], 4, rounding="half_down")
    assert qt.q.tolist() == [3, -7, 1, 2]


def test_per_channel_by_hand():
    w = np.array(
        [
            [0.5, -1.0, 0.25],  # channel 0: max 1.0 -> scale 1/127
            [3.0, 0.0, -1.5],
        ]
    )  # channel 1: max 3.0 -> scale 3/127
    qt = quantize_symmetric(w, 8, axis=0)
    assert qt.scale.tolist() == pytest.approx([1 / 127, 3 / 127], rel=1e-15)
    # 63.5 -> 64 (ties to even); 0.25 * 127 = 31.75 -> 32; -1.5 * 127 / 3 = -63.5 -> -64
    assert qt.q.tolist() == [[64, -127, 32], [127, 0, -64]]
    np.testing.assert_allclose(qt.dequantize(), w, atol=0.5 * 3 / 127)


def test_per_channel_other_axis_and_zero_channel():
    w = np.array([[0.0, 2.0], [0.0, -1.0]])  # per column: column 0 is all zero
    qt = quantize_symmetric(w, 3, axis=1)  # qmax = 3
    assert qt.scale.tolist() == [1.0, 2 / 3]
    assert qt.q.tolist() == [[0, 3], [0, -2]]  # -1 / (2/3) = -1.5 -> -2


def test_narrow_and_full_range_clip():
    # A fixed scale of 1: values beyond the range saturate to the narrow or full bound.
    assert quantize_symmetric([-200, -128, 127, 300], 8, scale=1.0).q.tolist() == [
        -127,
        -127,
        127,
        127,
    ]
    assert quantize_symmetric([-200, -128, 127, 300], 8, scale=1.0, narrow=False).q.tolist() == [
        -128,
        -128,
        127,
        127,
    ]


def test_max_abs_clips_like_a_calibrated_range():
    qt = quantize_symmetric([0.5, 7.0, -9.0], 8, max_abs=6.0)
    assert qt.scale == pytest.approx(6 / 127, rel=1e-15)
    assert qt.q.tolist() == [11, 127, -127]  # 0.5 * 127 / 6 = 10.58 -> 11


def test_quantize_symmetric_errors():
    with pytest.raises(ValueError, match="scale must be finite and > 0"):
        quantize_symmetric([1.0], 8, scale=0.0)
    with pytest.raises(ValueError, match="axis = 2 is out of range"):
        quantize_symmetric(np.ones((2, 2)), 8, axis=2)
    with pytest.raises(ValueError, match="scale has 3 values but axis 0 has 2"):
        quantize_symmetric(np.ones((2, 2)), 8, axis=0, scale=[1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="empty"):
        abs_max(np.zeros((0, 3)))


def test_quantize_to_scale_refuses_what_does_not_fit():
    assert quantize_to_scale([1.0, -2.5], 0.5, 8).tolist() == [2, -5]
    with pytest.raises(
        ValueRangeError,
        match=r"bias\[1\] = 100.0 quantizes to 200, which does not "
        r"fit 8 bits: allowed -128 \.\. 127",
    ):
        quantize_to_scale([1.0, 100.0], 0.5, 8)


# ----- the worked int8 example (seed: "quantization of a single operation") ----------------------

SEED_W = ["-23.543", "8.533", "1.012", "-12.4756", "34.53"]
SEED_A = ["0.32432", "1.123213", "0.234324", "5.234234", "4.234323"]


def test_worked_int8_example_number_by_number():
    """W*A + B with symmetric 8-bit weights (a = max|w|), activations (a = 6), bias at
    s_w * s_a, and requantization to an output range a = 150. Expected numbers are derived
    here with exact fractions and, where marked, by hand."""
    w_f = [Fraction(s) for s in SEED_W]
    a_f = [Fraction(s) for s in SEED_A]
    b_f = Fraction("33.1")
    # The seed multiplies by s = 127/a; pyref's scale is the step a/127 (its inverse).
    inv_sw = Fraction(127) / Fraction("34.53")
    inv_sa = Fraction(127, 6)
    inv_sout = Fraction(127, 150)

    wq = quantize_symmetric(np.array(SEED_W, dtype=float), 8)
    aq = quantize_symmetric(np.array(SEED_A, dtype=float), 8, max_abs=6.0)
    assert wq.scale == pytest.approx(float(1 / inv_sw), rel=1e-15)  # 0.271890
    assert aq.scale == pytest.approx(float(1 / inv_sa), rel=1e-15)  # 0.047244
    expect_w = [round_fraction(v * inv_sw, "half_even") for v in w_f]
    expect_a = [round_fraction(v * inv_sa, "half_even") for v in a_f]
    assert expect_w == [-87, 31, 4, -46, 127]  # by hand: -86.59, 31.38, 3.72, -45.88, 127
    assert expect_a == [7, 24, 5, 111, 90]  # by hand: 6.86, 23.77, 4.96, 110.79, 89.63
    assert wq.q.tolist() == expect_w
    assert aq.q.tolist() == expect_a

    bias_q = quantize_to_scale(33.1, wq.scale * aq.scale, 32)
    assert int(bias_q) == round_fraction(b_f * inv_sw * inv_sa, "half_even") == 2577  # 2576.84

    res_quant = sum(x * y for x, y in zip(expect_w, expect_a)) + 2577
    assert res_quant == 9056  # -609 + 744 + 20 - 5106 + 11430 + 2577

    # requant coefficient (seed: scale_layer2 / new_scale) = s_w * s_a / s_out
    coeff = inv_sout / (inv_sw * inv_sa)
    assert float(coeff) == pytest.approx(0.0108755905511811, rel=1e-12)
    real = real_multiplier(aq.scale, wq.scale, 150 / 127)
    assert float(real) == pytest.approx(float(coeff), rel=1e-14)
    rescaled = coeff * res_quant  # 98.489...
    assert math.floor(rescaled) == 98  # the seed's astype(int8) truncates toward 0
    assert round_fraction(rescaled, "half_up") == 98

    # The same layer on the datapath: 16-bit multiplier, shift, rounding half up.
    config = QmacConfig(lanes=4, mult_bits=16)
    layer = make_layer(config, aq.q[None, :], wq.q[None, :], bias=bias_q, real=real)
    # by hand: real = 0.696 * 2^-6 -> mult = round(real * 2^22) = round(45615.53) = 45616
    assert (int(layer.mult[0]), int(layer.shift[0])) == (45616, 22)
    result = run_layer(layer, config)
    assert int(result.acc[0, 0]) == 9056
    assert int(result.y[0, 0]) == 98
    # Truncating like the seed gives the same here.
    trunc = QmacConfig(lanes=4, mult_bits=16, rounding="trunc")
    assert (
        int(
            run_layer(
                make_layer(trunc, aq.q[None, :], wq.q[None, :], bias=bias_q, real=real), trunc
            ).y[0, 0]
        )
        == 98
    )

    # dequantized: 98 * 150 / 127 = 115.748 against the float result 116.197
    dequant = int(result.y[0, 0]) * Fraction(150, 127)
    assert float(dequant) == pytest.approx(115.74803149606299, rel=1e-15)
    exact = sum(x * y for x, y in zip(w_f, a_f)) + b_f
    assert float(exact) == pytest.approx(116.1970101566, rel=1e-12)


# ----- power-of-two scales ----------------------------------------------------------------------


def test_po2_scale_ceil_and_round_by_hand():
    # 8 bits, qmax = 127. max 1.0: 1/127 -> ceil 2^-6 (127 * 2^-7 = 0.99 < 1), round 2^-7.
    assert po2_scale(1.0, 8).tolist() == 2.0**-6
    assert po2_scale(1.0, 8, mode="round").tolist() == 2.0**-7
    # exactly 127 * 2^-7 fits at 2^-7
    assert po2_scale(127 / 128, 8).tolist() == 2.0**-7
    assert po2_scale([0.0, 127.0, 128.0], 8).tolist() == [1.0, 1.0, 2.0]


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=1e-30, max_value=1e30), st.integers(2, 16))
def test_po2_scale_ceil_is_smallest_that_does_not_clip(a, bits):
    s = float(po2_scale(a, bits))
    qmax = (1 << (bits - 1)) - 1
    assert Fraction(a) <= qmax * Fraction(s)
    assert qmax * Fraction(s) / 2 < Fraction(a)


def test_po2_exponent_and_frac_bits():
    assert po2_exponent([1.0, 0.25, 8.0]).tolist() == [0, -2, 3]
    assert frac_bits(0.015625).tolist() == 6
    with pytest.raises(ValueError, match=r"s_w\[1\] = 0.3 is not a power of two"):
        po2_exponent([0.5, 0.3], "s_w")


def test_requant_shift_by_hand_and_on_the_datapath():
    # in: 2^-4, w: 2^-6 (ch 0) and 2^-5 (ch 1), out: 2^-3 -> shifts 4 + 6 - 3 = 7, 4 + 5 - 3 = 6
    assert requant_shift(2.0**-4, [2.0**-6, 2.0**-5], 2.0**-3).tolist() == [7, 6]
    with pytest.raises(ValueError, match=r"requant shift = -1 < 0"):
        requant_shift(2.0**-1, 2.0**-1, 2.0**-3)
    # x = 1.5 (24 at 2^-4), w = 0.5 (32 at 2^-6): out = 0.75 = 6 at 2^-3
    config = QmacConfig(lanes=1)
    layer = make_layer(config, [[24]], [[32]], shift=requant_shift(2.0**-4, 2.0**-6, 2.0**-3))
    assert run_layer(layer, config).y.tolist() == [[6]]
