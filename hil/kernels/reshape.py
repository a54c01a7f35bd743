"""RESHAPE / SQUEEZE / EXPAND_DIMS, SHAPE, PACK, STRIDED_SLICE and SLICE in numpy, as TFLite
Micro's ``reshape.cc``, ``shape.cc``, ``pack.cc``, ``strided_slice.cc`` and ``slice.cc``: no
arithmetic on the values.

Every kernel module of :mod:`hil.kernels` works on :class:`~hil.kernels.base.Value` objects:
the array and whether its leading axis is the sample index (activations, ``batched``) or it is
the same for every sample (constants and shape arithmetic); TFLite's own batch dimension
(usually 1) is kept after the sample axis. Each operator is a class: ``__init__`` checks the
operator's types and options once, at import, raising :class:`~hil.kernels.base.UnsupportedOpError`
for a case it does not implement; ``run`` computes.
"""

from __future__ import annotations

import numpy as np

from ..tflite.graph import Graph, OpSpec
from .base import SoftwareOp, Value


class Reshape(SoftwareOp):
    """RESHAPE / SQUEEZE / EXPAND_DIMS: the output tensor's declared shape, no arithmetic."""

    names = ("RESHAPE", "SQUEEZE", "EXPAND_DIMS")
    summary = "reshape (no arithmetic)"

    def __init__(self, op: OpSpec, graph: Graph) -> None:
        super().__init__(op, graph)
        x, y = self.ins[0], self.outs[0]
        if x is None:
            raise self.refuse("has no input tensor")
        if int(np.prod(x.shape)) != int(np.prod(y.shape)):
            raise self.refuse(
                f"input shape {list(x.shape)} and output shape {list(y.shape)} "
                f"hold different numbers of elements"
            )
        self.shape = y.shape

    def run(self, inputs):
        v = inputs[0]
        lead = (v.array.shape[0],) if v.batched else ()
        return [Value(v.array.reshape(lead + self.shape), v.batched)]


class Shape(SoftwareOp):
    """SHAPE: the per-sample shape of its input (static)."""

    names = ("SHAPE",)
    summary = "shape arithmetic"

    def run(self, inputs):
        dtype = self.outs[0].dtype or np.dtype(np.int32)
        return [Value(np.asarray(inputs[0].per_sample_shape(), dtype=dtype), False)]


class Pack(SoftwareOp):
    """PACK: stack the inputs along ``axis``."""

    names = ("PACK",)
    summary = "stack"

    def __init__(self, op, graph):
        super().__init__(op, graph)
        self.axis = int(op.options.axis) if op.options is not None else 0

    def run(self, inputs):
        batched = any(v.batched for v in inputs)
        arrays = []
        for v in inputs:
            a = v.array
            if batched and not v.batched:
                n = next(u.array.shape[0] for u in inputs if u.batched)
                a = np.broadcast_to(a, (n,) + a.shape)
            arrays.append(a)
        rank = arrays[0].ndim - (1 if batched else 0) + 1
        axis = self.axis if self.axis >= 0 else self.axis + rank
        return [Value(np.stack(arrays, axis=axis + (1 if batched else 0)), batched)]


class StridedSlice(SoftwareOp):
    """STRIDED_SLICE (and SLICE) of shape arithmetic or of activations: begin, end and
    strides of an activation's slice must be constants, so the slice is known at import."""

    names = ("STRIDED_SLICE", "SLICE")
    summary = "slice (no arithmetic)"

    def __init__(self, op, graph):
        super().__init__(op, graph)
        o = op.options if op.name == "STRIDED_SLICE" else None
        if o is not None and (o.ellipsisMask or o.newAxisMask):
            raise self.refuse("ellipsis_mask / new_axis_mask are not implemented")
        if o is not None and getattr(o, "offset", False):
            raise self.refuse("offset = true is not implemented")
        self.begin_mask = o.beginMask if o is not None else 0
        self.end_mask = o.endMask if o is not None else 0
        self.shrink_mask = o.shrinkAxisMask if o is not None else 0
        x = self.ins[0]
        n_index = 4 if op.name == "STRIDED_SLICE" else 3
        consts = [t is not None and t.data is not None for t in self.ins[1:n_index]]
        # An integer tensor is shape arithmetic (the same for every sample); anything else is
        # an activation, whose slice must be known at import.
        if (
            x is not None
            and x.data is None
            and not all(consts)
            and (x.type_name not in ("INT32", "INT64"))
        ):
            raise self.refuse("begin / end / strides of an activation's slice must be constants")
        per_sample = graph.per_sample()
        if any(i in per_sample for i in op.inputs[1:n_index] if i >= 0):
            raise self.refuse(
                "begin / end / strides differ per sample (computed from the model's input "
                "values); they must be the same for every sample"
            )

    def _index(self, begin, end, strides):
        index = []
        for d in range(len(begin)):
            b = int(begin[d])
            if self.op.name == "SLICE":
                size = int(end[d])
                index.append(slice(b, None if size == -1 else b + size))
                continue
            e, s = int(end[d]), int(strides[d])
            if self.shrink_mask >> d & 1:
                index.append(b)
                continue
            index.append(
                slice(
                    None if self.begin_mask >> d & 1 else b,
                    None if self.end_mask >> d & 1 else e,
                    s,
                )
            )
        return tuple(index)

    def run(self, inputs):
        v = inputs[0]
        rest = inputs[1 : 4 if self.op.name == "STRIDED_SLICE" else 3]
        if any(r.batched for r in rest):
            raise self.refuse("begin / end / strides differ per sample")
        arrays = [r.array for r in rest] + ([None] if len(rest) == 2 else [])
        index = self._index(*arrays)
        if v.batched:
            index = (slice(None),) + index
        return [Value(np.array(v.array[index]), v.batched)]


OPS = (Reshape, Shape, Pack, StridedSlice)
"""The kernels of this module; :mod:`hil.kernels` collects every module's."""
