"""The multiply-accumulate operators beyond FULLY_CONNECTED / CONV_2D on the real RTL:
DEPTHWISE_CONV_2D (one stream of short jobs per operator) and TRANSPOSE_CONV in an int8 model,
and a 16x8 model on its own config, each checked against pyref and TFLite Micro."""

from __future__ import annotations

import numpy as np
import pytest
from sim_skip import require_simulator

from hil.backends.rtl import RtlBackend
from hil.executor import run_network
from hil.oracles.tflm import run_tflm
from hil.report import compare_with_oracle, verdict
from hil.tflite.build import ModelBuilder
from hil.tflite.importer import TFLITE_16X8_CONFIG, TFLITE_CONFIG, import_model

pytestmark = pytest.mark.rtl


def _conv_weights(b, rng, name, shape, in_scale, axis, act="INT8"):
    c = shape[axis]
    ws = rng.uniform(0.004, 0.02, c)
    w = b.tensor(
        name, shape, "INT8", scale=ws, quantized_dimension=axis, data=rng.integers(-127, 128, shape)
    )
    bias = b.tensor(
        name + "_b",
        (c,),
        "INT64" if act == "INT16" else "INT32",
        scale=np.float32(in_scale) * ws.astype(np.float32),
        data=rng.integers(-2000, 2000, c),
    )
    return w, bias


def int8_model() -> bytes:
    """x (6x6x3) -> DEPTHWISE 3x3 x2, stride 2, RELU -> (3x3x6) -> TRANSPOSE_CONV 3x3 stride 2
    -> (6x6x4) -> DEPTHWISE 3x3 dilation 2 -> (6x6x4)."""
    rng = np.random.default_rng(21)
    b = ModelBuilder()
    x = b.tensor("x", (1, 6, 6, 3), "INT8", scale=0.05, zero_point=-4)
    w1, b1 = _conv_weights(b, rng, "dw1", (1, 3, 3, 6), 0.05, 3)
    h1 = b.tensor("h1", (1, 3, 3, 6), "INT8", scale=0.04, zero_point=-128)
    b.op(
        "DEPTHWISE_CONV_2D",
        [x, w1, b1],
        [h1],
        padding="SAME",
        strideH=2,
        strideW=2,
        depthMultiplier=2,
        fused_activation="RELU",
    )
    shape = b.tensor("shape", (4,), "INT32", data=np.array([1, 6, 6, 4]))
    w2, b2 = _conv_weights(b, rng, "tc", (4, 3, 3, 6), 0.04, 0)
    h2 = b.tensor("h2", (1, 6, 6, 4), "INT8", scale=0.06, zero_point=3)
    b.op("TRANSPOSE_CONV", [shape, w2, h1, b2], [h2], padding="SAME", strideH=2, strideW=2)
    w3, b3 = _conv_weights(b, rng, "dw3", (1, 3, 3, 4), 0.06, 3)
    y = b.tensor("y", (1, 6, 6, 4), "INT8", scale=0.05, zero_point=-2)
    b.op(
        "DEPTHWISE_CONV_2D",
        [h2, w3, b3],
        [y],
        padding="SAME",
        strideH=1,
        strideW=1,
        depthMultiplier=1,
        dilationHFactor=2,
        dilationWFactor=2,
    )
    return b.build([x], [y])


def int16_model() -> bytes:
    """16x8: x (5x5x4) -> DEPTHWISE 3x3 -> (5x5x4) -> FULLY_CONNECTED 100 -> 6."""
    rng = np.random.default_rng(22)
    b = ModelBuilder()
    x = b.tensor("x", (1, 5, 5, 4), "INT16", scale=0.0005, zero_point=0)
    w1, b1 = _conv_weights(b, rng, "dw", (1, 3, 3, 4), 0.0005, 3, "INT16")
    h = b.tensor("h", (1, 5, 5, 4), "INT16", scale=0.002, zero_point=0)
    b.op(
        "DEPTHWISE_CONV_2D",
        [x, w1, b1],
        [h],
        padding="SAME",
        strideH=1,
        strideW=1,
        depthMultiplier=1,
    )
    r = b.tensor("r", (1, 100), "INT16", scale=0.002, zero_point=0)
    b.op("RESHAPE", [h], [r])
    w2, b2 = _conv_weights(b, rng, "fc", (6, 100), 0.002, 0, "INT16")
    y = b.tensor("y", (1, 6), "INT16", scale=0.01, zero_point=0)
    b.op("FULLY_CONNECTED", [r, w2, b2], [y])
    return b.build([x], [y])


def run_on_rtl(data: bytes, sim: str, n: int, config):
    model = import_model(data)
    assert model.config == config
    rng = np.random.default_rng(5)
    t = model.graph.tensor(model.graph.inputs[0])
    info = np.iinfo(t.dtype)
    inputs = [rng.integers(info.min, info.max + 1, size=(n,) + t.shape).astype(t.dtype)]
    with RtlBackend(sim, config) as rtl:
        run = run_network(model, inputs, rtl, keep_tensors=True)
    dense = [s.dense.output_index for s in model.dense_steps]
    oracle = run_tflm(model.graph, inputs, dense)
    checks = compare_with_oracle(run, oracle, ["y"], dense)
    return run, checks


@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_depthwise_and_transpose_conv_on_the_rtl(sim):
    require_simulator(sim)
    run, checks = run_on_rtl(int8_model(), sim, 6, TFLITE_CONFIG)
    assert [l.op for l in run.layers] == [
        "DEPTHWISE_CONV_2D",
        "TRANSPOSE_CONV",
        "DEPTHWISE_CONV_2D",
    ]
    assert [(l.k, l.c) for l in run.layers] == [(9, 6), (54, 4), (9, 4)]
    assert [l.ref_mismatches for l in run.layers] == [0, 0, 0]
    assert [l.tflm_mismatches for l in run.layers] == [0, 0, 0]
    assert all(l.cycles >= l.beats for l in run.layers)  # every beat went through the RTL
    v = verdict(run, checks)
    assert v.passed, v.lines


@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_16x8_model_on_the_rtl(sim):
    require_simulator(sim)
    run, checks = run_on_rtl(int16_model(), sim, 5, TFLITE_16X8_CONFIG)
    assert [l.op for l in run.layers] == ["DEPTHWISE_CONV_2D", "FULLY_CONNECTED"]
    assert [l.ref_mismatches for l in run.layers] == [0, 0]
    assert [l.tflm_mismatches for l in run.layers] == [0, 0]
    v = verdict(run, checks)
    assert v.passed, v.lines
