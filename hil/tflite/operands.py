"""The operands of a multiply-accumulate operator in the datapath's terms: the configs that
reproduce TFLite's int8 and 16x8 kernels, the checked tensors of an operator, its per-channel
multipliers, and the input zero point folded into the bias.

The datapath computes ``y = clamp(requant(bias' + sum_k x[k] w[c][k]) + out_zp)`` on the raw
``x``; TFLite computes ``requant(bias + sum_k (x[k] - in_zp) w[c][k])`` (filters have zero point
0). The two are equal when ``bias'[c] = bias[c] - in_zp * sum_k w[c][k]``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pyref.checks import ValueRangeError
from pyref.config import QmacConfig, named_config
from pyref.quantize.layer import fold_input_zero_point

from ..kernels.base import UnsupportedOpError
from ..plan import CONFIG_NAMES
from .graph import Graph, OpSpec, TensorSpec, TfliteImportError
from .params import (
    ActivationError,
    activation_range,
    conv_multipliers,
    fully_connected_multipliers,
    reduce_multiplier_16x8,
)
from .schema import ACTIVATION_NAMES

TFLITE_CONFIG: QmacConfig = named_config("tflite")
"""The datapath config that reproduces TFLite's int8 arithmetic (gemmlowp double rounding)."""

TFLITE_16X8_CONFIG: QmacConfig = QmacConfig(
    in_bits=16,
    w_bits=8,
    acc_bits=64,
    bias_bits=64,
    mult_bits=16,
    shift_bits=6,
    rounding="half_up",
    out_bits=16,
)
"""The datapath config of TFLite's 16x8 kernels (int16 activations, int8 weights, int64
accumulator and bias): their 64-bit ``MultiplyByQuantizedMultiplier`` rounds ``M`` to 16 bits
and rounds once, ``(acc * m16 + 2^(t-1)) >> t``, which is ``half_up`` with ``mult_bits = 16``
(:func:`hil.tflite.params.reduce_multiplier_16x8`)."""

CONFIG_NAMES["tflite16x8"] = TFLITE_16X8_CONFIG


@dataclasses.dataclass
class DatapathOperands:
    """The operands every datapath operator carries: its tensors, weights ``w (C, K)``, the
    folded bias, per-channel requantization and the output clamp."""

    op: OpSpec
    input_index: int
    output_index: int
    w: np.ndarray  # (C, K) int64
    bias: np.ndarray  # (C,) int64: TFLite's bias with the input zero point folded in
    mult: np.ndarray  # (C,) datapath mult (int8: TFLite M)
    shift: np.ndarray  # (C,) datapath shift (int8: TFLite s)
    in_zp: int
    out_zp: int
    act_min: int
    act_max: int
    per_channel: bool
    activation: str
    out_shape: tuple[int, ...]

    @property
    def c(self) -> int:
        return self.w.shape[0]

    @property
    def k(self) -> int:
        return self.w.shape[1]

    @property
    def quant(self) -> str:
        return "per-channel" if self.per_channel else "per-tensor"


class BiasRangeError(TfliteImportError):
    """A folded bias does not fit the datapath's ``bias_bits``."""


@dataclasses.dataclass
class Operands:
    """The checked tensors of a multiply-accumulate operator and its integer parameters."""

    kind: str  # "int8" or "16x8"
    config: QmacConfig
    x: TensorSpec
    w: np.ndarray  # the raw int8 weights, int64, in the tensor's own layout
    w_scale: np.ndarray
    bias: np.ndarray  # (C,) int64, TFLite's bias (zeros when absent)
    in_scale: float
    in_zp: int
    out_scale: float
    out_zp: int
    act_min: int
    act_max: int
    activation: str
    per_channel: bool
    out_shape: tuple[int, ...]
    out_dtype: np.dtype


def read_operands(
    op: OpSpec,
    graph: Graph,
    x_at: int,
    w_at: int,
    b_at: int,
    channel_axis: int,
    config: QmacConfig = TFLITE_CONFIG,
) -> Operands:
    """Check the activation, weight, bias and output tensors of ``op`` (int8 x int8 with int32
    bias, or 16x8: int16 x int8 with int64 bias) and read the integer parameters; refuses with
    :class:`UnsupportedOpError` naming the operator and the tensor."""
    where = op.label()

    def refuse(why: str) -> UnsupportedOpError:
        return UnsupportedOpError(f"{where}: {why}")

    def optional(i: int) -> int:
        return op.inputs[i] if len(op.inputs) > i else -1

    if optional(x_at) < 0 or optional(w_at) < 0:
        raise refuse("needs an input and a weight tensor")
    x: TensorSpec = graph.tensor(op.inputs[x_at])
    w_t: TensorSpec = graph.tensor(op.inputs[w_at])
    b_t: TensorSpec | None = graph.tensor(optional(b_at)) if optional(b_at) >= 0 else None
    y: TensorSpec = graph.tensor(op.outputs[0])
    if x.type_name == "INT16" and y.type_name == "INT16":
        kind, config, bias_types, bits = "16x8", TFLITE_16X8_CONFIG, ("INT64", "INT32"), 16
    else:
        kind, bias_types, bits = "int8", ("INT32",), 8
        for which, t in (("input", x), ("output", y)):
            if t.type_name != "INT8":
                raise refuse(
                    f"{which} tensor {t.name!r} is {t.type_name}; the datapath runs int8 "
                    f"x int8 (config 'tflite') and int16 x int8 (16x8) kernels"
                )
    if w_t.type_name != "INT8":
        raise refuse(
            f"weight tensor {w_t.name!r} is {w_t.type_name}; the datapath runs int8 weights"
        )
    if b_t is not None and b_t.type_name not in bias_types:
        raise refuse(
            f"bias tensor {b_t.name!r} is {b_t.type_name}, expected {' or '.join(bias_types)}"
        )
    if w_t.data is None:
        raise refuse(f"weight tensor {w_t.name!r} is not a constant")
    if b_t is not None and b_t.data is None:
        raise refuse(f"bias tensor {b_t.name!r} is not a constant")
    for which, t in (("input", x), ("output", y)):
        if t.scale.size != 1:
            raise refuse(
                f"{which} tensor {t.name!r} needs one (per-tensor) scale, has {t.scale.size}"
            )
    if not w_t.is_quantized:
        raise refuse(f"weight tensor {w_t.name!r} has no quantization parameters")
    if np.any(w_t.zero_point != 0):
        raise refuse(
            f"weight tensor {w_t.name!r} has a non-zero zero point "
            f"({int(w_t.zero_point[np.argmax(w_t.zero_point != 0)])}); int8 weights are symmetric"
        )
    in_scale, in_zp = float(x.scale[0]), int(x.zero_point[0])
    out_scale, out_zp = float(y.scale[0]), int(y.zero_point[0])
    if kind == "16x8" and (in_zp or out_zp):
        raise refuse(f"int16 activations must have zero point 0 (input {in_zp}, output {out_zp})")
    opts = op.options
    act_code = int(getattr(opts, "fusedActivationFunction", 0) or 0) if opts is not None else 0
    try:
        act_min, act_max = activation_range(act_code, out_scale, out_zp, bits)
    except ActivationError as exc:
        raise refuse(str(exc)) from None
    w = w_t.data.astype(np.int64)
    if w.ndim <= channel_axis:
        raise refuse(
            f"weight tensor {w_t.name!r} of shape {list(w.shape)} has no axis {channel_axis}"
        )
    c = w.shape[channel_axis]
    per_channel = w_t.scale.size > 1
    if per_channel and (w_t.scale.size != c or w_t.quantized_dimension != channel_axis):
        raise refuse(
            f"weight tensor {w_t.name!r} has {w_t.scale.size} scales along axis "
            f"{w_t.quantized_dimension}; per-channel needs one per output channel "
            f"(axis {channel_axis}, {c})"
        )
    bias = b_t.data.astype(np.int64).reshape(-1) if b_t is not None else np.zeros(c, dtype=np.int64)
    if bias.shape != (c,):
        raise refuse(f"bias has {bias.size} values for {c} output channels")
    return Operands(
        kind,
        config,
        x,
        w,
        np.asarray(w_t.scale, dtype=np.float32),
        bias,
        in_scale,
        in_zp,
        out_scale,
        out_zp,
        act_min,
        act_max,
        ACTIVATION_NAMES.get(act_code, str(act_code)),
        per_channel,
        tuple(y.shape),
        np.dtype(np.int16 if kind == "16x8" else np.int8),
    )


def datapath_multipliers(
    o: Operands, channels: int, fully_connected: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """``(mult, shift)`` per channel in the datapath's terms: TFLite's ``(M, s)`` for int8
    (config ``tflite``), the 16-bit multiplier and total right shift for 16x8."""
    if fully_connected:
        m, s = fully_connected_multipliers(o.in_scale, o.w_scale, o.out_scale)
    else:
        m, s = conv_multipliers(o.in_scale, o.w_scale, o.out_scale, channels)
    if m.size == 1:
        m, s = np.full(channels, m[0]), np.full(channels, s[0])
    if o.kind == "16x8":
        m, s = reduce_multiplier_16x8(m, s)
    return m.astype(np.int64), s.astype(np.int64)


def fold_bias(
    bias: np.ndarray, w: np.ndarray, in_zp: int, config: QmacConfig, where: str
) -> np.ndarray:
    """``bias - in_zp * sum_k w[c][k]`` (:func:`pyref.quantize.layer.fold_input_zero_point`),
    checked against the config's ``bias_bits``; the error names the operator."""
    try:
        return fold_input_zero_point(bias, w, in_zp, config.bias_bits)
    except ValueRangeError as exc:
        raise BiasRangeError(f"{where}: {exc}") from None
