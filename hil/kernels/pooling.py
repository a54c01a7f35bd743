"""MAX_POOL_2D and AVERAGE_POOL_2D in numpy, bit-exact with TFLite Micro's ``pooling.cc``
(``reference_integer_ops::MaxPool`` / ``AveragePool``)."""

from __future__ import annotations

import numpy as np

from ..tflite.params import ActivationError, activation_range, window_padding
from .base import SoftwareOp, Value, as_nhwc


class Pool2D(SoftwareOp):
    """MAX_POOL_2D / AVERAGE_POOL_2D on int8 or int16 (``reference_integer_ops::MaxPool`` /
    ``AveragePool``, the same code for both types)."""

    names = ("MAX_POOL_2D", "AVERAGE_POOL_2D")
    summary = "int8/int16 pooling"

    def __init__(self, op, graph):
        super().__init__(op, graph)
        x, y = self.ins[0], self.outs[0]
        self.need_types("input", x, ("INT8", "INT16"))
        self.need_types("output", y, (x.type_name,))
        self.dtype = y.dtype
        if len(x.shape) != 4:
            raise self.refuse(f"input must be 4-D NHWC, is {list(x.shape)}")
        s_in, zp_in = self.need_per_tensor("input", x)
        s_out, zp_out = self.need_per_tensor("output", y)
        if abs(float(s_in) - float(s_out)) > 1e-6 or zp_in != zp_out:
            raise self.refuse(
                "input and output quantization differ (TFLite Micro refuses this too)"
            )
        o = op.options
        self.fh, self.fw = int(o.filterHeight), int(o.filterWidth)
        self.sh, self.sw = int(o.strideH), int(o.strideW)
        try:
            self.act = activation_range(
                o.fusedActivationFunction, s_out, zp_out, 8 * self.dtype.itemsize
            )
        except ActivationError as exc:
            raise self.refuse(str(exc)) from None
        self.pad = window_padding(
            o.padding, x.shape[1], x.shape[2], self.fh, self.fw, self.sh, self.sw
        )
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
        return [Value(out.astype(self.dtype), inputs[0].batched)]


OPS = (Pool2D,)
