"""SPLIT, SPLIT_V, UNPACK and TRANSPOSE in numpy, as TFLite Micro's ``split.cc``,
``split_v.cc``, ``unpack.cc`` and ``transpose.cc``: data movement of activations (any type), no
arithmetic. Axes are per-sample axes; the sample axis of a batched value is skipped."""

from __future__ import annotations

import numpy as np

from .base import SoftwareOp, Value


def _const(kernel: SoftwareOp, at: int, what: str) -> np.ndarray:
    t = kernel.ins[at] if at < len(kernel.ins) else None
    if t is None or t.data is None:
        raise kernel.refuse(f"the {what} input must be a constant (the model's own tensor)")
    return np.asarray(t.data).astype(np.int64).ravel()


def _axis(kernel: SoftwareOp, axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise kernel.refuse(f"axis {axis} is out of range for a rank-{rank} tensor")
    return axis % rank


class Split(SoftwareOp):
    """SPLIT (axis input first) and SPLIT_V (sizes, then axis): equal or given pieces."""

    names = ("SPLIT", "SPLIT_V")
    summary = "split (no arithmetic)"

    def __init__(self, op, graph):
        super().__init__(op, graph)
        v = op.name == "SPLIT_V"
        self.data_at = 0 if v else 1
        x = self.ins[self.data_at]
        if x is None:
            raise self.refuse("has no input tensor")
        rank = len(x.shape)
        self.axis = _axis(self, int(_const(self, 2 if v else 0, "axis")[0]), rank)
        sizes = [int(np.prod(y.shape[self.axis : self.axis + 1])) for y in self.outs]
        if sum(sizes) != x.shape[self.axis]:
            raise self.refuse(
                f"output sizes {sizes} do not add up to axis {self.axis} of {list(x.shape)}"
            )
        self.cuts = list(np.cumsum(sizes)[:-1])

    def run(self, inputs):
        v = inputs[self.data_at]
        off = 1 if v.batched else 0
        parts = np.split(v.array, self.cuts, axis=self.axis + off)
        return [Value(p, v.batched) for p in parts]


class Unpack(SoftwareOp):
    """UNPACK: the slices along ``axis``, that axis removed."""

    names = ("UNPACK",)
    summary = "unstack (no arithmetic)"

    def __init__(self, op, graph):
        super().__init__(op, graph)
        x = self.ins[0]
        if x is None:
            raise self.refuse("has no input tensor")
        axis = int(op.options.axis) if op.options is not None else 0
        self.axis = _axis(self, axis, len(x.shape))
        if x.shape[self.axis] != len(self.outs):
            raise self.refuse(f"{len(self.outs)} outputs for axis {self.axis} of {list(x.shape)}")

    def run(self, inputs):
        v = inputs[0]
        a = np.moveaxis(v.array, self.axis + (1 if v.batched else 0), 0)
        return [Value(np.ascontiguousarray(p), v.batched) for p in a]


class Transpose(SoftwareOp):
    """TRANSPOSE by the constant permutation (``transpose.cc``)."""

    names = ("TRANSPOSE",)
    summary = "transpose (no arithmetic)"

    def __init__(self, op, graph):
        super().__init__(op, graph)
        x = self.ins[0]
        if x is None:
            raise self.refuse("has no input tensor")
        perm = [int(p) for p in _const(self, 1, "permutation")]
        if sorted(p % len(x.shape) for p in perm) != list(range(len(x.shape))):
            raise self.refuse(f"permutation {perm} is not one of the {len(x.shape)} axes")
        self.perm = [p % len(x.shape) for p in perm]

    def run(self, inputs):
        v = inputs[0]
        perm = [0] + [p + 1 for p in self.perm] if v.batched else self.perm
        return [Value(np.ascontiguousarray(np.transpose(v.array, perm)), v.batched)]


OPS = (Split, Unpack, Transpose)
"""The kernels of this module."""
