"""DEPTHWISE_CONV_2D and TRANSPOSE_CONV lowered onto the datapath's dot products (pyref here; the
RTL in test_rtl_ops.py), checked bit for bit against the TFLite Micro interpreter on
one-operator models, and against a hand-worked case."""

from __future__ import annotations

import numpy as np
import pytest

from hil.executor import run_network
from hil.kernels.base import UnsupportedOpError
from hil.oracles.tflm import run_tflm
from hil.tflite.build import ModelBuilder, depthwise_model, transpose_conv_model
from hil.tflite.importer import import_model


def ours_and_tflm(data: bytes, n: int = 4, seed: int = 0):
    model = import_model(data)
    t = model.graph.tensor(model.graph.inputs[0])
    xs = np.random.default_rng(seed).integers(-128, 128, size=(n,) + t.shape).astype(np.int8)
    run = run_network(model, [xs])
    ours = run.outputs[0].array
    theirs = run_tflm(model.graph, [xs]).outputs[0].reshape(ours.shape)
    return model, run, ours, theirs


def test_depthwise_by_hand():
    # real scale 0.5 * 0.25 / 0.125 = 1: y = bias + sum (x - zp) w + out_zp exactly.
    w = np.array([1, -1, 2, 0, 3, 1, 4, 2]).reshape(1, 2, 2, 2)  # channel 0: 1 2 3 4, 1: -1 0 1 2
    data = depthwise_model(
        w,
        np.array([5, -10]),
        in_hw=(2, 2),
        cin=1,
        in_scale=0.5,
        in_zp=1,
        w_scale=0.25,
        out_scale=0.125,
        out_zp=-3,
        padding="VALID",
    )
    model = import_model(data)
    xs = np.array([1, 2, 3, 4], np.int8).reshape(1, 1, 2, 2, 1)
    ours = run_network(model, [xs]).outputs[0].array
    # x - zp = 0 1 2 3: channel 0: 0 + 2 + 6 + 12 + 5 - 3 = 22;
    # channel 1: 0 + 0 + 2 + 6 - 10 - 3 = -5
    assert ours.ravel().tolist() == [22, -5]
    assert run_tflm(model.graph, [xs]).outputs[0].ravel().tolist() == [22, -5]


@pytest.mark.parametrize(
    "cin,dm,padding,stride,dilation,activation,per_channel",
    [
        (3, 1, "SAME", (1, 1), (1, 1), "NONE", True),
        (4, 2, "VALID", (2, 1), (1, 1), "RELU6", True),
        (2, 3, "SAME", (2, 2), (2, 1), "RELU", False),
        (5, 1, "SAME", (1, 1), (2, 2), "NONE", True),
        (8, 1, "SAME", (2, 2), (1, 1), "RELU", True),
    ],
)
def test_depthwise_matches_tflm(cin, dm, padding, stride, dilation, activation, per_channel):
    rng = np.random.default_rng(51)  # its own data, whatever ran before
    cout = cin * dm
    w = rng.integers(-127, 128, size=(1, 3, 3, cout))
    ws = rng.uniform(0.002, 0.02, cout) if per_channel else 0.01
    data = depthwise_model(
        w,
        rng.integers(-3000, 3000, cout),
        in_hw=(9, 7),
        cin=cin,
        in_scale=0.05,
        in_zp=-7,
        w_scale=ws,
        out_scale=0.04,
        out_zp=3,
        stride=stride,
        dilation=dilation,
        padding=padding,
        activation=activation,
    )
    model, run, ours, theirs = ours_and_tflm(data)
    layer = run.layers[0]
    assert (layer.op, layer.k, layer.c) == ("DEPTHWISE_CONV_2D", 9, cout)
    assert layer.outputs == ours.size
    np.testing.assert_array_equal(ours, theirs)
    assert 0 < np.count_nonzero((theirs > -128) & (theirs < 127))  # not all clamped


def test_depthwise_5x5_without_bias_and_rectangular_filter():
    rng = np.random.default_rng(66)  # its own data, whatever ran before
    w = rng.integers(-127, 128, size=(1, 5, 2, 6))
    data = depthwise_model(
        w,
        None,
        in_hw=(8, 8),
        cin=6,
        in_scale=0.03,
        in_zp=10,
        w_scale=rng.uniform(0.002, 0.02, 6),
        out_scale=0.05,
        out_zp=-20,
    )
    _, _, ours, theirs = ours_and_tflm(data)
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize(
    "padding,stride,out_hw",
    [
        ("SAME", (2, 2), (10, 8)),
        ("VALID", (2, 2), (11, 9)),
        ("SAME", (1, 1), (5, 4)),
        ("VALID", (3, 2), (15, 9)),
    ],
)
def test_transpose_conv_matches_tflm(padding, stride, out_hw):
    rng = np.random.default_rng(78)  # its own data, whatever ran before
    w = rng.integers(-127, 128, size=(4, 3, 3, 3))
    data = transpose_conv_model(
        w,
        rng.integers(-3000, 3000, 4),
        in_hw=(5, 4),
        out_hw=out_hw,
        in_scale=0.05,
        in_zp=-3,
        w_scale=rng.uniform(0.002, 0.02, 4),
        out_scale=0.07,
        out_zp=5,
        stride=stride,
        padding=padding,
    )
    model, run, ours, theirs = ours_and_tflm(data)
    assert run.layers[0].k == 27 and run.layers[0].c == 4
    np.testing.assert_array_equal(ours, theirs)


def test_transpose_conv_by_hand():
    # 1x1 input, 2x2 filter, stride 2, VALID: output (oy, ox) = (x - zp) * w[ky=oy, kx=ox] + bias.
    w = np.array([1, 2, 3, 4]).reshape(1, 2, 2, 1)
    data = transpose_conv_model(
        w,
        np.array([1]),
        in_hw=(1, 1),
        out_hw=(2, 2),
        in_scale=0.5,
        in_zp=2,
        w_scale=0.25,
        out_scale=0.125,
        out_zp=0,
        stride=(2, 2),
        padding="VALID",
    )
    model = import_model(data)
    xs = np.array([5], np.int8).reshape(1, 1, 1, 1, 1)
    ours = run_network(model, [xs]).outputs[0].array
    assert ours.ravel().tolist() == [4, 7, 10, 13]  # 3 * (1 2 3 4) + 1
    assert run_tflm(model.graph, [xs]).outputs[0].ravel().tolist() == [4, 7, 10, 13]


def test_depthwise_with_a_weight_zero_point_is_refused_naming_it():
    b = ModelBuilder()
    x = b.tensor("x", (1, 4, 4, 2), "INT8", scale=0.1, zero_point=0)
    w = b.tensor(
        "dw_filter", (1, 3, 3, 2), "INT8", scale=0.1, zero_point=4, data=np.ones((1, 3, 3, 2))
    )
    y = b.tensor("y", (1, 4, 4, 2), "INT8", scale=0.1, zero_point=0)
    b.op("DEPTHWISE_CONV_2D", [x, w], [y], padding="SAME", strideH=1, strideW=1, depthMultiplier=1)
    with pytest.raises(
        UnsupportedOpError, match=r"op 0 \(DEPTHWISE_CONV_2D\).*'dw_filter'.*zero point"
    ):
        import_model(b.build([x], [y]))


def test_depthwise_layers_go_as_one_stream_to_a_backend_that_plays_streams():
    """A backend with ``run_stream`` gets one stream of all channels' jobs (in layer order); one
    without gets one ``run`` per input channel; both give TFLite Micro's outputs."""
    rng = np.random.default_rng(138)  # its own data, whatever ran before
    from hil.backends.select import BackendResult, PyrefBackend
    from pyref.beats import predict_jobs

    calls = {"stream": 0, "run": 0}

    class StreamBackend:
        name = "stream"

        def run(self, layer, config):
            raise AssertionError("a depthwise conv must come as one stream")

        def run_stream(self, stream, config):
            calls["stream"] += 1
            res = predict_jobs(stream, config)
            return BackendResult(y=res.y, saturated=res.saturated)

    class LayerBackend(PyrefBackend):
        name = "layers"

        def run(self, layer, config):
            calls["run"] += 1
            return super().run(layer, config)

    w = rng.integers(-127, 128, size=(1, 3, 3, 6))
    data = depthwise_model(
        w,
        rng.integers(-3000, 3000, 6),
        in_hw=(5, 5),
        cin=3,
        in_scale=0.05,
        in_zp=-7,
        w_scale=rng.uniform(0.002, 0.02, 6),
        out_scale=0.04,
        out_zp=3,
    )
    model = import_model(data)
    xs = np.random.default_rng(3).integers(-128, 128, size=(2, 1, 5, 5, 3)).astype(np.int8)
    theirs = run_tflm(model.graph, [xs]).outputs[0]
    for backend in (StreamBackend(), LayerBackend()):
        run = run_network(model, [xs], backend)
        np.testing.assert_array_equal(run.outputs[0].array.reshape(theirs.shape), theirs)
        # (a PyrefBackend subclass is not checked against pyref again: None)
        assert run.layers[0].ref_mismatches == (0 if backend.name == "stream" else None)
    assert calls == {"stream": 1, "run": 3}
