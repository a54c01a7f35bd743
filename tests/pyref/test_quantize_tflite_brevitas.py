"""TFLite's multipliers and activation ranges; Brevitas' fixed-point weights and biases."""

import math
from fractions import Fraction

import numpy as np
import pytest

from pyref.checks import ValueRangeError
from pyref.export import ap_fixed_literal, to_hex_words
from pyref.quantize.brevitas import brevitas_bias, brevitas_fixed_point_weight
from pyref.quantize.symmetric import frac_bits
from pyref.quantize.tflite import activation_range, tflite_multipliers, tflite_real_multipliers

# ----- TFLite -----------------------------------------------------------------------------------


def round_to_float32(v: Fraction) -> Fraction:
    """Nearest float32 (24-bit significand, ties to even) of a positive normal rational."""
    e = math.floor(math.log2(v))
    while Fraction(2) ** e > v:
        e -= 1
    while Fraction(2) ** (e + 1) <= v:
        e += 1
    ulp = Fraction(2) ** (e - 23)
    q, r = divmod(v, ulp)
    q = int(q) + (r > ulp / 2 or (r == ulp / 2 and int(q) % 2 == 1))
    return q * ulp


def quantize_multiplier_exact(real: Fraction) -> tuple[int, int]:
    """QuantizeMultiplier on an exact rational: real = q 2^s, q in [1/2, 1), M = round(q 2^31)."""
    s = math.floor(math.log2(real)) + 1
    while Fraction(2) ** (s - 1) > real:
        s -= 1
    while Fraction(2) ** s <= real:
        s += 1
    q = real / Fraction(2) ** s
    m = math.floor(q * 2**31 + Fraction(1, 2))  # half away from zero (q > 0)
    if m == 2**31:
        m, s = m // 2, s + 1
    return m, s


def test_tflite_engine_rounds_the_per_tensor_product_to_float32_tflm_does_not():
    s_in, s_w, s_out = (float(np.float32(v)) for v in (0.0640592, 0.0277089, 0.0050564))
    exact = Fraction(s_in) * Fraction(s_w)
    per_tensor = round_to_float32(exact) / Fraction(s_out)
    # (the double division of TFLite rounds once more; the result is exact enough for M here)
    m_t, s_t = tflite_multipliers(s_in, [s_w], s_out, per_channel=False, engine="tflite")
    m_m, s_m = tflite_multipliers(s_in, [s_w], s_out, per_channel=False, engine="tflm")
    m_c, s_c = tflite_multipliers(s_in, [s_w], s_out, per_channel=True)
    assert (int(m_t[0]), int(s_t[0])) == quantize_multiplier_exact(per_tensor)
    assert (int(m_c[0]), int(s_c[0])) == quantize_multiplier_exact(exact / Fraction(s_out))
    assert (int(m_m[0]), int(s_m[0])) == (int(m_c[0]), int(s_c[0]))
    assert int(m_t[0]) != int(m_c[0])  # the two formulas really differ on these scales
    assert float(tflite_real_multipliers(s_in, s_w, s_out, engine="tflite")) == float(
        np.float64(np.float32(s_in) * np.float32(s_w)) / s_out
    )
    with pytest.raises(ValueError, match="engine = 'tf' is not one of tflm, tflite"):
        tflite_real_multipliers(s_in, s_w, s_out, engine="tf")


def test_per_channel_arrays_and_repeat():
    m, s = tflite_multipliers(0.5, [0.25, 0.125, 0.75], 1.0)
    # 0.125 = 0.5 * 2^-2, 0.0625 = 0.5 * 2^-3, 0.375 = 0.75 * 2^-1
    assert m.tolist() == [1 << 30, 1 << 30, 3 << 29]
    assert s.tolist() == [-2, -3, -1]
    m, s = tflite_multipliers(0.5, 0.25, 1.0, channels=3)
    assert m.tolist() == [1 << 30] * 3 and s.tolist() == [-2] * 3
    with pytest.raises(ValueError, match="3 per-channel multipliers but channels = 2"):
        tflite_multipliers(0.5, [0.25, 0.125, 0.75], 1.0, channels=2)
    with pytest.raises(ValueError, match="per-tensor quantization needs one weight scale"):
        tflite_real_multipliers(0.5, [0.25, 0.5], 1.0, per_channel=False)


def test_activation_range_by_hand():
    # scale 0.05, zp -128: q(0) = -128, q(6) = -128 + 120 = -8
    assert activation_range("RELU6", 0.05, -128) == (-128, -8)
    assert activation_range("RELU", 0.05, -128) == (-128, 127)
    assert activation_range("NONE", 0.05, 3) == (-128, 127)
    assert activation_range("relu", 0.1, 5) == (5, 127)
    # 6 / 0.01 = 600 -> min(127, 3 + 600)
    assert activation_range("RELU6", 0.01, 3) == (3, 127)
    # ReLU6 at 16 bits: 6 / 2^-10 = 6144
    assert activation_range("RELU6", 2.0**-10, 0, out_bits=16) == (0, 6144)


def test_activation_range_rounds_in_float32_half_away():
    # float32(1) / float32(0.4) is exactly 2.5 (in double it is 2.49999996): TfLiteRound
    # takes it away from zero -> +-3. Double division or ties-to-even would give +-2.
    assert activation_range("RELU_N1_TO_1", 0.4, 0) == (-3, 3)
    assert activation_range("RELU_N1_TO_1", 0.4, 10) == (7, 13)


def test_activation_range_errors():
    with pytest.raises(ValueError, match="activation = 'TANH' is not one of"):
        activation_range("TANH", 0.1, 0)
    with pytest.raises(ValueError, match="must be finite and > 0"):
        activation_range("RELU", 0.0, 0)
    with pytest.raises(ValueError, match="overflows int32"):
        activation_range("RELU6", 1e-30, 0)


# ----- Brevitas ---------------------------------------------------------------------------------


def test_brevitas_hex_example():
    """Int8WeightPerTensorFixedPoint with 2 integer bits: 0.09375 / 0.015625 = 6 -> '06',
    -0.03125 / 0.015625 = -2 -> 'fe'; ap_fixed<8,2>."""
    w = np.array([0.09375, -0.03125, 1.25, -0.5])
    qt = brevitas_fixed_point_weight(w, 8)
    # max |w| = 1.25 -> 2^ceil(log2 1.25) = 2 -> scale = 2 / 2^7 = 0.015625
    assert float(qt.scale) == 0.015625
    assert frac_bits(qt.scale).tolist() == 6  # ap_fixed<8, 8 - 6>
    assert qt.q.tolist() == [6, -2, 80, -32]
    assert to_hex_words(qt.q, 8) == ["06", "fe", "50", "e0"]
    assert ap_fixed_literal(0.09375, 8, 2) == "ap_fixed<8,2>(0.09375)"
    assert ap_fixed_literal(-0.03125, 8, 2) == "ap_fixed<8,2>(-0.03125)"


def test_brevitas_weight_rounding_and_narrow_range():
    step = 2.0**-6
    w = np.array([2.5 * step, 3.5 * step, -1.5 * step, 1.9])  # max 1.9 -> scale 2^-6
    assert brevitas_fixed_point_weight(w).q.tolist() == [2, 4, -2, 122]  # ties to even
    # max exactly 2: scale 2^1 / 2^7; -2 / 2^-6 = -128 saturates to the narrow -127
    assert brevitas_fixed_point_weight([-2.0, 1.0]).q.tolist() == [-127, 64]
    # 4 bits: max 0.3 -> 2^ceil(log2 0.3) = 0.5 -> scale 0.5 / 8 = 1/16
    qt = brevitas_fixed_point_weight([0.3, -0.1, 0.03125], 4)
    assert float(qt.scale) == 1 / 16
    assert qt.q.tolist() == [5, -2, 0]  # 4.8, -1.6, 0.5 -> 0 (even)


def test_brevitas_per_channel():
    w = np.array([[0.5, -0.25], [3.0, 1.0]])
    qt = brevitas_fixed_point_weight(w, 8, axis=0)
    # channel 0: max 0.5 -> 2^-1 / 2^7 = 2^-8; channel 1: max 3 -> 4 / 2^7 = 2^-5
    assert qt.scale.tolist() == [2.0**-8, 2.0**-5]
    assert qt.q.tolist() == [[127, -64], [96, 32]]  # 0.5 * 256 = 128 -> 127 (narrow)


def test_brevitas_bias():
    # s_w = 2^-6, s_in = 2^-3 -> bias scale 2^-9
    b = brevitas_bias([0.1, -0.2, 2.5 * 2.0**-9], 2.0**-6, 2.0**-3, bits=8)
    assert b.q.tolist() == [51, -102, 2]  # 51.2, -102.4, 2.5 -> 2 (even)
    assert float(b.scale) == 2.0**-9
    with pytest.raises(
        ValueRangeError,
        match=r"bias\[1\] = 0.25 quantizes to 128 at scale s_w \* "
        r"s_in, which does not fit Int8Bias: allowed "
        r"-128 \.\. 127 \(Brevitas would clamp it\)",
    ):
        brevitas_bias([0.1, 0.25], 2.0**-6, 2.0**-3, bits=8)
    assert brevitas_bias([0.1, 0.25], 2.0**-6, 2.0**-3, bits=16).q.tolist() == [51, 128]
    # per-channel weight scales give per-channel bias scales
    b = brevitas_bias([1.0, 1.0], [2.0**-8, 2.0**-5], 2.0**-7, bits=32)
    assert b.q.tolist() == [2**15, 2**12]
    with pytest.raises(ValueError, match="bias bits = 12 is not one of"):
        brevitas_bias([0.1], 0.1, 0.1, bits=12)
