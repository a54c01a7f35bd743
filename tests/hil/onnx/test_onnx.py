"""ONNX models through the datapath (hil.onnx_*): QOperator models (QLinearConv, QLinearMatMul,
QGemm) and QDQ models (DequantizeLinear / QuantizeLinear around Conv, MatMul, Gemm), built
with ``onnx.helper``, per-tensor and per-channel, with zero points; every dense layer and every
model output checked bit for bit against ONNX Runtime, on pyref and on the RTL."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="pip install -e '.[dev]' (onnx, onnxruntime)")
pytest.importorskip("onnxruntime", reason="pip install -e '.[dev]' (onnxruntime)")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from hil.executor import run_network  # noqa: E402
from hil.inputs import random_inputs  # noqa: E402
from hil.onnx.graph import OnnxImportError  # noqa: E402
from hil.onnx.importer import import_onnx  # noqa: E402
from hil.oracles.ort_check import check_with_ort  # noqa: E402
from hil.report import ort_report  # noqa: E402

RNG_SEED = 31


def _c(name, value):
    return numpy_helper.from_array(np.asarray(value), name)


def _model(nodes, inits, in_shape, out_name, out_type=TensorProto.FLOAT, opset=21):
    graph = helper.make_graph(
        nodes,
        "t",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info(out_name, out_type, None)],
        inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid("com.microsoft", 1)],
    )
    model.ir_version = 10
    return model.SerializeToString()


def qoperator_model(batch="N") -> bytes:
    """Q -> QLinearConv 3x3 pad 1 (3->8, per-channel) -> MaxPool 2x2 -> QLinearConv 3x3 stride 2
    (8->6, per-tensor) -> Flatten -> QLinearMatMul (24->10, per-column) -> QGemm (10->5, bias) ->
    DequantizeLinear."""
    r = np.random.default_rng(RNG_SEED)
    f32 = np.float32
    inits = [
        _c("s_in", f32(0.03)),
        _c("z_in", np.int8(-3)),
        _c("w1", r.integers(-127, 128, (8, 3, 3, 3)).astype(np.int8)),
        _c("s_w1", r.uniform(0.005, 0.02, 8).astype(f32)),
        _c("z_w1", np.zeros(8, np.int8)),
        _c("b1", r.integers(-2000, 2000, 8).astype(np.int32)),
        _c("s_1", f32(0.11)),
        _c("z_1", np.int8(5)),
        _c("w2", r.integers(-127, 128, (6, 8, 3, 3)).astype(np.int8)),
        _c("s_w2", f32(0.004)),
        _c("z_w2", np.int8(0)),
        _c("s_2", f32(0.5)),
        _c("z_2", np.int8(-7)),
        _c("w3", r.integers(-127, 128, (24, 10)).astype(np.int8)),
        _c("s_w3", r.uniform(0.002, 0.01, 10).astype(f32)),
        _c("z_w3", np.zeros(10, np.int8)),
        _c("s_3", f32(0.6)),
        _c("z_3", np.int8(2)),
        _c("w4", r.integers(-127, 128, (5, 10)).astype(np.int8)),
        _c("s_w4", f32(0.01)),
        _c("z_w4", np.int8(0)),
        _c("b4", r.integers(-500, 500, 5).astype(np.int32)),
        _c("s_4", f32(2.5)),
        _c("z_4", np.int8(0)),
    ]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s_in", "z_in"], ["xq"]),
        helper.make_node(
            "QLinearConv",
            ["xq", "s_in", "z_in", "w1", "s_w1", "z_w1", "s_1", "z_1", "b1"],
            ["c1"],
            pads=[1, 1, 1, 1],
        ),
        helper.make_node("MaxPool", ["c1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node(
            "QLinearConv",
            ["p1", "s_1", "z_1", "w2", "s_w2", "z_w2", "s_2", "z_2"],
            ["c2"],
            strides=[2, 2],
        ),
        helper.make_node("Flatten", ["c2"], ["f"], axis=1),
        helper.make_node(
            "QLinearMatMul", ["f", "s_2", "z_2", "w3", "s_w3", "z_w3", "s_3", "z_3"], ["m3"]
        ),
        helper.make_node(
            "QGemm",
            ["m3", "s_3", "z_3", "w4", "s_w4", "z_w4", "b4", "s_4", "z_4"],
            ["g4"],
            domain="com.microsoft",
            transB=1,
        ),
        helper.make_node("DequantizeLinear", ["g4", "s_4", "z_4"], ["y"]),
    ]
    return _model(nodes, inits, [batch, 3, 10, 10], "y")


def qdq_model(batch="N", act=np.int8) -> bytes:
    """Q -> DQ -> Conv (per-channel, bias) -> Q -> DQ -> MatMul -> Q -> DQ -> Gemm (bias) -> Q ->
    DQ, weights and biases through DequantizeLinear (the QDQ format ONNX Runtime's quantizer
    writes); activations ``act`` (int8, or uint8 as ONNX Runtime's quantizer makes them)."""
    r = np.random.default_rng(RNG_SEED + 1)
    off = 128 if act == np.uint8 else 0

    def z(v):
        return np.asarray(v + off).astype(act)

    f32 = np.float32
    s_w1 = r.uniform(0.005, 0.02, 4).astype(f32)
    s_in, s_1, s_2 = f32(0.04), f32(0.09), f32(0.3)
    s_w2, s_w3 = f32(0.006), f32(0.01)
    inits = [
        _c("s_in", s_in),
        _c("z_in", z(4)),
        _c("w1q", r.integers(-127, 128, (4, 2, 3, 3)).astype(np.int8)),
        _c("s_w1", s_w1),
        _c("z_w1", np.zeros(4, np.int8)),
        _c("b1q", r.integers(-3000, 3000, 4).astype(np.int32)),
        _c("s_b1", s_in * s_w1),
        _c("z_b1", np.zeros(4, np.int32)),
        _c("s_1", s_1),
        _c("z_1", z(-2)),
        _c("w2q", r.integers(-127, 128, (4 * 6 * 6, 7)).astype(np.int8)),
        _c("s_w2", s_w2),
        _c("z_w2", np.int8(0)),
        _c("s_2", s_2),
        _c("z_2", z(3)),
        _c("w3q", r.integers(-127, 128, (3, 7)).astype(np.int8)),
        _c("s_w3", s_w3),
        _c("z_w3", np.int8(0)),
        _c("b3q", r.integers(-300, 300, 3).astype(np.int32)),
        _c("s_b3", s_2 * s_w3),
        _c("z_b3", np.int32(0)),
        _c("s_3", f32(0.6)),
        _c("z_3", z(-1)),
        _c("shape", np.array([-1, 4 * 6 * 6], np.int64)),
    ]
    dq = lambda i, o, s, z, **kw: helper.make_node("DequantizeLinear", [i, s, z], [o], **kw)  # noqa: E731
    q = lambda i, o, s, z: helper.make_node("QuantizeLinear", [i, s, z], [o])  # noqa: E731
    nodes = [
        q("x", "xq", "s_in", "z_in"),
        dq("xq", "xf", "s_in", "z_in"),
        dq("w1q", "w1", "s_w1", "z_w1", axis=0),
        dq("b1q", "b1", "s_b1", "z_b1", axis=0),
        helper.make_node("Conv", ["xf", "w1", "b1"], ["c1f"]),
        q("c1f", "c1", "s_1", "z_1"),
        helper.make_node("Reshape", ["c1", "shape"], ["r1"]),
        dq("r1", "r1f", "s_1", "z_1"),
        dq("w2q", "w2", "s_w2", "z_w2"),
        helper.make_node("MatMul", ["r1f", "w2"], ["m2f"]),
        q("m2f", "m2", "s_2", "z_2"),
        dq("m2", "m2d", "s_2", "z_2"),
        dq("w3q", "w3", "s_w3", "z_w3"),
        dq("b3q", "b3", "s_b3", "z_b3"),
        helper.make_node("Gemm", ["m2d", "w3", "b3"], ["g3f"], transB=1),
        q("g3f", "g3", "s_3", "z_3"),
        dq("g3", "y", "s_3", "z_3"),
    ]
    return _model(nodes, inits, [batch, 2, 8, 8], "y")


MODELS = {"qoperator": qoperator_model, "qdq_u8": lambda batch="N": qdq_model(batch, np.uint8)}


@pytest.mark.parametrize("batch", ["N", 1])
@pytest.mark.parametrize("kind", MODELS)
def test_model_on_pyref_matches_onnxruntime(kind, batch):
    model = import_onnx(MODELS[kind](batch))
    assert len(model.dense_steps) == (4 if kind == "qoperator" else 3)
    assert all(s.dense.fused_by_ort for s in model.dense_steps)
    inputs = random_inputs(model, 40, seed=3)
    run = run_network(model, inputs)
    checks = check_with_ort(model, run, inputs)
    ok, text = ort_report(run, checks)
    print(model.describe_ops() + "\n" + text)
    assert ok, text
    assert all(l.tflm_mismatches == 0 for l in run.layers)
    assert checks and all(o.unexplained == 0 for o in checks.outputs)
    # not a vacuous pass: outputs vary and are not all clamped
    assert all(l.saturated < l.outputs / 2 for l in run.layers)
    assert np.unique(run.outputs[0].array).size > 10


def test_qdq_int8_patterns_onnxruntime_leaves_in_float_are_reported():
    """With int8 activations ONNX Runtime (CPU, x86) fuses DQ-Gemm-Q into QGemm but leaves
    DQ-Conv-Q and DQ-MatMul-Q as float Conv / MatMul + QuantizeLinear: the importer says so,
    and the report does not require those layers (or later ones) to match."""
    model = import_onnx(qdq_model())
    fused = {s.dense.pattern: s.dense.fused_by_ort for s in model.dense_steps}
    assert fused == {"QDQ Conv": False, "QDQ MatMul": False, "QDQ Gemm": True}
    assert "does NOT fuse" in model.describe_ops()
    inputs = random_inputs(model, 40, seed=3)
    run = run_network(model, inputs)
    checks = check_with_ort(model, run, inputs)
    ok, text = ort_report(run, checks)
    print(text)
    assert ok and "computes it in float" in text
    assert run.layers[0].tflm_mismatches <= run.layers[0].outputs // 100  # near-ties only


def test_unsupported_node_is_named():
    nodes = [helper.make_node("Sigmoid", ["x"], ["y"])]
    with pytest.raises(OnnxImportError, match=r"Sigmoid.*not supported"):
        import_onnx(_model(nodes, [], ["N", 4], "y"))


def test_float_conv_outside_qdq_is_refused():
    w = np.ones((2, 1, 1, 1), np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"])]
    with pytest.raises(OnnxImportError, match="a float model .* quantize it first"):
        import_onnx(_model(nodes, [_c("w", w)], ["N", 1, 3, 3], "y"))


@pytest.mark.rtl
@pytest.mark.parametrize("kind", MODELS)
def test_model_on_the_rtl_matches_onnxruntime(kind):
    from sim_skip import require_simulator

    from hil.backends.rtl import RtlBackend

    require_simulator("icarus")
    model = import_onnx(MODELS[kind]())
    inputs = random_inputs(model, 6, seed=5)
    with RtlBackend("icarus", model.config, log=lambda s: None) as backend:
        run = run_network(model, inputs, backend)
    checks = check_with_ort(model, run, inputs)
    ok, text = ort_report(run, checks)
    print(text)
    assert ok, text
    assert run.backend == "rtl" and all(l.ref_mismatches == 0 for l in run.layers)
