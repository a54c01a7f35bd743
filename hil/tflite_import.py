"""Import an int8 TFLite model for the datapath: each FULLY_CONNECTED / CONV_2D becomes a
:class:`DenseLayerSpec` in the datapath's terms (weights ``w (C,K)``, the input zero point folded
into the bias, TFLite's ``(M, s)`` pairs, output zero point and activation clamp for the named
config ``tflite``), every other operator a numpy kernel from :mod:`hil.software_ops`.

The datapath computes ``y = clamp(MBQM(bias' + sum_k x[k] w[c][k], M, s) + out_zp)`` on the raw
int8 ``x``; TFLite computes ``MBQM(bias + sum_k (x[k] - in_zp) w[c][k], ...)`` (int8 filters have
zero point 0). The two are equal when ``bias'[c] = bias[c] - in_zp * sum_k w[c][k]``. A CONV_2D is
the same dot product over im2col patches; its padded positions hold ``in_zp``, so they add
nothing, as in TFLite where they are skipped.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np

from pyref.checks import ValueRangeError
from pyref.config import QmacConfig, named_config
from pyref.quant_layer import fold_input_zero_point
from pyref.layer import Layer

from .software_ops import SOFTWARE_OPS, SoftwareOp, UnsupportedOpError, Value
from .tflite_graph import Graph, OpSpec, TensorSpec, TfliteImportError, read_tflite
from .tflite_params import (ActivationError, Padding2D, activation_range, conv_multipliers,
                            fully_connected_multipliers, window_padding)
from .tflite_schema import ACTIVATION_NAMES

DATAPATH_OPS = ("FULLY_CONNECTED", "CONV_2D")
"""Operators that run on the datapath (the dense backend)."""

TFLITE_CONFIG: QmacConfig = named_config("tflite")
"""The datapath config that reproduces TFLite's int8 arithmetic (gemmlowp double rounding)."""


class BiasRangeError(TfliteImportError):
    """A folded bias does not fit the datapath's ``bias_bits``."""


@dataclasses.dataclass(frozen=True)
class ConvGeometry:
    """Window of a CONV_2D: filter size, strides, dilation and the TFLite padding."""

    kh: int
    kw: int
    cin: int
    stride_h: int
    stride_w: int
    dil_h: int
    dil_w: int
    in_h: int
    in_w: int
    pad: Padding2D
    padding_name: str


@dataclasses.dataclass
class DenseLayerSpec:
    """One FULLY_CONNECTED or CONV_2D in the datapath's terms (config ``tflite``)."""

    op: OpSpec
    input_index: int
    output_index: int
    w: np.ndarray          # (C, K) int64, K in (kh, kw, cin) order for a conv
    bias: np.ndarray       # (C,) int64: TFLite's bias with the input zero point folded in
    mult: np.ndarray       # (C,) TFLite M
    shift: np.ndarray      # (C,) TFLite s
    in_zp: int
    out_zp: int
    act_min: int
    act_max: int
    per_channel: bool
    activation: str
    out_shape: tuple[int, ...]
    conv: ConvGeometry | None = None

    @property
    def c(self) -> int:
        return self.w.shape[0]

    @property
    def k(self) -> int:
        return self.w.shape[1]

    @property
    def quant(self) -> str:
        return "per-channel" if self.per_channel else "per-tensor"

    def rows(self, v: Value) -> np.ndarray:
        """The ``(R, K)`` int8 input rows of this layer for a batched input value."""
        a = v.array
        if not v.batched:
            a = a[None]
        if self.conv is None:
            return a.reshape(-1, self.k).astype(np.int64)
        g = self.conv
        img = a.reshape((-1, g.in_h, g.in_w, g.cin)).astype(np.int64)
        return im2col(img, g, self.in_zp)

    def output(self, y: np.ndarray, n_samples: int) -> Value:
        """Fold the ``(R, C)`` outputs back into the output tensor's shape, per sample."""
        return Value(np.asarray(y).reshape((n_samples,) + self.out_shape).astype(np.int8), True)

    def layer(self, x_rows: np.ndarray, config: QmacConfig = TFLITE_CONFIG) -> Layer:
        """The pyref :class:`Layer` for these input rows."""
        return Layer.build(config, x_rows, self.w, self.bias, self.mult, self.shift,
                           self.out_zp, self.act_min, self.act_max)

    def describe(self) -> str:
        if self.conv is None:
            return f"K={self.k} C={self.c}"
        g = self.conv
        return (f"{g.kh}x{g.kw}x{g.cin}->{self.c} s{g.stride_h}x{g.stride_w} "
                f"{g.padding_name} d{g.dil_h}x{g.dil_w} out {g.pad.out_h}x{g.pad.out_w}")


def im2col(img: np.ndarray, g: ConvGeometry, pad_value: int) -> np.ndarray:
    """``(B, H, W, Cin)`` -> ``(B*out_h*out_w, kh*kw*Cin)`` patches; outside the image: ``pad_value``."""
    b = img.shape[0]
    p = g.pad
    need_h = (p.out_h - 1) * g.stride_h + (g.kh - 1) * g.dil_h + 1
    need_w = (p.out_w - 1) * g.stride_w + (g.kw - 1) * g.dil_w + 1
    bottom = max(0, need_h - g.in_h - p.pad_top)
    right = max(0, need_w - g.in_w - p.pad_left)
    padded = np.pad(img, ((0, 0), (p.pad_top, bottom), (p.pad_left, right), (0, 0)),
                    constant_values=pad_value)
    patches = np.empty((b, p.out_h, p.out_w, g.kh, g.kw, g.cin), dtype=img.dtype)
    for ky in range(g.kh):
        y0 = ky * g.dil_h
        for kx in range(g.kw):
            x0 = kx * g.dil_w
            patches[:, :, :, ky, kx, :] = padded[:, y0:y0 + (p.out_h - 1) * g.stride_h + 1:g.stride_h,
                                                 x0:x0 + (p.out_w - 1) * g.stride_w + 1:g.stride_w, :]
    return patches.reshape(b * p.out_h * p.out_w, g.kh * g.kw * g.cin)


def fold_bias(bias: np.ndarray, w: np.ndarray, in_zp: int, config: QmacConfig, where: str) -> np.ndarray:
    """``bias - in_zp * sum_k w[c][k]`` (:func:`pyref.quant_layer.fold_input_zero_point`), checked
    against the config's ``bias_bits``; the error names the operator."""
    try:
        return fold_input_zero_point(bias, w, in_zp, config.bias_bits)
    except ValueRangeError as exc:
        raise BiasRangeError(f"{where}: {exc}") from None


def lower_dense(op: OpSpec, graph: Graph, config: QmacConfig = TFLITE_CONFIG) -> DenseLayerSpec:
    """Turn one int8 FULLY_CONNECTED or CONV_2D into a :class:`DenseLayerSpec`."""
    where = op.label()

    def refuse(why: str) -> UnsupportedOpError:
        return UnsupportedOpError(f"{where}: {why}")

    if len(op.inputs) < 2 or op.inputs[0] < 0 or op.inputs[1] < 0:
        raise refuse("needs an input and a weight tensor")
    x: TensorSpec = graph.tensor(op.inputs[0])
    w_t: TensorSpec = graph.tensor(op.inputs[1])
    b_t: TensorSpec | None = graph.tensor(op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
    y: TensorSpec = graph.tensor(op.outputs[0])
    for which, t, allowed in (("input", x, "INT8"), ("weight", w_t, "INT8"), ("output", y, "INT8")):
        if t.type_name != allowed:
            raise refuse(f"{which} tensor {t.name!r} is {t.type_name}; the datapath runs int8 "
                         f"activations and int8 weights only (config 'tflite')")
    if b_t is not None and b_t.type_name != "INT32":
        raise refuse(f"bias tensor {b_t.name!r} is {b_t.type_name}, expected INT32")
    if w_t.data is None:
        raise refuse(f"weight tensor {w_t.name!r} is not a constant")
    if b_t is not None and b_t.data is None:
        raise refuse(f"bias tensor {b_t.name!r} is not a constant")
    for which, t in (("input", x), ("output", y)):
        if t.scale.size != 1:
            raise refuse(f"{which} tensor {t.name!r} needs one (per-tensor) scale, has {t.scale.size}")
    if not w_t.is_quantized:
        raise refuse(f"weight tensor {w_t.name!r} has no quantization parameters")
    if np.any(w_t.zero_point != 0):
        raise refuse(f"weight tensor {w_t.name!r} has a non-zero zero point "
                     f"({int(w_t.zero_point[np.argmax(w_t.zero_point != 0)])}); int8 weights are symmetric")
    in_scale, in_zp = float(x.scale[0]), int(x.zero_point[0])
    out_scale, out_zp = float(y.scale[0]), int(y.zero_point[0])
    opts = op.options
    act_code = int(opts.fusedActivationFunction) if opts is not None else 0
    try:
        act_min, act_max = activation_range(act_code, out_scale, out_zp)
    except ActivationError as exc:
        raise refuse(str(exc)) from None

    w_raw = w_t.data.astype(np.int64)
    c = w_raw.shape[0]
    per_channel = w_t.scale.size > 1
    if per_channel and (w_t.scale.size != c or w_t.quantized_dimension != 0):
        raise refuse(f"weight tensor {w_t.name!r} has {w_t.scale.size} scales along axis "
                     f"{w_t.quantized_dimension}; per-channel needs one per output channel (axis 0, {c})")
    conv = None
    if op.name == "FULLY_CONNECTED":
        if w_raw.ndim != 2:
            raise refuse(f"weights must be 2-D (C, K), are {list(w_raw.shape)}")
        if opts is not None and getattr(opts, "weightsFormat", 0) != 0:
            raise refuse("shuffled weights format is not supported")
        w = w_raw
        k = w.shape[1]
        if int(np.prod(x.shape)) % k:
            raise refuse(f"input of {int(np.prod(x.shape))} elements is not a multiple of K = {k}")
        mult, shift = fully_connected_multipliers(in_scale, w_t.scale, out_scale)
    else:
        if w_raw.ndim != 4 or len(x.shape) != 4:
            raise refuse(f"CONV_2D needs 4-D input and filter, got {list(x.shape)} and {list(w_raw.shape)}")
        _, kh, kw, cin = w_raw.shape
        if x.shape[3] != cin:
            raise refuse(f"input depth {x.shape[3]} != filter depth {cin} (grouped convolution "
                         f"is not supported)")
        sh, sw = int(opts.strideH), int(opts.strideW)
        dh, dw = int(opts.dilationHFactor) or 1, int(opts.dilationWFactor) or 1
        pad = window_padding(opts.padding, x.shape[1], x.shape[2], kh, kw, sh, sw, dh, dw)
        if (pad.out_h, pad.out_w) != (y.shape[1], y.shape[2]):
            raise refuse(f"output tensor is {list(y.shape)} but the window gives "
                         f"{pad.out_h}x{pad.out_w}")
        conv = ConvGeometry(kh, kw, cin, sh, sw, dh, dw, x.shape[1], x.shape[2], pad,
                            "SAME" if opts.padding == 0 else "VALID")
        w = w_raw.reshape(c, kh * kw * cin)
        mult, shift = conv_multipliers(in_scale, w_t.scale, out_scale, c)
    bias = b_t.data.astype(np.int64).reshape(-1) if b_t is not None else np.zeros(c, dtype=np.int64)
    if bias.shape != (c,):
        raise refuse(f"bias has {bias.size} values for {c} output channels")
    folded = fold_bias(bias, w, in_zp, config, where)
    if mult.size == 1:
        mult, shift = np.full(c, mult[0]), np.full(c, shift[0])
    return DenseLayerSpec(
        op=op, input_index=op.inputs[0], output_index=op.outputs[0], w=w, bias=folded,
        mult=mult.astype(np.int64), shift=shift.astype(np.int64), in_zp=in_zp, out_zp=out_zp,
        act_min=act_min, act_max=act_max, per_channel=per_channel,
        activation=ACTIVATION_NAMES.get(act_code, str(act_code)), out_shape=tuple(y.shape), conv=conv,
    )


@dataclasses.dataclass
class Step:
    """One operator of the plan: on the datapath (``dense``) or in software (``kernel``)."""

    op: OpSpec
    dense: DenseLayerSpec | None = None
    kernel: SoftwareOp | None = None

    @property
    def where(self) -> str:
        return "datapath" if self.dense is not None else "software"


@dataclasses.dataclass
class ImportedModel:
    """A model ready to run: the graph and one :class:`Step` per operator, in order."""

    graph: Graph
    steps: list[Step]
    config: QmacConfig

    @property
    def dense_steps(self) -> list[Step]:
        return [s for s in self.steps if s.dense is not None]

    def op_table(self) -> list[tuple[str, int, str]]:
        """``(op name, count, where it runs)`` for each operator the model uses."""
        rows: dict[str, list[Any]] = {}
        for s in self.steps:
            if s.op.name not in rows:
                how = (f"datapath (dense backend, config '{_config_name(self.config)}')" if s.dense
                       else f"software (numpy: {s.kernel.summary})")
                rows[s.op.name] = [s.op.name, 0, how]
            rows[s.op.name][1] += 1
        return [tuple(r) for r in rows.values()]

    def describe_ops(self) -> str:
        lines = [f"{self.graph.name}: {len(self.steps)} operators, "
                 f"{len(self.dense_steps)} on the datapath"]
        for name, count, how in self.op_table():
            lines.append(f"  {name:<18} x{count:<3} {how}")
        return "\n".join(lines)


def _config_name(config: QmacConfig) -> str:
    from pyref.config import NAMED_CONFIGS

    for name, c in NAMED_CONFIGS.items():
        if c == config:
            return name
    return config.describe()


def import_model(source: str | os.PathLike | bytes | Graph, config: QmacConfig = TFLITE_CONFIG,
                 name: str | None = None) -> ImportedModel:
    """Read a .tflite model and plan every operator; refuse a model with any operator that
    nothing can run, naming each such operator."""
    graph = source if isinstance(source, Graph) else read_tflite(source, name)
    if not graph.ops:
        raise TfliteImportError(f"{graph.name}: the model has no operators")
    steps: list[Step] = []
    problems: list[str] = []
    missing: dict[str, list[int]] = {}
    for op in graph.ops:
        try:
            if op.name in DATAPATH_OPS:
                steps.append(Step(op, dense=lower_dense(op, graph, config)))
            elif op.name in SOFTWARE_OPS:
                steps.append(Step(op, kernel=SOFTWARE_OPS[op.name](op, graph)))
            else:
                missing.setdefault(op.name, []).append(op.index)
        except UnsupportedOpError as exc:
            problems.append(str(exc))
    if missing or problems:
        msg = [f"{graph.name}: cannot run this model"]
        for op_name, idx in missing.items():
            msg.append(f"  unsupported operator {op_name} (op {', '.join(map(str, idx))}): "
                       f"neither the datapath nor hil's software kernels implement it")
        msg.extend(f"  {p}" for p in problems)
        msg.append(f"  datapath: {', '.join(DATAPATH_OPS)}; software: {', '.join(sorted(SOFTWARE_OPS))}")
        raise UnsupportedOpError("\n".join(msg))
    return ImportedModel(graph, steps, config)
