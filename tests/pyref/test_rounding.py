"""round_shift: every rounding mode against a hand-worked table and against exact fractions."""

from __future__ import annotations

import decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spec_reference import round_div_pow2

from pyref.rounding import SHIFT_MODES, round_shift, round_shift_scalar

MODES = ("floor", "trunc", "half_up", "half_down", "half_zero", "half_away", "half_even")

# (v, t): expected result in the order of MODES. Worked by hand from v / 2^t.
TABLE = {
    (0, 0): (0, 0, 0, 0, 0, 0, 0),
    (5, 0): (5, 5, 5, 5, 5, 5, 5),
    (-5, 0): (-5, -5, -5, -5, -5, -5, -5),
    (0, 3): (0, 0, 0, 0, 0, 0, 0),
    (1, 1): (0, 0, 1, 0, 0, 1, 0),  # 0.5
    (-1, 1): (-1, 0, 0, -1, 0, -1, 0),  # -0.5
    (5, 1): (2, 2, 3, 2, 2, 3, 2),  # 2.5
    (-5, 1): (-3, -2, -2, -3, -2, -3, -2),  # -2.5
    (7, 1): (3, 3, 4, 3, 3, 4, 4),  # 3.5
    (-7, 1): (-4, -3, -3, -4, -3, -4, -4),  # -3.5
    (3, 2): (0, 0, 1, 1, 1, 1, 1),  # 0.75
    (-3, 2): (-1, 0, -1, -1, -1, -1, -1),  # -0.75
    (5, 2): (1, 1, 1, 1, 1, 1, 1),  # 1.25
    (-5, 2): (-2, -1, -1, -1, -1, -1, -1),  # -1.25
    (6, 2): (1, 1, 2, 1, 1, 2, 2),  # 1.5
    (-6, 2): (-2, -1, -1, -2, -1, -2, -2),  # -1.5
    (10, 2): (2, 2, 3, 2, 2, 3, 2),  # 2.5
    (-10, 2): (-3, -2, -2, -3, -2, -3, -2),  # -2.5
    (-2, 2): (-1, 0, 0, -1, 0, -1, 0),  # -0.5
    # An 8-bit value shifted by 7, by its width (8) and past it.
    (-128, 7): (-1, -1, -1, -1, -1, -1, -1),  # -1 exactly
    (127, 7): (0, 0, 1, 1, 1, 1, 1),  # 0.992
    (-127, 7): (-1, 0, -1, -1, -1, -1, -1),  # -0.992
    (64, 7): (0, 0, 1, 0, 0, 1, 0),  # 0.5
    (-64, 7): (-1, 0, 0, -1, 0, -1, 0),  # -0.5
    (-128, 8): (-1, 0, 0, -1, 0, -1, 0),  # -0.5
    (127, 8): (0, 0, 0, 0, 0, 0, 0),  # 0.496
    (-128, 9): (-1, 0, 0, 0, 0, 0, 0),  # -0.25
    (127, 20): (0, 0, 0, 0, 0, 0, 0),
    (-1, 63): (-1, 0, 0, 0, 0, 0, 0),
    (-1, 200): (-1, 0, 0, 0, 0, 0, 0),
    # int64 extremes, by and past 63 bits.
    (-(1 << 63), 63): (-1, -1, -1, -1, -1, -1, -1),
    (-(1 << 63), 64): (-1, 0, 0, -1, 0, -1, 0),  # -0.5
    ((1 << 63) - 1, 63): (0, 0, 1, 1, 1, 1, 1),  # 1 - 2^-63
    ((1 << 63) - 1, 62): (1, 1, 2, 2, 2, 2, 2),  # 2 - 2^-62
    ((1 << 63) - 1, 64): (0, 0, 0, 0, 0, 0, 0),  # just below 0.5
    # 96-bit products (64-bit accumulator times 32-bit multiplier).
    (-(1 << 95), 96): (-1, 0, 0, -1, 0, -1, 0),  # -0.5
    (3 << 94, 95): (1, 1, 2, 1, 1, 2, 2),  # 1.5
    (-(3 << 94), 95): (-2, -1, -1, -2, -1, -2, -2),  # -1.5
    ((1 << 95) + 1, 96): (0, 0, 1, 1, 1, 1, 1),  # just above 0.5
}

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
CASES = [(v, t, mode, want[i]) for (v, t), want in TABLE.items() for i, mode in enumerate(MODES)]


def test_modes_are_the_contracts():
    assert tuple(SHIFT_MODES) == MODES


@pytest.mark.parametrize("v, t, mode, want", CASES)
def test_table_scalar(v, t, mode, want):
    assert round_shift_scalar(v, t, mode) == want


@pytest.mark.parametrize("v, t, mode, want", CASES)
def test_table_agrees_with_fraction_reference(v, t, mode, want):
    # The hand table and the exact formula must agree, or one of them is wrong.
    assert round_div_pow2(v, t, mode) == want


@pytest.mark.parametrize("mode", MODES)
def test_table_vectorized_per_element_shift(mode):
    i = MODES.index(mode)
    keys = list(TABLE)
    v = [k[0] for k in keys]
    t = np.array([k[1] for k in keys])
    want = [TABLE[k][i] for k in keys]
    got = round_shift(np.array(v, dtype=object), t, mode)
    assert [int(g) for g in got] == want
    # The int64 entries alone, on the int64 path (it widens itself where t > 62).
    small = [j for j, val in enumerate(v) if INT64_MIN <= val <= INT64_MAX]
    got64 = round_shift(np.array([v[j] for j in small], dtype=np.int64), t[small], mode)
    assert [int(g) for g in got64] == [want[j] for j in small]


@pytest.mark.parametrize("mode", MODES)
def test_scalar_shift_broadcasts(mode):
    v = np.arange(-40, 41, dtype=np.int64)
    for t in (0, 1, 3, 7, 62, 63, 70):
        got = round_shift(v, t, mode)
        assert [int(g) for g in got] == [round_div_pow2(int(a), t, mode) for a in v]


def test_result_dtypes():
    v = np.array([-5, 5], dtype=np.int64)
    assert round_shift(v, 3, "half_up").dtype == np.int64
    assert round_shift(v, 62, "half_up").dtype == np.int64
    assert round_shift(v, 63, "half_up").dtype == object  # widened: 1 << 63 is not an int64
    assert round_shift(v.astype(object), 3, "half_up").dtype == object


def test_bad_mode_and_negative_shift_raise():
    with pytest.raises(ValueError, match="gemmlowp"):
        round_shift_scalar(1, 1, "gemmlowp")
    with pytest.raises(ValueError, match="half_up"):
        round_shift(np.array([1]), 1, "nearest")
    with pytest.raises(ValueError, match="-1"):
        round_shift_scalar(1, -1, "floor")
    with pytest.raises(ValueError, match="-2"):
        round_shift(np.array([1, 2]), np.array([1, -2]), "floor")


# ----- hypothesis: against the exact formula ---------------------------------------------------

modes = st.sampled_from(MODES)
int64s = st.integers(INT64_MIN, INT64_MAX)
wide_ints = st.integers(-(1 << 100), 1 << 100)
# Values around powers of two are where the rounding decisions are.
near_pow2 = st.builds(
    lambda e, d, s: s * ((1 << e) + d),
    st.integers(0, 98),
    st.integers(-2, 2),
    st.sampled_from((1, -1)),
)
shifts = st.integers(0, 130)


@settings(max_examples=400, deadline=None)
@given(v=st.one_of(wide_ints, near_pow2), t=shifts, mode=modes)
def test_scalar_matches_fraction(v, t, mode):
    assert round_shift_scalar(v, t, mode) == round_div_pow2(v, t, mode)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), mode=modes)
def test_int64_path_per_element_shift_matches_fraction(data, mode):
    n = data.draw(st.integers(1, 20))
    v = data.draw(st.lists(st.one_of(int64s, st.integers(-300, 300)), min_size=n, max_size=n))
    t = data.draw(st.lists(st.integers(0, 70), min_size=n, max_size=n))
    got = round_shift(np.array(v, dtype=np.int64), np.array(t, dtype=np.int64), mode)
    assert [int(g) for g in got] == [round_div_pow2(a, b, mode) for a, b in zip(v, t)]


@settings(max_examples=150, deadline=None)
@given(data=st.data(), mode=modes)
def test_int64_path_scalar_shift_matches_fraction(data, mode):
    v = data.draw(st.lists(int64s, min_size=1, max_size=20))
    t = data.draw(st.integers(0, 62))
    got = round_shift(np.array(v, dtype=np.int64), t, mode)
    assert got.dtype == np.int64
    assert [int(g) for g in got] == [round_div_pow2(a, t, mode) for a in v]


@settings(max_examples=150, deadline=None)
@given(data=st.data(), mode=modes)
def test_object_path_matches_fraction(data, mode):
    n = data.draw(st.integers(1, 20))
    v = data.draw(st.lists(st.one_of(wide_ints, near_pow2), min_size=n, max_size=n))
    t = data.draw(
        st.one_of(st.integers(0, 130), st.lists(st.integers(0, 130), min_size=n, max_size=n))
    )
    got = round_shift(np.array(v, dtype=object), np.array(t), mode)
    tt = t if isinstance(t, list) else [t] * n
    assert [int(g) for g in got] == [round_div_pow2(a, b, mode) for a, b in zip(v, tt)]


@settings(max_examples=100, deadline=None)
@given(data=st.data(), mode=modes)
def test_two_dimensional_per_channel_shift(data, mode):
    # The model's use: (N, C) values, one shift per channel along the last axis.
    rows, cols = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    v = data.draw(
        st.lists(st.lists(int64s, min_size=cols, max_size=cols), min_size=rows, max_size=rows)
    )
    t = data.draw(st.lists(st.integers(0, 66), min_size=cols, max_size=cols))
    got = round_shift(np.array(v, dtype=np.int64), np.array(t)[None, :], mode)
    assert got.shape == (rows, cols)
    want = [[round_div_pow2(v[i][j], t[j], mode) for j in range(cols)] for i in range(rows)]
    assert [[int(g) for g in row] for row in got] == want


# ----- other engines that name these modes ------------------------------------------------------


@pytest.mark.parametrize(
    "mode, want_pos, want_neg",
    [
        # Vitis HLS user guide (UG1399, "Quantization Modes"): ap_fixed<3, 2, Q, AP_SAT> = +-1.25
        # yields: AP_RND 1.5 / -1.0, AP_RND_ZERO 1.0 / -1.0, AP_RND_MIN_INF 1.0 / -1.5,
        # AP_RND_INF 1.5 / -1.5. ap_fixed<3, 2> has one fraction bit: 1.25 is 5 quarters, shifted
        # right by 1 into halves (1.5 = 3 halves, 1.0 = 2, -1.0 = -2, -1.5 = -3).
        ("half_up", 3, -2),  # AP_RND
        ("half_zero", 2, -2),  # AP_RND_ZERO
        ("half_down", 2, -3),  # AP_RND_MIN_INF
        ("half_away", 3, -3),  # AP_RND_INF
    ],
)
def test_ap_fixed_documented_examples(mode, want_pos, want_neg):
    assert round_shift_scalar(5, 1, mode) == want_pos
    assert round_shift_scalar(-5, 1, mode) == want_neg
    assert round_shift(np.array([5, -5]), 1, mode).tolist() == [want_pos, want_neg]


DECIMAL_MODES = {
    # Python's decimal module names: ROUND_HALF_UP rounds ties away from zero, ROUND_HALF_DOWN
    # toward zero, ROUND_DOWN truncates toward zero.
    "floor": "ROUND_FLOOR",
    "trunc": "ROUND_DOWN",
    "half_zero": "ROUND_HALF_DOWN",
    "half_away": "ROUND_HALF_UP",
    "half_even": "ROUND_HALF_EVEN",
}


@settings(max_examples=300, deadline=None)
@given(
    v=st.one_of(wide_ints, near_pow2),
    t=st.integers(0, 110),
    mode=st.sampled_from(sorted(DECIMAL_MODES)),
)
def test_matches_python_decimal(v, t, mode):
    ctx = decimal.Context(prec=200, rounding=getattr(decimal, DECIMAL_MODES[mode]))
    q = ctx.divide(decimal.Decimal(v), ctx.power(decimal.Decimal(2), t))  # exact at 200 digits
    assert round_shift_scalar(v, t, mode) == int(q.quantize(decimal.Decimal(1), context=ctx))


@settings(max_examples=200, deadline=None)
@given(v=st.lists(st.integers(-(1 << 52), 1 << 52), min_size=1, max_size=30), t=st.integers(0, 60))
def test_matches_numpy_float_rounding(v, t):
    # |v| < 2^53 and a power-of-two divisor: v / 2^t is exact in float64, so numpy's own
    # np.round (ties to even), np.floor and np.trunc are exact references.
    q = np.array(v, dtype=np.float64) / 2.0**t
    arr = np.array(v, dtype=np.int64)
    assert round_shift(arr, t, "half_even").tolist() == np.round(q).astype(np.int64).tolist()
    assert round_shift(arr, t, "floor").tolist() == np.floor(q).astype(np.int64).tolist()
    assert round_shift(arr, t, "trunc").tolist() == np.trunc(q).astype(np.int64).tolist()
