"""DEPTHWISE_CONV_2D on the datapath. Output channel ``oc = ic * depth_multiplier + m`` at each
position is a dot product of length ``kh * kw``: the window of input channel ``ic`` against
column ``oc`` of the ``(1, kh, kw, Cout)`` filter (TFLite's ``DepthwiseConvPerChannel``).

Each input channel is one small layer: its windows ``(R, kh*kw)`` against its
``depth_multiplier`` filter columns. The network executor hands all of them to the backend at
once, so the RTL plays the whole operator as one stream of short jobs.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pyref.config import QmacConfig
from pyref.layer import Layer

from ..kernels.base import UnsupportedOpError, Value
from .graph import Graph, OpSpec
from .operands import (
    TFLITE_CONFIG,
    DatapathOperands,
    datapath_multipliers,
    fold_bias,
    read_operands,
)
from .params import window_padding
from .windows import ConvGeometry, window_patches


@dataclasses.dataclass
class DepthwiseSpec(DatapathOperands):
    """One DEPTHWISE_CONV_2D in the datapath's terms: ``w (C, kh*kw)`` (one filter column per
    output channel), the folded bias and the per-channel requantization."""

    conv: ConvGeometry
    depth_multiplier: int
    config: QmacConfig = TFLITE_CONFIG
    out_dtype: np.dtype = np.dtype(np.int8)

    def windows(self, v: Value) -> np.ndarray:
        """``(R, kh*kw, Cin)``: every output position's window, per input channel."""
        g = self.conv
        a = v.array if v.batched else v.array[None]
        img = a.reshape((-1, g.in_h, g.in_w, g.cin)).astype(np.int64)
        patches = window_patches(img, g, self.in_zp)
        return patches.reshape(-1, g.kh * g.kw, g.cin)

    def layers(self, v: Value) -> list[Layer]:
        """One layer per input channel: its windows against its ``depth_multiplier`` columns."""
        win = self.windows(v)
        dm = self.depth_multiplier
        out = []
        for ic in range(self.conv.cin):
            ch = slice(ic * dm, (ic + 1) * dm)
            out.append(
                Layer.build(
                    self.config,
                    win[:, :, ic],
                    self.w[ch],
                    self.bias[ch],
                    self.mult[ch],
                    self.shift[ch],
                    self.out_zp,
                    self.act_min,
                    self.act_max,
                )
            )
        return out

    def assemble(self, ys: list[np.ndarray]) -> np.ndarray:
        """``(R, C)`` from the per-input-channel ``(R, depth_multiplier)`` outputs."""
        return np.concatenate([np.asarray(y) for y in ys], axis=1)

    def output_value(self, y: np.ndarray, n_samples: int) -> Value:
        return Value(
            np.asarray(y).reshape((n_samples,) + self.out_shape).astype(self.out_dtype), True
        )

    def describe(self) -> str:
        return f"depthwise x{self.depth_multiplier} " + self.conv.describe(self.c)


def lower_depthwise(op: OpSpec, graph: Graph, config: QmacConfig = TFLITE_CONFIG) -> DepthwiseSpec:
    """Turn one DEPTHWISE_CONV_2D (int8 or 16x8) into a :class:`DepthwiseSpec`."""
    where = op.label()

    def refuse(why: str) -> UnsupportedOpError:
        return UnsupportedOpError(f"{where}: {why}")

    o = read_operands(op, graph, 0, 1, 2, 3, config)
    x, filt = o.x, o.w
    if filt.ndim != 4 or filt.shape[0] != 1 or len(x.shape) != 4:
        raise refuse(
            f"needs a 4-D input and a (1, kh, kw, Cout) filter, got {list(x.shape)} "
            f"and {list(filt.shape)}"
        )
    _, kh, kw, cout = filt.shape
    cin = x.shape[3]
    opts = op.options
    dm = int(opts.depthMultiplier) if opts is not None else 1
    if dm < 1 or cin * dm != cout:
        # TFLite Micro derives the multiplier from the shapes; the option must agree.
        if cout % cin:
            raise refuse(f"output depth {cout} is not a multiple of input depth {cin}")
        dm = cout // cin
    sh, sw = int(opts.strideH), int(opts.strideW)
    dh, dw = int(opts.dilationHFactor) or 1, int(opts.dilationWFactor) or 1
    pad = window_padding(opts.padding, x.shape[1], x.shape[2], kh, kw, sh, sw, dh, dw)
    if (pad.out_h, pad.out_w) != (o.out_shape[1], o.out_shape[2]):
        raise refuse(
            f"output tensor is {list(o.out_shape)} but the window gives {pad.out_h}x{pad.out_w}"
        )
    geom = ConvGeometry(
        kh,
        kw,
        cin,
        sh,
        sw,
        dh,
        dw,
        x.shape[1],
        x.shape[2],
        pad,
        "SAME" if opts.padding == 0 else "VALID",
    )
    w = filt[0].reshape(kh * kw, cout).T.copy()
    mult, shift = datapath_multipliers(o, cout)
    return DepthwiseSpec(
        op=op,
        input_index=x.index,
        output_index=op.outputs[0],
        w=w,
        bias=fold_bias(o.bias, w, o.in_zp, o.config, where),
        mult=mult,
        shift=shift,
        in_zp=o.in_zp,
        out_zp=o.out_zp,
        act_min=o.act_min,
        act_max=o.act_max,
        per_channel=o.per_channel,
        activation=o.activation,
        out_shape=o.out_shape,
        conv=geom,
        depth_multiplier=dm,
        config=o.config,
        out_dtype=o.out_dtype,
    )
