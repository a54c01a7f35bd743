"""Grouped and depthwise convolutions of ONNX models (``group > 1``) on the datapath: one layer
per group, checked against ONNX Runtime layer by layer and end to end (models built with
``onnx.helper``)."""

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
from hil.oracles.ort_check import check_with_ort, ort_layer_outputs  # noqa: E402
from hil.report import ort_report  # noqa: E402

N = 6


def _c(name, value):
    return numpy_helper.from_array(np.asarray(value), name)


def _model(nodes, inits, in_shape) -> bytes:
    graph = helper.make_graph(
        nodes,
        "grouped",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    return model.SerializeToString()


def qlinear_grouped_model(group1: int = 2) -> bytes:
    """Q -> QLinearConv group 2 (4 -> 6, per-channel, stride 2x1, pads 1,0,2,1, dilation 1x2)
    -> QLinearConv depthwise (group 6, multiplier 2: 6 -> 12, per-tensor, pads 1) -> DQ."""
    r = np.random.default_rng(7)
    f32 = np.float32
    inits = [
        _c("s_in", f32(0.03)),
        _c("z_in", np.int8(-5)),
        _c("w1", r.integers(-127, 128, (6, 4 // group1, 3, 3)).astype(np.int8)),
        _c("s_w1", r.uniform(0.004, 0.02, 6).astype(f32)),
        _c("z_w1", np.zeros(6, np.int8)),
        _c("b1", r.integers(-2000, 2000, 6).astype(np.int32)),
        _c("s_1", f32(0.07)),
        _c("z_1", np.int8(3)),
        _c("w2", r.integers(-127, 128, (12, 1, 3, 3)).astype(np.int8)),
        _c("s_w2", f32(0.01)),
        _c("z_w2", np.int8(0)),
        _c("b2", r.integers(-900, 900, 12).astype(np.int32)),
        _c("s_2", f32(0.09)),
        _c("z_2", np.int8(-9)),
    ]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s_in", "z_in"], ["xq"]),
        helper.make_node(
            "QLinearConv",
            ["xq", "s_in", "z_in", "w1", "s_w1", "z_w1", "s_1", "z_1", "b1"],
            ["c1"],
            group=group1,
            strides=[2, 1],
            pads=[1, 0, 2, 1],
            dilations=[1, 2],
        ),
        helper.make_node(
            "QLinearConv",
            ["c1", "s_1", "z_1", "w2", "s_w2", "z_w2", "s_2", "z_2", "b2"],
            ["c2"],
            group=6,
            pads=[1, 1, 1, 1],
        ),
        helper.make_node("DequantizeLinear", ["c2", "s_2", "z_2"], ["y"]),
    ]
    return _model(nodes, inits, ["N", 4, 9, 9])


def qdq_depthwise_model() -> bytes:
    """uint8 QDQ: Q -> DQ -> Conv depthwise (group 5, per-channel, bias, stride 2, SAME_UPPER)
    -> Q -> DQ, the pattern ONNX Runtime fuses into a QLinearConv."""
    r = np.random.default_rng(8)
    f32 = np.float32
    s_in = f32(0.05)
    s_w = r.uniform(0.005, 0.03, 5).astype(f32)
    inits = [
        _c("s_in", s_in),
        _c("z_in", np.uint8(120)),
        _c("wq", r.integers(-127, 128, (5, 1, 3, 3)).astype(np.int8)),
        _c("s_w", s_w),
        _c("z_w", np.zeros(5, np.int8)),
        _c("bq", r.integers(-3000, 3000, 5).astype(np.int32)),
        _c("s_b", s_in * s_w),
        _c("z_b", np.zeros(5, np.int32)),
        _c("s_1", f32(0.04)),
        _c("z_1", np.uint8(131)),
    ]
    dq = lambda i, o, s, z, **kw: helper.make_node("DequantizeLinear", [i, s, z], [o], **kw)  # noqa: E731
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s_in", "z_in"], ["xq"]),
        dq("xq", "xf", "s_in", "z_in"),
        dq("wq", "w", "s_w", "z_w", axis=0),
        dq("bq", "b", "s_b", "z_b", axis=0),
        helper.make_node(
            "Conv", ["xf", "w", "b"], ["cf"], group=5, strides=[2, 2], auto_pad="SAME_UPPER"
        ),
        helper.make_node("QuantizeLinear", ["cf", "s_1", "z_1"], ["c"]),
        dq("c", "y", "s_1", "z_1"),
    ]
    return _model(nodes, inits, ["N", 5, 8, 7])


def _run_and_check(data: bytes, backend=None):
    model = import_onnx(data)
    inputs = random_inputs(model, N, seed=2)
    run = run_network(model, inputs, backend)
    checks = check_with_ort(model, run, inputs)
    ok, text = ort_report(run, checks)
    return model, run, checks, ok, text


def test_grouped_and_depthwise_qlinearconv_match_onnxruntime():
    model, run, checks, ok, text = _run_and_check(qlinear_grouped_model())
    # Output sizes by ONNX's formula: (9 + 1 + 2 - 3) // 2 + 1 = 5 rows, (9 + 0 + 1 - 5) + 1 = 6.
    assert [(l.n, l.k, l.c) for l in run.layers] == [(N * 5 * 6, 18, 6), (N * 5 * 6, 9, 12)]
    assert [s.dense.conv.groups for s in model.dense_steps] == [2, 6]
    assert [l.tflm_mismatches for l in run.layers] == [0, 0], text
    assert [(o.name, o.size, o.unexplained) for o in checks.outputs] == [("y", N * 12 * 5 * 6, 0)]
    assert ok, text
    # One layer per group: beats add up over the groups (ceil(k / lanes) each).
    lanes = model.config.lanes
    assert run.layers[0].beats == 2 * (N * 30 * 3 * -(-18 // lanes))
    assert run.layers[1].beats == 6 * (N * 30 * 2 * -(-9 // lanes))


def test_grouped_conv_is_not_a_full_conv():
    """The grouping matters: the same weights read as group 1 over 2 input channels give other
    outputs, so a lowering that ignored ``group`` would be caught."""
    model = import_onnx(qlinear_grouped_model())
    x = random_inputs(model, N, seed=2)[0]
    x2 = x.copy()
    x2[:, 2:] = -x2[:, 2:] + 0.5  # change input channels 2, 3 (group 1) only
    a = run_network(model, [x]).tensors["c1"].array
    b = run_network(model, [x2]).tensors["c1"].array
    assert a.shape == (N, 6, 5, 6)
    assert np.array_equal(a[:, :3], b[:, :3]) and not np.array_equal(a[:, 3:], b[:, 3:])


def test_qdq_depthwise_uint8_is_fused_and_matches():
    model, run, checks, ok, text = _run_and_check(qdq_depthwise_model())
    (step,) = model.dense_steps
    assert step.dense.fused_by_ort and step.dense.conv.groups == 5
    # SAME_UPPER, 8x7 at stride 2: total pads 1 and 2, the odd one at the end.
    assert step.dense.conv.pads == (0, 1, 1, 1) and step.dense.conv.out_hw == (4, 4)
    assert run.layers[0].tflm_mismatches == 0 and checks.outputs[0].unexplained == 0 and ok, text


def test_group_that_does_not_divide_is_refused():
    with pytest.raises(OnnxImportError, match="group = 4 does not divide the 6 output channels"):
        import_onnx(qlinear_grouped_model(group1=4))


@pytest.mark.rtl
@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_grouped_on_the_rtl_matches_onnxruntime(sim):
    from sim_skip import require_simulator

    from hil.backends.rtl import RtlBackend

    require_simulator(sim)
    model = import_onnx(qlinear_grouped_model())
    with RtlBackend(sim, model.config) as rtl:
        _, run, checks, ok, text = _run_and_check(qlinear_grouped_model(), rtl)
    assert run.backend == "rtl" and [l.ref_mismatches for l in run.layers] == [0, 0], text
    assert [l.tflm_mismatches for l in run.layers] == [0, 0] and ok, text


def test_vectors_of_an_onnx_run_hold_onnxruntimes_outputs(tmp_path, capsys):
    """``--vectors`` for an ONNX model: one file per layer (per group of a grouped conv); the
    expected y in them equals ONNX Runtime's output of that layer for those rows."""
    from hil.cli import main
    from pyref.vectors import load_vectors

    path = tmp_path / "grouped.onnx"
    path.write_bytes(qlinear_grouped_model())
    out = tmp_path / "vec"
    code = main(
        [
            "run",
            str(path),
            "--backend",
            "pyref",
            "--n",
            "2",
            "--seed",
            "1",
            "--vectors",
            str(out),
            "--vector-rows",
            "40",
            "--no-progress",
        ]
    )
    text = capsys.readouterr().out
    assert code == 0, text
    names = sorted(p.name for p in out.glob("*.npz"))
    assert names == ["node1_g0.npz", "node1_g1.npz"] + [f"node2_g{j}.npz" for j in range(6)]
    assert "vector files: 8 in" in text
    model = import_onnx(qlinear_grouped_model())
    inputs = random_inputs(model, 2, seed=1)
    ort = ort_layer_outputs(model, run_network(model, inputs))
    c1 = ort["c1"].transpose(0, 2, 3, 1).reshape(-1, 6)[:40]
    ys = []
    for j in range(2):
        config, layer, y = load_vectors(out / f"node1_g{j}.npz")
        assert config == model.config and layer.x.shape == (40, 18)
        ys.append(y)
    assert np.array_equal(np.concatenate(ys, axis=1), c1)
