"""TFLite import: FULLY_CONNECTED / CONV_2D lowered to the datapath's terms, checked bit for bit
against the TFLite Micro interpreter (independent of pyref) on models built here, plus
hand-worked parameter values and the errors for bad models."""

from __future__ import annotations

import numpy as np
import pytest

from hil.executor import run_network
from hil.inputs import random_inputs
from hil.kernels.base import UnsupportedOpError
from hil.oracles.tflm import run_tflm
from hil.tflite.build import ModelBuilder, conv2d_model, fully_connected_model
from hil.tflite.graph import TfliteFormatError
from hil.tflite.importer import BiasRangeError, im2col, import_model
from hil.tflite.params import Padding2D, activation_range, fully_connected_multipliers
from pyref.fixed_point import multiply_by_quantized_multiplier
from pyref.quantize.tflite import tflite_multipliers

RNG = np.random.default_rng(20240611)


def run_both(model_bytes: bytes, n: int = 64, seed: int = 1):
    """Our run (pyref backend) and TFLite Micro's, on the same random int8 inputs."""
    model = import_model(model_bytes)
    inputs = random_inputs(model, n, seed)
    ours = run_network(model, inputs).outputs[0].array
    theirs = run_tflm(model.graph, inputs).outputs[0].reshape(ours.shape)
    return model, ours, theirs


def assert_nontrivial(y: np.ndarray, lo: int = -128, hi: int = 127) -> None:
    """The comparison means something only if the outputs vary and are not all clamped."""
    inside = (y > lo) & (y < hi)
    assert np.unique(y).size > 10, "outputs hardly vary: the test would prove little"
    assert inside.mean() > 0.3, "most outputs sit on the clamp: the test would prove little"


def fc_weights(c: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    return RNG.integers(-127, 128, (c, k)), RNG.integers(-3000, 3000, c)


# ----- hand-worked values ------------------------------------------------------------------------


def test_folded_bias_multiplier_and_relu6_by_hand():
    # x scale 0.5 zp 1, w scale 0.25, y scale 0.25 zp -3:
    # real scale 0.5*0.25/0.25 = 0.5 = 2^30 * 2^(0-31)
    w = np.array([[2, 5], [-1, 4]])
    data = fully_connected_model(
        w,
        np.array([10, -7]),
        in_scale=0.5,
        in_zp=1,
        w_scale=0.25,
        out_scale=0.25,
        out_zp=-3,
        activation="RELU6",
    )
    spec = import_model(data).dense_steps[0].dense
    assert spec.bias.tolist() == [10 - 1 * (2 + 5), -7 - 1 * (-1 + 4)]  # [3, -10]
    assert spec.mult.tolist() == [1 << 30, 1 << 30] and spec.shift.tolist() == [0, 0]
    # RELU6: q(0) = -3 + round(0 / 0.25) = -3, q(6) = -3 + round(6 / 0.25) = 21
    assert (spec.act_min, spec.act_max) == (-3, 21)
    assert spec.in_zp == 1 and spec.out_zp == -3 and not spec.per_channel


def test_activation_ranges_by_hand():
    assert activation_range(0, 0.1, 5) == (-128, 127)  # NONE
    assert activation_range(1, 0.1, 5) == (5, 127)  # RELU: zp
    assert activation_range(3, 0.1, -128) == (-128, -128 + 60)  # RELU6: 6 / 0.1 = 60
    assert activation_range(3, 0.01, 0) == (0, 127)  # 600 clipped to qmax
    assert activation_range(2, 0.25, 10) == (6, 14)  # RELU_N1_TO_1: +-4
    assert activation_range(3, 0.4, 0) == (0, 15)  # 6 / 0.4 = 15


def test_im2col_patches_by_hand():
    from hil.tflite.importer import ConvGeometry

    img = np.arange(1, 10).reshape(1, 3, 3, 1)  # 1 2 3 / 4 5 6 / 7 8 9
    # 2x2 filter, stride 1, SAME on 3x3: out 3x3, total padding 1 -> 0 on top/left, 1 bottom/right
    g = ConvGeometry(2, 2, 1, 1, 1, 1, 1, 3, 3, Padding2D(3, 3, 0, 0), "SAME")
    p = im2col(img, g, pad_value=-9)
    assert p.shape == (9, 4)
    assert p[0].tolist() == [1, 2, 4, 5]
    assert p[2].tolist() == [3, -9, 6, -9]
    assert p[8].tolist() == [9, -9, -9, -9]
    # dilation 2 on the same image, VALID: one output whose taps are the four corners
    g = ConvGeometry(2, 2, 1, 1, 1, 2, 2, 3, 3, Padding2D(1, 1, 0, 0), "VALID")
    assert im2col(img, g, pad_value=0).tolist() == [[1, 3, 7, 9]]


# ----- against TFLite Micro ---------------------------------------------------------------------


@pytest.mark.parametrize("in_zp,out_zp", [(0, 0), (-128, 17), (37, -90)])
def test_fc_per_tensor_matches_tflm(in_zp, out_zp):
    w, b = fc_weights(24, 40)
    data = fully_connected_model(
        w, b, in_scale=0.031, in_zp=in_zp, w_scale=0.0042, out_scale=0.09, out_zp=out_zp
    )
    model, ours, theirs = run_both(data)
    assert model.dense_steps[0].dense.quant == "per-tensor"
    assert_nontrivial(theirs)
    np.testing.assert_array_equal(ours, theirs)


def test_fc_per_channel_matches_tflm():
    w, b = fc_weights(16, 33)
    scales = RNG.uniform(0.001, 0.02, 16).astype(np.float32)
    data = fully_connected_model(
        w, b, in_scale=0.05, in_zp=-20, w_scale=scales, out_scale=0.12, out_zp=9
    )
    model, ours, theirs = run_both(data)
    spec = model.dense_steps[0].dense
    assert spec.per_channel and np.unique(spec.mult).size > 1
    assert_nontrivial(theirs)
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("activation", ["RELU", "RELU6", "RELU_N1_TO_1"])
def test_fc_fused_activation_matches_tflm(activation):
    w, b = fc_weights(20, 30)
    data = fully_connected_model(
        w,
        b,
        in_scale=0.04,
        in_zp=11,
        w_scale=0.003,
        out_scale=0.05,
        out_zp=-6,
        activation=activation,
    )
    model, ours, theirs = run_both(data, n=80)
    spec = model.dense_steps[0].dense
    assert spec.act_min > -128 and (activation == "RELU" or spec.act_max < 127)
    assert (theirs == spec.act_min).any(), "no output hit the activation floor"
    np.testing.assert_array_equal(ours, theirs)


def test_fc_without_bias_and_batch_rows_match_tflm():
    w, _ = fc_weights(8, 12)
    data = fully_connected_model(
        w, None, in_scale=0.02, in_zp=3, w_scale=0.01, out_scale=0.02, out_zp=0, batch=3
    )
    model, ours, theirs = run_both(data, n=20)
    assert ours.shape == (20, 3, 8)
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize(
    "padding,stride,dilation",
    [
        ("SAME", (1, 1), (1, 1)),
        ("SAME", (2, 2), (1, 1)),
        ("VALID", (2, 1), (1, 1)),
        ("SAME", (1, 1), (2, 2)),
    ],
)
def test_conv2d_matches_tflm(padding, stride, dilation):
    # A generator of its own: the data must not depend on which tests ran before (xdist).
    rng = np.random.default_rng(136)
    w = rng.integers(-127, 128, (6, 3, 3, 4))
    b = rng.integers(-2000, 2000, 6)
    scales = rng.uniform(0.002, 0.01, 6).astype(np.float32)
    # in_zp far from 0, so the border taps (which must add nothing) would show if wrong
    data = conv2d_model(
        w,
        b,
        in_hw=(7, 6),
        in_scale=0.05,
        in_zp=-70,
        w_scale=scales,
        out_scale=0.15,
        out_zp=4,
        stride=stride,
        dilation=dilation,
        padding=padding,
        activation="RELU",
    )
    model, ours, theirs = run_both(data, n=12)
    spec = model.dense_steps[0].dense
    assert spec.conv is not None and spec.k == 3 * 3 * 4
    assert (theirs > spec.act_min).mean() > 0.3
    np.testing.assert_array_equal(ours, theirs)


def test_conv2d_per_tensor_filter_matches_tflm():
    w = RNG.integers(-127, 128, (5, 2, 3, 2))
    data = conv2d_model(
        w,
        RNG.integers(-500, 500, 5),
        in_hw=(5, 5),
        in_scale=0.1,
        in_zp=25,
        w_scale=0.007,
        out_scale=0.2,
        out_zp=-1,
        padding="SAME",
    )
    _, ours, theirs = run_both(data, n=10)
    np.testing.assert_array_equal(ours, theirs)


def test_fc_multiplier_follows_the_interpreter_not_the_float32_product():
    """Scales where double(float32(s_in*s_w))/s_out and double(s_in)*double(s_w)/s_out give
    different M, and accumulators where that changes the output: TFLite Micro decides."""
    rng = np.random.default_rng(7)
    for _ in range(10_000):
        si, sw, so = (float(np.float32(v)) for v in rng.uniform(0.001, 0.1, 3))
        (m_new,), (s_new,) = fully_connected_multipliers(si, np.array([sw]), so)
        (m_old,), (s_old,) = tflite_multipliers(
            si, np.array([sw]), so, per_channel=False, engine="tflite"
        )
        if (m_new, s_new) == (m_old, s_old):
            continue
        acc = np.arange(-int(127 * so / (si * sw)), int(127 * so / (si * sw)) + 1)
        new = multiply_by_quantized_multiplier(acc, m_new, s_new)
        old = multiply_by_quantized_multiplier(acc, m_old, s_old)
        differ = acc[new != old]
        if differ.size:
            break
    else:
        pytest.fail("found no scales where the two rules give different outputs")
    bias = differ[:8]
    # x = 0 and zero point 0: the accumulator is the bias itself
    data = fully_connected_model(
        np.ones((bias.size, 1)), bias, in_scale=si, in_zp=0, w_scale=sw, out_scale=so, out_zp=0
    )
    model = import_model(data)
    x = [np.zeros((1, 1, 1), np.int8)]
    theirs = run_tflm(model.graph, x).outputs[0].ravel()
    ours = run_network(model, x).outputs[0].array.ravel()
    np.testing.assert_array_equal(ours, theirs)
    assert not np.array_equal(multiply_by_quantized_multiplier(bias, m_old, s_old), theirs)


# ----- errors ------------------------------------------------------------------------------------


def test_broken_files_give_clear_errors(tmp_path):
    with pytest.raises(
        TfliteFormatError, match=r"not a TFLite flatbuffer \(expected file identifier b'TFL3'"
    ):
        import_model(b"this is not a model at all")
    good = fully_connected_model(
        np.ones((2, 2)), None, in_scale=1.0, in_zp=0, w_scale=1.0, out_scale=1.0, out_zp=0
    )
    with pytest.raises(
        TfliteFormatError, match="corrupt TFLite flatbuffer|inconsistent TFLite model"
    ):
        import_model(good[:40])
    with pytest.raises(TfliteFormatError, match="does not exist"):
        import_model(tmp_path / "missing.tflite")


def test_unsupported_op_is_named():
    b = ModelBuilder()
    x = b.tensor("x", (1, 8), "INT8", scale=0.1, zero_point=0)
    y = b.tensor("y", (1, 8), "INT8", scale=1 / 128, zero_point=0)
    z = b.tensor("z", (1, 8), "INT8", scale=1 / 128, zero_point=0)
    b.op("ELU", [x], [y])
    b.op("SQUARE", [y], [z])
    with pytest.raises(UnsupportedOpError) as err:
        import_model(b.build([x], [z]))
    msg = str(err.value)
    assert "unsupported operator ELU (op 0)" in msg
    assert "unsupported operator SQUARE (op 1)" in msg


def test_float_fully_connected_is_refused():
    b = ModelBuilder()
    x = b.tensor("x", (1, 4), "FLOAT32")
    w = b.tensor("w", (2, 4), "FLOAT32", data=np.ones((2, 4)))
    y = b.tensor("y", (1, 2), "FLOAT32")
    b.op("FULLY_CONNECTED", [x, w, -1], [y])
    with pytest.raises(
        UnsupportedOpError, match=r"op 0 \(FULLY_CONNECTED\): input tensor 'x' is FLOAT32"
    ):
        import_model(b.build([x], [y]))


def test_folded_bias_out_of_range_is_refused():
    w = np.full((2, 300), 127)
    bias = np.array([0, 2**31 - 1000])
    # in_zp = -128: bias' = bias + 128 * 300 * 127 > 2^31 - 1 on channel 1
    data = fully_connected_model(
        w, bias, in_scale=0.1, in_zp=-128, w_scale=0.01, out_scale=0.1, out_zp=0
    )
    with pytest.raises(
        BiasRangeError,
        match=r"op 0 \(FULLY_CONNECTED\): folded bias\[1\] = .* does not "
        r"fit bias_bits = 32: allowed -2147483648 \.\. 2147483647",
    ):
        import_model(data)


def test_nonzero_weight_zero_point_is_refused():
    b = ModelBuilder()
    x = b.tensor("x", (1, 4), "INT8", scale=0.1, zero_point=0)
    w = b.tensor("w", (2, 4), "INT8", scale=0.1, zero_point=3, data=np.ones((2, 4)))
    y = b.tensor("y", (1, 2), "INT8", scale=0.1, zero_point=0)
    b.op("FULLY_CONNECTED", [x, w, -1], [y])
    with pytest.raises(UnsupportedOpError, match="non-zero zero point"):
        import_model(b.build([x], [y]))
