"""Elementwise arithmetic in numpy, bit-exact with TFLite Micro's integer kernels: MUL (int8 and int16,
``reference_integer_ops::Mul``: one requantization of the product of the offset inputs) and SUB
(int8 and int16, ``reference_integer_ops::Sub``: both inputs rescaled to a common scale after a
left shift, subtracted, requantized, as ADD does). Both broadcast as TFLite does."""

from __future__ import annotations

import numpy as np

from pyref.tflite_math import multiply_by_quantized_multiplier, quantize_multiplier

from .base import SoftwareOp, Value
from .reshape import Add
from ..tflite.params import ActivationError, activation_range


def _operands(inputs: list[Value]) -> tuple[np.ndarray, np.ndarray, bool]:
    """The two inputs as int64 arrays that broadcast against each other (a constant gets a
    sample axis of 1)."""
    va, vb = inputs[0], inputs[1]
    a, b = va.array.astype(np.int64), vb.array.astype(np.int64)
    if va.batched != vb.batched:
        if va.batched:
            b = b[None]
        else:
            a = a[None]
    return a, b, va.batched or vb.batched


class Mul(SoftwareOp):
    """MUL of two int8 or two int16 tensors: ``zp_y + MBQM((a - zp_a) * (b - zp_b), M, s)``, clamped, with
    ``(M, s)`` from ``double(s_a) * double(s_b) / double(s_y)``."""

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
            float(np.float32(sa)) * float(np.float32(sb)) / float(np.float32(sy)))
        try:
            self.act = activation_range(op.options.fusedActivationFunction if op.options else 0,
                                        sy, self.zpy, 8 * self.dtype.itemsize)
        except ActivationError as exc:
            raise self.refuse(str(exc)) from None

    def run(self, inputs):
        a, b, batched = _operands(inputs)
        y = multiply_by_quantized_multiplier((a - self.zpa) * (b - self.zpb), self.mult,
                                             self.shift) + self.zpy
        return [Value(np.clip(y, *self.act).astype(self.dtype), batched)]


class Sub(Add):
    """SUB of two int8 or int16 tensors: ADD's rescaling with the second input subtracted."""

    names = ("SUB",)
    summary = "int8/int16 elementwise subtract"

    def run(self, inputs):
        xa, xb, batched = self.operands(inputs)
        y = multiply_by_quantized_multiplier(xa - xb, self.my, self.sy) + self.zpy
        return [Value(np.clip(y, *self.act).astype(self.dtype), batched)]


ELEMENTWISE_OPS = (Mul, Sub)
