"""The LiteRT oracle (``--oracle litert``): .tflite FULLY_CONNECTED and CONV_2D layers in the fp32
mode at XNNPACK's scales, checked against LiteRT's default interpreter (XNNPACK delegate) layer
by layer and end to end. Models built with hil.tflite.build (flatbuffer object API)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert.interpreter", reason="pip install -e '.[dev]' (ai-edge-litert)")

from hil.executor import run_network  # noqa: E402
from hil.inputs import random_inputs  # noqa: E402
from hil.oracles.litert import run_litert, single_op_model, to_xnnpack, xnnpack_scales  # noqa: E402
from hil.report import compare_with_oracle, verdict  # noqa: E402
from hil.tflite.build import ModelBuilder, _weight_and_bias, depthwise_model  # noqa: E402
from hil.tflite.graph import TfliteImportError  # noqa: E402
from hil.tflite.importer import import_model  # noqa: E402
from pyref.config import named_config  # noqa: E402

N = 48


def chain_model(seed: int = 0) -> bytes:
    """CONV_2D (per-tensor, SAME, stride 2, RELU) -> CONV_2D (per-channel, VALID, dilation 2)
    -> FULLY_CONNECTED (per-channel, RELU6) -> FULLY_CONNECTED (per-tensor, no activation)."""
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    s_x = np.float32(0.021)
    x = b.tensor("x", (1, 12, 12, 3), "INT8", scale=s_x, zero_point=-3)
    w1 = rng.integers(-127, 128, (8, 3, 3, 3))
    s1 = np.float32(0.37)
    y1 = b.tensor("y1", (1, 6, 6, 8), "INT8", scale=s1, zero_point=-20)
    b.op(
        "CONV_2D",
        [x, *_weight_and_bias(b, w1, rng.integers(-900, 900, 8), s_x, 0.013)],
        [y1],
        padding="SAME",
        strideH=2,
        strideW=2,
        dilationHFactor=1,
        dilationWFactor=1,
        fused_activation="RELU",
    )
    w2 = rng.integers(-127, 128, (6, 2, 2, 8))
    ws2 = rng.uniform(0.003, 0.012, 6).astype(np.float32)
    s2 = np.float32(0.45)
    y2 = b.tensor("y2", (1, 4, 4, 6), "INT8", scale=s2, zero_point=7)
    b.op(
        "CONV_2D",
        [y1, *_weight_and_bias(b, w2, rng.integers(-900, 900, 6), s1, ws2)],
        [y2],
        padding="VALID",
        strideH=1,
        strideW=1,
        dilationHFactor=2,
        dilationWFactor=2,
        fused_activation="NONE",
    )
    w3 = rng.integers(-127, 128, (16, 96))
    ws3 = rng.uniform(0.0001, 0.0004, 16).astype(np.float32)
    s3 = np.float32(0.05)
    y3 = b.tensor("y3", (1, 16), "INT8", scale=s3, zero_point=-100)
    b.op(
        "FULLY_CONNECTED",
        [y2, *_weight_and_bias(b, w3, rng.integers(-900, 900, 16), s2, ws3)],
        [y3],
        fused_activation="RELU6",
    )
    w4 = rng.integers(-127, 128, (5, 16))
    s4 = np.float32(0.11)
    y4 = b.tensor("y4", (1, 5), "INT8", scale=s4, zero_point=2)
    b.op(
        "FULLY_CONNECTED",
        [y3, *_weight_and_bias(b, w4, rng.integers(-900, 900, 5), s3, 0.0071)],
        [y4],
        fused_activation="NONE",
    )
    return b.build([x], [y4])


def fl32(q: Fraction) -> Fraction:
    """``q`` rounded to the nearest binary32, ties to even (normal range), exactly."""
    f = np.float32(float(q))
    best = None
    for c in (np.nextafter(f, np.float32(-np.inf)), f, np.nextafter(f, np.float32(np.inf))):
        d = abs(Fraction(float(c)) - q)
        key = (d, int(np.array(c).view(np.uint32)) & 1)
        if best is None or key < best[0]:
            best = (key, c)
    return Fraction(float(best[1]))


def check(model, inputs, backend=None):
    run = run_network(model, inputs, backend, keep_tensors=True)
    oracle = run_litert(model, inputs, {i: v.array for i, v in run.tensors.items()})
    dense = [s.dense.output_index for s in model.dense_steps]
    names = [model.graph.tensor(i).name for i in model.graph.outputs]
    return run, oracle, compare_with_oracle(run, oracle, names, dense)


@pytest.fixture(scope="module")
def chain():
    model = to_xnnpack(import_model(chain_model(), name="chain"))
    return model, random_inputs(model, N, seed=3)


def test_scales_are_xnnpacks_two_binary32_roundings(chain):
    """scale[c] = fl32(fl32(in_scale * w_scale[c]) / out_scale), worked out with fractions."""
    model, _ = chain
    g = model.graph
    for step in model.dense_steps:
        op = step.dense.op
        xs, ys = (Fraction(float(g.tensor(i).scale[0])) for i in (op.inputs[0], op.outputs[0]))
        ws = g.tensor(op.inputs[1]).scale
        got = xnnpack_scales(g, step.dense)
        for c in range(step.dense.c):
            want = fl32(fl32(xs * Fraction(float(ws[min(c, ws.size - 1)]))) / ys)
            assert Fraction(float(got[c])) == want, (op.index, c)
        assert list(step.dense.mult) == [int(v) for v in got.view(np.uint32)]
        assert step.dense.config == named_config("fp32") and not step.dense.shift.any()


def test_chain_on_pyref_matches_litert_layer_by_layer_and_at_the_output(chain):
    model, inputs = chain
    run, oracle, checks = check(model, inputs)
    assert [(l.op, l.quant, l.n, l.k, l.c) for l in run.layers] == [
        ("CONV_2D", "per-tensor", N * 36, 27, 8),
        ("CONV_2D", "per-channel", N * 16, 32, 6),
        ("FULLY_CONNECTED", "per-channel", N, 96, 16),
        ("FULLY_CONNECTED", "per-tensor", N, 16, 5),
    ]
    assert [l.tflm_mismatches for l in run.layers] == [0, 0, 0, 0]
    assert checks[0].elements == N * 5 and checks[0].mismatches == 0
    # The clamps are exercised: RELU and RELU6 bite, and not every output is clamped.
    assert all(0 < l.saturated < l.outputs for l in run.layers[:3])
    assert verdict(run, checks).passed


def test_a_wrong_value_is_caught(chain):
    """The comparison can fail: one layer output changed by one, and a scale one ulp off."""
    model, inputs = chain
    run = run_network(model, inputs, keep_tensors=True)
    oracle = run_litert(model, inputs, {i: v.array for i, v in run.tensors.items()})
    t = model.dense_steps[2].dense.output_index
    oracle.tensors[t] = oracle.tensors[t].copy()
    oracle.tensors[t].reshape(-1)[17] ^= 1
    dense = [s.dense.output_index for s in model.dense_steps]
    checks = compare_with_oracle(run, oracle, ["y4"], dense)
    assert [l.tflm_mismatches for l in run.layers] == [0, 0, 1, 0]
    assert not verdict(run, checks).passed


def test_single_op_model_is_that_operator_alone():
    data = chain_model()
    one = import_model(single_op_model(data, 2), name="one")
    assert [s.op.name for s in one.steps] == ["FULLY_CONNECTED"]
    assert [one.graph.tensor(i).name for i in one.graph.inputs] == ["y2"]
    assert [one.graph.tensor(i).name for i in one.graph.outputs] == ["y3"]


def test_other_datapath_operators_are_refused_by_name():
    w = np.ones((1, 3, 3, 4), dtype=np.int64)
    data = depthwise_model(
        w, None, in_hw=(5, 5), cin=4, in_scale=0.1, in_zp=0, w_scale=0.01, out_scale=0.2, out_zp=0
    )
    with pytest.raises(TfliteImportError, match=r"not: DEPTHWISE_CONV_2D \(ops 0\)"):
        to_xnnpack(import_model(data, name="dw"))


@pytest.mark.rtl
@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_chain_on_the_rtl_matches_litert(sim, chain):
    from sim_skip import require_simulator

    from hil.backends.rtl import RtlBackend

    require_simulator(sim)
    model, inputs = chain
    inputs = [x[:3] for x in inputs]
    with RtlBackend(sim, model.config) as rtl:
        run, _, checks = check(model, inputs, rtl)
    assert run.backend == "rtl"
    assert [l.ref_mismatches for l in run.layers] == [0, 0, 0, 0]
    assert [l.tflm_mismatches for l in run.layers] == [0, 0, 0, 0]
    assert checks[0].mismatches == 0 and verdict(run, checks).passed


ANOMALY = Path("build/models/anomaly_detection.tflite")


@pytest.mark.skipif(not ANOMALY.is_file(), reason="make hil fetches build/models/anomaly_detection")
def test_anomaly_detection_cli_with_litert(capsys):
    from hil.cli import main

    code = main(
        [
            "run",
            str(ANOMALY),
            "--n",
            "12",
            "--backend",
            "pyref",
            "--oracle",
            "litert",
            "--no-progress",
        ]
    )
    out = capsys.readouterr().out
    assert "layers vs LiteRT: 0 mismatches in 20064 outputs over 10 layers" in out, out
    assert "vs LiteRT: 0 differ" in out and "config 'fp32'" in out
    assert code == 0
