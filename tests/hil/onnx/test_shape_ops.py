"""The dynamic batch's index arithmetic (Shape -> Gather -> Unsqueeze -> Concat): by hand on the
run's batch, and a Gather that is not shape arithmetic refused at import."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx", reason="pip install -e '.[dev]' (onnx, onnxruntime)")
from onnx import TensorProto, helper  # noqa: E402

from hil.kernels.base import Value  # noqa: E402
from hil.onnx.graph import OnnxImportError, read_onnx  # noqa: E402
from hil.onnx.importer import import_onnx  # noqa: E402
from hil.onnx.shape_ops import INDEX_OPS  # noqa: E402


def _graph(gather_axis: int = 0):
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["n"], axis=gather_axis),
        helper.make_node("Unsqueeze", ["n", "ax"], ["n1"]),
        helper.make_node("Concat", ["n1", "minus1"], ["shape"], axis=0),
        helper.make_node("Reshape", ["x", "shape"], ["y"]),
    ]
    inits = [
        helper.make_tensor("zero", TensorProto.INT64, [], [0]),
        helper.make_tensor("ax", TensorProto.INT64, [1], [0]),
        helper.make_tensor("minus1", TensorProto.INT64, [1], [-1]),
    ]
    g = helper.make_graph(
        nodes,
        "idx",
        [helper.make_tensor_value_info("x", TensorProto.INT8, ["N", 2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.INT8, None)],
        inits,
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m.SerializeToString()


def test_index_arithmetic_gives_the_runs_batch():
    graph = read_onnx(_graph())
    x = Value(np.zeros((5, 2, 3), np.int8), True)
    vals = {"x": x, **{k: Value(v, False) for k, v in graph.constants.items()}}
    for node in graph.nodes[:4]:
        op = INDEX_OPS[node.op_type](graph, node)
        (out,) = op.run([vals[i] for i in node.inputs])
        assert out.batched is False
        vals[node.outputs[0]] = out
    assert vals["s"].array.tolist() == [5, 2, 3]
    assert vals["shape"].array.tolist() == [5, -1]  # view(x.shape[0], -1)


def test_gather_off_axis_0_is_refused_at_import():
    with pytest.raises(OnnxImportError, match=r"Gather.*only on axis 0 of an index vector"):
        import_onnx(_graph(gather_axis=1))


def test_range_by_hand_and_against_onnxruntime():
    ort = pytest.importorskip("onnxruntime")
    node = helper.make_node("Range", ["a", "b", "d"], ["r"])
    g = helper.make_graph(
        [node],
        "r",
        [helper.make_tensor_value_info(k, TensorProto.INT64, []) for k in "abd"],
        [helper.make_tensor_value_info("r", TensorProto.INT64, None)],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    graph = read_onnx(m.SerializeToString())
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    cases = {(0, 5, 1): [0, 1, 2, 3, 4], (7, 0, -3): [7, 4, 1], (2, 2, 1): [], (1, 8, 3): [1, 4, 7]}
    for (a, b, d), want in cases.items():
        args = [np.array(v, np.int64) for v in (a, b, d)]
        (got,) = INDEX_OPS["Range"](graph, graph.nodes[0]).run([Value(v, False) for v in args])
        assert got.array.tolist() == want and got.batched is False
        (theirs,) = sess.run(None, dict(zip("abd", args)))
        assert theirs.tolist() == want
    # a constant delta of 0 is refused at import
    m.graph.initializer.append(helper.make_tensor("d", TensorProto.INT64, [], [0]))
    del m.graph.input[2]
    graph = read_onnx(m.SerializeToString())
    with pytest.raises(OnnxImportError, match="Range with delta 0"):
        INDEX_OPS["Range"](graph, graph.nodes[0])
