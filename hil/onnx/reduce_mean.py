"""A float ReduceMean over the trailing axes (the dynamo exporter's ``AdaptiveAvgPool2d(1)``
between DequantizeLinear and QuantizeLinear, which ONNX Runtime leaves in float), summed as ONNX
Runtime's Eigen code sums each contiguous run of ``n`` values: binary32 SSE packets of 4 from
the first 16-byte-aligned value (run ``k`` starts at float offset ``k * n`` of the tensor, whose
buffer is aligned), two packet accumulators, their sum, the packet's halves added, then the
unaligned head and the tail one by one; divided by ``n`` in binary32.

The head depends on ``k * n mod 4``, so a sample's mean depends on its place in the batch when
``n`` is not a multiple of 4: as ONNX Runtime computes the batch it is given."""

from __future__ import annotations

import numpy as np

from ..kernels.base import Value
from .graph import Node, OnnxGraph, OnnxImportError

PACKET = 4
"""Floats in one of Eigen's SSE packets (the build of ONNX Runtime qmac checks against)."""


def _sequential(cols: np.ndarray) -> np.ndarray:
    acc = cols[:, 0].copy()
    for i in range(1, cols.shape[1]):
        acc = (acc + cols[:, i]).astype(np.float32)
    return acc


def eigen_sums(v: np.ndarray, first: int = 0) -> np.ndarray:
    """The sum of each row of the binary32 ``(K, n)`` array, row ``k`` being run ``first + k``
    of the buffer, as Eigen's vectorized redux adds it."""
    k_all, n = v.shape
    out = np.empty(k_all, np.float32)
    ks = np.arange(k_all)
    starts = (-((first + ks) * n)) % PACKET
    p = PACKET
    for start in np.unique(starts):
        rows = ks[starts == start]
        cols = v[rows]
        a2 = ((n - start) // (2 * p)) * (2 * p)
        a1 = ((n - start) // p) * p
        if a1 == 0:
            out[rows] = _sequential(cols)
            continue
        r0 = cols[:, start : start + p].copy()
        if a1 > p:
            r1 = cols[:, start + p : start + 2 * p].copy()
            for i in range(start + 2 * p, start + a2, 2 * p):
                r0 = (r0 + cols[:, i : i + p]).astype(np.float32)
                r1 = (r1 + cols[:, i + p : i + 2 * p]).astype(np.float32)
            r0 = (r0 + r1).astype(np.float32)
            if a1 > a2:
                r0 = (r0 + cols[:, start + a2 : start + a2 + p]).astype(np.float32)
        while r0.shape[1] > 1:
            h = r0.shape[1] // 2
            r0 = (r0[:, :h] + r0[:, h:]).astype(np.float32)
        acc = r0[:, 0]
        for i in list(range(0, start)) + list(range(start + a1, n)):
            acc = (acc + cols[:, i]).astype(np.float32)
        out[rows] = acc
    return out


class FloatReduceMean:
    """ReduceMean of a float32 tensor over its trailing axes (constant ``axes``)."""

    def __init__(self, graph: OnnxGraph, node: Node) -> None:
        self.node = node
        where = node.label()
        shape = graph.shape(node.inputs[0])
        if shape is None:
            raise OnnxImportError(f"{where}: the input's shape is not known")
        rank = len(shape)
        if len(node.inputs) > 1 and node.inputs[1]:
            axes = graph.constant(node.inputs[1], node, "axes")
        else:
            axes = np.asarray(node.attrs.get("axes", ()), np.int64)
        axes = sorted({int(a) % rank for a in np.asarray(axes).ravel()})
        if not axes or axes != list(range(rank - len(axes), rank)) or axes[0] == 0:
            raise OnnxImportError(
                f"{where}: ReduceMean over axes {axes} of a rank-{rank} "
                f"tensor; only the trailing axes (not the batch) run"
            )
        self.m = len(axes)
        self.keepdims = bool(int(node.attrs.get("keepdims", 1)))
        self.dtype = graph.dtype(node.inputs[0])
        if self.dtype is not None and np.dtype(self.dtype) != np.float32:
            raise OnnxImportError(f"{where}: a {self.dtype} ReduceMean (float32 only)")

    def run(self, inputs: list[Value | None]) -> list[Value]:
        v = inputs[0]
        x = np.ascontiguousarray(np.asarray(v.array, np.float32))
        lead = x.shape[: x.ndim - self.m]
        n = int(np.prod(x.shape[x.ndim - self.m :]))
        sums = eigen_sums(x.reshape(-1, n))
        y = (sums / np.float32(n)).astype(np.float32).reshape(lead)
        if self.keepdims:
            y = y.reshape(lead + (1,) * self.m)
        return [Value(y, v.batched)]
