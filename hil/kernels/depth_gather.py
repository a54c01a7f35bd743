"""DEPTH_TO_SPACE, SPACE_TO_DEPTH and GATHER in numpy, as TFLite Micro's ``depth_to_space.cc``,
``space_to_depth.cc`` and ``gather.cc``: data movement, no arithmetic. Output channel
``(by * block + bx) * depth + c`` of SPACE_TO_DEPTH is pixel ``(by, bx)`` of each block;
DEPTH_TO_SPACE is its inverse. GATHER takes constant indices (checked in range at import, as
TFLite Micro checks them at run time)."""

from __future__ import annotations

import numpy as np

from .base import SoftwareOp, Value, as_nhwc
from .split import _axis, _const


class _Blocks(SoftwareOp):
    """The shared checks: 4-D int8 (or float32) NHWC, a block size of 2 or more that divides."""

    def __init__(self, op, graph):
        super().__init__(op, graph)
        x = self.ins[0]
        self.need_types("input", x, ("INT8", "FLOAT32"))  # TFLite Micro's two types
        self.need_types("output", self.outs[0], (x.type_name,))
        if len(x.shape) != 4:
            raise self.refuse(f"input must be 4-D NHWC, is {list(x.shape)}")
        self.block = int(op.options.blockSize) if op.options is not None else 0
        if self.block < 2:
            raise self.refuse(f"block size {self.block}; 2 or more")


class DepthToSpace(_Blocks):
    """DEPTH_TO_SPACE: channels to ``block x block`` pixels."""

    names = ("DEPTH_TO_SPACE",)
    summary = "depth to space (no arithmetic)"

    def __init__(self, op, graph):
        super().__init__(op, graph)
        c = self.ins[0].shape[3]
        if c % (self.block * self.block):
            raise self.refuse(f"depth {c} is not a multiple of block^2 = {self.block**2}")

    def run(self, inputs):
        x, lead = as_nhwc(inputs[0])
        b, h, w, c = x.shape
        k = self.block
        y = x.reshape(b, h, w, k, k, c // (k * k)).transpose(0, 1, 3, 2, 4, 5)
        y = y.reshape(b, h * k, w * k, c // (k * k))
        return [Value(y.reshape(lead + y.shape[1:]), inputs[0].batched)]


class SpaceToDepth(_Blocks):
    """SPACE_TO_DEPTH: each ``block x block`` pixel block to channels."""

    names = ("SPACE_TO_DEPTH",)
    summary = "space to depth (no arithmetic)"

    def __init__(self, op, graph):
        super().__init__(op, graph)
        _, h, w, _ = self.ins[0].shape
        if h % self.block or w % self.block:
            raise self.refuse(f"height {h} / width {w} are not multiples of the block {self.block}")

    def run(self, inputs):
        x, lead = as_nhwc(inputs[0])
        b, h, w, c = x.shape
        k = self.block
        y = x.reshape(b, h // k, k, w // k, k, c).transpose(0, 1, 3, 2, 4, 5)
        y = y.reshape(b, h // k, w // k, k * k * c)
        return [Value(y.reshape(lead + y.shape[1:]), inputs[0].batched)]


class Gather(SoftwareOp):
    """GATHER of an activation (or constant) along ``axis`` at constant indices."""

    names = ("GATHER",)
    summary = "gather at constant indices (no arithmetic)"

    def __init__(self, op, graph):
        super().__init__(op, graph)
        x = self.ins[0]
        if x is None:
            raise self.refuse("has no input tensor")
        self.need_types("params", x, ("INT8", "INT16", "INT32", "FLOAT32"))
        o = op.options
        axis = int(o.axis) if o is not None else 0
        if o is not None and int(getattr(o, "batchDims", 0)):
            raise self.refuse("batch_dims != 0 is not implemented")
        self.axis = _axis(self, axis, len(x.shape))
        t = self.ins[1]
        self.index_shape = tuple(t.shape) if t is not None else ()
        self.indices = _const(self, 1, "indices").reshape(self.index_shape)
        n = x.shape[self.axis]
        bad = self.indices[(self.indices < 0) | (self.indices >= n)]
        if bad.size:
            raise self.refuse(f"index {int(bad[0])} is out of range 0 .. {n - 1} (axis {axis})")

    def run(self, inputs):
        v = inputs[0]
        y = np.take(v.array, self.indices, axis=self.axis + (1 if v.batched else 0))
        return [Value(np.ascontiguousarray(y), v.batched)]


OPS = (DepthToSpace, SpaceToDepth, Gather)
"""The kernels of this module."""
