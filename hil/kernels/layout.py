"""Operators that move values, in numpy, bit-exact with TFLite Micro: CONCATENATION and PAD /
PADV2 (no arithmetic: TFLite Micro requires equal input and output quantization) and
RESIZE_NEAREST_NEIGHBOR (``reference_ops::ResizeNearestNeighbor``, float32 index arithmetic)."""

from __future__ import annotations

import numpy as np

from pyref.tflite_math import std_round

from .base import SoftwareOp, Value


def _sample_axis(v: Value, axis: int, rank: int) -> int:
    """The numpy axis of TFLite axis ``axis`` (may be negative) in a value's array."""
    axis = axis + rank if axis < 0 else axis
    return axis + (1 if v.batched else 0)


def _same_quantization(op: SoftwareOp, tensors) -> None:
    y = op.outs[0]
    s_y, zp_y = op.need_per_tensor("output", y)
    for i, t in enumerate(tensors):
        s, zp = op.need_per_tensor(f"input {i}", t)
        if np.float32(s) != np.float32(s_y) or zp != zp_y:
            raise op.refuse(
                f"input {i} ({t.name!r}: scale {s}, zero point {zp}) and the output "
                f"(scale {s_y}, zero point {zp_y}) are quantized differently; TFLite "
                f"Micro requires them equal"
            )


class Concatenation(SoftwareOp):
    """CONCATENATION of int8/int16 tensors along ``axis`` (same quantization everywhere)."""

    names = ("CONCATENATION",)
    summary = "concatenate (no arithmetic)"

    def __init__(self, op, graph):
        super().__init__(op, graph)
        y = self.outs[0]
        self.need_types("output", y, ("INT8", "INT16", "INT32", "FLOAT32"))
        for i, t in enumerate(self.ins):
            self.need_types(f"input {i}", t, (y.type_name,))
        if y.type_name in ("INT8", "INT16"):
            _same_quantization(self, self.ins)
        if op.options is not None and op.options.fusedActivationFunction:
            raise self.refuse("a fused activation on CONCATENATION is not implemented")
        self.axis = int(op.options.axis) if op.options is not None else 0
        self.rank = len(y.shape)

    def run(self, inputs):
        batched = any(v.batched for v in inputs)
        n = next((v.array.shape[0] for v in inputs if v.batched), None)
        arrays = [
            v.array if v.batched or not batched else np.broadcast_to(v.array, (n,) + v.array.shape)
            for v in inputs
        ]
        axis = self.axis + self.rank if self.axis < 0 else self.axis
        return [Value(np.concatenate(arrays, axis=axis + (1 if batched else 0)), batched)]


class Pad(SoftwareOp):
    """PAD / PADV2: the output zero point (or PADV2's constant) around the input."""

    names = ("PAD", "PADV2")
    summary = "pad with the zero point (no arithmetic)"

    def __init__(self, op, graph):
        super().__init__(op, graph)
        x, y = self.ins[0], self.outs[0]
        self.need_types("input", x, ("INT8", "INT16"))
        self.need_types("output", y, (x.type_name,))
        _same_quantization(self, [x])
        p = self.ins[1]
        if p is None or p.data is None:
            raise self.refuse("the paddings input must be a constant")
        self.paddings = np.asarray(p.data, dtype=np.int64).reshape(-1, 2)
        if self.paddings.shape[0] != len(x.shape) or np.any(self.paddings < 0):
            raise self.refuse(
                f"paddings {self.paddings.tolist()} do not fit an input of rank "
                f"{len(x.shape)} (one non-negative pair per dimension)"
            )
        self.value = int(self.outs[0].zero_point[0])
        if len(self.ins) > 2 and self.ins[2] is not None:
            if self.ins[2].data is None:
                raise self.refuse("the constant_values input must be a constant")
            self.value = int(np.asarray(self.ins[2].data).ravel()[0])

    def run(self, inputs):
        v = inputs[0]
        pads = [tuple(p) for p in self.paddings.tolist()]
        if v.batched:
            pads = [(0, 0)] + pads
        return [Value(np.pad(v.array, pads, constant_values=self.value), v.batched)]


def nearest_index(out_size: int, in_size: int, align_corners: bool, half_pixel: bool) -> np.ndarray:
    """``GetNearestNeighbor`` for every output index, in float32 as TFLite computes it."""
    if align_corners and out_size > 1:
        scale = np.float32(in_size - 1) / np.float32(out_size - 1)
    else:
        scale = np.float32(in_size) / np.float32(out_size)
    offset = np.float32(0.5 if half_pixel else 0.0)
    pos = (np.arange(out_size, dtype=np.float32) + offset) * np.float32(scale)
    if align_corners:
        idx = np.array([std_round(float(p)) for p in pos], dtype=np.int64)
    else:
        idx = np.floor(pos).astype(np.int64)
    idx = np.minimum(idx, in_size - 1)
    return np.maximum(idx, 0) if half_pixel else idx


class ResizeNearestNeighbor(SoftwareOp):
    """RESIZE_NEAREST_NEIGHBOR of an NHWC tensor to the constant ``size`` (no arithmetic on the
    values)."""

    names = ("RESIZE_NEAREST_NEIGHBOR",)
    summary = "nearest-neighbour resize (index arithmetic only)"

    def __init__(self, op, graph):
        super().__init__(op, graph)
        x, y = self.ins[0], self.outs[0]
        self.need_types("input", x, ("INT8", "INT16"))
        self.need_types("output", y, (x.type_name,))
        if len(x.shape) != 4:
            raise self.refuse(f"input must be 4-D NHWC, is {list(x.shape)}")
        o = op.options
        align = bool(o.alignCorners) if o is not None else False
        half = bool(o.halfPixelCenters) if o is not None else False
        oh, ow = y.shape[1], y.shape[2]
        self.rows = nearest_index(oh, x.shape[1], align, half)
        self.cols = nearest_index(ow, x.shape[2], align, half)

    def run(self, inputs):
        v = inputs[0]
        a = v.array
        h_axis = 2 if v.batched else 1
        out = np.take(np.take(a, self.rows, axis=h_axis), self.cols, axis=h_axis + 1)
        return [Value(out, v.batched)]


OPS = (Concatenation, Pad, ResizeNearestNeighbor)
