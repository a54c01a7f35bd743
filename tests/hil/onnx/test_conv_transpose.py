"""The float ConvTranspose quantize_static leaves between DequantizeLinear and QuantizeLinear:
ONNX Runtime's CPU kernel (SGEMM's fused multiply-add chain, Col2im, bias) against ONNX Runtime
on one-node models, the single-rounding FMA by hand, and the refusals at import."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx", reason="pip install -e '.[dev]' (onnx, onnxruntime)")
ort = pytest.importorskip("onnxruntime", reason="pip install -e '.[dev]' (onnxruntime)")
from onnx import TensorProto, helper  # noqa: E402

from hil.onnx.conv_transpose import ConvTransposeFloat, fma32  # noqa: E402
from hil.onnx.graph import OnnxImportError, read_onnx  # noqa: E402


def test_fma_rounds_once():
    # a * a = 1 + 2^-11 + 2^-24: a binary32 tie. Plus 2^-80 the exact sum is above the tie
    # (rounds up); binary64 first would land on the tie and round to even (down).
    a = np.float32(1 + 2.0**-12)
    up, down = 1 + 2.0**-11 + 2.0**-23, 1 + 2.0**-11
    assert float(fma32(a, a, np.float32(2.0**-80))) == up
    assert float(np.float32(np.float64(a) * np.float64(a) + 2.0**-80)) == down  # the trap
    assert float(fma32(a, a, np.float32(-(2.0**-80)))) == down
    assert float(fma32(a, a, np.float32(0))) == down  # a true tie: to even
    assert float(fma32(np.float32(3), np.float32(0.5), np.float32(0.25))) == 1.75


def _model(cin, cout, hw, k, strides, pads, dil, opad, w, b, group=1):
    inits = [helper.make_tensor("w", TensorProto.FLOAT, w.shape, w.ravel().tolist())]
    ins = ["xq", "w"]
    if b is not None:
        inits.append(helper.make_tensor("b", TensorProto.FLOAT, b.shape, b.tolist()))
        ins.append("b")
    inits += [
        helper.make_tensor("s", TensorProto.FLOAT, [], [0.0173]),
        helper.make_tensor("z", TensorProto.INT8, [], [3]),
    ]
    nodes = [
        helper.make_node("DequantizeLinear", ["x", "s", "z"], ["xq"]),
        helper.make_node(
            "ConvTranspose",
            ins,
            ["y"],
            strides=list(strides),
            pads=list(pads),
            dilations=list(dil),
            output_padding=list(opad),
            group=group,
        ),
    ]
    g = helper.make_graph(
        nodes,
        "ct",
        [helper.make_tensor_value_info("x", TensorProto.INT8, [None, cin, *hw])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        inits,
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m.SerializeToString()


@pytest.mark.parametrize(
    "cin,cout,hw,k,strides,pads,dil,opad,bias",
    [
        (6, 4, (3, 3), (2, 2), (2, 2), (0, 0, 0, 0), (1, 1), (0, 0), True),  # no overlap
        (6, 4, (5, 5), (3, 3), (2, 2), (1, 1, 1, 1), (1, 1), (0, 0), True),  # overlapping taps
        (37, 5, (4, 6), (3, 3), (2, 2), (1, 0, 1, 0), (1, 1), (1, 1), False),
        (16, 8, (4, 4), (4, 4), (2, 2), (1, 1, 1, 1), (2, 1), (0, 0), True),  # dilated
        (128, 3, (12, 12), (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), (0, 0), True),  # 9 taps, K 128
    ],
)
def test_conv_transpose_matches_onnxruntime(
    cin, cout, hw, k, strides, pads, dil, opad, bias, monkeypatch
):
    rng = np.random.default_rng(cin)
    w = (rng.integers(-127, 128, (cin, cout, *k)).astype(np.float32) * np.float32(0.00311)).astype(
        np.float32
    )
    b = rng.uniform(-1, 1, cout).astype(np.float32) if bias else None
    model = _model(cin, cout, hw, k, strides, pads, dil, opad, w, b)
    x = rng.integers(-128, 128, (3, cin, *hw)).astype(np.int8)
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    (theirs,) = sess.run(None, {"x": x})
    graph = read_onnx(model)
    node = ConvTransposeFloat(graph, graph.nodes[1])
    xf = ((x.astype(np.float32) - 3) * np.float32(0.0173)).astype(np.float32)
    (ours,) = node(graph, graph.nodes[1], [xf, w, b])
    assert ours.shape == theirs.shape
    assert np.array_equal(ours.view(np.uint32), theirs.view(np.uint32))
    if cin == 128:
        # a multiply, then an add (two roundings, as without FMA) is not ONNX Runtime's sum
        import hil.onnx.conv_transpose as ct

        def mul_add(a, b, c):
            return ((a * b).astype(np.float32) + c).astype(np.float32)

        monkeypatch.setattr(ct, "fma32", mul_add)
        (two,) = node(graph, graph.nodes[1], [xf, w, b])
        assert np.count_nonzero(two.view(np.uint32) != theirs.view(np.uint32)) > 0


@pytest.mark.parametrize(
    "case,why",
    [
        ("channels", "129 input channels; at most 128"),
        ("group", "group = 2; only group 1"),
    ],
)
def test_conv_transpose_refusals(case, why):
    cin = 129 if case == "channels" else 4
    w = np.ones((cin, 2, 2, 2), np.float32)
    model = _model(
        cin,
        2,
        (3, 3),
        (2, 2),
        (2, 2),
        (0, 0, 0, 0),
        (1, 1),
        (0, 0),
        w,
        None,
        group=2 if case == "group" else 1,
    )
    graph = read_onnx(model)
    with pytest.raises(OnnxImportError, match=why):
        ConvTransposeFloat(graph, graph.nodes[1])


def test_one_d_conv_transpose_matches_onnxruntime():
    # ConvTranspose1d (NCL): computed as a 2-D one of height 1
    rng = np.random.default_rng(9)
    cin, cout, length, k = 40, 5, 16, 5
    w = (rng.integers(-127, 128, (cin, cout, k)).astype(np.float32) * np.float32(0.00311)).astype(
        np.float32
    )
    b = rng.uniform(-1, 1, cout).astype(np.float32)
    inits = [
        helper.make_tensor("w", TensorProto.FLOAT, w.shape, w.ravel().tolist()),
        helper.make_tensor("b", TensorProto.FLOAT, b.shape, b.tolist()),
        helper.make_tensor("s", TensorProto.FLOAT, [], [0.0173]),
        helper.make_tensor("z", TensorProto.INT8, [], [3]),
    ]
    nodes = [
        helper.make_node("DequantizeLinear", ["x", "s", "z"], ["xq"]),
        helper.make_node(
            "ConvTranspose", ["xq", "w", "b"], ["y"], strides=[2], pads=[2, 1], output_padding=[1]
        ),
    ]
    g = helper.make_graph(
        nodes,
        "ct1",
        [helper.make_tensor_value_info("x", TensorProto.INT8, [None, cin, length])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        inits,
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    model = m.SerializeToString()
    x = rng.integers(-128, 128, (4, cin, length)).astype(np.int8)
    (theirs,) = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, {"x": x})
    graph = read_onnx(model)
    xf = ((x.astype(np.float32) - 3) * np.float32(0.0173)).astype(np.float32)
    (ours,) = ConvTransposeFloat(graph, graph.nodes[1])(graph, graph.nodes[1], [xf, w, b])
    assert ours.shape == theirs.shape == (4, cout, 2 * 15 - 3 + 5 + 1)
    assert np.array_equal(ours.view(np.uint32), theirs.view(np.uint32))
