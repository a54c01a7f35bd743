"""Real multiplier -> (mult, shift), input zero-point folding, and layers built from pieces."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pyref.checks import ValueRangeError
from pyref.config import QmacConfig
from pyref.fixed_point import multiply_by_quantized_multiplier_scalar
from pyref.model import run_layer
from pyref.quantize.layer import fold_input_zero_point, make_layer, requant_params
from pyref.tflite_math import quantize_multiplier

# ----- requant_params ---------------------------------------------------------------------------


def test_shift_only_needs_powers_of_two():
    config = QmacConfig()  # mult_bits = 0, shift 0 .. 63
    mult, shift = requant_params([2.0**-7, 1.0, 2.0**-63], config)
    assert mult.tolist() == [0, 0, 0]
    assert shift.tolist() == [7, 0, 63]
    with pytest.raises(ValueError, match=r"real multiplier\[1\] = 0.3 is not a power of two"):
        requant_params([0.5, 0.3], config)
    with pytest.raises(ValueError, match=r"needs shift = -1, outside the allowed 0 \.\. 63"):
        requant_params(2.0, config)
    with pytest.raises(ValueError, match=r"needs shift = 64"):
        requant_params(2.0**-64, config)


def test_mult_shift_by_hand():
    config = QmacConfig(mult_bits=16)
    # 0.75 = 0.75 * 2^0 -> mult = 0.75 * 2^16 = 49152, shift 16
    assert [a.tolist() for a in requant_params(0.75, config)] == [49152, 16]
    # carry: real = 65535.5 / 2^19 rounds to 2^16 at shift 19 -> 32768 at shift 18
    assert [a.tolist() for a in requant_params(65535.5 / 2**19, config)] == [32768, 18]
    # shift limited by shift_bits = 4 (at most 15): 1e-3 * 2^15 = 32.768 -> 33
    small = QmacConfig(mult_bits=16, shift_bits=4)
    assert [a.tolist() for a in requant_params(1e-3, small)] == [33, 15]
    with pytest.raises(ValueError, match=r"too small for shift <= 15 .* mult rounds to 0"):
        requant_params(1e-6, small)
    with pytest.raises(ValueError, match=r"must be finite and >= 0"):
        requant_params(-0.5, config)


@settings(max_examples=150, deadline=None)
@given(st.floats(min_value=2.0**-40, max_value=2.0**10), st.integers(1, 32))
def test_mult_shift_is_nearest_and_fits(real, mult_bits):
    assume(real < 2.0 ** (mult_bits - 1))  # larger ones would need a left shift
    config = QmacConfig(mult_bits=mult_bits, shift_bits=8)
    (mult,), (shift,) = (a.reshape(1).tolist() for a in requant_params(real, config))
    assert 0 < mult < 1 << mult_bits
    # mult / 2^shift is within half a step of real, and uses the top bit (full precision)
    err = abs(Fraction(mult, 2**shift) - Fraction(real))
    assert err <= Fraction(1, 2 ** (shift + 1))
    assert mult >= 1 << (mult_bits - 1) or shift == 255


def test_gemmlowp_pairs_are_tflites():
    config = QmacConfig(mult_bits=32, rounding="gemmlowp")
    reals = [0.0123, 0.5, 1.75, 2.0**-40]
    mult, shift = requant_params(reals, config)
    assert list(zip(mult.tolist(), shift.tolist())) == [quantize_multiplier(r) for r in reals]
    # 0.5 = 2^30 / 2^31 * 2^0 by hand; 2^-40 flushes to (0, 0)
    assert (mult[1], shift[1]) == (1 << 30, 0)
    assert (mult[3], shift[3]) == (0, 0)


def tflite_single_rounding(x: int, m: int, s: int) -> int:
    """TFLite's MultiplyByQuantizedMultiplier built with TFLITE_SINGLE_ROUNDING."""
    total_shift = 31 - s
    return (x * m + (1 << (total_shift - 1))) >> total_shift


def test_tflite_single_rounding_pairs():
    config = QmacConfig(mult_bits=32, rounding="half_up", shift_bits=6)
    real = 0.00390625 * 1.37
    mult, shift = requant_params(real, config, tflite_single_rounding=True)
    m, s = quantize_multiplier(real)
    assert (int(mult), int(shift)) == (m, 31 - s)
    # acc values go in through the bias of one channel per value
    for a in [-100000, -3, 0, 5, 123456, 2**31 - 1]:
        lay = make_layer(config, [[0]], [[0]], bias=a, mult=mult, shift=shift)
        got = run_layer(lay, config)
        want = max(-128, min(127, tflite_single_rounding(a, m, s)))
        assert int(got.y[0, 0]) == want
    with pytest.raises(ValueError, match="needs mult_bits >= 31"):
        requant_params(real, QmacConfig(mult_bits=16), tflite_single_rounding=True)


# ----- zero-point folding -----------------------------------------------------------------------


def test_fold_by_hand():
    w = [[1, 2, 3], [-4, 0, 4], [127, 127, -127]]
    # bias - zp * row sums (6, 0, 127) with zp = -5
    assert fold_input_zero_point([10, 20, 30], w, -5).tolist() == [40, 20, 665]
    assert fold_input_zero_point(7, w, 2).tolist() == [-5, 7, -247]


def test_fold_refuses_a_bias_that_does_not_fit():
    w = [[100, 100], [1, 1]]
    with pytest.raises(
        ValueRangeError,
        match=r"folded bias\[0\] = 0 - 1 \* 200 = -200 does not "
        r"fit bias_bits = 8: allowed -128 \.\. 127",
    ):
        fold_input_zero_point([0, 0], w, 1, bias_bits=8)


def unfolded_tflite(x, w, bias, in_zp, m, s, out_zp, act_min, act_max):
    """TFLite's int8 FULLY_CONNECTED, loop by loop: sum (x + input_offset) * w with
    input_offset = -in_zp, plus bias, requantized, offset, clamped."""
    n, k = len(x), len(x[0])
    out = []
    for i in range(n):
        row = []
        for c in range(len(w)):
            acc = sum((x[i][j] - in_zp) * w[c][j] for j in range(k)) + bias[c]
            r = multiply_by_quantized_multiplier_scalar(acc, m[c], s[c]) + out_zp
            row.append(min(act_max, max(act_min, r)))
        out.append(row)
    return out


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_folded_bias_equals_unfolded_formula(data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    n, k, c = (
        data.draw(st.integers(1, 5)),
        data.draw(st.integers(1, 40)),
        data.draw(st.integers(1, 4)),
    )
    in_zp = data.draw(st.integers(-128, 127))
    x = rng.integers(-128, 128, (n, k))
    w = rng.integers(-127, 128, (c, k))
    bias = rng.integers(-(2**20), 2**20, c)
    reals = rng.uniform(1e-4, 0.05, c)
    pairs = [quantize_multiplier(float(r)) for r in reals]
    m = [p[0] for p in pairs]
    s = [p[1] for p in pairs]
    out_zp = data.draw(st.integers(-128, 127))
    config = QmacConfig(lanes=4, mult_bits=32, rounding="gemmlowp")
    layer = make_layer(
        config,
        x,
        w,
        bias=bias,
        mult=m,
        shift=s,
        in_zp=in_zp,
        out_zp=out_zp,
        act_min=-128,
        act_max=127,
    )
    want = unfolded_tflite(x.tolist(), w.tolist(), bias.tolist(), in_zp, m, s, out_zp, -128, 127)
    assert run_layer(layer, config).y.tolist() == want


def test_folding_matters():
    # Without folding the same raw inputs give another answer (the test above can fail).
    config = QmacConfig(lanes=1, mult_bits=32, rounding="gemmlowp")
    m, s = quantize_multiplier(0.5)
    folded = make_layer(config, [[10]], [[3]], bias=[0], mult=[m], shift=[s], in_zp=4)
    plain = make_layer(config, [[10]], [[3]], bias=[0], mult=[m], shift=[s])
    assert run_layer(folded, config).y.tolist() == [[9]]  # (10 - 4) * 3 * 0.5 = 9
    assert run_layer(plain, config).y.tolist() == [[15]]  # 10 * 3 * 0.5 = 15


def test_make_layer_argument_errors():
    config = QmacConfig(mult_bits=16)
    with pytest.raises(ValueError, match="give either real or mult/shift, not both"):
        make_layer(config, [[1]], [[1]], real=0.5, shift=1)
    with pytest.raises(ValueError, match="give real"):
        make_layer(config, [[1]], [[1]])
    layer = make_layer(config, [[1, 2]], [[3, 4], [5, 6]], bias=[1, 2], real=[0.5, 0.25])
    assert layer.mult.tolist() == [32768, 32768] and layer.shift.tolist() == [16, 17]
