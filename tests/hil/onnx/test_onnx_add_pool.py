"""QLinearAdd, QLinearGlobalAveragePool (and the QDQ GlobalAveragePool ONNX Runtime fuses into
it) and the float Add of a QDQ residual connection, each against ONNX Runtime on one-node
models over the whole int8 / uint8 input range."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="pip install -e '.[dev]' (onnx, onnxruntime)")
ort = pytest.importorskip("onnxruntime", reason="pip install -e '.[dev]' (onnxruntime)")
from onnx import helper  # noqa: E402

from hil.onnx.graph import read_onnx  # noqa: E402
from hil.onnx.pool import QLinearAdd, global_average, qlinear_add  # noqa: E402

MS = helper.make_opsetid("com.microsoft", 1)


def _run(nodes, inits, feeds: dict, out_type):
    ins = [
        helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(v.dtype), list(v.shape))
        for k, v in feeds.items()
    ]
    g = helper.make_graph(
        nodes, "t", ins, [helper.make_tensor_value_info("y", out_type, None)], inits
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 21), MS])
    m.ir_version = 10
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)[0], m


def _scalars(**kv):
    return [
        helper.make_tensor(k, helper.np_dtype_to_tensor_dtype(np.asarray(v).dtype), [], [v])
        for k, v in kv.items()
    ]


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize(
    "scales", [(0.02, 0.031, 0.04), (0.1, 0.0123, 0.05), (0.007, 0.007, 0.011)]
)
def test_qlinear_add_matches_onnxruntime_on_every_pair(dtype, scales):
    info = np.iinfo(dtype)
    codes = np.arange(info.min, info.max + 1).astype(dtype)
    a = np.repeat(codes, 256).reshape(1, 256, 256)  # every (a, b) pair
    b = np.tile(codes, 256).reshape(1, 256, 256)
    za, zb, zc = (dtype(v) for v in ((3, -7, 1) if dtype == np.int8 else (130, 120, 128)))
    inits = _scalars(
        sa=np.float32(scales[0]),
        za=za,
        sb=np.float32(scales[1]),
        zb=zb,
        sc=np.float32(scales[2]),
        zc=zc,
    )
    node = helper.make_node(
        "QLinearAdd", ["a", "sa", "za", "b", "sb", "zb", "sc", "zc"], ["y"], domain="com.microsoft"
    )
    theirs, model = _run(
        [node], inits, {"a": a, "b": b}, helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    )
    ours = qlinear_add(
        a,
        np.float32(scales[0]),
        int(za),
        b,
        np.float32(scales[1]),
        int(zb),
        np.float32(scales[2]),
        int(zc),
        np.dtype(dtype),
    )
    np.testing.assert_array_equal(ours, theirs)
    assert len(np.unique(ours)) == 256  # the whole range, both rails
    graph = read_onnx(model.SerializeToString())
    assert QLinearAdd(graph, graph.nodes[0]).c_zp == int(zc)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize(
    "hw,scales", [((8, 8), (0.05, 0.04)), ((5, 7), (0.1, 0.013)), ((3, 3), (0.02, 0.02))]
)
def test_qlinear_global_average_pool_matches_onnxruntime(dtype, hw, scales):
    rng = np.random.default_rng(1)
    info = np.iinfo(dtype)
    x = rng.integers(info.min, info.max + 1, (16, 6) + hw).astype(dtype)
    x[0] = info.max  # the rails too
    x[1] = info.min
    zx, zy = (dtype(v) for v in ((-5, 9) if dtype == np.int8 else (128, 100)))
    inits = _scalars(sx=np.float32(scales[0]), zx=zx, sy=np.float32(scales[1]), zy=zy)
    node = helper.make_node(
        "QLinearGlobalAveragePool",
        ["x", "sx", "zx", "sy", "zy"],
        ["y"],
        domain="com.microsoft",
        channels_last=0,
    )
    theirs, _ = _run([node], inits, {"x": x}, helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))
    ours = global_average(
        x, np.float32(scales[0]), int(zx), np.float32(scales[1]), int(zy), np.dtype(dtype)
    )
    np.testing.assert_array_equal(ours, theirs)
    assert len(np.unique(ours)) > 20


def test_global_average_by_hand():
    # 4 values 1, 2, 3, 4 (zero point 0) at scale 1 into scale 1: sum 10 * fl32(1 / 4) = 2.5
    # rounds half to even -> 2; with zero point 1: (10 - 4) * 0.25 = 1.5 -> 2.
    x = np.array([1, 2, 3, 4], np.int8).reshape(1, 1, 2, 2)
    assert global_average(x, 1.0, 0, 1.0, 0, np.dtype(np.int8)).item() == 2
    assert global_average(x, 1.0, 1, 1.0, 0, np.dtype(np.int8)).item() == 2
    assert global_average(x + 2, 1.0, 0, 1.0, 0, np.dtype(np.int8)).item() == 4  # 4.5 -> 4


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize(
    "kernel,strides,pads,include",
    [
        ((2, 2), (2, 2), (0, 0, 0, 0), 0),
        ((3, 3), (1, 1), (1, 1, 1, 1), 0),
        ((3, 3), (2, 2), (1, 0, 1, 0), 1),
        ((2, 3), (1, 2), (0, 1, 0, 1), 0),
    ],
)
def test_qlinear_average_pool_matches_onnxruntime(dtype, kernel, strides, pads, include):
    from hil.onnx.pool import average_pool

    rng = np.random.default_rng(2)
    info = np.iinfo(dtype)
    x = rng.integers(info.min, info.max + 1, (8, 5, 7, 7)).astype(dtype)
    x[0] = info.max
    zx, zy = (dtype(v) for v in ((-3, 4) if dtype == np.int8 else (128, 120)))
    sx, sy = np.float32(0.037), np.float32(0.029)
    inits = _scalars(sx=sx, zx=zx, sy=sy, zy=zy)
    node = helper.make_node(
        "QLinearAveragePool",
        ["x", "sx", "zx", "sy", "zy"],
        ["y"],
        domain="com.microsoft",
        kernel_shape=list(kernel),
        strides=list(strides),
        pads=list(pads),
        count_include_pad=include,
    )
    theirs, _ = _run([node], inits, {"x": x}, helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))
    ours = average_pool(
        x, sx, int(zx), sy, int(zy), np.dtype(dtype), kernel, strides, pads, bool(include)
    )
    np.testing.assert_array_equal(ours, theirs)
    assert len(np.unique(ours)) > 50
