"""The operators the datapath does not run, in numpy, bit-exact with TFLite Micro's reference
kernels (``tensorflow/lite/kernels/internal/reference``) for the int8 cases implemented here.

A value flowing through the graph is a :class:`Value`: the array and whether its leading axis is
the sample index (activations, ``batched``) or it is the same for every sample (constants and
shape arithmetic). TFLite's own batch dimension (usually 1) is kept after the sample axis.

Each operator is a class: ``__init__`` checks the operator's types and options once, at import,
raising :class:`UnsupportedOpError` for a case it does not implement; ``run`` computes.
"""

from __future__ import annotations

import numpy as np

from pyref.tflite_math import multiply_by_quantized_multiplier, quantize_multiplier

from .base import SoftwareOp, UnsupportedOpError, Value, _int8, as_nhwc, clip_to  # noqa: F401
from .softmax import softmax_int8, softmax_params
from ..tflite.graph import Graph, OpSpec
from ..tflite.params import ActivationError, activation_range, window_padding


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


class Quantize(SoftwareOp):
    """QUANTIZE float32 -> int8/int16 (``AffineQuantize``) or int8/int16 -> int8/int16
    (``Requantize``)."""

    names = ("QUANTIZE",)
    summary = "float32 -> int8/int16 rounding, or integer rescale"

    def __init__(self, op, graph):
        super().__init__(op, graph)
        x, y = self.ins[0], self.outs[0]
        self.need_types("input", x, ("FLOAT32", "INT8", "INT16"))
        self.need_types("output", y, ("INT8", "INT16"))
        self.dtype = y.dtype
        self.out_scale, self.out_zp = self.need_per_tensor("output", y)
        if x.type_name != "FLOAT32":
            in_scale, self.in_zp = self.need_per_tensor("input", x)
            real = float(np.float32(in_scale)) / float(np.float32(self.out_scale))
            self.mult, self.shift = quantize_multiplier(real)

    def run(self, inputs):
        v = inputs[0]
        a = v.array
        if a.dtype == np.float32:
            q = a / np.float32(self.out_scale)              # float32 division, as in C
            # TfLiteRound is round-half-away; floor(|q| + 0.5) is exact in double for float32 q.
            r = np.floor(np.abs(q).astype(np.float64) + 0.5) * np.sign(q)
            return [Value(clip_to(r + self.out_zp, self.dtype), v.batched)]
        x = a.astype(np.int64) - self.in_zp
        y = multiply_by_quantized_multiplier(x, self.mult, self.shift) + self.out_zp
        return [Value(clip_to(y, self.dtype), v.batched)]


class Dequantize(SoftwareOp):
    """DEQUANTIZE int8/int16 -> float32: ``float32(scale) * float32(q - zp)`` in float32."""

    names = ("DEQUANTIZE",)
    summary = "int8/int16 -> float32"

    def __init__(self, op, graph):
        super().__init__(op, graph)
        self.need_types("input", self.ins[0], ("INT8", "INT16"))
        self.need_types("output", self.outs[0], ("FLOAT32",))
        self.scale, self.zp = self.need_per_tensor("input", self.ins[0])

    def run(self, inputs):
        v = inputs[0]
        d = (v.array.astype(np.int32) - self.zp).astype(np.float32)
        return [Value(np.float32(self.scale) * d, v.batched)]


class Pool2D(SoftwareOp):
    """MAX_POOL_2D / AVERAGE_POOL_2D on int8 (``reference_integer_ops::MaxPool/AveragePool``)."""

    names = ("MAX_POOL_2D", "AVERAGE_POOL_2D")
    summary = "int8 pooling"

    def __init__(self, op, graph):
        super().__init__(op, graph)
        x, y = self.ins[0], self.outs[0]
        self.need_types("input", x, ("INT8",))
        self.need_types("output", y, ("INT8",))
        if len(x.shape) != 4:
            raise self.refuse(f"input must be 4-D NHWC, is {list(x.shape)}")
        s_in, zp_in = self.need_per_tensor("input", x)
        s_out, zp_out = self.need_per_tensor("output", y)
        if abs(float(s_in) - float(s_out)) > 1e-6 or zp_in != zp_out:
            raise self.refuse("input and output quantization differ (TFLite Micro refuses this too)")
        o = op.options
        self.fh, self.fw = int(o.filterHeight), int(o.filterWidth)
        self.sh, self.sw = int(o.strideH), int(o.strideW)
        try:
            self.act = activation_range(o.fusedActivationFunction, s_out, zp_out)
        except ActivationError as exc:
            raise self.refuse(str(exc)) from None
        self.pad = window_padding(o.padding, x.shape[1], x.shape[2], self.fh, self.fw, self.sh, self.sw)
        self.average = op.name == "AVERAGE_POOL_2D"

    def run(self, inputs):
        a, lead = as_nhwc(inputs[0])
        a = a.astype(np.int64)
        b, h, w, c = a.shape
        p = self.pad
        out = np.empty((b, p.out_h, p.out_w, c), dtype=np.int64)
        for oy in range(p.out_h):
            y0 = oy * self.sh - p.pad_top
            ys, ye = max(0, y0), min(h, y0 + self.fh)
            for ox in range(p.out_w):
                x0 = ox * self.sw - p.pad_left
                xs, xe = max(0, x0), min(w, x0 + self.fw)
                win = a[:, ys:ye, xs:xe, :]
                if self.average:
                    count = (ye - ys) * (xe - xs)
                    acc = win.sum(axis=(1, 2))
                    half = count // 2
                    # C integer division truncates toward zero.
                    num = np.where(acc > 0, acc + half, acc - half)
                    out[:, oy, ox, :] = np.sign(num) * (np.abs(num) // count)
                else:
                    out[:, oy, ox, :] = win.max(axis=(1, 2))
        out = np.clip(out, *self.act)
        out = out.reshape(lead + out.shape[1:]) if inputs[0].batched else out
        return [Value(out.astype(np.int8), inputs[0].batched)]


class Add(SoftwareOp):
    """ADD of two int8 or int16 tensors (``reference_integer_ops::Add``: each input rescaled to
    twice the larger input scale after a left shift of 20 (int8) or 15 (int16), summed,
    requantized), with broadcast."""

    names = ("ADD",)
    summary = "int8/int16 elementwise add"

    def __init__(self, op, graph):
        super().__init__(op, graph)
        a, b, y = self.ins[0], self.ins[1], self.outs[0]
        self.need_types("output", y, ("INT8", "INT16"))
        for which, t in (("first input", a), ("second input", b)):
            self.need_types(which, t, (y.type_name,))
        self.dtype = y.dtype
        self.left_shift = 15 if y.type_name == "INT16" else 20
        sa, self.zpa = self.need_per_tensor("first input", a)
        sb, self.zpb = self.need_per_tensor("second input", b)
        sy, self.zpy = self.need_per_tensor("output", y)
        twice_max = 2.0 * float(max(np.float32(sa), np.float32(sb)))
        self.ma, self.sa = _smaller_than_one(float(np.float32(sa)) / twice_max)
        self.mb, self.sb = _smaller_than_one(float(np.float32(sb)) / twice_max)
        self.my, self.sy = _smaller_than_one(twice_max / ((1 << self.left_shift) * float(np.float32(sy))))
        try:
            self.act = activation_range(op.options.fusedActivationFunction if op.options else 0,
                                        sy, self.zpy, 16 if y.type_name == "INT16" else 8)
        except ActivationError as exc:
            raise self.refuse(str(exc)) from None

    def operands(self, inputs) -> tuple[np.ndarray, np.ndarray, bool]:
        """Both inputs rescaled to the common scale (``(x - zp) << left_shift``, then its
        multiplier), broadcastable against each other."""
        va, vb = inputs[0], inputs[1]
        a, b = va.array.astype(np.int64), vb.array.astype(np.int64)
        if va.batched != vb.batched:  # give the static operand a sample axis of 1
            if va.batched:
                b = b[None]
            else:
                a = a[None]
        xa = multiply_by_quantized_multiplier((a - self.zpa) << self.left_shift, self.ma, self.sa)
        xb = multiply_by_quantized_multiplier((b - self.zpb) << self.left_shift, self.mb, self.sb)
        return xa, xb, va.batched or vb.batched

    def run(self, inputs):
        xa, xb, batched = self.operands(inputs)
        y = multiply_by_quantized_multiplier(xa + xb, self.my, self.sy) + self.zpy
        return [Value(np.clip(y, *self.act).astype(self.dtype), batched)]


def _smaller_than_one(real: float) -> tuple[int, int]:
    """``QuantizeMultiplierSmallerThanOneExp``: (M, s) with s <= 0 for 0 < real < 1."""
    if not 0.0 < real < 1.0:
        raise UnsupportedOpError(f"rescale factor {real!r} is not in (0, 1)")
    return quantize_multiplier(real)


class Softmax(SoftwareOp):
    """SOFTMAX int8 -> int8 over the last axis (:mod:`hil.kernels.softmax`)."""

    names = ("SOFTMAX",)
    summary = "int8 softmax (gemmlowp fixed point)"

    def __init__(self, op, graph):
        super().__init__(op, graph)
        x, y = self.ins[0], self.outs[0]
        self.need_types("input", x, ("INT8",))
        self.need_types("output", y, ("INT8",))
        s_in, _ = self.need_per_tensor("input", x)
        s_out, zp_out = self.need_per_tensor("output", y)
        if zp_out != -128 or np.float32(s_out) != np.float32(1 / 256):
            raise self.refuse(f"int8 output must have zero point -128 and scale 1/256 "
                              f"(TFLite Micro requires it), has {zp_out} and {s_out}")
        beta = float(op.options.beta) if op.options is not None else 1.0
        try:
            self.params = softmax_params(beta, s_in)
        except ValueError as exc:
            raise self.refuse(str(exc)) from None

    def run(self, inputs):
        v = inputs[0]
        return [Value(softmax_int8(v.array, *self.params), v.batched)]


BASIC_OPS = (Reshape, Shape, Pack, StridedSlice, Quantize, Dequantize, Pool2D, Add, Softmax)
"""The kernels of this module; :mod:`hil.kernels` collects every module's."""
