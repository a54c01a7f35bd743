"""Elementwise arithmetic in numpy, bit-exact with TFLite Micro's integer kernels
(``add.cc``, ``sub.cc``, ``mul.cc``): ADD and SUB (int8 and int16, ``reference_integer_ops::Add``
/ ``Sub``: both inputs rescaled to twice the larger input scale after a left shift, summed or
subtracted, requantized) and MUL (int8 and int16, ``reference_integer_ops::Mul``: one
requantization of the product of the offset inputs). All broadcast as TFLite does."""

from __future__ import annotations

import numpy as np

from pyref.fixed_point import multiply_by_quantized_multiplier
from pyref.tflite_math import quantize_multiplier

from ..tflite.params import ActivationError, activation_range
from .base import SoftwareOp, UnsupportedOpError, Value, broadcast_pair


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
        self.my, self.sy = _smaller_than_one(
            twice_max / ((1 << self.left_shift) * float(np.float32(sy)))
        )
        try:
            self.act = activation_range(
                op.options.fusedActivationFunction if op.options else 0,
                sy,
                self.zpy,
                16 if y.type_name == "INT16" else 8,
            )
        except ActivationError as exc:
            raise self.refuse(str(exc)) from None

    def operands(self, inputs) -> tuple[np.ndarray, np.ndarray, bool]:
        """Both inputs rescaled to the common scale (``(x - zp) << left_shift``, then its
        multiplier), broadcastable against each other."""
        a, b, batched = broadcast_pair(inputs[0], inputs[1])
        xa = multiply_by_quantized_multiplier((a - self.zpa) << self.left_shift, self.ma, self.sa)
        xb = multiply_by_quantized_multiplier((b - self.zpb) << self.left_shift, self.mb, self.sb)
        return xa, xb, batched

    def run(self, inputs):
        xa, xb, batched = self.operands(inputs)
        y = multiply_by_quantized_multiplier(xa + xb, self.my, self.sy) + self.zpy
        return [Value(np.clip(y, *self.act).astype(self.dtype), batched)]


def _smaller_than_one(real: float) -> tuple[int, int]:
    """``QuantizeMultiplierSmallerThanOneExp``: (M, s) with s <= 0 for 0 < real < 1."""
    if not 0.0 < real < 1.0:
        raise UnsupportedOpError(f"rescale factor {real!r} is not in (0, 1)")
    return quantize_multiplier(real)


def _operands(inputs: list[Value]) -> tuple[np.ndarray, np.ndarray, bool]:
    """The two inputs as int64 arrays that broadcast against each other (a constant gets a
    sample axis of 1)."""
    return broadcast_pair(inputs[0], inputs[1])


class Mul(SoftwareOp):
    """MUL of two int8 or two int16 tensors: ``zp_y + MBQM((a - zp_a) * (b - zp_b), M, s)``,
    clamped, with ``(M, s)`` from ``double(s_a) * double(s_b) / double(s_y)``."""

    names = ("MUL",)
    summary = "int8/int16 elementwise multiply"

    def __init__(self, op, graph):
        super().__init__(op, graph)
        a, b, y = self.ins[0], self.ins[1], self.outs[0]
        self.need_types("first input", a, ("INT8", "INT16"))
        for which, t in (("second input", b), ("output", y)):
            self.need_types(which, t, (a.type_name,))
        self.dtype = y.dtype
        sa, self.zpa = self.need_per_tensor("first input", a)
        sb, self.zpb = self.need_per_tensor("second input", b)
        sy, self.zpy = self.need_per_tensor("output", y)
        self.mult, self.shift = quantize_multiplier(
            float(np.float32(sa)) * float(np.float32(sb)) / float(np.float32(sy))
        )
        try:
            self.act = activation_range(
                op.options.fusedActivationFunction if op.options else 0,
                sy,
                self.zpy,
                8 * self.dtype.itemsize,
            )
        except ActivationError as exc:
            raise self.refuse(str(exc)) from None

    def run(self, inputs):
        a, b, batched = _operands(inputs)
        y = (
            multiply_by_quantized_multiplier((a - self.zpa) * (b - self.zpb), self.mult, self.shift)
            + self.zpy
        )
        return [Value(np.clip(y, *self.act).astype(self.dtype), batched)]


class Sub(Add):
    """SUB of two int8 or int16 tensors: ADD's rescaling with the second input subtracted."""

    names = ("SUB",)
    summary = "int8/int16 elementwise subtract"

    def run(self, inputs):
        xa, xb, batched = self.operands(inputs)
        y = multiply_by_quantized_multiplier(xa - xb, self.my, self.sy) + self.zpy
        return [Value(np.clip(y, *self.act).astype(self.dtype), batched)]


OPS = (Add, Sub, Mul)
