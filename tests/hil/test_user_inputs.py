"""``--inputs`` (``make hil INPUTS=``): the user's arrays run through the model, checked as random
ones are, and the outputs saved; compared here with TFLite Micro run directly on the same file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hil.oracles.tflm import run_tflm
from hil.tflite.importer import import_model
from hil.user_inputs import InputsError, load_inputs

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "converters"
MODEL = DATA / "k_residual.tflite"
X = DATA / "inputs" / "residual_int8.npy"


def test_saved_outputs_are_the_engines_on_the_users_inputs(tmp_path):
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "hil.cli",
            "--build-dir",
            str(tmp_path),
            "run",
            str(MODEL),
            "--backend",
            "pyref",
            "--inputs",
            str(X),
            "--no-progress",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    saved = tmp_path / "hil" / "k_residual-outputs.npz"
    assert f"outputs: {saved}" in r.stdout
    assert f"inputs: 5 from {X}" in r.stdout
    x = np.load(X)  # (5, 8, 8, 4): 5 samples of the batch of 1
    graph = import_model(MODEL).graph
    theirs = run_tflm(graph, [x[:, None]]).outputs[0]
    with np.load(saved) as out:
        (key,) = out.files
        ours = out[key]
    assert key == "StatefulPartitionedCall_1_0"
    assert ours.dtype == np.int8 and ours.shape == (5, 1, 8, 8, 4)
    np.testing.assert_array_equal(ours, theirs.reshape(ours.shape))
    assert len(np.unique(ours)) > 20


def _plan():
    return import_model(MODEL)


def test_one_sample_and_batch_forms(tmp_path):
    x = np.arange(256, dtype=np.int64).reshape(1, 8, 8, 4) - 128
    np.save(tmp_path / "one.npy", x)  # exactly the tensor: one sample
    (a,) = load_inputs(tmp_path / "one.npy", _plan())
    assert a.shape == (1, 1, 8, 8, 4) and a.dtype == np.int8
    np.save(tmp_path / "three.npy", np.repeat(x, 3, axis=0))  # (3, 8, 8, 4)
    (b,) = load_inputs(tmp_path / "three.npy", _plan())
    assert b.shape == (3, 1, 8, 8, 4)


def test_npz_by_name_and_in_order(tmp_path):
    plan = _plan()
    x = np.ones((2, 1, 8, 8, 4), np.int8)
    np.savez(tmp_path / "named.npz", **{plan.inputs[0].name: x})
    np.savez(tmp_path / "order.npz", x * 2)
    assert load_inputs(tmp_path / "named.npz", plan)[0].max() == 1
    assert load_inputs(tmp_path / "order.npz", plan)[0].max() == 2


@pytest.mark.parametrize(
    "array,excerpt",
    [
        (np.zeros((2, 8, 8, 4), np.float64), "is float64; the input takes int8 codes"),
        (np.full((2, 8, 8, 4), -129), "holds values -129 .. -129, outside int8"),
        (np.zeros((2, 8, 4, 8), np.int8), "has shape [2, 8, 4, 8]"),
        (np.zeros((0, 8, 8, 4), np.int8), "has shape [0, 8, 8, 4]"),
    ],
)
def test_bad_arrays_are_refused(tmp_path, array, excerpt):
    np.save(tmp_path / "x.npy", array)
    with pytest.raises(InputsError, match=excerpt.replace("[", r"\[").replace("]", r"\]")):
        load_inputs(tmp_path / "x.npy", _plan())


def test_float_inputs_of_an_onnx_model_are_saved_as_onnx_runtime_computes(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    model = DATA / "t_conv1d_ts_qop.onnx"
    x = np.random.default_rng(4).uniform(-1.2, 1.2, (6, 3, 16))  # float64: cast to float32
    np.save(tmp_path / "x.npy", x)
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "hil.cli",
            "--build-dir",
            str(tmp_path),
            "run",
            str(model),
            "--backend",
            "pyref",
            "--inputs",
            str(tmp_path / "x.npy"),
            "--no-progress",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    (theirs,) = sess.run(None, {"x": x.astype(np.float32)})
    with np.load(tmp_path / "hil" / "t_conv1d_ts_qop-outputs.npz") as out:
        ours = out["y"]
    assert ours.dtype == np.float32 and ours.shape == (6, 3)
    np.testing.assert_array_equal(ours.view(np.uint32), theirs.view(np.uint32))
