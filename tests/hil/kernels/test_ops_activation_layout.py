"""The numpy kernels added for real models — LOGISTIC, TANH (int8, int16), HARD_SWISH,
LEAKY_RELU, MUL, SUB, CONCATENATION, PAD, MEAN, RESIZE_NEAREST_NEIGHBOR — each checked bit for bit
against the TFLite Micro interpreter on one-operator models over the whole input range, and on
hand-worked values."""

from __future__ import annotations

import numpy as np
import pytest

from hil.executor import run_network
from hil.kernels.activations import SIGMOID_TABLE_UINT16
from hil.kernels.base import UnsupportedOpError
from hil.kernels.reduce import mean_multiplier
from hil.oracles.tflm import run_tflm
from hil.tflite.build import ModelBuilder
from hil.tflite.importer import import_model
from pyref.tflite_math import quantize_multiplier


def ours_and_tflm(data: bytes, inputs: list[np.ndarray] | None = None, n: int = 3, seed: int = 0):
    model = import_model(data)
    if inputs is None:
        rng = np.random.default_rng(seed)
        inputs = []
        for i in model.graph.inputs:
            t = model.graph.tensor(i)
            info = np.iinfo(t.dtype)
            inputs.append(rng.integers(info.min, info.max + 1, size=(n,) + t.shape).astype(t.dtype))
    ours = run_network(model, inputs).outputs[0].array
    theirs = run_tflm(model.graph, inputs).outputs[0].reshape(ours.shape)
    return ours, theirs


def unary(op: str, typ: str, s_in, zp_in, s_out, zp_out, shape=(1, 256), **opts) -> bytes:
    b = ModelBuilder()
    x = b.tensor("x", shape, typ, scale=s_in, zero_point=zp_in)
    y = b.tensor("y", shape, typ, scale=s_out, zero_point=zp_out)
    b.op(op, [x], [y], **opts)
    return b.build([x], [y])


ALL_INT8 = np.arange(-128, 128, dtype=np.int8).reshape(1, 1, 256)
INT16_SWEEP = np.linspace(-32768, 32767, 512).astype(np.int16).reshape(2, 1, 256)


@pytest.mark.parametrize("scale", [0.02, 0.0371, 0.1, 0.5])
@pytest.mark.parametrize("op,out", [("LOGISTIC", (1 / 256, -128)), ("TANH", (1 / 128, 0))])
def test_int8_logistic_and_tanh_match_tflm_on_every_input(op, out, scale):
    ours, theirs = ours_and_tflm(unary(op, "INT8", scale, -3, *out), [ALL_INT8])
    np.testing.assert_array_equal(ours, theirs)
    assert len(np.unique(theirs)) > 10  # the curve, not only its rails


@pytest.mark.parametrize("scale", [2.0**-12, 2.0**-11, 0.0003, 0.001])
@pytest.mark.parametrize("op", ["LOGISTIC", "TANH"])
def test_int16_logistic_and_tanh_match_tflm(op, scale):
    ours, theirs = ours_and_tflm(unary(op, "INT16", scale, 0, 2.0**-15, 0), [INT16_SWEEP])
    np.testing.assert_array_equal(ours, theirs)


def test_activations_at_zero_by_hand():
    zero = np.full((1, 1, 256), -3, np.int8)  # x = zero point: real 0
    ours, _ = ours_and_tflm(unary("LOGISTIC", "INT8", 0.05, -3, 1 / 256, -128), [zero])
    assert set(ours.ravel().tolist()) == {0}  # 0.5 = -128 + 128 / 256
    ours, _ = ours_and_tflm(unary("TANH", "INT8", 0.05, -3, 1 / 128, 0), [zero])
    assert set(ours.ravel().tolist()) == {0}
    z16 = np.zeros((1, 1, 256), np.int16)
    ours, _ = ours_and_tflm(unary("LOGISTIC", "INT16", 0.001, 0, 2.0**-15, 0), [z16])
    assert set(ours.ravel().tolist()) == {16384}  # 0.5 in Q0.15
    assert SIGMOID_TABLE_UINT16[0] == 32768 and SIGMOID_TABLE_UINT16[-1] == 65535
    # the table is 65536 * sigmoid(i / 24) to about one unit
    i = np.arange(256)
    assert np.abs(SIGMOID_TABLE_UINT16 - 65536 / (1 + np.exp(-i / 24))).max() < 1.2


@pytest.mark.parametrize("s_in,s_out", [(0.05, 0.03), (0.1, 0.1), (0.02, 0.05), (0.2, 0.04)])
def test_hard_swish_matches_tflm(s_in, s_out):
    ours, theirs = ours_and_tflm(unary("HARD_SWISH", "INT8", s_in, -10, s_out, -100), [ALL_INT8])
    np.testing.assert_array_equal(ours, theirs)
    assert ours.ravel()[128 - 10] == -100  # x = zero point -> 0 -> out zero point


@pytest.mark.parametrize("alpha", [0.1, 0.3])
@pytest.mark.parametrize("s_in,s_out", [(0.05, 0.03), (0.02, 0.05)])
def test_leaky_relu_matches_tflm(alpha, s_in, s_out):
    ours, theirs = ours_and_tflm(
        unary("LEAKY_RELU", "INT8", s_in, -10, s_out, 3, alpha=alpha), [ALL_INT8]
    )
    np.testing.assert_array_equal(ours, theirs)


def test_leaky_relu_by_hand():
    # scales 1 -> 1: identity for x >= zp; alpha 0.5 for x < zp (half of -4 is -2).
    x = np.array([[[-6, -2, -1, 3]]], np.int8)
    data = unary("LEAKY_RELU", "INT8", 1.0, -2, 1.0, 0, shape=(1, 4), alpha=0.5)
    ours, theirs = ours_and_tflm(data, [x])
    assert ours.ravel().tolist() == [-2, 0, 1, 5] == theirs.ravel().tolist()


def binary(
    op: str,
    shape_a,
    shape_b,
    shape_y,
    act="NONE",
    scales=(0.05, 0.031, 0.07),
    zps=(-4, 7, 2),
    typ="INT8",
) -> bytes:
    b = ModelBuilder()
    a = b.tensor("a", shape_a, typ, scale=scales[0], zero_point=zps[0])
    c = b.tensor("b", shape_b, typ, scale=scales[1], zero_point=zps[1])
    y = b.tensor("y", shape_y, typ, scale=scales[2], zero_point=zps[2])
    b.op(op, [a, c], [y], fused_activation=act)
    return b.build([a, c], [y])


@pytest.mark.parametrize("op", ["MUL", "SUB"])
@pytest.mark.parametrize(
    "shape_b,act", [((1, 4, 4, 3), "NONE"), ((1, 1, 1, 3), "RELU"), ((1, 1, 4, 1), "RELU6")]
)
def test_mul_and_sub_match_tflm(op, shape_b, act):
    ours, theirs = ours_and_tflm(binary(op, (1, 4, 4, 3), shape_b, (1, 4, 4, 3), act), n=8)
    np.testing.assert_array_equal(ours, theirs)


def test_mul_and_sub_by_hand():
    # real scale 0.5 * 0.5 / 0.25 = 1: y = (a - 1) * (b - 0) + 3
    data = binary("MUL", (1, 3), (1, 3), (1, 3), scales=(0.5, 0.5, 0.25), zps=(1, 0, 3))
    a = np.array([[[3, -5, 1]]], np.int8)
    b = np.array([[[-4, 6, 100]]], np.int8)
    ours, theirs = ours_and_tflm(data, [a, b])
    assert ours.ravel().tolist() == [-5, -33, 3] == theirs.ravel().tolist()
    # equal scales 1 -> 1: y = (a - 1) - b + 3
    data = binary("SUB", (1, 3), (1, 3), (1, 3), scales=(1.0, 1.0, 1.0), zps=(1, 0, 3))
    ours, theirs = ours_and_tflm(data, [a, b])
    assert ours.ravel().tolist() == [9, -9, -97] == theirs.ravel().tolist()


def test_concatenation_matches_tflm_and_refuses_mixed_scales():
    b = ModelBuilder()
    a = b.tensor("a", (1, 4, 4, 3), "INT8", scale=0.05, zero_point=-4)
    c = b.tensor("b", (1, 4, 4, 5), "INT8", scale=0.05, zero_point=-4)
    y = b.tensor("y", (1, 4, 4, 8), "INT8", scale=0.05, zero_point=-4)
    b.op("CONCATENATION", [a, c], [y], axis=-1)
    ours, theirs = ours_and_tflm(b.build([a, c], [y]))
    np.testing.assert_array_equal(ours, theirs)
    b = ModelBuilder()
    a = b.tensor("a", (1, 3), "INT8", scale=0.05, zero_point=-4)
    c = b.tensor("b", (1, 3), "INT8", scale=0.07, zero_point=-4)
    y = b.tensor("y", (1, 6), "INT8", scale=0.05, zero_point=-4)
    b.op("CONCATENATION", [a, c], [y], axis=1)
    with pytest.raises(UnsupportedOpError, match=r"op 0 \(CONCATENATION\): input 1 \('b'"):
        import_model(b.build([a, c], [y]))


def test_pad_matches_tflm_with_the_zero_point():
    b = ModelBuilder()
    x = b.tensor("x", (1, 2, 2, 1), "INT8", scale=0.05, zero_point=-4)
    p = b.tensor("p", (4, 2), "INT32", data=np.array([[0, 0], [1, 0], [0, 1], [0, 0]]))
    y = b.tensor("y", (1, 3, 3, 1), "INT8", scale=0.05, zero_point=-4)
    b.op("PAD", [x, p], [y])
    xs = np.array([1, 2, 3, 4], np.int8).reshape(1, 1, 2, 2, 1)
    ours, theirs = ours_and_tflm(b.build([x], [y]), [xs])
    assert ours.ravel().tolist() == [-4, -4, -4, 1, 2, -4, 3, 4, -4] == theirs.ravel().tolist()


@pytest.mark.parametrize(
    "axes,keep,s_out,zp_out",
    [
        ([1, 2], True, 0.05, -4),
        ([1, 2], False, 0.02, 10),
        ([-1], True, 0.07, 0),
        ([1], False, 0.05, -4),
        ([1, 3], True, 0.011, -30),
        ([2], True, 0.03, 5),
    ],
)
@pytest.mark.parametrize("typ", ["INT8", "INT16"])
def test_mean_matches_tflm(axes, keep, s_out, zp_out, typ):
    shape = [1, 5, 6, 4]
    reduced = [a % 4 for a in axes]
    out = [1 if i in reduced else d for i, d in enumerate(shape)]
    if not keep:
        out = [d for i, d in enumerate(shape) if i not in reduced]
    b = ModelBuilder()
    # int16 activations are symmetric in TFLite (zero point 0), on a finer scale
    f = 1 if typ == "INT8" else 1 / 256
    x = b.tensor("x", shape, typ, scale=0.05 * f, zero_point=-4 if typ == "INT8" else 0)
    ax = b.tensor("axis", (len(axes),), "INT32", data=np.array(axes))
    y = b.tensor("y", out, typ, scale=s_out * f, zero_point=zp_out if typ == "INT8" else 0)
    b.op("MEAN", [x, ax], [y], keepDims=keep)
    ours, theirs = ours_and_tflm(b.build([x], [y]), n=40)
    np.testing.assert_array_equal(ours, theirs)


def test_mean_multiplier_by_hand():
    # count 5: t = 2, M' = (2^30 * 4) // 5, s' = s - 2
    assert mean_multiplier(1 << 30, 1, 5) == ((1 << 32) // 5, -1)
    # count 30 with s = -3: t = min(4, 32, 28) = 4
    assert mean_multiplier(1 << 30, -3, 30) == ((1 << 34) // 30, -7)


@pytest.mark.parametrize(
    "in_hw,out_hw,align,half",
    [
        ((3, 4), (6, 8), False, False),
        ((5, 5), (3, 7), False, True),
        ((4, 3), (7, 5), True, False),
        ((4, 4), (8, 8), False, True),
    ],
)
def test_resize_nearest_neighbor_matches_tflm(in_hw, out_hw, align, half):
    b = ModelBuilder()
    x = b.tensor("x", (1, *in_hw, 2), "INT8", scale=0.05, zero_point=-4)
    sz = b.tensor("size", (2,), "INT32", data=np.array(out_hw))
    y = b.tensor("y", (1, *out_hw, 2), "INT8", scale=0.05, zero_point=-4)
    b.op("RESIZE_NEAREST_NEIGHBOR", [x, sz], [y], alignCorners=align, halfPixelCenters=half)
    ours, theirs = ours_and_tflm(b.build([x], [y]))
    np.testing.assert_array_equal(ours, theirs)
    if (in_hw, out_hw, align, half) == ((3, 4), (6, 8), False, False):
        xs = np.arange(24, dtype=np.int8).reshape(1, 1, 3, 4, 2)
        ours, _ = ours_and_tflm(b.build([x], [y]), [xs])
        assert (ours[0, 0, :, :, 0] == np.repeat(np.repeat(xs[0, 0, :, :, 0], 2, 0), 2, 1)).all()


ALL_INT16 = np.arange(-32768, 32768, dtype=np.int16).reshape(1, 256, 256)


@pytest.mark.parametrize(
    "alpha,s_in,s_out",
    [(0.2, 0.001, 0.001), (0.1, 0.0005, 0.001), (1.5, 0.001, 0.002), (0.37, 0.00123, 0.00077)],
)
def test_int16_leaky_relu_matches_tflm_on_every_input(alpha, s_in, s_out):
    data = unary("LEAKY_RELU", "INT16", s_in, 0, s_out, 0, shape=(256, 256), alpha=alpha)
    ours, theirs = ours_and_tflm(data, [ALL_INT16])
    np.testing.assert_array_equal(ours, theirs)


def test_leaky_relu_multipliers_follow_the_double_products():
    """On 0.00123 * 0.37 / 0.00077 the float32 product and the double product give multipliers
    9 units apart; TFLite Micro's int16 outputs at x = -29740, -17844, -5948 are those of the
    double one (one less than the float32 rule's -17577, -10546, -3515)."""
    data = unary("LEAKY_RELU", "INT16", 0.00123, 0, 0.00077, 0, shape=(1, 3), alpha=0.37)
    x = np.array([[[-29740, -17844, -5948]]], np.int16)
    ours, theirs = ours_and_tflm(data, [x])
    assert ours.ravel().tolist() == [-17578, -10547, -3516] == theirs.ravel().tolist()
    spec = import_model(data).steps[0].kernel
    s_in, alpha, s_out = (float(np.float32(v)) for v in (0.00123, 0.37, 0.00077))
    assert spec.alpha == quantize_multiplier(s_in * alpha / s_out)
    assert spec.alpha != quantize_multiplier(
        float(np.float32(np.float32(s_in) * np.float32(alpha) / np.float32(s_out)))
    )


@pytest.mark.parametrize("shape_b,act", [((1, 4, 4, 3), "NONE"), ((1, 1, 1, 3), "RELU")])
def test_int16_mul_matches_tflm(shape_b, act):
    data = binary(
        "MUL",
        (1, 4, 4, 3),
        shape_b,
        (1, 4, 4, 3),
        act,
        typ="INT16",
        scales=(0.0004, 0.0003, 0.002),
        zps=(0, 0, 0),
    )
    ours, theirs = ours_and_tflm(data, n=8)
    np.testing.assert_array_equal(ours, theirs)
    assert len(np.unique(theirs)) > 100


def test_int16_mul_by_hand():
    # real scale 2^-8 * 2^-8 / 2^-10 = 2^-6: y = round(a * b / 64), ties away from zero
    data = binary(
        "MUL", (1, 4), (1, 4), (1, 4), typ="INT16", scales=(2**-8, 2**-8, 2**-10), zps=(0, 0, 0)
    )
    a = np.array([[[1000, -1000, 32, 30000]]], np.int16)
    b = np.array([[[3, 7, 1, 30000]]], np.int16)
    ours, theirs = ours_and_tflm(data, [a, b])
    assert ours.ravel().tolist() == [47, -109, 1, 32767] == theirs.ravel().tolist()


@pytest.mark.parametrize("op", ["ADD", "SUB"])
@pytest.mark.parametrize("shape_b", [(1, 4, 4, 3), (1, 1, 1, 3)])
def test_int16_add_and_sub_match_tflm(op, shape_b):
    b = ModelBuilder()
    a = b.tensor("a", (1, 4, 4, 3), "INT16", scale=0.0005, zero_point=0)
    c = b.tensor("b", shape_b, "INT16", scale=0.0003, zero_point=0)
    y = b.tensor("y", (1, 4, 4, 3), "INT16", scale=0.0007, zero_point=0)
    b.op(op, [a, c], [y], fused_activation="RELU")
    data = b.build([a, c], [y])
    ours, theirs = ours_and_tflm(data, n=6)
    assert ours.dtype == np.int16
    np.testing.assert_array_equal(ours, theirs)
    assert len(np.unique(theirs)) > 100
