"""The float ReduceMean ONNX Runtime leaves between DequantizeLinear and QuantizeLinear, summed
as its Eigen code sums (SSE packets from the first aligned value), against ONNX Runtime on
one-node models: sizes that are and are not multiples of 4 (where the head depends on the
run's place in the buffer), keepdims both ways; non-trailing axes refused."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx", reason="pip install -e '.[dev]' (onnx, onnxruntime)")
ort = pytest.importorskip("onnxruntime", reason="pip install -e '.[dev]' (onnxruntime)")
from onnx import TensorProto, helper  # noqa: E402

from hil.kernels.base import Value  # noqa: E402
from hil.onnx.graph import OnnxImportError, read_onnx  # noqa: E402
from hil.onnx.reduce_mean import FloatReduceMean, eigen_sums  # noqa: E402


def _model(hw, axes=(-2, -1), keepdims=1):
    node = helper.make_node("ReduceMean", ["x", "axes"], ["y"], keepdims=keepdims)
    g = helper.make_graph(
        [node],
        "rm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4] + list(hw))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [helper.make_tensor("axes", TensorProto.INT64, [len(axes)], list(axes))],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    m.ir_version = 8
    return m.SerializeToString()


@pytest.mark.parametrize("hw", [(8, 8), (7, 7), (3, 5), (6, 6), (1, 3), (16, 16)])
@pytest.mark.parametrize("keepdims", [0, 1])
def test_reduce_mean_matches_onnxruntime(hw, keepdims):
    data = _model(hw, keepdims=keepdims)
    rng = np.random.default_rng(5)
    # dequantized int8 codes, as the DequantizeLinear before it makes them
    x = np.float32(0.0371) * rng.integers(-128, 128, (40, 4) + hw).astype(np.float32)
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    (theirs,) = sess.run(None, {"x": x})
    graph = read_onnx(data)
    (ours,) = FloatReduceMean(graph, graph.nodes[0]).run([Value(x, True)])
    assert ours.array.shape == theirs.shape
    np.testing.assert_array_equal(ours.array.view(np.uint32), theirs.view(np.uint32))


def test_the_order_matters():
    # 49 values: a plain left-to-right sum differs from ONNX Runtime's on some runs
    v = (np.float32(0.0371) * np.random.default_rng(5).integers(-128, 128, (400, 49))).astype(
        np.float32
    )
    seq = v[:, 0].copy()
    for i in range(1, 49):
        seq = (seq + v[:, i]).astype(np.float32)
    assert (eigen_sums(v) != seq).sum() > 10


@pytest.mark.parametrize("axes", [(1,), (0, 2, 3), (-1, -3)])
def test_other_axes_are_refused(axes):
    graph = read_onnx(_model((4, 4), axes=axes))
    with pytest.raises(OnnxImportError, match="only the trailing axes"):
        FloatReduceMean(graph, graph.nodes[0])
