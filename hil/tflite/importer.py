"""Plan an int8 or 16x8 TFLite model (a :class:`~hil.plan.Plan`): each FULLY_CONNECTED /
CONV_2D / TRANSPOSE_CONV becomes a :class:`DenseLayerSpec` in the datapath's terms (weights
``w (C,K)``, the input zero point folded into the bias, the per-channel multipliers, output zero
point and activation clamp; config ``tflite`` for int8, :data:`TFLITE_16X8_CONFIG` for 16x8),
each DEPTHWISE_CONV_2D a :class:`~hil.tflite.depthwise.DepthwiseSpec`, SVDF and
UNIDIRECTIONAL_SEQUENCE_LSTM their own specs (:mod:`hil.tflite.svdf`, :mod:`hil.tflite.lstm`),
every other operator a numpy kernel from :mod:`hil.kernels`.

A CONV_2D is the dot product over im2col patches; its padded positions hold ``in_zp``, so they
add nothing, as in TFLite where they are skipped (:mod:`hil.tflite.operands`,
:mod:`hil.tflite.windows`). A TRANSPOSE_CONV is the same over the patches that gather its scatter.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from pyref.config import QmacConfig
from pyref.layer import Layer

from ..kernels import SOFTWARE_OPS
from ..kernels.base import UnsupportedOpError, Value
from ..plan import CONFIG_NAMES, Plan, PlanInput, PlanOutput, Step, config_name  # noqa: F401
from .depthwise import DepthwiseSpec, lower_depthwise  # noqa: F401 (re-exported)
from .dilated import as_dilated, find_dilated
from .graph import Graph, OpSpec, TfliteImportError, read_tflite
from .lstm import LstmSpec, lower_lstm  # noqa: F401
from .operands import (
    TFLITE_16X8_CONFIG,  # noqa: F401 (re-exported)
    TFLITE_CONFIG,
    BiasRangeError,  # noqa: F401
    DatapathOperands,
    datapath_multipliers,
    fold_bias,
    read_operands,
)
from .params import Padding2D, window_padding
from .svdf import lower_svdf
from .windows import ConvGeometry, im2col, transpose_im2col  # noqa: F401

DATAPATH_OPS = (
    "FULLY_CONNECTED",
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "TRANSPOSE_CONV",
    "SVDF",
    "UNIDIRECTIONAL_SEQUENCE_LSTM",
)
"""Operators that run on the datapath (the dense backend)."""


@dataclasses.dataclass
class DenseLayerSpec(DatapathOperands):
    """One FULLY_CONNECTED, CONV_2D or TRANSPOSE_CONV in the datapath's terms: every input row
    against every channel's weight row."""

    conv: ConvGeometry | None = None
    config: QmacConfig = TFLITE_CONFIG
    out_dtype: np.dtype = np.dtype(np.int8)

    def rows(self, v: Value) -> np.ndarray:
        """The ``(R, K)`` input rows of this layer for a batched input value."""
        a = v.array
        if not v.batched:
            a = a[None]
        if self.conv is None:
            return a.reshape(-1, self.k).astype(np.int64)
        g = self.conv
        img = a.reshape((-1, g.in_h, g.in_w, g.cin)).astype(np.int64)
        if g.transpose:
            return transpose_im2col(img, g, self.in_zp)
        return im2col(img, g, self.in_zp)

    def layers(self, v: Value) -> list[Layer]:
        """The pyref layers of this operator for a batched input (here: one)."""
        return [self.layer(self.rows(v), self.config)]

    def assemble(self, ys: list[np.ndarray]) -> np.ndarray:
        """The ``(R, C)`` outputs from the layers' outputs."""
        return np.asarray(ys[0])

    def output_value(self, y: np.ndarray, n_samples: int) -> Value:
        """Fold the ``(R, C)`` outputs back into the output tensor's shape, per sample."""
        return Value(
            np.asarray(y).reshape((n_samples,) + self.out_shape).astype(self.out_dtype), True
        )

    def layer(self, x_rows: np.ndarray, config: QmacConfig | None = None) -> Layer:
        """The pyref :class:`Layer` for these input rows."""
        return Layer.build(
            config or self.config,
            x_rows,
            self.w,
            self.bias,
            self.mult,
            self.shift,
            self.out_zp,
            self.act_min,
            self.act_max,
        )

    def describe(self) -> str:
        if self.conv is None:
            return f"K={self.k} C={self.c}"
        return self.conv.describe(self.c)


def lower_dense(op: OpSpec, graph: Graph, config: QmacConfig = TFLITE_CONFIG) -> DenseLayerSpec:
    """Turn one FULLY_CONNECTED, CONV_2D or TRANSPOSE_CONV (int8 or 16x8) into a
    :class:`DenseLayerSpec`."""
    where = op.label()

    def refuse(why: str) -> UnsupportedOpError:
        return UnsupportedOpError(f"{where}: {why}")

    transpose = op.name == "TRANSPOSE_CONV"
    x_at, w_at, b_at = (2, 1, 3) if transpose else (0, 1, 2)
    o = read_operands(op, graph, x_at, w_at, b_at, 0, config)
    x = o.x
    w_raw = o.w
    c = w_raw.shape[0]
    opts = op.options
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
        mult, shift = datapath_multipliers(o, c, fully_connected=True)
    else:
        if w_raw.ndim != 4 or len(x.shape) != 4:
            raise refuse(
                f"{op.name} needs 4-D input and filter, got {list(x.shape)} and {list(w_raw.shape)}"
            )
        _, kh, kw, cin = w_raw.shape
        if x.shape[3] != cin:
            raise refuse(
                f"input depth {x.shape[3]} != filter depth {cin} (grouped convolution "
                f"is not supported)"
            )
        sh, sw = int(opts.strideH), int(opts.strideW)
        if transpose:
            dh = dw = 1
            out_h, out_w = o.out_shape[1], o.out_shape[2]
            # TFLite pads a transpose conv as if the output were the input of a conv.
            p = window_padding(opts.padding, out_h, out_w, kh, kw, sh, sw)
            pad = Padding2D(out_h, out_w, p.pad_top, p.pad_left)
            shape_t = graph.tensor(op.inputs[0])
            if shape_t.data is not None and list(shape_t.data.ravel()) != list(o.out_shape):
                raise refuse(
                    f"output_shape input {list(shape_t.data.ravel())} differs from the "
                    f"output tensor's shape {list(o.out_shape)}"
                )
        else:
            dh, dw = int(opts.dilationHFactor) or 1, int(opts.dilationWFactor) or 1
            pad = window_padding(opts.padding, x.shape[1], x.shape[2], kh, kw, sh, sw, dh, dw)
            if (pad.out_h, pad.out_w) != (o.out_shape[1], o.out_shape[2]):
                raise refuse(
                    f"output tensor is {list(o.out_shape)} but the window gives "
                    f"{pad.out_h}x{pad.out_w}"
                )
        conv = ConvGeometry(
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
            transpose,
        )
        w = w_raw.reshape(c, kh * kw * cin)
        mult, shift = datapath_multipliers(o, c)
    folded = fold_bias(o.bias, w, o.in_zp, o.config, where)
    return DenseLayerSpec(
        op=op,
        input_index=x.index,
        output_index=op.outputs[0],
        w=w,
        bias=folded,
        mult=mult,
        shift=shift,
        in_zp=o.in_zp,
        out_zp=o.out_zp,
        act_min=o.act_min,
        act_max=o.act_max,
        per_channel=o.per_channel,
        activation=o.activation,
        out_shape=o.out_shape,
        conv=conv,
        config=o.config,
        out_dtype=o.out_dtype,
    )


ImportedModel = Plan
"""A TFLite model's plan (:class:`hil.plan.Plan`)."""


def import_model(
    source: str | os.PathLike | bytes | Graph,
    config: QmacConfig = TFLITE_CONFIG,
    name: str | None = None,
) -> ImportedModel:
    """Read a .tflite model and plan every operator; refuse a model with any operator that
    nothing can run, naming each such operator."""
    graph = source if isinstance(source, Graph) else read_tflite(source, name)
    if not graph.ops:
        raise TfliteImportError(f"{graph.name}: the model has no operators")
    steps: list[Step] = []
    problems: list[str] = []
    missing: dict[str, list[int]] = {}
    try:
        dilated = find_dilated(graph)
    except UnsupportedOpError as exc:
        dilated = {}
        problems.append(str(exc))
    for op in graph.ops:
        try:
            pattern = dilated.get(op.index)
            if pattern is not None and op is not pattern.conv:
                steps.append(
                    Step(
                        op,
                        op.index,
                        op.name,
                        tuple(i if i >= 0 else None for i in op.inputs),
                        op.outputs,
                        how=f"absorbed into op {pattern.conv.index}'s dilated convolution",
                        vector_stem=f"op{op.index}",
                    )
                )
            elif pattern is not None:
                lower = lower_depthwise if op.name == "DEPTHWISE_CONV_2D" else lower_dense
                spec = as_dilated(lower(op, graph, config), pattern, graph)
                step = _step(op, dense=spec)
                step.inputs = (spec.input_index,) + step.inputs[1:]
                step.outputs = (spec.output_index,)
                steps.append(step)
            elif op.name == "SVDF":
                steps.append(_step(op, dense=lower_svdf(op, graph)))
            elif op.name == "UNIDIRECTIONAL_SEQUENCE_LSTM":
                steps.append(_step(op, dense=lower_lstm(op, graph)))
            elif op.name == "DEPTHWISE_CONV_2D":
                steps.append(_step(op, dense=lower_depthwise(op, graph, config)))
            elif op.name in DATAPATH_OPS:
                steps.append(_step(op, dense=lower_dense(op, graph, config)))
            elif op.name in SOFTWARE_OPS:
                steps.append(_step(op, kernel=SOFTWARE_OPS[op.name](op, graph)))
            else:
                missing.setdefault(op.name, []).append(op.index)
        except UnsupportedOpError as exc:
            problems.append(str(exc))
    if missing or problems:
        msg = [f"{graph.name}: cannot run this model"]
        for op_name, idx in missing.items():
            msg.append(
                f"  unsupported operator {op_name} (op {', '.join(map(str, idx))}): "
                f"neither the datapath nor hil's software kernels implement it"
            )
        msg.extend(f"  {p}" for p in problems)
        msg.append(
            f"  datapath: {', '.join(DATAPATH_OPS)}; software: {', '.join(sorted(SOFTWARE_OPS))}"
        )
        raise UnsupportedOpError("\n".join(msg))
    dense_configs = [s.dense.config for s in steps if s.dense is not None]
    return Plan(
        graph,
        steps,
        dense_configs[0] if dense_configs else config,
        inputs=[_plan_input(graph, i) for i in graph.inputs],
        outputs=[PlanOutput(i, graph.tensor(i).name) for i in graph.outputs],
        constants={t.index: Value(t.data, False) for t in graph.tensors if t.data is not None},
        error=TfliteImportError,
    )


def _step(op: OpSpec, dense=None, kernel=None) -> Step:
    return Step(
        op,
        op.index,
        op.name,
        tuple(i if i >= 0 else None for i in op.inputs),
        op.outputs,
        dense=dense,
        kernel=kernel,
        dense_input=None if dense is None else dense.input_index,
        vector_stem=f"op{op.index}",
    )


def _plan_input(graph: Graph, index: int) -> PlanInput:
    t = graph.tensor(index)
    codes = quantizer_of(graph, index) if t.type_name == "FLOAT32" else None
    known = t.type_name in ("INT8", "INT16", "UINT8", "FLOAT32")
    return PlanInput(
        index,
        t.name,
        tuple(t.shape),
        t.dtype,
        codes,
        None if known else f"cannot make inputs for {t.type_name} input tensor {t.name!r}",
    )


def quantizer_of(graph: Graph, tensor: int) -> tuple[float, int, np.dtype] | None:
    """Scale, zero point and code type of the QUANTIZE that reads ``tensor`` (or None)."""
    for op in graph.ops:
        if op.name == "QUANTIZE" and op.inputs and op.inputs[0] == tensor:
            out = graph.tensor(op.outputs[0])
            if out.scale.size == 1 and out.dtype is not None:
                return float(out.scale[0]), int(out.zero_point[0]), np.dtype(out.dtype)
    return None
