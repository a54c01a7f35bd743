"""The ONNX Runtime oracle: the graph the user runs, and each of its integer kernels on its own.

- **Model outputs** come from the unmodified model, with ONNX Runtime's default graph
  optimizations (:func:`run_model`), exactly as a user's application runs it.
- **Layer references** come from the kernels that graph runs: ONNX Runtime saves its optimized
  graph (:func:`optimized_model`), in which each fused layer is one QLinearConv / QLinearMatMul /
  QGemm node (the QDQ patterns fused, int8 activations possibly turned into uint8, convolutions
  channels-last). Each such node is rebuilt as a one-node model (:func:`layer_reference`) and fed
  the layer's input from qmac's own run, so a layer's reference never depends on an earlier
  layer's differences, and exposing a tensor never changes what ONNX Runtime fuses.
- A QDQ layer the optimized graph leaves in float is rebuilt from the original
  DequantizeLinear -> Conv/MatMul/Gemm -> QuantizeLinear nodes and run without optimizations:
  the float kernels ONNX Runtime runs for it (reported, not required to match).
- Where this CPU's kernel adds product pairs in int16 (:mod:`hil.oracles.ort_kernels`), the layer's
  expected ONNX Runtime output is :func:`pyref.mlas_pairs.run_layer_pairs16`; a difference from
  the hardware is *explained* when that emulation gives ONNX Runtime's value.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from pyref.config import QmacConfig
from pyref.layer import Layer
from pyref.mlas_pairs import nhwc_patch_order, run_layer_pairs16

from .ort_kernels import EXACT, PAIRS16, KernelProbe, kernel_name

INTEGER_OPS = ("QLinearConv", "QLinearMatMul", "QGemm")


def session_options(session_config: dict[str, str] | None = None, optimize: bool = True):
    """ONNX Runtime's session options: its defaults (or no graph optimization), plus
    ``session_config`` entries such as ``{"session.qdqisint8allowed": "1"}``."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    if not optimize:
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    for key, value in (session_config or {}).items():
        so.add_session_config_entry(key, value)
    return so


def optimized_model(model_bytes: bytes, session_config: dict[str, str] | None = None):
    """The graph ONNX Runtime runs (CPU provider, default optimizations) as an ``onnx``
    ModelProto: what it saves as its optimized model."""
    import tempfile

    import onnx
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        so = session_options(session_config)
        so.optimized_model_filepath = f"{tmp}/optimized.onnx"
        ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])
        return onnx.load(so.optimized_model_filepath)


@dataclasses.dataclass
class OrtKernel:
    """The integer node of the optimized graph that computes one dense layer."""

    node: object  # onnx NodeProto
    act: str  # "uint8" / "int8": the activation type the kernel sees
    weight: str  # the weight type
    depthwise: bool
    channels_last: bool

    @property
    def op(self) -> str:
        return self.node.op_type

    def name(self) -> str:
        return kernel_name(self.op, self.act, self.weight, self.depthwise)


def integer_kernels(optimized) -> dict[str, OrtKernel]:
    """``{weight initializer name: OrtKernel}`` for every integer dense node of the optimized
    graph (fused QDQ layers keep their weight initializer's name)."""
    from onnx import helper, numpy_helper

    inits = {t.name: t for t in optimized.graph.initializer}
    kernels = {}
    for node in optimized.graph.node:
        if node.op_type not in INTEGER_OPS or node.domain not in ("", "ai.onnx", "com.microsoft"):
            continue
        w_name, x_zp = node.input[3], node.input[2] if len(node.input) > 2 else ""
        if w_name not in inits:
            continue
        w = numpy_helper.to_array(inits[w_name])
        act = numpy_helper.to_array(inits[x_zp]).dtype.name if x_zp in inits else "uint8"
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        group = int(attrs.get("group", 1))
        depthwise = node.op_type == "QLinearConv" and group > 1 and w.shape[1] == 1
        kernels[w_name] = OrtKernel(
            node, act, w.dtype.name, depthwise, bool(attrs.get("channels_last", 0))
        )
    return kernels


def run_model(
    model_bytes: bytes,
    input_names: Sequence[str],
    inputs: Sequence[np.ndarray],
    fixed_batch: bool,
    session_config: dict[str, str] | None = None,
) -> list[np.ndarray]:
    """The model's own outputs from ONNX Runtime, unmodified, default optimizations (one input
    at a time when the model's batch dimension is fixed)."""
    import onnxruntime as ort

    sess = ort.InferenceSession(
        model_bytes, session_options(session_config), providers=["CPUExecutionProvider"]
    )
    n = int(np.asarray(inputs[0]).shape[0])
    batches = [[a[i : i + 1] for a in inputs] for i in range(n)] if fixed_batch else [list(inputs)]
    runs = [sess.run(None, dict(zip(input_names, b))) for b in batches]
    return [np.concatenate([r[i] for r in runs]) for i in range(len(runs[0]))]


def _one_node_model(nodes, initializers, x_name: str, x: np.ndarray, y_name: str, y_type: int):
    from onnx import helper

    graph = helper.make_graph(
        list(nodes),
        "layer",
        [
            helper.make_tensor_value_info(
                x_name, helper.np_dtype_to_tensor_dtype(x.dtype), [None] * x.ndim
            )
        ],
        [helper.make_tensor_value_info(y_name, y_type, None)],
        list(initializers),
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("com.microsoft", 1)]
    )
    model.ir_version = 10
    return model.SerializeToString()


def layer_reference(optimized, kernel: OrtKernel, x: np.ndarray) -> np.ndarray:
    """ONNX Runtime's output of ``kernel``'s node alone on ``x`` (the layer's input as qmac's run
    holds it: the original layout and type); returned in that layout and type."""
    import onnxruntime as ort
    from onnx import helper

    node = kernel.node
    ours = np.asarray(x).dtype
    feed = np.asarray(x)
    if kernel.act != ours.name:  # int8 -> uint8 (ORT's QDQ rewrite): the same value + 128
        feed = (feed.astype(np.int16) + (128 if kernel.act == "uint8" else -128)).astype(kernel.act)
    if kernel.channels_last:
        feed = np.moveaxis(feed, 1, -1)
    feed = np.ascontiguousarray(feed)
    needed = {n for n in node.input[1:] if n}
    inits = [t for t in optimized.graph.initializer if t.name in needed]
    missing = needed - {t.name for t in inits}
    if missing:
        raise ValueError(
            f"{node.op_type} {node.name!r}: inputs {sorted(missing)} are not "
            "constants of the optimized graph; the layer cannot be rebuilt alone"
        )
    model = _one_node_model(
        [node],
        inits,
        node.input[0],
        feed,
        node.output[0],
        helper.np_dtype_to_tensor_dtype(np.dtype(kernel.act)),
    )
    sess = ort.InferenceSession(
        model, session_options(optimize=False), providers=["CPUExecutionProvider"]
    )
    y = np.asarray(sess.run(None, {node.input[0]: feed})[0])
    if kernel.channels_last:
        y = np.moveaxis(y, -1, 1)
    if kernel.act != ours.name:
        y = (y.astype(np.int16) - (128 if kernel.act == "uint8" else -128)).astype(ours)
    return y


def float_layer_reference(graph, dense, x: np.ndarray) -> np.ndarray:
    """ONNX Runtime's float kernels for a QDQ layer it does not fuse: the original DQ -> op -> Q
    nodes (with the DequantizeLinear nodes of the weights and bias) on ``x``, unoptimized."""
    import onnx
    import onnxruntime as ort

    m = onnx.load_from_string(graph.model_bytes)
    by_output = {o: n for n in m.graph.node for o in n.output}
    keep, todo = [], [dense.output]
    inits = {t.name: t for t in m.graph.initializer}
    while todo:
        name = todo.pop()
        if name == dense.input or name in inits or name not in by_output:
            continue
        n = by_output[name]
        if n not in keep:
            keep.append(n)
            todo.extend(i for i in n.input if i)
    keep.reverse()
    used = {i for n in keep for i in n.input}
    model = _one_node_model(
        keep,
        [t for k, t in inits.items() if k in used],
        dense.input,
        np.asarray(x),
        dense.output,
        onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dense.dtype)),
    )
    sess = ort.InferenceSession(
        model, session_options(optimize=False), providers=["CPUExecutionProvider"]
    )
    return np.asarray(sess.run(None, {dense.input: np.asarray(x)})[0])


@dataclasses.dataclass
class KernelEmulation:
    """How to compute ONNX Runtime's result of one dense layer on this CPU with pyref."""

    path: str  # EXACT / PAIRS16 / UNEXPLAINED (:mod:`hil.oracles.ort_kernels`)
    a_offset: int = 0  # 128 where ORT turned int8 activations into uint8
    order: np.ndarray | None = None  # the kernel's K order (per group), NCHW -> NHWC patch

    @property
    def clips(self) -> bool:
        return self.path == PAIRS16

    def run(self, layer: Layer, config: QmacConfig):
        """pyref's :class:`~pyref.model.LayerResult` as this kernel computes it."""
        return run_layer_pairs16(layer, config, self.a_offset, self.order)


def emulation_for(dense, kernel: OrtKernel | None, probe: KernelProbe) -> KernelEmulation:
    """The emulation of ``dense`` (an :class:`~hil.onnx.dense.OnnxDense`) on ``kernel``."""
    if kernel is None:
        return KernelEmulation(EXACT)
    path = probe.path(kernel.op, kernel.act, kernel.weight, kernel.depthwise)
    offset = 128 if kernel.act == "uint8" and np.dtype(dense.dtype) == np.int8 else 0
    order = None
    if dense.conv is not None:
        g = dense.conv
        order = nhwc_patch_order(g.cin // g.groups, g.kh, g.kw)
    return KernelEmulation(path, offset, order)
