"""The dense layers of an int8 ONNX model on the datapath (config ``fp32``, ONNX Runtime's
binary32 requantization): every QLinearConv, QLinearMatMul and QGemm (QOperator format), and
every Conv, MatMul or Gemm between DequantizeLinear inputs and one QuantizeLinear output (QDQ
format, the patterns ONNX Runtime fuses into those kernels), becomes an :class:`OnnxDense`
layer; the other nodes run in numpy (:mod:`hil.onnx.ops`).

The datapath computes ``clamp(rhe(fl32(fl32(bias' + sum_k x[k] w[c][k]) * scale[c])) + y_zp)``
on the raw int8 ``x``; ONNX Runtime computes the same with ``sum_k (x[k] - x_zp) w[c][k]`` and
the int32 bias, so ``bias' = bias - x_zp * sum_k w[c][k]``. The scale is formed as ONNX Runtime
forms it, in binary32: ``fl32(fl32(x_scale * w_scale[c]) / y_scale)``. A convolution is the same
dot product over im2col patches (NCHW, weights ``(C, Cin, kh, kw)``); padded positions hold
``x_zp`` and add nothing, as in ONNX Runtime.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np

from pyref.config import QmacConfig, named_config
from pyref.fp32_math import scale_to_mult
from pyref.layer import Layer

from ..kernels.base import Value
from .graph import Node, OnnxGraph, OnnxImportError

FP32_CONFIG: QmacConfig = named_config("fp32")
"""The datapath config of ONNX models with int8 activations: binary32 per-channel scales."""

FP32_U8_CONFIG: QmacConfig = FP32_CONFIG.replace(in_signed=False, out_bits=9)
"""The config of models with uint8 activations (ONNX Runtime's default for QDQ): unsigned x,
outputs clamped to 0 .. 255 (9-bit signed range, so a uint8 zero point fits)."""

ACTIVATION_TYPES = {
    np.dtype(np.int8): (FP32_CONFIG, -128, 127),
    np.dtype(np.uint8): (FP32_U8_CONFIG, 0, 255),
}
"""Activation type -> (datapath config, act_min, act_max)."""


@dataclasses.dataclass(frozen=True)
class ConvWindow:
    """A 2-D convolution's window (NCHW): filter, strides, dilations, pads (top, left, bottom,
    right), input and output size, groups. ``cin`` is the input's channel count (all groups)."""

    cin: int
    kh: int
    kw: int
    strides: tuple[int, int]
    dilations: tuple[int, int]
    pads: tuple[int, int, int, int]
    in_hw: tuple[int, int]
    out_hw: tuple[int, int]
    groups: int = 1
    one_d: bool = False
    """A 1-D convolution (NCL), run as a 2-D one of height 1."""


@dataclasses.dataclass
class OnnxDense:
    """One dense layer of the model in the datapath's terms."""

    node: Node
    pattern: str  # "QLinearConv", "QLinearMatMul", "QGemm", "QDQ Conv", ...
    input: str  # the int8 activation tensor
    output: str  # the int8 result tensor
    w: np.ndarray  # (C, K)
    bias: np.ndarray  # (C,), x_zp folded in
    mult: np.ndarray  # (C,) binary32 bit patterns of the scales
    x_zp: int
    y_zp: int
    per_channel: bool
    dtype: np.dtype = np.dtype(np.int8)
    """Activation type of the input and the output (int8 or uint8)."""
    conv: ConvWindow | None = None
    absorbed: tuple[int, ...] = ()
    """Indices of QDQ nodes this layer stands for (their own outputs are not needed)."""
    fused_by_ort: bool = True
    """False for a QDQ pattern ONNX Runtime leaves in float (set by the importer)."""
    float_output: str = ""
    """The float node's output tensor (QDQ patterns): present in ORT's optimized graph exactly
    when ORT did not fuse the pattern."""
    shift: np.ndarray | int = 0
    """(C,) right shifts of the shift-only config (power-of-two scales); 0 in fp32 mode."""
    datapath: QmacConfig | None = None
    """The config when not the fp32 one of the activation type (:func:`to_shift_only`)."""
    weight: str = ""
    """The name of the int8 weight initializer (ONNX Runtime's fused node keeps it)."""

    @property
    def config(self) -> QmacConfig:
        return self.datapath or ACTIVATION_TYPES[np.dtype(self.dtype)][0]

    @property
    def c(self) -> int:
        return self.w.shape[0]

    @property
    def k(self) -> int:
        return self.w.shape[1]

    @property
    def quant(self) -> str:
        return "per-channel" if self.per_channel else "per-tensor"

    vector_parts: ClassVar[bool] = True
    """Each group of a grouped convolution gets its own vector file."""

    def stages(self, x: Value):
        """The one stage of the plan's executor: the layers of ``x``'s rows in, the output
        tensor (batch first, the model's layout) out."""
        parts = self.layers(self.rows(x.array))
        ys = yield self.config, parts
        return self.to_tensor(np.concatenate(ys, axis=1), x.array.shape)

    def output_value(self, y: np.ndarray, n_samples: int) -> Value:
        """The output tensor's value (``y`` from :meth:`stages`)."""
        return Value(y, True)

    def rows(self, x: np.ndarray) -> np.ndarray:
        """``(R, K)`` input rows from the activation ``x`` (batch first)."""
        x = np.asarray(x).astype(np.int64)
        if self.conv is None:
            if x.shape[-1] != self.k:
                raise OnnxImportError(
                    f"{self.node.label()}: input has {x.shape[-1]} columns, "
                    f"the weights K = {self.k}"
                )
            return x.reshape(-1, self.k)
        if self.conv.one_d:
            x = x[:, :, None, :]
        return im2col_nchw(x, self.conv, self.x_zp)

    def to_tensor(self, y: np.ndarray, x_shape: tuple[int, ...]) -> np.ndarray:
        """The ``(R, C)`` results in the output tensor's layout, as int8."""
        y = np.asarray(y).astype(self.dtype)
        if self.conv is None:
            return y.reshape(tuple(x_shape[:-1]) + (self.c,))
        oh, ow = self.conv.out_hw
        y = y.reshape(x_shape[0], oh, ow, self.c).transpose(0, 3, 1, 2)
        return y[:, :, 0, :] if self.conv.one_d else y

    def layer(self, rows: np.ndarray) -> Layer:
        _, lo, hi = ACTIVATION_TYPES[np.dtype(self.dtype)]
        return Layer.build(
            self.config, rows, self.w, self.bias, self._mult(), self.shift, self.y_zp, lo, hi
        )

    def _mult(self):
        return None if self.config.mult_bits == 0 else self.mult

    def layers(self, rows: np.ndarray) -> list[Layer]:
        """The layers of ``rows`` (from :meth:`rows`): one, or one per group of a grouped
        convolution (group ``j``: its input channels' patch columns against its output
        channels; a depthwise convolution is ``kh*kw``-long dot products, one layer per input
        channel, as for TFLite's DEPTHWISE_CONV_2D)."""
        groups = 1 if self.conv is None else self.conv.groups
        if groups == 1:
            return [self.layer(rows)]
        _, lo, hi = ACTIVATION_TYPES[np.dtype(self.dtype)]
        k, cg = self.k, self.c // groups
        mult = None if self.config.mult_bits == 0 else self.mult
        shift = np.broadcast_to(np.asarray(self.shift), (self.c,))
        return [
            Layer.build(
                self.config,
                rows[:, j * k : (j + 1) * k],
                self.w[j * cg : (j + 1) * cg],
                self.bias[j * cg : (j + 1) * cg],
                None if mult is None else mult[j * cg : (j + 1) * cg],
                shift[j * cg : (j + 1) * cg],
                self.y_zp,
                lo,
                hi,
            )
            for j in range(groups)
        ]

    def describe(self) -> str:
        if self.conv is None:
            return f"K={self.k} C={self.c}"
        g = self.conv
        grouped = f" group {g.groups}" if g.groups > 1 else ""
        return (
            f"{g.kh}x{g.kw}x{g.cin}->{self.c}{grouped} s{g.strides[0]}x{g.strides[1]} "
            f"p{','.join(map(str, g.pads))} out {g.out_hw[0]}x{g.out_hw[1]}"
        )


def im2col_nchw(x: np.ndarray, g: ConvWindow, pad_value: int) -> np.ndarray:
    """``(B, Cin, H, W)`` -> ``(B*oh*ow, Cin*kh*kw)`` patches in the weights' ``(cin, ky, kx)``
    order; outside the image ``pad_value``."""
    b = x.shape[0]
    t, left, bottom, right = g.pads
    padded = np.pad(x, ((0, 0), (0, 0), (t, bottom), (left, right)), constant_values=pad_value)
    (sh, sw), (dh, dw), (oh, ow) = g.strides, g.dilations, g.out_hw
    patches = np.empty((b, oh, ow, g.cin, g.kh, g.kw), dtype=x.dtype)
    for ky in range(g.kh):
        for kx in range(g.kw):
            y0, x0 = ky * dh, kx * dw
            sl = padded[:, :, y0 : y0 + (oh - 1) * sh + 1 : sh, x0 : x0 + (ow - 1) * sw + 1 : sw]
            patches[:, :, :, :, ky, kx] = sl.transpose(0, 2, 3, 1)
    return patches.reshape(b * oh * ow, g.cin * g.kh * g.kw)


def requant_scales(x_scale, w_scale, y_scale, c: int, where: str) -> np.ndarray:
    """The binary32 scales ONNX Runtime requantizes with, as bit patterns: (x_s * w_s) / y_s."""
    xs = np.float32(np.asarray(x_scale, np.float32).reshape(-1)[0])
    ys = np.float32(np.asarray(y_scale, np.float32).reshape(-1)[0])
    ws = np.asarray(w_scale, np.float32).reshape(-1)
    if ws.size not in (1, c):
        raise OnnxImportError(f"{where}: {ws.size} weight scales for {c} output channels")
    scale = np.broadcast_to((xs * ws) / ys, (c,)).astype(np.float32)
    try:
        return scale_to_mult(scale)
    except ValueError as exc:
        raise OnnxImportError(f"{where}: {exc}") from None


def _scalar(graph: OnnxGraph, node: Node, i: int, what: str, default=None):
    name = node.inputs[i] if i < len(node.inputs) else ""
    if not name:
        if default is None:
            raise OnnxImportError(f"{node.label()}: needs its {what} input")
        return np.asarray(default)
    return graph.constant(name, node, what)


def _activation_type(node: Node, x_zp: np.ndarray, y_zp: np.ndarray) -> np.dtype:
    """int8 or uint8, the same for input and output (from the zero points' types)."""
    if x_zp.dtype != y_zp.dtype or np.dtype(x_zp.dtype) not in ACTIVATION_TYPES:
        raise OnnxImportError(
            f"{node.label()}: input {x_zp.dtype} / output {y_zp.dtype}; the "
            "datapath runs int8 or uint8 activations, the same in and out"
        )
    return np.dtype(x_zp.dtype)


def _weights(graph: OnnxGraph, node: Node, w: np.ndarray, w_zp, what: str) -> np.ndarray:
    if w.dtype != np.int8:
        raise OnnxImportError(f"{node.label()}: {what} is {w.dtype}, expected int8")
    if np.any(np.asarray(w_zp) != 0):
        raise OnnxImportError(
            f"{node.label()}: {what} has a non-zero zero point; int8 weights must be symmetric"
        )
    return w.astype(np.int64)


def _fold(bias, w: np.ndarray, x_zp: int, config: QmacConfig, where: str) -> np.ndarray:
    bias = np.zeros(w.shape[0], np.int64) if bias is None else np.asarray(bias).astype(np.int64)
    if bias.reshape(-1).shape != (w.shape[0],):
        raise OnnxImportError(f"{where}: {bias.size} bias values for {w.shape[0]} channels")
    folded = bias.reshape(-1) - x_zp * w.sum(axis=1)
    lo, hi = config.bias_range
    bad = (folded < lo) | (folded > hi)
    if np.any(bad):
        c = int(np.argmax(bad))
        raise OnnxImportError(
            f"{where}: folded bias[{c}] = {int(folded[c])} is out of range {lo} .. {hi}"
        )
    return folded


def _in_shape(graph: OnnxGraph, node: Node, name: str) -> tuple:
    shape = graph.shape(name)
    if shape is None or any(d is None for d in shape[1:]):
        raise OnnxImportError(
            f"{node.label()}: the shape of its input {name!r} is not known "
            f"(shape inference gave {shape}); give the model fixed C, H, W"
        )
    return shape


def conv_window(node: Node, x_shape: tuple, w_shape: tuple) -> ConvWindow:
    """The window of a 2-D Conv / QLinearConv node on an NCHW input (any ``group`` dividing
    the input and output channels: grouped and depthwise convolutions), or of a 1-D one on
    NCL as a 2-D one of height 1."""
    where = node.label()
    a = node.attrs
    if len(w_shape) == 3 and len(x_shape) == 3:
        a = dict(a)
        for key in ("strides", "dilations"):
            if key in a:
                a[key] = (1, int(a[key][0]))
        if "pads" in a:
            a["pads"] = (0, int(a["pads"][0]), 0, int(a["pads"][1]))
        node1 = dataclasses.replace(node, attrs=a)
        w = conv_window(
            node1, (x_shape[0], x_shape[1], 1, x_shape[2]), (w_shape[0], w_shape[1], 1, w_shape[2])
        )
        return dataclasses.replace(w, one_d=True)
    if len(w_shape) != 4 or len(x_shape) != 4:
        raise OnnxImportError(
            f"{where}: only 1-D and 2-D convolutions (3-D or 4-D input and weights)"
        )
    groups = int(a.get("group", 1))
    c, cin_g, kh, kw = (int(v) for v in w_shape)
    if groups < 1 or c % groups:
        raise OnnxImportError(
            f"{where}: group = {groups} does not divide the {c} output "
            f"channels (allowed: a divisor of {c})"
        )
    cin = cin_g * groups
    if x_shape[1] != cin:
        raise OnnxImportError(
            f"{where}: input has {x_shape[1]} channels, weights "
            f"{cin_g} per group x group {groups} = {cin}"
        )
    h, wd = int(x_shape[2]), int(x_shape[3])
    strides = tuple(int(v) for v in a.get("strides", (1, 1)))
    dil = tuple(int(v) for v in a.get("dilations", (1, 1)))
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    ekh, ekw = (kh - 1) * dil[0] + 1, (kw - 1) * dil[1] + 1
    if auto in ("NOTSET", ""):
        p = tuple(int(v) for v in a.get("pads", (0, 0, 0, 0)))
        pads = (p[0], p[1], p[2], p[3])
    elif auto == "VALID":
        pads = (0, 0, 0, 0)
    elif auto in ("SAME_UPPER", "SAME_LOWER"):
        out = [-(-h // strides[0]), -(-wd // strides[1])]
        tot = [
            max(0, (out[0] - 1) * strides[0] + ekh - h),
            max(0, (out[1] - 1) * strides[1] + ekw - wd),
        ]
        small = [t // 2 for t in tot]
        big = [t - s for t, s in zip(tot, small)]
        pads = (
            (small[0], small[1], big[0], big[1])
            if auto == "SAME_UPPER"
            else (big[0], big[1], small[0], small[1])
        )
    else:
        raise OnnxImportError(f"{where}: auto_pad = {auto!r} is not supported")
    oh = (h + pads[0] + pads[2] - ekh) // strides[0] + 1
    ow = (wd + pads[1] + pads[3] - ekw) // strides[1] + 1
    return ConvWindow(cin, kh, kw, strides, dil, pads, (h, wd), (oh, ow), groups)


def lower_qlinear(graph: OnnxGraph, node: Node) -> OnnxDense:
    """A QLinearConv / QLinearMatMul / QGemm node as a dense layer."""
    where = node.label()
    op = node.op_type
    if op in ("QLinearConv", "QLinearMatMul"):
        x, xs_i, xzp_i, w_i, ws_i, wzp_i, ys_i, yzp_i = range(8)
        b_i = 8 if op == "QLinearConv" else None
    else:  # QGemm: A, a_scale, a_zp, B, b_scale, b_zp, C, y_scale, y_zp
        x, xs_i, xzp_i, w_i, ws_i, wzp_i, b_i, ys_i, yzp_i = range(9)
        if float(node.attrs.get("alpha", 1.0)) != 1.0 or int(node.attrs.get("transA", 0)):
            raise OnnxImportError(f"{where}: QGemm with alpha != 1 or transA is not supported")
        if len(node.inputs) <= ys_i or not node.inputs[ys_i]:
            raise OnnxImportError(
                f"{where}: QGemm without y_scale has a float output; the "
                "datapath needs the int8 one"
            )
    x_name = node.inputs[x]
    x_scale = _scalar(graph, node, xs_i, "x_scale")
    x_zp_arr = _scalar(graph, node, xzp_i, "x_zero_point", np.uint8(0))
    x_zp = int(x_zp_arr.reshape(-1)[0])
    w_raw = graph.constant(node.inputs[w_i], node, "weight")
    w_zp = _scalar(graph, node, wzp_i, "w_zero_point", 0)
    y_scale = _scalar(graph, node, ys_i, "y_scale")
    y_zp_arr = _scalar(graph, node, yzp_i, "y_zero_point", np.uint8(0))
    dtype = _activation_type(node, x_zp_arr, y_zp_arr)
    w_scale = _scalar(graph, node, ws_i, "w_scale")
    bias = None
    if b_i is not None and len(node.inputs) > b_i and node.inputs[b_i]:
        bias = graph.constant(node.inputs[b_i], node, "bias")
    w_all = _weights(graph, node, w_raw, w_zp, f"weight {node.inputs[w_i]!r}")
    conv = None
    if op == "QLinearConv":
        conv = conv_window(node, _in_shape(graph, node, x_name), w_all.shape)
        w = w_all.reshape(w_all.shape[0], -1)
    elif op == "QLinearMatMul":
        if w_all.ndim != 2:
            raise OnnxImportError(f"{where}: B must be a 2-D constant, is {list(w_all.shape)}")
        w = w_all.T
    else:
        w = w_all if int(node.attrs.get("transB", 0)) else w_all.T
    c = w.shape[0]
    mult = requant_scales(x_scale, w_scale, y_scale, c, where)
    return OnnxDense(
        node,
        op,
        x_name,
        node.outputs[0],
        w,
        _fold(bias, w, x_zp, ACTIVATION_TYPES[dtype][0], where),
        mult,
        x_zp,
        int(y_zp_arr.reshape(-1)[0]),
        np.asarray(w_scale).size > 1,
        dtype,
        conv,
        weight=node.inputs[w_i],
    )


def lower_qdq(graph: OnnxGraph, node: Node) -> OnnxDense | None:
    """A float Conv / MatMul / Gemm whose activation and weights come from DequantizeLinear
    (int8) and whose only consumer is a QuantizeLinear to int8: the QDQ form of the QLinear
    kernels. None when the node is not in that form (it then runs in float, in software)."""
    where = node.label()

    def dq_of(name: str) -> Node | None:
        p = graph.producer(name)
        return p if p is not None and p.op_type == "DequantizeLinear" else None

    dq_x = dq_of(node.inputs[0])
    dq_w = dq_of(node.inputs[1]) if len(node.inputs) > 1 else None
    users = graph.consumers(node.outputs[0])
    if dq_x is None or dq_w is None or len(users) != 1 or users[0].op_type != "QuantizeLinear":
        return None
    q = users[0]
    if node.op_type == "Gemm":
        a = node.attrs
        if (
            float(a.get("alpha", 1.0)) != 1.0
            or float(a.get("beta", 1.0)) != 1.0
            or int(a.get("transA", 0))
        ):
            return None
    dq_b = dq_of(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
    if len(node.inputs) > 2 and node.inputs[2] and dq_b is None:
        return None
    x_name = dq_x.inputs[0]
    w_q = graph.constants.get(dq_w.inputs[0])
    if w_q is None or w_q.dtype != np.int8:
        return None
    x_scale = _scalar(graph, dq_x, 1, "x_scale")
    x_zp_arr = _scalar(graph, dq_x, 2, "x_zero_point", np.uint8(0))
    x_zp = int(x_zp_arr.reshape(-1)[0])
    w_scale = _scalar(graph, dq_w, 1, "w_scale")
    w_zp = _scalar(graph, dq_w, 2, "w_zero_point", 0)
    y_scale = _scalar(graph, q, 1, "y_scale")
    y_zp_arr = _scalar(graph, q, 2, "y_zero_point", np.uint8(0))
    if x_zp_arr.dtype != y_zp_arr.dtype or np.dtype(x_zp_arr.dtype) not in ACTIVATION_TYPES:
        return None
    dtype = np.dtype(x_zp_arr.dtype)
    w_all = _weights(graph, node, w_q, w_zp, f"weight {dq_w.inputs[0]!r}")
    bias = None
    if dq_b is not None:
        bias = graph.constant(dq_b.inputs[0], dq_b, "bias")
        if bias.dtype != np.int32:
            return None
    conv = None
    if node.op_type == "Conv":
        conv = conv_window(node, _in_shape(graph, node, x_name), w_all.shape)
        w = w_all.reshape(w_all.shape[0], -1)
    elif node.op_type == "MatMul":
        if w_all.ndim != 2:
            return None
        w = w_all.T
    else:
        w = w_all if int(node.attrs.get("transB", 0)) else w_all.T
    c = w.shape[0]
    mult = requant_scales(x_scale, w_scale, y_scale, c, where)
    absorbed = (node.index,) + (q.index,)
    return OnnxDense(
        node,
        f"QDQ {node.op_type}",
        x_name,
        q.outputs[0],
        w,
        _fold(bias, w, x_zp, ACTIVATION_TYPES[dtype][0], where),
        mult,
        x_zp,
        int(y_zp_arr.reshape(-1)[0]),
        np.asarray(w_scale).size > 1,
        dtype,
        conv,
        absorbed,
        float_output=node.outputs[0],
        weight=dq_w.inputs[0],
    )


SHIFT_ONLY_ACC_LIMIT = 1 << 24
"""Below this |accumulator| bound, fl32(acc) is acc itself, so with a power-of-two scale
``2^-s`` the fp32 mode's ``rhe(fl32(fl32(acc) * 2^-s))`` is exactly ``rhe(acc / 2^s)``."""


def shift_only_config(config: QmacConfig, max_shift: int) -> QmacConfig:
    """``config`` (fp32 mode) as a shift-only one: no multiplier, round half to even, a shift
    field wide enough for ``max_shift``."""
    return config.replace(
        rounding="half_even", mult_bits=0, shift_bits=max(1, int(max_shift).bit_length())
    )


def pow2_shifts(d: OnnxDense) -> np.ndarray | None:
    """``s[c]`` with ``scale[c] = 2^-s[c]`` (``s >= 0``) for every channel, or None when a scale
    is not a power of two of at most 1."""
    bits = np.asarray(d.mult, dtype=np.int64)
    if np.any(bits & 0x7FFFFF):
        return None
    shifts = 127 - (bits >> 23)
    return shifts if np.all(shifts >= 0) else None


def acc_bound(d: OnnxDense) -> int:
    """The largest |accumulator| any input can give: |bias'| + sum_k |w[c][k]| * max|x|."""
    _, lo, hi = ACTIVATION_TYPES[np.dtype(d.dtype)]
    xmax = max(abs(lo), abs(hi))
    return int(np.max(np.abs(d.bias) + np.abs(d.w).sum(axis=1) * xmax))


def to_shift_only(dense: list[OnnxDense]) -> QmacConfig:
    """Put every layer of a model whose scales are all powers of two (Brevitas fixed point) on
    the shift-only config (``mult_bits = 0``, round half to even), exactly equal to the fp32
    mode; returns that config. Raises :class:`OnnxImportError` naming the first layer whose
    scale is not a power of two of at most 1, or whose accumulator can reach 2^24 (where the
    fp32 mode rounds the accumulator and a shift does not)."""
    shifts = []
    for d in dense:
        s = pow2_shifts(d)
        if s is None:
            c = int(np.argmax((np.asarray(d.mult) & 0x7FFFFF) != 0))
            value = np.asarray(d.mult, np.int64)[c : c + 1].astype(np.uint32).view(np.float32)[0]
            raise OnnxImportError(
                f"{d.node.label()}: scale[{c}] = {value!r} is not a power of two "
                "<= 1; the shift-only config needs every scale 2^-s"
            )
        bound = acc_bound(d)
        if bound >= SHIFT_ONLY_ACC_LIMIT:
            raise OnnxImportError(
                f"{d.node.label()}: the accumulator can reach {bound} >= 2^24, "
                "where ONNX Runtime's binary32 rounds it; use the fp32 config"
            )
        shifts.append(s)
    config = shift_only_config(dense[0].config, max(int(s.max()) for s in shifts))
    for d, s in zip(dense, shifts):
        d.shift = s.astype(np.int64)
        d.datapath = config
    return config
