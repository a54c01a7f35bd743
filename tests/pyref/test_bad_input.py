"""Every bad operand is refused with an error that names the array, the first bad index and the
allowed range; nothing is wrapped or truncated on the way in."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pyref.beats import BeatStream, jobs_to_beats, layer_to_beats, predict_jobs
from pyref.checks import ShapeError, ValueRangeError
from pyref.config import QmacConfig, named_config
from pyref.layer import Layer
from pyref.model import compute, run_layer

DEFAULT = named_config("default")  # s8 x s8, acc 32, shift-only, out 8
TFLITE = named_config("tflite")


def good(**changes):
    ops = dict(x=[[1, 2, 3], [4, 5, 6]], w=[[1, 1, 1], [2, 2, 2]], bias=[0, 0], shift=[1, 2])
    ops.update(changes)
    return ops


RANGE_ERRORS = [
    # (config, operand changes, words the message must contain)
    (DEFAULT, dict(x=[[1, 2, 3], [4, 128, 6]]), ["x[1, 1]", "128", "-128 .. 127", "in_bits = 8"]),
    (DEFAULT, dict(x=[[-129, 2, 3], [4, 5, 6]]), ["x[0, 0]", "-129", "-128 .. 127"]),
    (
        named_config("unsigned_in"),
        dict(x=[[1, -1, 3], [4, 5, 6]]),
        ["x[0, 1]", "-1", "0 .. 255", "unsigned"],
    ),
    (DEFAULT, dict(w=[[1, 1, 1], [2, -200, 2]]), ["w[1, 1]", "-200", "-128 .. 127"]),
    (named_config("int4_sat"), dict(w=[[1, 8, 1], [2, 2, 2]]), ["w[0, 1]", "8", "-8 .. 7"]),
    (DEFAULT, dict(bias=[0, 1 << 31]), ["bias[1]", str(1 << 31), "-2147483648 .. 2147483647"]),
    (named_config("int4_sat"), dict(bias=[-32769, 0]), ["bias[0]", "-32769", "-32768 .. 32767"]),
    # mult that needs more bits than mult_bits
    (
        named_config("per_channel"),
        dict(mult=[65536, 1]),
        ["mult[0]", "65536", "0 .. 65535", "mult_bits = 16"],
    ),
    (named_config("per_channel"), dict(mult=[-1, 1]), ["mult[0]", "-1", "0 .. 65535"]),
    (TFLITE, dict(mult=[1 << 31, 1], shift=[0, 0]), ["mult[0]", str(1 << 31), "0 .. 2147483647"]),
    # mult given to a shift-only config
    (DEFAULT, dict(mult=[0, 3]), ["mult[1]", "3", "0 .. 0", "mult_bits = 0"]),
    (DEFAULT, dict(shift=[64, 0]), ["shift[0]", "64", "0 .. 63", "shift_bits = 6"]),
    (DEFAULT, dict(shift=[0, -1]), ["shift[1]", "-1", "0 .. 63"]),
    (TFLITE, dict(mult=[1 << 30] * 2, shift=[0, 31]), ["shift[1]", "31", "-31 .. 30"]),
    (TFLITE, dict(mult=[1 << 30] * 2, shift=[-32, 0]), ["shift[0]", "-32", "-31 .. 30"]),
    (DEFAULT, dict(out_zp=128), ["out_zp[0]", "128", "-128 .. 127", "out_bits = 8"]),
    (DEFAULT, dict(act_min=[-129, 0]), ["act_min[0]", "-129", "-128 .. 127"]),
    (DEFAULT, dict(act_max=[0, 300]), ["act_max[1]", "300", "-128 .. 127"]),
    # a float far past int64 must not wrap on the way in
    (
        QmacConfig(in_bits=16, w_bits=16, acc_bits=64, bias_bits=64),
        dict(bias=[1e20, 0]),
        ["bias[0]", "100000000000000000000", "-9223372036854775808"],
    ),
]


@pytest.mark.parametrize(
    "cfg, changes, words",
    RANGE_ERRORS,
    ids=[f"{i}-{'-'.join(c)}" for i, (_, c, _) in enumerate(RANGE_ERRORS)],
)
def test_out_of_range_value_names_array_index_and_range(cfg, changes, words):
    ops = good(**changes)
    if cfg.mult_bits and "mult" not in ops:
        ops["mult"] = [1, 1]
    with pytest.raises(ValueRangeError) as info:
        compute(cfg, **ops)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_first_bad_index_and_count_are_reported():
    with pytest.raises(ValueRangeError) as info:
        compute(DEFAULT, **good(x=[[1, 2, 3], [200, 5, -300]]))
    assert "x[1, 0] = 200" in str(info.value) and "2 value(s)" in str(info.value)


def test_act_min_above_act_max():
    with pytest.raises(ValueError) as info:
        compute(DEFAULT, **good(act_min=[0, 10], act_max=[5, 9]))
    msg = str(info.value)
    assert "act_min[1] = 10" in msg and "act_max[1] = 9" in msg and "act_min <= act_max" in msg


@pytest.mark.parametrize(
    "changes, words",
    [
        (dict(x=[[1.5, 2, 3], [4, 5, 6]]), ["x[0, 0]", "1.5", "not an integer"]),
        (dict(w=[[1, 1, 1], [2, 2, float("nan")]]), ["w[1, 2]", "nan", "not an integer"]),
        (dict(bias=[0.5, 0]), ["bias[0]", "0.5", "not an integer"]),
        (dict(shift=[1, float("inf")]), ["shift[1]", "inf", "not an integer"]),
        (dict(x=[["1", "2", "3"], ["4", "5", "6"]]), ["x", "integers", "dtype"]),
        (dict(out_zp=None), ["out_zp", "None", "not an integer"]),
        (dict(bias=np.array([1, 2.5], dtype=object)), ["bias[1]", "2.5", "not an integer"]),
    ],
)
def test_non_integer_inputs_are_refused(changes, words):
    with pytest.raises(ValueRangeError) as info:
        compute(DEFAULT, **good(**changes))
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_integral_floats_are_taken_exactly():
    a = compute(DEFAULT, **good(x=[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    b = compute(DEFAULT, **good())
    assert a.y.tolist() == b.y.tolist()


@pytest.mark.parametrize(
    "changes, words",
    [
        (dict(x=[1, 2, 3]), ["x", "(3,)", "(any, any)"]),
        (dict(w=[[1, 1], [2, 2]]), ["x has K = 3", "w has K = 2"]),
        (dict(bias=[0, 0, 0]), ["bias", "(3,)", "(2)"]),
        (dict(shift=[[1, 2]]), ["shift", "(1, 2)", "(2)"]),
        (dict(x=[[], []], w=[[], []]), ["K = 0"]),
        (dict(x=[[1, 2, 3], [4, 5]]), ["x", "rectangular"]),
    ],
)
def test_wrong_shapes(changes, words):
    with pytest.raises(ShapeError) as info:
        compute(DEFAULT, **good(**changes))
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_directly_built_layer_is_checked_by_run_layer():
    layer = Layer.build(DEFAULT, **good())
    with pytest.raises(ShapeError, match="bias"):
        run_layer(dataclasses.replace(layer, bias=np.zeros(3, dtype=np.int64)), DEFAULT)
    with pytest.raises(ValueRangeError, match=r"x\[0, 0\] = 1000"):
        run_layer(dataclasses.replace(layer, x=np.full((2, 3), 1000)), DEFAULT)
    # validated against the config it runs with, not the one it was built for
    with pytest.raises(ValueRangeError, match="w_bits = 4"):
        run_layer(Layer.build(DEFAULT, **good(w=[[100] * 3, [1] * 3])), named_config("int4_sat"))


def test_missing_mult_in_a_multiplier_config():
    with pytest.raises(ValueError, match="mult is required when mult_bits = 16"):
        compute(named_config("per_channel"), **good())


# ----- beat streams -----------------------------------------------------------------------------


def stream(cfg=DEFAULT, **changes):
    """Two jobs of 2 and 1 beats (K = 16 and 8 at 8 lanes), with fields replaced by ``changes``."""
    s = BeatStream.concat(
        [
            jobs_to_beats(
                cfg, np.ones((1, 16), dtype=np.int64), np.ones((1, 16), dtype=np.int64), shift=1
            ),
            jobs_to_beats(
                cfg, np.ones((1, 8), dtype=np.int64), np.ones((1, 8), dtype=np.int64), shift=2
            ),
        ]
    )
    return dataclasses.replace(s, **changes)


def test_good_stream_predicts():
    s = stream()
    assert s.first.tolist() == [True, False, True] and s.last.tolist() == [False, True, True]
    assert predict_jobs(s, DEFAULT).y.tolist() == [8, 2]  # 16 / 2 and 8 / 4


@pytest.mark.parametrize(
    "changes, words",
    [
        (dict(first=[False, False, True]), ["beat 0", "first = 0", "not open"]),
        (dict(first=[True, True, True]), ["beat 1", "first = 1", "open"]),
        (dict(last=[True, True, True]), ["beat 1", "first = 0", "not open"]),
        (dict(last=[False, True, False]), ["beat 2", "ends inside a job"]),
        (dict(shift=[1, 2, 2]), ["shift[1]", "changes inside a job"]),
    ],
)
def test_framing_errors(changes, words):
    with pytest.raises(ValueError) as info:
        predict_jobs(stream(**changes), DEFAULT)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


@pytest.mark.parametrize(
    "changes, error, words",
    [
        (dict(x=np.ones((3, 4), dtype=np.int64)), ShapeError, ["x", "(3, 4)", "(any, 8)"]),
        (dict(bias=[0, 0]), ShapeError, ["bias", "(2,)", "(3)"]),
        (dict(first=[2, 0, 1]), ValueRangeError, ["first[0]", "2", "0 .. 1"]),
        (dict(x=np.full((3, 8), 128)), ValueRangeError, ["x[0, 0]", "128", "-128 .. 127"]),
        (dict(shift=[64, 64, 0]), ValueRangeError, ["shift[0]", "64", "0 .. 63"]),
        (dict(w=np.full((3, 8), 0.5)), ValueRangeError, ["w[0, 0]", "0.5", "not an integer"]),
    ],
)
def test_stream_shape_and_range_errors(changes, error, words):
    with pytest.raises(error) as info:
        predict_jobs(stream(**changes), DEFAULT)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_jobs_to_beats_refuses_unknown_job_values_and_mismatched_shapes():
    x = np.ones((2, 4), dtype=np.int64)
    with pytest.raises(TypeError, match="zero_point"):
        jobs_to_beats(DEFAULT, x, x, zero_point=1)
    with pytest.raises(ShapeError, match="w"):
        jobs_to_beats(DEFAULT, x, np.ones((2, 5), dtype=np.int64))
    with pytest.raises(ShapeError, match="bias"):
        jobs_to_beats(DEFAULT, x, x, bias=[1, 2, 3])


def test_layer_to_beats_orders_jobs_by_output():
    layer = Layer.build(DEFAULT, **good())
    s = layer_to_beats(layer, DEFAULT)
    # 2 x 2 outputs, one beat each (K = 3 padded to 8 lanes): job n * C + c.
    assert len(s) == 4 and s.n_jobs == 4
    assert s.x[:, :3].tolist() == [[1, 2, 3], [1, 2, 3], [4, 5, 6], [4, 5, 6]]
    assert s.w[:, :3].tolist() == [[1, 1, 1], [2, 2, 2], [1, 1, 1], [2, 2, 2]]
    assert not s.x[:, 3:].any() and not s.w[:, 3:].any()
