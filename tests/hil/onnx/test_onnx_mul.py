"""QLinearMul, and the QDQ Mul / Add that ONNX Runtime either fuses into QLinearMul / QLinearAdd
(int8 turned into uint8 first) or leaves in float, against ONNX Runtime on one-node models over
every pair of int8 / uint8 codes, and on hand-worked values."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="pip install -e '.[dev]' (onnx, onnxruntime)")
ort = pytest.importorskip("onnxruntime", reason="pip install -e '.[dev]' (onnxruntime)")
from onnx import TensorProto, helper  # noqa: E402

from hil.kernels.base import Value  # noqa: E402
from hil.onnx.binary import QLinearMul, qdq_binary, qlinear_mul, read_fusion  # noqa: E402
from hil.onnx.graph import read_onnx  # noqa: E402
from hil.oracles.ort import optimized_model  # noqa: E402

MS = helper.make_opsetid("com.microsoft", 1)


def _model(nodes, inits, feeds: dict, out_type):
    ins = [
        helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(v.dtype), list(v.shape))
        for k, v in feeds.items()
    ]
    g = helper.make_graph(
        nodes, "t", ins, [helper.make_tensor_value_info("y", out_type, None)], inits
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 21), MS])
    m.ir_version = 10
    return m.SerializeToString()


def _ort(model: bytes, feeds: dict):
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)[0]


def _scalars(**kv):
    return [
        helper.make_tensor(k, helper.np_dtype_to_tensor_dtype(np.asarray(v).dtype), [], [v])
        for k, v in kv.items()
    ]


def _every_pair(dtype):
    info = np.iinfo(dtype)
    codes = np.arange(info.min, info.max + 1).astype(dtype)
    return np.repeat(codes, 256).reshape(1, 256, 256), np.tile(codes, 256).reshape(1, 256, 256)


ZPS = {np.int8: (3, -7, 1), np.uint8: (130, 120, 128)}
SCALES = [(0.02, 0.031, 0.04), (0.1, 0.0123, 0.05), (0.007, 0.007, 0.0003)]


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("scales", SCALES)
def test_qlinear_mul_matches_onnxruntime_on_every_pair(dtype, scales):
    a, b = _every_pair(dtype)
    za, zb, zc = (dtype(v) for v in ZPS[dtype])
    sa, sb, sc = (np.float32(s) for s in scales)
    inits = _scalars(sa=sa, za=za, sb=sb, zb=zb, sc=sc, zc=zc)
    node = helper.make_node(
        "QLinearMul", ["a", "sa", "za", "b", "sb", "zb", "sc", "zc"], ["y"], domain="com.microsoft"
    )
    model = _model(
        [node], inits, {"a": a, "b": b}, helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    )
    theirs = _ort(model, {"a": a, "b": b})
    ours = qlinear_mul(a, sa, int(za), b, sb, int(zb), sc, int(zc), np.dtype(dtype))
    np.testing.assert_array_equal(ours, theirs)
    assert len(np.unique(ours)) == 256  # the whole range, both rails
    graph = read_onnx(model)
    kernel = QLinearMul(graph, graph.nodes[0])  # the node's own constants, read from the file
    got = kernel.run([Value(a, True), None, None, Value(b, True)])[0].array
    np.testing.assert_array_equal(got, theirs)


def test_qlinear_mul_broadcasts_a_per_channel_constant():
    rng = np.random.default_rng(3)
    a = rng.integers(-128, 128, (5, 4, 3, 3)).astype(np.int8)
    b = rng.integers(-128, 128, (1, 4, 1, 1)).astype(np.int8)
    inits = _scalars(
        sa=np.float32(0.05), za=np.int8(-2), sb=np.float32(0.02), zb=np.int8(4)
    ) + _scalars(sc=np.float32(0.03), zc=np.int8(-1))
    inits.append(helper.make_tensor("b", TensorProto.INT8, b.shape, b.reshape(-1).tolist()))
    node = helper.make_node(
        "QLinearMul", ["a", "sa", "za", "b", "sb", "zb", "sc", "zc"], ["y"], domain="com.microsoft"
    )
    theirs = _ort(_model([node], inits, {"a": a}, TensorProto.INT8), {"a": a})
    ours = qlinear_mul(a, 0.05, -2, b, 0.02, 4, 0.03, -1, np.dtype(np.int8))
    np.testing.assert_array_equal(ours, theirs)


def test_qlinear_mul_by_hand():
    # s_a * s_b / s_c = 0.5 * 0.25 / 1 = 0.125; products 30, 20, 28 -> 3.75, 2.5, 3.5
    a, b = np.array([10, 10, 7], np.int8), np.array([3, 2, 4], np.int8)
    y = qlinear_mul(a, 0.5, 0, b, 0.25, 0, 1.0, 0, np.dtype(np.int8))
    assert y.tolist() == [4, 2, 4]  # half to even
    # the zero point is added before rounding: 2.5 + 1 = 3.5 -> 4 (rounding first gives 3)
    y = qlinear_mul(a, 0.5, 0, b, 0.25, 0, 1.0, 1, np.dtype(np.int8))
    assert y.tolist() == [5, 4, 4]
    # operand zero points: (10 - 2) * (3 - 1) = 16 -> 2; saturation at the rails
    assert qlinear_mul(a[:1], 0.5, 2, b[:1], 0.25, 1, 1.0, 0, np.dtype(np.int8)).item() == 2
    big = qlinear_mul(np.int8(-128), 1.0, 0, np.int8(-128), 1.0, 0, 1.0, 0, np.dtype(np.int8))
    assert big.item() == 127
    assert qlinear_mul(np.uint8(0), 1.0, 200, np.uint8(255), 1.0, 0, 1.0, 0, np.uint8).item() == 0


def _qdq_binary_model(op: str, dtype, scales, zps, b_const: np.ndarray | None):
    tt = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    (sa, sb, sc), (za, zb, zc) = scales, zps
    inits = _scalars(sa=np.float32(sa), za=dtype(za), sb=np.float32(sb), zb=dtype(zb))
    inits += _scalars(sc=np.float32(sc), zc=dtype(zc))
    if b_const is not None:
        inits.append(helper.make_tensor("b", tt, b_const.shape, b_const.reshape(-1).tolist()))
    nodes = [
        helper.make_node("DequantizeLinear", ["a", "sa", "za"], ["fa"]),
        helper.make_node("DequantizeLinear", ["b", "sb", "zb"], ["fb"]),
        helper.make_node(op, ["fa", "fb"], ["f"]),
        helper.make_node("QuantizeLinear", ["f", "sc", "zc"], ["y"]),
    ]
    return nodes, inits, tt


@pytest.mark.parametrize("op", ["Mul", "Add"])
@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
def test_qdq_binary_is_what_onnxruntime_makes_of_it(op, dtype):
    a, b = _every_pair(dtype)
    scales = (0.02, 0.031, 0.04)  # where the float path and the fused one differ
    nodes, inits, tt = _qdq_binary_model(op, dtype, scales, ZPS[dtype], None)
    model = _model(nodes, inits, {"a": a, "b": b}, tt)
    theirs = _ort(model, {"a": a, "b": b})
    graph = read_onnx(model)
    binary, q = qdq_binary(graph, graph.nodes[2])
    assert q is graph.nodes[3]
    read_fusion([binary], optimized_model(model))
    # ONNX Runtime 1.32 fuses a QDQ Add / Mul of two graph inputs, on their own code type
    assert binary.fused == np.dtype(dtype).name
    ours = binary.run([Value(a, True), Value(b, True)])[0].array
    np.testing.assert_array_equal(ours, theirs)
    assert len(np.unique(ours)) == 256
    # the float path (DequantizeLinear, binary32, QuantizeLinear) differs from the fused one
    binary.fused = None
    floated = binary.run([Value(a, True), Value(b, True)])[0].array
    assert np.count_nonzero(floated != theirs) > 0


def test_int8_qdq_mul_by_a_broadcast_constant_matches():
    # an activation times a per-channel constant (a learned scale); alone in a model ONNX
    # Runtime fuses it on int8 (in t_mul_*_qdq it stays float: test_converter_models.py)
    rng = np.random.default_rng(5)
    a = rng.integers(-128, 128, (64, 4, 5, 5)).astype(np.int8)
    a[0], a[1] = 127, -128
    b = np.array([-128, -37, 90, 127], np.int8).reshape(1, 4, 1, 1)
    nodes, inits, tt = _qdq_binary_model("Mul", np.int8, (0.03, 0.0077, 0.021), (5, 0, -3), b)
    model = _model(nodes, inits, {"a": a}, tt)
    theirs = _ort(model, {"a": a})
    graph = read_onnx(model)
    binary, _ = qdq_binary(graph, graph.nodes[2])
    read_fusion([binary], optimized_model(model))
    assert binary.fused == "int8"
    ours = binary.run([Value(a, True), Value(b, False)])[0].array
    np.testing.assert_array_equal(ours, theirs)
    assert len(np.unique(ours)) > 100
