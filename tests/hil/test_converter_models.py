"""The models real converters made (tests/data/converters/make_models.py: Keras through
TFLiteConverter, PyTorch through both ONNX exporters and quantize_static): every operator
through pyref, compared with the engine run directly (TFLite Micro, ONNX Runtime), and the
models that cannot run refused at import, before any simulator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hil.executor import run_network
from hil.inputs import random_inputs
from hil.oracles.tflm import TflmOracle, run_tflm
from hil.tflite.importer import import_model

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "converters"

TFLITE = {
    # model: the operators it must contain (the converter's choice, checked so a regenerated
    # model that lost one is noticed)
    "k_global_max": {"CONV_2D", "REDUCE_MAX", "FULLY_CONNECTED"},
    "k_cnn_16x8": {
        "CONV_2D",
        "MAX_POOL_2D",
        "AVERAGE_POOL_2D",
        "SHAPE",
        "STRIDED_SLICE",
        "PACK",
        "RESHAPE",
        "FULLY_CONNECTED",
        "SOFTMAX",
    },
    "k_lstm_unrolled": {
        "UNPACK",
        "SPLIT",
        "FULLY_CONNECTED",
        "LOGISTIC",
        "TANH",
        "MUL",
        "ADD",
        "DEQUANTIZE",
        "QUANTIZE",
        "RESHAPE",
    },
    "k_transpose": {"TRANSPOSE", "CONV_2D"},
    # Keras 2's LSTM(return_sequences=False): the fused LSTM and a slice of its last step
    "k_lstm_last": {"UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE"},
    "k_residual": {"CONV_2D", "ADD"},
    "k_dilated_conv_b1": {"CONV_2D"},  # the batch fixed: dilated CONV_2D, no STB/BTS
    # output_shape computed at run time (SHAPE -> STRIDED_SLICE -> PACK): the declared shape
    "k_transpose_conv": {"SHAPE", "STRIDED_SLICE", "PACK", "TRANSPOSE_CONV"},
}


@pytest.mark.parametrize("name", list(TFLITE))
def test_tflite_model_matches_tflite_micro(name):
    model = import_model(DATA / f"{name}.tflite")
    assert set(model.graph.op_counts()) == TFLITE[name]
    inputs = random_inputs(model, 30, seed=7)
    run = run_network(model, inputs, keep_tensors=True)
    engine = run_tflm(model.graph, inputs)
    for ours, theirs in zip(run.outputs, engine.outputs):
        np.testing.assert_array_equal(ours.array, theirs.reshape(ours.array.shape))
        assert np.unique(ours.array).size > 5  # not a constant or clamped output
    # every datapath layer's tensor too
    layers = TflmOracle().run(model, inputs, run, progress=False)
    for step in model.dense_steps:
        t = step.outputs[0]
        got = run.tensors[t].array
        np.testing.assert_array_equal(got, layers.tensors[t].reshape(got.shape))


def test_open_batch_dilated_conv_runs_as_one_dilated_conv_per_layer():
    # SPACE_TO_BATCH_ND -> CONV_2D -> BATCH_TO_SPACE_ND, twice: each one dilated CONV_2D.
    # TFLite Micro keeps the declared batch 1 and computes one block offset of four on the
    # graph as written, so its oracle runs the dilated CONV_2D; LiteRT runs the graph as written.
    model = import_model(DATA / "k_dilated_conv.tflite")
    where = " ".join(s.where for s in model.steps)
    assert where == "absorbed datapath absorbed software absorbed datapath absorbed"
    inputs = random_inputs(model, 30, seed=7)
    run = run_network(model, inputs, keep_tensors=True)
    ours = run.outputs[0].array
    assert np.unique(ours).size > 5
    engine = TflmOracle().run(model, inputs, run)
    np.testing.assert_array_equal(ours, engine.outputs[0].reshape(ours.shape))
    for step in model.dense_steps:
        got = run.tensors[step.outputs[0]].array
        np.testing.assert_array_equal(got, engine.tensors[step.outputs[0]].reshape(got.shape))
    lite = pytest.importorskip("hil.oracles.litert")
    xnn = lite.to_xnnpack(model)
    theirs = lite.run_litert(xnn, inputs).outputs[0]
    np.testing.assert_array_equal(
        run_network(xnn, inputs).outputs[0].array, theirs.reshape(ours.shape)
    )


def refused_model(path: Path) -> Path:
    """A SPACE_TO_BATCH_ND that pads, alone (refused: TFLite Micro's padding is undefined)."""
    from hil.tflite.build import ModelBuilder

    b = ModelBuilder()
    x = b.tensor("x", (1, 4, 4, 1), "INT8", scale=0.1, zero_point=0)
    s = b.tensor("s", (4, 3, 3, 1), "INT8", scale=0.1, zero_point=0)
    blk = b.tensor("block", (2,), "INT32", data=np.array([2, 2], np.int32))
    pads = b.tensor("pads", (2, 2), "INT32", data=np.ones((2, 2), np.int32))
    b.op("SPACE_TO_BATCH_ND", [x, blk, pads], [s])
    path.write_bytes(b.build([x], [s]))
    return path


def test_refusal_comes_before_the_simulator(tmp_path):
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "hil.cli",
            "--build-dir",
            str(tmp_path),
            "run",
            str(refused_model(tmp_path / "s2b_pads.tflite")),
            "--backend",
            "rtl",
            "--sim",
            "icarus",
            "--no-progress",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2, r.stdout + r.stderr
    assert "cannot run this model" in r.stderr and "Traceback" not in r.stderr
    assert "backend:" not in r.stdout and "RTL" not in r.stdout


# ------------------------------------------------------------------------------ ONNX

ONNX_RUNS = (
    [f"t_conv1d_{e}_{t}" for e in ("ts", "dy") for t in ("qdq", "qop", "qdq_pc")]
    + [f"t_residual_ts_{t}" for t in ("qdq", "qop", "qdq_pc", "qop_noprep")]
    + [f"t_residual_dy_{t}" for t in ("qdq", "qop", "qdq_pc")]
    + [f"t_pools2_{e}_{t}" for e in ("ts", "dy") for t in ("qdq", "qop", "qdq_pc")]
    # with the float ConvTranspose quantize_static leaves (numpy, as ONNX Runtime's kernel)
    + [f"t_pools_{e}_{t}" for e in ("ts", "dy") for t in ("qdq", "qop", "qdq_pc")]
    + [f"t_convt1d_{e}_{t}" for e in ("ts", "dy") for t in ("qdq", "qop", "qdq_pc")]
    + [f"t_mul_{e}_{t}" for e in ("ts", "dy") for t in ("qdq", "qop", "qdq_pc", "qdq_u8", "qop_u8")]
)
MUL_HOW = {
    # how ONNX Runtime's optimized graph runs the gate (two activations) and the scale (an
    # activation times a constant) of t_mul_*: what the plan must compute
    "qdq": ["QLinearMul, int8 turned into uint8", "binary32 Mul, then QuantizeLinear"],
    "qdq_pc": ["QLinearMul, int8 turned into uint8", "binary32 Mul, then QuantizeLinear"],
    "qdq_u8": ["QLinearMul, as ONNX Runtime fuses it"] * 2,
    "qop": ["QLinearMul, binary32 scale"] * 2,
    "qop_u8": ["QLinearMul, binary32 scale"] * 2,
}


@pytest.mark.parametrize("name", ONNX_RUNS)
def test_onnx_model_matches_onnx_runtime(name):
    ort = pytest.importorskip("onnxruntime")
    from hil.onnx.importer import import_onnx
    from hil.oracles.ort_check import check_with_ort

    path = DATA / f"{name}.onnx"
    model = import_onnx(str(path))
    assert len(model.dense_steps) == 3
    if name.endswith("noprep"):  # the dynamic batch's index arithmetic is in the graph
        assert {"Shape", "Gather", "Unsqueeze", "Concat"} <= {s.name for s in model.steps}
    if name.startswith(("t_pools_", "t_convt1d_")):
        assert "ConvTranspose" in {s.name for s in model.steps}
    if name.startswith("t_mul_"):
        hows = [s.how for s in model.steps if s.name.endswith("Mul")]
        want = MUL_HOW[name.split("_", 3)[3]]
        assert len(hows) == 2 and all(w in h for w, h in zip(want, hows)), hows
    assert np.unique(run_network(model, random_inputs(model, 8, seed=1)).outputs[0].array).size > 5
    inputs = random_inputs(model, 30, seed=7)
    run = run_network(model, inputs)
    checks = check_with_ort(model, run, inputs)
    # every layer equals ONNX Runtime's kernel (a QDQ Conv it leaves in float included), or
    # differs only where this CPU's kernel clips product pairs (AVX2 without VNNI), as emulated
    assert all(c.unexplained == 0 for c in checks.layers) and len(checks.layers) == 3
    assert checks.outputs[0].unexplained == 0
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (theirs,) = sess.run(None, {sess.get_inputs()[0].name: inputs[0]})
    ours = run.outputs[0].array
    same = ours.view(np.uint32) == theirs.astype(np.float32).view(np.uint32)
    if any(c.explained for c in checks.layers):
        # the clipping path: the model outputs differ from the exact hardware only there
        assert checks.outputs[0].differ == int(np.count_nonzero(~same))
        assert checks.probe.describe().count("saturation") == 1
    else:
        assert same.all() and checks.outputs[0].differ == 0
