"""The ONNX nodes that run in numpy during a hardware-in-the-loop run, each as ONNX Runtime's
CPU kernel computes it: QuantizeLinear (``x / scale`` in binary32, rounded half to even, plus
the zero point, saturated), DequantizeLinear (``(x - zp) * scale`` in binary32), and the
layout and pooling nodes that do no arithmetic on the values (Reshape, Flatten, Transpose,
Identity, Relu, MaxPool). Values are numpy arrays with the batch on axis 0."""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..kernels.base import Value
from .graph import Node, OnnxGraph, OnnxImportError

_INT_RANGES = {
    np.dtype(np.int8): (-128, 127),
    np.dtype(np.uint8): (0, 255),
    np.dtype(np.int32): (-(1 << 31), (1 << 31) - 1),
}


def _per_axis(v: np.ndarray, x: np.ndarray, axis: int) -> np.ndarray:
    """A scale or zero point as it broadcasts against ``x`` (per-tensor, or along ``axis``)."""
    v = np.asarray(v)
    if v.size == 1:
        return v.reshape(())
    shape = [1] * x.ndim
    shape[axis % x.ndim] = v.size
    return v.reshape(shape)


def quantize_linear(graph: OnnxGraph, node: Node, ins: list) -> list:
    x = np.asarray(ins[0], np.float32)
    scale = graph.constant(node.inputs[1], node, "y_scale").astype(np.float32)
    zp = (
        graph.constant(node.inputs[2], node, "y_zero_point")
        if len(node.inputs) > 2 and node.inputs[2]
        else np.uint8(0)
    )
    axis = int(node.attrs.get("axis", 1))
    lo, hi = _INT_RANGES[np.dtype(zp.dtype)]
    q = np.rint(x / _per_axis(scale, x, axis)).astype(np.float64) + _per_axis(zp, x, axis)
    return [np.clip(q, lo, hi).astype(zp.dtype)]


def dequantize_linear(graph: OnnxGraph, node: Node, ins: list) -> list:
    x = np.asarray(ins[0])
    scale = np.asarray(
        ins[1] if ins[1] is not None else graph.constant(node.inputs[1], node, "x_scale"),
        np.float32,
    )
    zp = ins[2] if len(ins) > 2 and ins[2] is not None else np.zeros((), x.dtype)
    axis = int(node.attrs.get("axis", 1))
    diff = (x.astype(np.int64) - _per_axis(zp, x, axis).astype(np.int64)).astype(np.float32)
    return [(diff * _per_axis(scale, x, axis)).astype(np.float32)]


def reshape(graph: OnnxGraph, node: Node, ins: list) -> list:
    x = np.asarray(ins[0])
    shape = [int(v) for v in np.asarray(ins[1]).reshape(-1)]
    if int(node.attrs.get("allowzero", 0)) and 0 in shape:
        # allowzero = 1 makes a 0 an empty axis instead of "copy this axis": without a 0 in
        # the shape (as PyTorch's exporter writes it) both read the same
        raise OnnxImportError(
            f"{node.label()}: allowzero = 1 with a 0 in the shape {shape} "
            f"(an empty tensor) is not supported"
        )
    shape = [x.shape[i] if v == 0 else v for i, v in enumerate(shape)]
    if shape and shape[0] not in (-1, x.shape[0]):
        # The model's batch size (usually 1) stands for the run's batch on axis 0.
        rest = int(np.prod([v for v in shape[1:] if v != -1])) if -1 not in shape[1:] else None
        if shape[0] == 1 and rest is not None:
            shape[0] = -1
    return [x.reshape(shape)]


def flatten(graph: OnnxGraph, node: Node, ins: list) -> list:
    x = np.asarray(ins[0])
    axis = int(node.attrs.get("axis", 1))
    if axis != 1:
        raise OnnxImportError(f"{node.label()}: Flatten axis = {axis}; only axis 1 (per sample)")
    return [x.reshape(x.shape[0], -1)]


def transpose(graph: OnnxGraph, node: Node, ins: list) -> list:
    x = np.asarray(ins[0])
    perm = node.attrs.get("perm")
    if perm is not None and int(perm[0]) != 0:
        raise OnnxImportError(f"{node.label()}: a Transpose that moves the batch axis")
    return [np.transpose(x, perm)]


def identity(graph: OnnxGraph, node: Node, ins: list) -> list:
    return [np.asarray(ins[0])]


def relu(graph: OnnxGraph, node: Node, ins: list) -> list:
    x = np.asarray(ins[0])
    return [np.maximum(x, np.zeros((), x.dtype))]


def max_pool(graph: OnnxGraph, node: Node, ins: list) -> list:
    x = np.asarray(ins[0])
    a = node.attrs
    if x.ndim != 4 or len(node.outputs) > 1 and node.outputs[1]:
        raise OnnxImportError(f"{node.label()}: only 2-D MaxPool without indices")
    if int(a.get("ceil_mode", 0)) or tuple(a.get("dilations", (1, 1))) != (1, 1):
        raise OnnxImportError(f"{node.label()}: ceil_mode / dilations are not supported")
    auto = a.get("auto_pad", b"NOTSET")
    if (auto.decode() if isinstance(auto, bytes) else auto) not in ("NOTSET", "", "VALID"):
        raise OnnxImportError(f"{node.label()}: auto_pad = {auto!r} is not supported")
    kh, kw = (int(v) for v in a["kernel_shape"])
    sh, sw = (int(v) for v in a.get("strides", (1, 1)))
    t, left, b, r = (int(v) for v in a.get("pads", (0, 0, 0, 0)))
    low = np.iinfo(x.dtype).min if x.dtype.kind in "iu" else -np.inf
    p = np.pad(x, ((0, 0), (0, 0), (t, b), (left, r)), constant_values=low)
    oh = (p.shape[2] - kh) // sh + 1
    ow = (p.shape[3] - kw) // sw + 1
    out = np.full(x.shape[:2] + (oh, ow), low, dtype=x.dtype)
    for ky in range(kh):
        for kx in range(kw):
            out = np.maximum(
                out, p[:, :, ky : ky + (oh - 1) * sh + 1 : sh, kx : kx + (ow - 1) * sw + 1 : sw]
            )
    return [out]


NODE_KERNELS: dict[str, Callable[[OnnxGraph, Node, list], list]] = {
    "QuantizeLinear": quantize_linear,
    "DequantizeLinear": dequantize_linear,
    "Reshape": reshape,
    "Flatten": flatten,
    "Transpose": transpose,
    "Identity": identity,
    "Relu": relu,
    "MaxPool": max_pool,
}
"""Nodes that run in numpy, by op type."""


class NodeKernel:
    """One node's function of :data:`NODE_KERNELS` as a plan kernel (``run(values) -> values``,
    as :class:`hil.kernels.base.SoftwareOp`): a result is batched when an input is."""

    def __init__(
        self, fn: Callable[[OnnxGraph, Node, list], list], graph: OnnxGraph, node: Node
    ) -> None:
        self.fn, self.graph, self.node = fn, graph, node

    def run(self, inputs: list[Value | None]) -> list[Value]:
        arrays = [None if v is None else v.array for v in inputs]
        batched = any(v is not None and v.batched for v in inputs)
        return [Value(np.asarray(a), batched) for a in self.fn(self.graph, self.node, arrays)]
