"""QUANTIZE and DEQUANTIZE in numpy, bit-exact with TFLite Micro's ``quantize.cc`` /
``dequantize.cc`` (``AffineQuantize``, ``Requantize``, float32 arithmetic as in C)."""

from __future__ import annotations

import numpy as np

from pyref.fixed_point import multiply_by_quantized_multiplier
from pyref.tflite_math import quantize_multiplier

from .base import SoftwareOp, Value, clip_to


class Quantize(SoftwareOp):
    """QUANTIZE float32 -> int8/int16 (``AffineQuantize``) or int8/int16 -> int8/int16/int32
    (``Requantize``)."""

    names = ("QUANTIZE",)
    summary = "float32 -> int8/int16 rounding, or integer rescale"

    def __init__(self, op, graph):
        super().__init__(op, graph)
        x, y = self.ins[0], self.outs[0]
        self.need_types("input", x, ("FLOAT32", "INT8", "INT16"))
        self.need_types(
            "output",
            y,
            ("INT8", "INT16") if x.type_name == "FLOAT32" else ("INT8", "INT16", "INT32"),
        )
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
            q = a / np.float32(self.out_scale)  # float32 division, as in C
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


OPS = (Quantize, Dequantize)
