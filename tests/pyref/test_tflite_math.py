"""TFLite / gemmlowp requantization: values from their own published tests, the single- vs
double-rounding tie, and the vectorized forms against the C-like scalar forms."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spec_reference import gemmlowp_requant, round_fraction

from pyref.arith import requantize
from pyref.config import QmacConfig, named_config
from pyref.fixed_point import (
    multiply_by_quantized_multiplier,
    multiply_by_quantized_multiplier_scalar,
    rounding_divide_by_pot_scalar,
    saturating_rounding_doubling_high_mul_scalar,
    wrap_scalar,
)
from pyref.layer import Layer
from pyref.model import run_layer
from pyref.rounding import round_shift, round_shift_scalar
from pyref.tflite_math import quantize_multiplier

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
TFLITE = named_config("tflite")
# TFLite built with TFLITE_SINGLE_ROUNDING: one half-up rounding of x * M by 31 - s bits.
SINGLE = QmacConfig(mult_bits=32, shift_bits=6, rounding="half_up")


def single_rounding(x: int, m: int, s: int) -> int:
    """pyref's form of TFLite's single-rounding MultiplyByQuantizedMultiplier."""
    return round_shift_scalar(x * m, 31 - s, "half_up")


def double_rounding_all_forms(x: int, m: int, s: int) -> set[int]:
    """The double-rounding result by every pyref path; a set of one value when they agree."""
    return {
        multiply_by_quantized_multiplier_scalar(x, m, s),
        int(multiply_by_quantized_multiplier(np.array([x]), np.array([m]), np.array([s]))[0]),
        int(requantize(np.array([x], dtype=np.int64), np.array([m]), np.array([s]), TFLITE)[0]),
    }


def single_rounding_all_forms(x: int, m: int, s: int) -> set[int]:
    return {
        single_rounding(x, m, s),
        int(
            requantize(np.array([x], dtype=np.int64), np.array([m]), np.array([31 - s]), SINGLE)[0]
        ),
    }


# ----- QuantizeMultiplier: tensorflow/lite/kernels/internal/quantization_util_test.cc ----------

QUANTIZE_MULTIPLIER_CASES = [
    # From TEST(QuantizationUtilTest, QuantizeMultiplierSmallerThanOneExp), which wraps
    # QuantizeMultiplier (quantization_util_test.cc).
    (0.25, (1073741824, -1)),
    (0.50 - 5e-9, (2147483627, -1)),
    (0.50 - 1e-10, (1073741824, 0)),
    (0.50, (1073741824, 0)),
    (0.75, (1610612736, 0)),
    (1 - 1e-9, (2147483646, 0)),
    # From TEST(QuantizationUtilTest, QuantizeMultiplierGreaterThanOne) (quantization_util_test.cc).
    (1 + 1e-11, (1073741824, 1)),
    (1.25, (1342177280, 1)),
    (1.50, (1610612736, 1)),
    (1.75, (1879048192, 1)),
    (2 - 1e-9, (2147483647, 1)),
    (2 - 1e-11, (1073741824, 2)),
    (2.0, (1073741824, 2)),
    # From TEST(QuantizationUtilTest, QuantizeMultiplierUnderflow) (quantization_util_test.cc):
    # std::ldexp(1.0f, -31) etc., float arguments widened to double.
    (math.ldexp(1.0, -31), (1073741824, -30)),
    (math.ldexp(1.0, -32), (1073741824, -31)),
    (math.ldexp(float(np.float32(0.99)), -32), (0, 0)),
    (math.ldexp(1.0, -33), (0, 0)),
    (0.0, (0, 0)),
]


@pytest.mark.parametrize("real, want", QUANTIZE_MULTIPLIER_CASES)
def test_quantize_multiplier_matches_tflite_tests(real, want):
    assert quantize_multiplier(real) == want


@settings(max_examples=300, deadline=None)
@given(real=st.floats(min_value=2.0**-34, max_value=2.0**29))
def test_quantize_multiplier_is_frexp_rounded(real):
    m, s = quantize_multiplier(real)
    if m == 0:
        assert (m, s) == (0, 0) and real < 2.0**-32
        return
    assert (1 << 30) <= m < (1 << 31) and -31 <= s <= 30
    # M * 2^(s-31) is the real scale rounded to 31 fraction bits: error <= half an ulp of M.
    err = abs(Fraction(m) * Fraction(2) ** (s - 31) - Fraction(real))
    assert err <= Fraction(2) ** (s - 32)


def test_quantize_multiplier_refuses_what_the_datapath_cannot_take():
    for bad in (-0.5, math.inf, math.nan):
        with pytest.raises(ValueError, match="multiplier"):
            quantize_multiplier(bad)
    # TFLite's double-rounding build returns s = 31 here, which would shift an int32 left by
    # 31; qmac's shift range stops at 30.
    with pytest.raises(ValueError, match="s <= 30"):
        quantize_multiplier(2.0**30)


# ----- MultiplyByQuantizedMultiplier: quantization_util_test.cc ---------------------------------

# TEST(QuantizationUtilTest, MultiplyByQuantizedMultiplierInt32): quant_and_multiply(x, real)
# = MultiplyByQuantizedMultiplier(x, QuantizeMultiplier(real)). The file checks these values in
# both builds (with and without TFLITE_SINGLE_ROUNDING).
MBQM_INT32_CASES = [
    (0, 0.1, 0),
    (1, 0.0, 0),
    (10000, 0.00097656, 10),
    (-10000, 0.00097656, -10),
    (INT32_MIN, 0.00001, -21475),
    (INT32_MAX, 0.00001, 21475),
]


@pytest.mark.parametrize("x, real, want", MBQM_INT32_CASES)
def test_multiply_by_quantized_multiplier_matches_tflite_tests(x, real, want):
    m, s = quantize_multiplier(real)
    assert double_rounding_all_forms(x, m, s) == {want}
    assert single_rounding_all_forms(x, m, s) == {want}


def test_multiply_by_quantized_multiplier_max_operands():
    # quantization_util_test.cc, "Test with maximum possible x and quantized_multiplier":
    # expected = TfLiteRound(int64(x) * M / double(1 << (31 - shift))), x = M = INT32_MAX,
    # shift = -3; and -expected for -x. Evaluated here with the same double arithmetic.
    x, m, s = INT32_MAX, INT32_MAX, -3
    q = float(x * m) / float(1 << (31 - s))
    expected = int(math.copysign(math.floor(abs(q) + 0.5), q))
    assert expected == 268435456
    assert double_rounding_all_forms(x, m, s) == {expected}
    assert double_rounding_all_forms(-x, m, s) == {-expected}
    assert single_rounding_all_forms(x, m, s) == {expected}
    assert single_rounding_all_forms(-x, m, s) == {-expected}


# TEST(QuantizationUtilTest, MultiplyByQuantizedMultiplierInt64) (quantization_util_test.cc):
# the int64 overload used by TFLite's 16x8 kernels. Its code (tensorflow/lite/kernels/internal/
# common.cc, both builds) reduces M to 16 bits, M16 = (M + 2^15) >> 16 (0x7FFF from 0x7FFF0000
# up), and rounds once, half up, by 15 - s bits: qmac with mult_bits = 16 and half_up.
INT16X8 = QmacConfig(
    in_bits=16,
    w_bits=8,
    acc_bits=48,
    bias_bits=48,
    mult_bits=16,
    shift_bits=6,
    rounding="half_up",
    out_bits=16,
)


def tflite_reduced_multiplier(m: int) -> int:
    return (m + (1 << 15)) >> 16 if m < 0x7FFF0000 else 0x7FFF


@pytest.mark.parametrize(
    "x, m, s, want",
    [
        (0, *quantize_multiplier(0.1), 0),
        (1, *quantize_multiplier(0.0), 0),
        (10000, *quantize_multiplier(0.00097656), 10),
        (-10000, *quantize_multiplier(0.00097656), -10),
        (-(1 << 47), *quantize_multiplier(0.00001), -1407385600),
        ((1 << 47) - 1, *quantize_multiplier(0.00001), 1407385600),
        ((1 << 47) - 1, INT32_MAX, -31, 65534),  # "maximum possible x and quantized_multiplier"
        (-((1 << 47) - 1), INT32_MAX, -31, -65534),
    ],
)
def test_tflite_int64_multiplier_is_a_16_bit_half_up_requant(x, m, s, want):
    got = requantize(
        np.array([x], dtype=np.int64),
        np.array([tflite_reduced_multiplier(m)]),
        np.array([15 - s]),
        INT16X8,
    )
    assert int(got[0]) == want


# ----- single vs double rounding ----------------------------------------------------------------


def test_double_rounding_tie_differs_from_single_rounding():
    # x = 1, M = 2^30 (0.5), s = -1: exactly 0.25. gemmlowp rounds 0.5 up to 1 in the high
    # multiply, then 1/2 away from zero to 1; one rounding of 0.25 gives 0.
    x, m, s = 1, 1 << 30, -1
    assert double_rounding_all_forms(x, m, s) == {1}
    assert single_rounding_all_forms(x, m, s) == {0}
    assert gemmlowp_requant(x, m, s) == 1


def test_single_rounding_is_tflites_c_expression():
    # common.cc (TFLITE_SINGLE_ROUNDING): total_shift = 31 - shift; round = 1 << (total_shift-1);
    # result = (x * M + round) >> total_shift.
    rng = np.random.default_rng(1)
    xs = rng.integers(INT32_MIN, INT32_MAX, 2000, endpoint=True)
    ms = rng.integers(1 << 30, 1 << 31, 2000)
    ss = rng.integers(-31, 30, 2000, endpoint=True)
    got = requantize(xs, ms, 31 - ss, SINGLE)
    for x, m, s, g in zip(xs.tolist(), ms.tolist(), ss.tolist(), got):
        total = 31 - s
        assert int(g) == (x * m + (1 << (total - 1))) >> total


# ----- gemmlowp: test/test_fixedpoint.cc --------------------------------------------------------


def gemmlowp_test_values() -> list[int]:
    """The deterministic part of MakeTestValsInt32() in gemmlowp's test/test_fixedpoint.cc."""
    vals = []
    for i in range(31):
        for d in (-2, -1, 0, 1, 2):
            vals.append((1 << i) + d)
            vals.append(-(1 << i) + d)
    vals += [INT32_MIN, INT32_MIN + 1, INT32_MIN + 2, INT32_MAX - 2, INT32_MAX - 1, INT32_MAX]
    return sorted(set(vals))


GEMMLOWP_VALS = gemmlowp_test_values()


@pytest.mark.parametrize("exponent", range(32))
def test_rounding_divide_by_pot_matches_gemmlowp_reference(exponent):
    # test_fixedpoint.cc, RoundingDivideByPOTOp: ReferenceOp(x) = std::round(double(x) /
    # (1ll << exponent)) with tolerance 0, for exponent 0 .. 31. x / 2^e is exact in a double and
    # std::round rounds halves away from zero.
    for x in GEMMLOWP_VALS:
        want = round_fraction(Fraction(x, 1 << exponent), "half_away")
        assert rounding_divide_by_pot_scalar(x, exponent) == want
        # The contract names RoundingDivideByPOT and half_away as the same rounding.
        assert round_shift_scalar(x, exponent, "half_away") == want


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
        (-(1 << 30), 31, -1),
        (INT32_MIN, 31, -1),
        (INT32_MAX, 31, 1),
        ((1 << 30) - 1, 31, 0),
        (-(1 << 30) + 1, 31, 0),
        (7, 0, 7),
    ],
)
def test_rounding_divide_by_pot_hand_worked(x, e, want):
    assert rounding_divide_by_pot_scalar(x, e) == want


@pytest.mark.parametrize(
    "a, b, want",
    [
        (INT32_MIN, INT32_MIN, INT32_MAX),  # the one saturating case
        (1 << 30, 1 << 30, 1 << 29),  # 0.5 * 0.5 = 0.25 in Q0.31
        (1, 1 << 30, 1),  # 0.5 ulp: ties round up
        (-1, 1 << 30, 0),  # -0.5 ulp: ties round up (toward +inf)
        (-3, 1 << 30, -1),  # -1.5 ulp -> -1
        (INT32_MAX, INT32_MAX, INT32_MAX - 1),  # (2^31-1)^2 / 2^31 = 2^31 - 2 + tiny
        (INT32_MIN, INT32_MAX, INT32_MIN + 1),  # -2^31 + 1 + 0.5 -> -2^31 + 1
        (0, INT32_MIN, 0),
    ],
)
def test_saturating_rounding_doubling_high_mul_hand_worked(a, b, want):
    assert saturating_rounding_doubling_high_mul_scalar(a, b) == want
    assert saturating_rounding_doubling_high_mul_scalar(b, a) == want


def test_saturating_rounding_doubling_high_mul_on_gemmlowp_values():
    # gemmlowp's test_mul uses these values with a +-1 tolerance against doubles; the exact
    # definition is round-half-up(a * b / 2^31), saturating only for a = b = INT32_MIN.
    for a in GEMMLOWP_VALS[::3]:
        for b in GEMMLOWP_VALS:
            if a == b == INT32_MIN:
                continue
            want = math.floor(Fraction(a * b, 1 << 31) + Fraction(1, 2))
            assert saturating_rounding_doubling_high_mul_scalar(a, b) == want


# ----- hypothesis: vectorized vs the C-like scalar vs the contract's formula ------------------

int32s = st.one_of(st.integers(INT32_MIN, INT32_MAX), st.sampled_from(GEMMLOWP_VALS))
mults = st.one_of(st.integers(0, INT32_MAX), st.sampled_from([0, 1, 1 << 30, INT32_MAX]))
tflite_shifts = st.integers(-31, 30)


@settings(max_examples=300, deadline=None)
@given(x=int32s, m=mults, s=tflite_shifts)
def test_scalar_gemmlowp_matches_contract_formula(x, m, s):
    assert multiply_by_quantized_multiplier_scalar(x, m, s) == gemmlowp_requant(x, m, s)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_vectorized_gemmlowp_matches_contract_formula(data):
    n = data.draw(st.integers(1, 30))
    xs = data.draw(st.lists(int32s, min_size=n, max_size=n))
    ms = data.draw(st.lists(mults, min_size=n, max_size=n))
    ss = data.draw(st.lists(tflite_shifts, min_size=n, max_size=n))
    want = [gemmlowp_requant(x, m, s) for x, m, s in zip(xs, ms, ss)]
    got = multiply_by_quantized_multiplier(np.array(xs), np.array(ms), np.array(ss))
    assert [int(g) for g in got] == want
    got2 = requantize(np.array(xs, dtype=np.int64), np.array(ms), np.array(ss), TFLITE)
    assert [int(g) for g in got2] == want


def test_vectorized_gemmlowp_int32_extremes_grid():
    extremes = [INT32_MIN, INT32_MIN + 1, -1, 0, 1, INT32_MAX - 1, INT32_MAX]
    grid = [
        (x, m, s)
        for x in extremes
        for m in (0, 1, 1 << 30, INT32_MAX)
        for s in (-31, -30, -1, 0, 1, 29, 30)
    ]
    xs, ms, ss = (np.array(v) for v in zip(*grid))
    got = multiply_by_quantized_multiplier(xs, ms, ss)
    for (x, m, s), g in zip(grid, got):
        want = gemmlowp_requant(x, m, s)
        assert int(g) == multiply_by_quantized_multiplier_scalar(x, m, s) == want


@settings(max_examples=200, deadline=None)
@given(x=int32s, m=mults, s=tflite_shifts)
def test_single_and_double_rounding_differ_by_at_most_one(x, m, s):
    # A consequence of both being roundings of the same real number: a tie-only difference when
    # no left-shift overflow happens.
    if s > 0 and wrap_scalar(x << s, 32) != x << s:
        return
    assert abs(single_rounding(x, m, s) - multiply_by_quantized_multiplier_scalar(x, m, s)) <= 1


def test_rounding_divide_by_pot_refuses_bad_exponent():
    with pytest.raises(ValueError, match="0 .. 31"):
        rounding_divide_by_pot_scalar(1, 32)
    with pytest.raises(ValueError, match="0 .. 31"):
        rounding_divide_by_pot_scalar(1, -1)


def test_round_shift_half_up_is_single_rounding_vectorized():
    xs = np.array([1, -1, 3, -3, INT32_MIN, INT32_MAX], dtype=object)
    m, s = 1 << 30, -1
    got = round_shift(xs * m, 31 - s, "half_up")
    assert [int(g) for g in got] == [0, 0, 1, -1, -(1 << 29), 1 << 29]


# ----- the engine itself: TFLite Micro's reference FULLY_CONNECTED kernel -----------------------


@pytest.mark.parametrize("out_exp", [0, 1, 3, 6])
def test_tflite_micro_rounds_twice_like_gemmlowp_mode(out_exp):
    # A one-layer int8 model run by the tflite-micro wheel. Power-of-two scales make the real
    # multiplier exact, 2^-(2 + out_exp) -> (M, s) = (2^30, -1 - out_exp), so many accumulators
    # land on ties, where single and double rounding part.
    runtime = pytest.importorskip("tflite_micro", exc_type=ImportError).runtime
    build = pytest.importorskip("hil.tflite.build", exc_type=ImportError)
    w = np.array([[1], [-1], [3], [127], [-128]], dtype=np.int8)
    model = build.fully_connected_model(
        w,
        np.array([0, 5, -7, 0, 1], dtype=np.int32),
        in_scale=0.5,
        in_zp=0,
        w_scale=0.5,
        out_scale=2.0**out_exp,
        out_zp=0,
    )
    interp = runtime.Interpreter.from_bytes(model)
    m, s = quantize_multiplier(2.0 ** -(2 + out_exp))
    assert (m, s) == (1 << 30, -1 - out_exp)
    x = np.arange(-128, 128, dtype=np.int64)
    got = []
    for v in x:
        interp.set_input(np.array([[v]], dtype=np.int8), 0)
        interp.invoke()
        got.append(interp.get_output(0)[0].astype(np.int64))
    got = np.array(got)
    res = run_layer(
        Layer.build(
            TFLITE,
            x[:, None],
            w.astype(np.int64),
            [0, 5, -7, 0, 1],
            [m] * 5,
            [s] * 5,
            act_min=-128,
            act_max=127,
        ),
        TFLITE,
    )
    assert np.array_equal(res.y, got)
    single = run_layer(
        Layer.build(
            SINGLE, x[:, None], w.astype(np.int64), [0, 5, -7, 0, 1], [m] * 5, [31 - s] * 5
        ),
        SINGLE,
    )
    assert not np.array_equal(single.y, got)  # the ties are there, and TFLM rounds twice
