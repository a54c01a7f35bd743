"""MEAN and REDUCE_MAX in numpy, bit-exact with TFLite Micro's ``reduce.cc`` (MEAN int8/int16:
one integer rescale with the division by the element count folded into the multiplier;
REDUCE_MAX: the maximum, input and output quantization equal)."""

from __future__ import annotations

import numpy as np

from pyref.fixed_point import multiply_by_quantized_multiplier
from pyref.tflite_math import quantize_multiplier

from .base import SoftwareOp, Value, clip_to


def mean_multiplier(mult: int, shift: int, count: int) -> tuple[int, int]:
    """The rescale ``(M, s)`` with the division by ``count`` folded in, as TFLite's integer
    ``QuantizedMeanOrSum`` does: ``t = min(floor(log2 count), 32, 31 + s)``,
    ``M' = (M * 2^t) // count``, ``s' = s - t``."""
    t = min(count.bit_length() - 1, 32, 31 + shift)
    return (mult << t) // count, shift - t


class Mean(SoftwareOp):
    """MEAN of int8 or int16 over constant axes: ``zp_out + MBQM(sum(x - zp_in), M', s')`` clamped,
    with ``(M', s')`` from ``s_in / s_out`` and the element count (:func:`mean_multiplier`)."""

    names = ("MEAN",)
    summary = "int8/int16 mean (integer rescale with the count folded in)"

    def __init__(self, op, graph):
        super().__init__(op, graph)
        x, y = self.ins[0], self.outs[0]
        self.need_types("input", x, ("INT8", "INT16"))
        self.need_types("output", y, (x.type_name,))
        s_in, self.zp_in = self.need_per_tensor("input", x)
        s_out, self.zp_out = self.need_per_tensor("output", y)
        a = self.ins[1]
        if a is None or a.data is None:
            raise self.refuse("the axis input must be a constant")
        rank = len(x.shape)
        self.axes = tuple(
            sorted({int(d) + rank if int(d) < 0 else int(d) for d in np.asarray(a.data).ravel()})
        )
        count = int(np.prod([x.shape[d] for d in self.axes]))
        m, s = quantize_multiplier(float(np.float32(s_in)) / float(np.float32(s_out)))
        self.mult, self.shift = mean_multiplier(m, s, count)
        self.out_shape = y.shape
        self.dtype = y.dtype

    def run(self, inputs):
        v = inputs[0]
        off = 1 if v.batched else 0
        total = (v.array.astype(np.int64) - self.zp_in).sum(axis=tuple(d + off for d in self.axes))
        y = multiply_by_quantized_multiplier(total, self.mult, self.shift) + self.zp_out
        lead = (y.shape[0],) if v.batched else ()
        return [Value(clip_to(y, self.dtype).reshape(lead + self.out_shape), v.batched)]


def _axes(kernel: SoftwareOp) -> tuple[int, ...]:
    a = kernel.ins[1]
    if a is None or a.data is None:
        raise kernel.refuse("the axis input must be a constant")
    rank = len(kernel.ins[0].shape)
    return tuple(
        sorted({int(d) + rank if int(d) < 0 else int(d) for d in np.asarray(a.data).ravel()})
    )


class ReduceMax(SoftwareOp):
    """REDUCE_MAX of int8 over constant axes (``ReduceGeneric`` with max): TFLite Micro
    requires the output quantization to equal the input's (so no arithmetic) and has no int16."""

    names = ("REDUCE_MAX",)
    summary = "int8 max over axes (no arithmetic)"

    def __init__(self, op, graph):
        super().__init__(op, graph)
        x, y = self.ins[0], self.outs[0]
        self.need_types("input", x, ("INT8",))
        self.need_types("output", y, (x.type_name,))
        s_in, zp_in = self.need_per_tensor("input", x)
        s_out, zp_out = self.need_per_tensor("output", y)
        if np.float32(s_in) != np.float32(s_out) or zp_in != zp_out:
            raise self.refuse("input and output quantization differ (TFLite Micro refuses this)")
        self.axes = _axes(self)
        self.out_shape = y.shape

    def run(self, inputs):
        v = inputs[0]
        off = 1 if v.batched else 0
        y = v.array.max(axis=tuple(d + off for d in self.axes))
        lead = (y.shape[0],) if v.batched else ()
        return [Value(y.reshape(lead + self.out_shape), v.batched)]


OPS = (Mean, ReduceMax)
