"""The numpy kernels of the operators the datapath does not run, each checked bit for bit
against the TFLite Micro interpreter on a one-operator model, plus hand-worked cases."""

from __future__ import annotations

import numpy as np
import pytest

from hil.executor import run_network
from hil.oracles.tflm import run_tflm
from hil.tflite.build import ModelBuilder
from hil.tflite.importer import import_model

RNG = np.random.default_rng(99)


def both(data: bytes, inputs: list[np.ndarray]):
    model = import_model(data)
    ours = run_network(model, inputs).outputs[0].array
    theirs = run_tflm(model.graph, inputs).outputs[0].reshape(ours.shape)
    return model, ours, theirs


def test_quantize_float_rounds_half_away_like_tflm():
    b = ModelBuilder()
    x = b.tensor("x", (1, 16), "FLOAT32")
    y = b.tensor("y", (1, 16), "INT8", scale=0.5, zero_point=3)
    b.op("QUANTIZE", [x], [y])
    vals = np.array(
        [
            -2.5,
            -1.25,
            -0.75,
            -0.25,
            0.25,
            0.75,
            1.25,
            -3.75,
            3.75,
            -1000,
            1000,
            -0.0,
            0.4,
            -64.25,
            62.25,
            -65.25,
        ],
        np.float32,
    )
    _, ours, theirs = both(b.build([x], [y]), [vals.reshape(1, 1, 16)])
    # by hand: q = 3 + round_half_away(v / 0.5), clipped to int8
    assert ours.ravel().tolist() == [-2, 0, 1, 2, 4, 5, 6, -5, 11, -128, 127, 3, 4, -126, 127, -128]
    np.testing.assert_array_equal(ours, theirs)


def test_quantize_random_floats_match_tflm():
    b = ModelBuilder()
    x = b.tensor("x", (1, 64), "FLOAT32")
    y = b.tensor("y", (1, 64), "INT8", scale=0.0371, zero_point=-17)
    b.op("QUANTIZE", [x], [y])
    xs = (RNG.standard_normal((40, 1, 64)) * 3).astype(np.float32)
    _, ours, theirs = both(b.build([x], [y]), [xs])
    np.testing.assert_array_equal(ours, theirs)


def test_requantize_int8_to_int8_matches_tflm():
    b = ModelBuilder()
    x = b.tensor("x", (1, 256), "INT8", scale=0.05, zero_point=10)
    y = b.tensor("y", (1, 256), "INT8", scale=0.037, zero_point=-4)
    b.op("QUANTIZE", [x], [y])
    xs = np.arange(-128, 128, dtype=np.int8).reshape(1, 1, 256)
    _, ours, theirs = both(b.build([x], [y]), [xs])
    np.testing.assert_array_equal(ours, theirs)


def test_dequantize_is_float32_exact():
    b = ModelBuilder()
    x = b.tensor("x", (1, 256), "INT8", scale=0.0371, zero_point=-17)
    y = b.tensor("y", (1, 256), "FLOAT32")
    b.op("DEQUANTIZE", [x], [y])
    xs = np.arange(-128, 128, dtype=np.int8).reshape(1, 1, 256)
    _, ours, theirs = both(b.build([x], [y]), [xs])
    assert ours.dtype == np.float32
    assert ours.ravel()[145] == np.float32(0.0371) * np.float32(17 + 17)  # q = 17 by hand
    np.testing.assert_array_equal(ours.view(np.uint32), theirs.view(np.uint32))


@pytest.mark.parametrize("op", ["MAX_POOL_2D", "AVERAGE_POOL_2D"])
@pytest.mark.parametrize(
    "padding,filt,stride",
    [("SAME", (3, 3), (2, 2)), ("VALID", (2, 3), (1, 2)), ("SAME", (2, 2), (1, 1))],
)
def test_pooling_matches_tflm(op, padding, filt, stride):
    b = ModelBuilder()
    from hil.tflite.params import window_padding

    pad = window_padding(
        0 if padding == "SAME" else 1, 7, 6, filt[0], filt[1], stride[0], stride[1]
    )
    x = b.tensor("x", (1, 7, 6, 3), "INT8", scale=0.1, zero_point=-5)
    y = b.tensor("y", (1, pad.out_h, pad.out_w, 3), "INT8", scale=0.1, zero_point=-5)
    b.op(
        op,
        [x],
        [y],
        padding=padding,
        filterHeight=filt[0],
        filterWidth=filt[1],
        strideH=stride[0],
        strideW=stride[1],
        fused_activation="RELU",
    )
    xs = RNG.integers(-128, 128, (9, 1, 7, 6, 3)).astype(np.int8)
    _, ours, theirs = both(b.build([x], [y]), [xs])
    np.testing.assert_array_equal(ours, theirs)


def test_average_pool_rounds_half_away_by_hand():
    b = ModelBuilder()
    x = b.tensor("x", (1, 1, 4, 1), "INT8", scale=1.0, zero_point=0)
    y = b.tensor("y", (1, 1, 2, 1), "INT8", scale=1.0, zero_point=0)
    b.op(
        "AVERAGE_POOL_2D",
        [x],
        [y],
        padding="VALID",
        filterHeight=1,
        filterWidth=2,
        strideH=1,
        strideW=2,
    )
    xs = np.array([3, 4, -3, -4], np.int8).reshape(1, 1, 1, 4, 1)  # 3.5 -> 4, -3.5 -> -4
    _, ours, theirs = both(b.build([x], [y]), [xs])
    assert ours.ravel().tolist() == [4, -4]
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("shape_b", [(1, 5, 4, 8), (1, 1, 1, 8)])
def test_add_matches_tflm(shape_b):
    b = ModelBuilder()
    a_t = b.tensor("a", (1, 5, 4, 8), "INT8", scale=0.06, zero_point=-20)
    b_t = b.tensor("b", shape_b, "INT8", scale=0.11, zero_point=7)
    y = b.tensor("y", (1, 5, 4, 8), "INT8", scale=0.09, zero_point=-3)
    b.op("ADD", [a_t, b_t], [y], fused_activation="RELU")
    xa = RNG.integers(-128, 128, (6, 1, 5, 4, 8)).astype(np.int8)
    xb = RNG.integers(-128, 128, (6,) + shape_b).astype(np.int8)
    _, ours, theirs = both(b.build([a_t, b_t], [y]), [xa, xb])
    assert np.unique(theirs).size > 20
    np.testing.assert_array_equal(ours, theirs)


def test_reshape_keeps_values_in_order():
    b = ModelBuilder()
    x = b.tensor("x", (1, 2, 3, 4), "INT8", scale=1.0, zero_point=0)
    s = b.tensor("shape", (2,), "INT32", data=np.array([1, 24]))
    y = b.tensor("y", (1, 24), "INT8", scale=1.0, zero_point=0)
    b.op("RESHAPE", [x, s], [y])
    xs = RNG.integers(-128, 128, (3, 1, 2, 3, 4)).astype(np.int8)
    _, ours, theirs = both(b.build([x], [y]), [xs])
    np.testing.assert_array_equal(ours, xs.reshape(3, 1, 24))
    np.testing.assert_array_equal(ours, theirs)


def softmax_model(depth: int, scale: float, zp: int, beta: float = 1.0) -> bytes:
    b = ModelBuilder()
    x = b.tensor("x", (1, depth), "INT8", scale=scale, zero_point=zp)
    y = b.tensor("y", (1, depth), "INT8", scale=1 / 256, zero_point=-128)
    b.op("SOFTMAX", [x], [y], beta=beta)
    return b.build([x], [y])


def test_softmax_by_hand():
    # equal inputs: each probability 1/4 -> 0.25 * 256 - 128 = -64
    _, ours, theirs = both(softmax_model(4, 0.1, 0), [np.full((1, 1, 4), 7, np.int8)])
    assert ours.ravel().tolist() == [-64] * 4
    # a difference of 255 steps of 1.0 is far below diff_min: that output is exactly -128, the
    # other holds probability 1, i.e. 128, clamped to 127
    _, ours, theirs = both(softmax_model(2, 1.0, 0), [np.array([[[127, -128]]], np.int8)])
    assert ours.ravel().tolist() == [127, -128]
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize(
    "depth,scale,beta", [(10, 0.17185351, 1.0), (37, 0.02, 1.0), (16, 0.05, 2.5), (5, 1.3, 1.0)]
)
def test_softmax_matches_tflm(depth, scale, beta):
    rng = np.random.default_rng(depth)
    xs = rng.integers(-128, 128, (200, 1, depth)).astype(np.int8)
    xs[:20] = rng.integers(110, 128, (20, 1, depth))  # rows of near-equal large values
    _, ours, theirs = both(softmax_model(depth, scale, 11, beta), [xs])
    assert np.unique(theirs).size > 8
    np.testing.assert_array_equal(ours, theirs)


def test_softmax_output_quantization_is_checked():
    b = ModelBuilder()
    x = b.tensor("x", (1, 4), "INT8", scale=0.1, zero_point=0)
    y = b.tensor("y", (1, 4), "INT8", scale=1 / 128, zero_point=0)
    b.op("SOFTMAX", [x], [y], beta=1.0)
    from hil.kernels.base import UnsupportedOpError

    with pytest.raises(UnsupportedOpError, match="zero point -128 and scale 1/256"):
        import_model(b.build([x], [y]))
