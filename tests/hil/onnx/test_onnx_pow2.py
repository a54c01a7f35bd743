"""Power-of-two scales (Brevitas fixed point) on the shift-only config: an ONNX model whose
scales are all 2^-s runs with ``mult_bits = 0`` and round half to even, bit for bit equal to
ONNX Runtime's binary32 requantization (the accumulators stay below 2^24)."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="pip install -e '.[dev]' (onnx, onnxruntime)")
pytest.importorskip("onnxruntime", reason="pip install -e '.[dev]' (onnxruntime)")

from onnx import helper  # noqa: E402
from test_onnx_grouped import _c, _model  # noqa: E402

from hil.executor import run_network  # noqa: E402
from hil.inputs import random_inputs  # noqa: E402
from hil.onnx.graph import OnnxImportError  # noqa: E402
from hil.onnx.importer import import_onnx  # noqa: E402
from hil.oracles.ort_check import check_with_ort  # noqa: E402
from hil.report import ort_report  # noqa: E402
from pyref.model import run_layer  # noqa: E402

N = 8


def pow2_model(w_scale1=None) -> bytes:
    """Q -> QLinearConv 3x3 pad 1 (4 -> 6, per-channel 2^-5 .. 2^-8) -> QLinearConv depthwise
    (group 6) -> Flatten -> QLinearMatMul (per-tensor) -> DQ; every scale a power of two."""
    r = np.random.default_rng(11)
    f32 = np.float32
    ws1 = np.array([2.0**-e for e in (5, 6, 7, 8, 6, 5)], f32) if w_scale1 is None else w_scale1
    inits = [
        _c("s_in", f32(2**-4)),
        _c("z_in", np.int8(-6)),
        _c("w1", r.integers(-127, 128, (6, 4, 3, 3)).astype(np.int8)),
        _c("s_w1", ws1),
        _c("z_w1", np.zeros(6, np.int8)),
        _c("b1", r.integers(-4000, 4000, 6).astype(np.int32)),
        _c("s_1", f32(2**-1)),
        _c("z_1", np.int8(4)),
        _c("w2", r.integers(-127, 128, (6, 1, 3, 3)).astype(np.int8)),
        _c("s_w2", f32(2**-7)),
        _c("z_w2", np.int8(0)),
        _c("s_2", f32(2**-2)),
        _c("z_2", np.int8(-3)),
        _c("w3", r.integers(-127, 128, (6 * 5 * 5, 7)).astype(np.int8)),
        _c("s_w3", f32(2**-9)),
        _c("z_w3", np.int8(0)),
        _c("s_3", f32(2**-1)),
        _c("z_3", np.int8(1)),
    ]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s_in", "z_in"], ["xq"]),
        helper.make_node(
            "QLinearConv",
            ["xq", "s_in", "z_in", "w1", "s_w1", "z_w1", "s_1", "z_1", "b1"],
            ["c1"],
            pads=[1, 1, 1, 1],
        ),
        helper.make_node(
            "QLinearConv",
            ["c1", "s_1", "z_1", "w2", "s_w2", "z_w2", "s_2", "z_2"],
            ["c2"],
            group=6,
            pads=[1, 1, 1, 1],
        ),
        helper.make_node("Flatten", ["c2"], ["f"], axis=1),
        helper.make_node(
            "QLinearMatMul", ["f", "s_2", "z_2", "w3", "s_w3", "z_w3", "s_3", "z_3"], ["m3"]
        ),
        helper.make_node("DequantizeLinear", ["m3", "s_3", "z_3"], ["y"]),
    ]
    return _model(nodes, inits, ["N", 4, 5, 5])


def test_pow2_model_on_the_shift_only_config_matches_onnxruntime():
    model = import_onnx(pow2_model(), shift_only=True)
    assert model.config.mult_bits == 0 and model.config.rounding == "half_even"
    # Net scales x_s * w_s / y_s by hand: 2^-4 * 2^-5 / 2^-1 = 2^-8 (first conv, channel 0),
    # 2^-1 * 2^-7 / 2^-2 = 2^-6 (depthwise), 2^-2 * 2^-9 / 2^-1 = 2^-10 (matmul).
    assert [list(s.dense.shift) for s in model.dense_steps] == [
        [8, 9, 10, 11, 9, 8],
        [6] * 6,
        [10] * 7,
    ]
    inputs = random_inputs(model, N, seed=5)
    run = run_network(model, inputs)
    checks = check_with_ort(model, run, inputs)
    ok, text = ort_report(run, checks)
    assert [l.tflm_mismatches for l in run.layers] == [0, 0, 0], text
    assert checks.outputs[0].unexplained == 0 and ok, text


def test_ties_are_there_and_decide():
    """Exact ties acc / 2^s = n + 1/2 occur, and rounding them half up instead of half to even
    would differ: the test above would catch a wrong rounding mode."""
    model = import_onnx(pow2_model(), shift_only=True)
    d = model.dense_steps[0].dense
    x = random_inputs(model, 64, seed=5)[0]
    xq = run_network(model, [x]).tensors["xq"].array
    layer = d.layer(d.rows(xq))
    acc = layer.x @ layer.w.T + layer.bias
    s = np.asarray(d.shift)
    ties = (acc % (1 << s)) == (1 << (s - 1))
    assert ties.sum() >= 5
    y_even = run_layer(layer, model.config).y
    y_up = run_layer(layer, model.config.replace(rounding="half_up")).y
    assert np.count_nonzero(y_even != y_up) > 0
    assert np.abs(acc).max() < 2**24


def test_a_scale_that_is_not_a_power_of_two_is_refused():
    ws = np.array([2.0**-5, 2.0**-6, 0.01, 2.0**-8, 2.0**-6, 2.0**-5], np.float32)
    with pytest.raises(OnnxImportError, match=r"scale\[2\] = .* is not a power of two"):
        import_onnx(pow2_model(ws), shift_only=True)
    # Without shift_only the same model runs in the fp32 mode.
    assert import_onnx(pow2_model(ws)).config.rounding == "fp32"


@pytest.mark.rtl
def test_pow2_model_on_the_rtl():
    from sim_skip import require_simulator

    from hil.backends.rtl import RtlBackend

    require_simulator("icarus")
    model = import_onnx(pow2_model(), shift_only=True)
    inputs = random_inputs(model, 2, seed=5)
    with RtlBackend("icarus", model.config) as rtl:
        run = run_network(model, inputs, rtl)
    checks = check_with_ort(model, run, inputs)
    assert [l.ref_mismatches for l in run.layers] == [0, 0, 0]
    assert [l.tflm_mismatches for l in run.layers] == [0, 0, 0] and checks.outputs[
        0
    ].unexplained == 0


def test_cli_shift_only(tmp_path, capsys):
    """``hil run x.onnx --shift-only`` runs a power-of-two model on the shift-only config and
    checks it against ONNX Runtime; ``--shift-only`` on a .tflite model is refused."""
    from hil.cli import main

    path = tmp_path / "pow2.onnx"
    path.write_bytes(pow2_model())
    assert main(["run", str(path), "--n", "3", "--backend", "pyref", "--shift-only"]) == 0
    out = capsys.readouterr().out
    assert "shift4 half_even out=8)" in out and "inputs: 3 random int8 codes" in out
    assert "config: fp32" not in out and "VERDICT: PASS" in out
    assert main(["run", str(path), "--n", "3", "--backend", "pyref"]) == 0
    assert "config: fp32 (" in capsys.readouterr().out
    assert main(["run", str(tmp_path / "x.tflite"), "--shift-only"]) == 2
    assert "--shift-only is for .onnx models" in capsys.readouterr().err
