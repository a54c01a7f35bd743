"""The index arithmetic of a dynamic batch that exporters write without ``quant_pre_process``
(``x.view(x.shape[0], -1)``: Shape -> Gather -> Unsqueeze -> Concat -> Reshape; Range), in numpy
(Constant nodes are constants already, :func:`hil.onnx.graph.read_onnx`). The results are
integer index vectors, the same for every sample, so they are never batched; the batch they
read is the run's number of samples (axis 0 of every activation in an ONNX plan), as ONNX
Runtime sees the batch it is given."""

from __future__ import annotations

import numpy as np

from ..kernels.base import Value
from .graph import Node, OnnxGraph, OnnxImportError


class _IndexOp:
    """A node of index arithmetic: ``compute(arrays)`` on plain arrays, never batched."""

    def __init__(self, graph: OnnxGraph, node: Node) -> None:
        self.graph, self.node = graph, node
        self.check()

    def check(self) -> None:
        pass

    def run(self, inputs: list[Value | None]) -> list[Value]:
        arrays = [None if v is None else np.asarray(v.array) for v in inputs]
        return [Value(np.asarray(self.compute(arrays)), False)]

    def int_input(self, arrays, i: int, what: str) -> np.ndarray:
        a = arrays[i] if i < len(arrays) else None
        if a is None or a.dtype.kind not in "iu":
            raise OnnxImportError(f"{self.node.label()}: {what} must be an integer tensor")
        return a.astype(np.int64)


class Shape(_IndexOp):
    """Shape (``start`` / ``end``): axis 0 is the run's batch."""

    def compute(self, arrays):
        shape = np.asarray(arrays[0].shape, np.int64)
        start = int(self.node.attrs.get("start", 0))
        end = self.node.attrs.get("end")
        return shape[start : None if end is None else int(end)]


class Gather(_IndexOp):
    """Gather of an index vector (``axis`` 0)."""

    def check(self) -> None:
        if int(self.node.attrs.get("axis", 0)) != 0:
            raise OnnxImportError(
                f"{self.node.label()}: Gather only on axis 0 of an index vector (shape arithmetic)"
            )

    def compute(self, arrays):
        data = self.int_input(arrays, 0, "Gather's data")
        return np.take(data, self.int_input(arrays, 1, "Gather's indices"), axis=0)


class Unsqueeze(_IndexOp):
    """Unsqueeze (axes from the input, opset 13 on, or the attribute)."""

    def compute(self, arrays):
        axes = (
            self.int_input(arrays, 1, "axes")
            if len(arrays) > 1 and arrays[1] is not None
            else np.asarray(self.node.attrs.get("axes", ()), np.int64)
        )
        out = arrays[0]
        rank = out.ndim + len(axes)
        for ax in sorted(int(a) % rank for a in axes.ravel()):
            out = np.expand_dims(out, ax)
        return out


class Concat(_IndexOp):
    """Concat of index vectors."""

    def compute(self, arrays):
        parts = [self.int_input(arrays, i, "Concat's inputs") for i in range(len(arrays))]
        return np.concatenate(parts, axis=int(self.node.attrs.get("axis", 0)))


class Range(_IndexOp):
    """Range of integer scalars: ``start, start + delta, ...`` short of ``limit``."""

    def check(self) -> None:
        delta = self.graph.constants.get(self.node.inputs[2])
        if delta is not None and int(np.asarray(delta).reshape(-1)[0]) == 0:
            raise OnnxImportError(f"{self.node.label()}: Range with delta 0")

    def compute(self, arrays):
        start, limit, delta = (
            int(self.int_input(arrays, i, w).reshape(-1)[0])
            for i, w in enumerate(("Range's start", "Range's limit", "Range's delta"))
        )
        if delta == 0:
            raise OnnxImportError(f"{self.node.label()}: Range with delta 0")
        return np.arange(start, limit, delta, dtype=arrays[0].dtype)


INDEX_OPS = {
    "Shape": Shape,
    "Gather": Gather,
    "Unsqueeze": Unsqueeze,
    "Concat": Concat,
    "Range": Range,
}
"""Index-arithmetic nodes by op type."""
