"""RESHAPE / SQUEEZE / EXPAND_DIMS, SHAPE, PACK and STRIDED_SLICE in numpy, as TFLite Micro's
``reshape.cc``, ``shape.cc``, ``pack.cc`` and ``strided_slice.cc``: no arithmetic on the values.

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
            raise self.refuse(f"input shape {list(x.shape)} and output shape {list(y.shape)} "
                              f"hold different numbers of elements")
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
    """STRIDED_SLICE of a value that is the same for every sample (shape arithmetic)."""

    names = ("STRIDED_SLICE",)
    summary = "shape arithmetic"

    def __init__(self, op, graph):
        super().__init__(op, graph)
        o = op.options
        if o is not None and (o.ellipsisMask or o.newAxisMask):
            raise self.refuse("ellipsis_mask / new_axis_mask are not implemented")
        self.begin_mask = o.beginMask if o is not None else 0
        self.end_mask = o.endMask if o is not None else 0
        self.shrink_mask = o.shrinkAxisMask if o is not None else 0

    def run(self, inputs):
        v, begin, end, strides = inputs[:4]
        if v.batched or begin.batched or end.batched or strides.batched:
            raise self.refuse("slicing activations (values that differ per sample) is not implemented")
        index = []
        shrink = []
        for d in range(len(begin.array)):
            b, e, s = int(begin.array[d]), int(end.array[d]), int(strides.array[d])
            if self.shrink_mask >> d & 1:
                index.append(b)
                shrink.append(d)
                continue
            index.append(slice(None if self.begin_mask >> d & 1 else b,
                               None if self.end_mask >> d & 1 else e, s))
        return [Value(np.asarray(v.array[tuple(index)]), False)]


OPS = (Reshape, Shape, Pack, StridedSlice)
"""The kernels of this module; :mod:`hil.kernels` collects every module's."""
