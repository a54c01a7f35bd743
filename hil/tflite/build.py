"""Write small TFLite models from numpy arrays with the flatbuffer object API (``ModelT``,
``SubGraphT``, ``OperatorT``, ``TensorT``, ``BufferT``, ``QuantizationParametersT``), for tests
and examples that need a .tflite file with chosen weights, scales and zero points.

    b = ModelBuilder()
    x = b.tensor("x", (1, 4), "INT8", scale=0.5, zero_point=3)
    ...
    b.op("FULLY_CONNECTED", [x, w, bias], [y], fused_activation="RELU")
    data = b.build(inputs=[x], outputs=[y])
"""

from __future__ import annotations

from typing import Any, Sequence

import flatbuffers
import numpy as np

from .schema import FILE_IDENTIFIER, OP_CODES, TENSOR_TYPES, TYPE_NAMES, schema

_TYPE_CODES = {name: code for code, name in TYPE_NAMES.items()}

# Operator name -> (options class name, BuiltinOptions member)
_OPTIONS = {
    "FULLY_CONNECTED": ("FullyConnectedOptionsT", "FullyConnectedOptions"),
    "CONV_2D": ("Conv2DOptionsT", "Conv2DOptions"),
    "MAX_POOL_2D": ("Pool2DOptionsT", "Pool2DOptions"),
    "AVERAGE_POOL_2D": ("Pool2DOptionsT", "Pool2DOptions"),
    "ADD": ("AddOptionsT", "AddOptions"),
    "SOFTMAX": ("SoftmaxOptionsT", "SoftmaxOptions"),
    "RESHAPE": ("ReshapeOptionsT", "ReshapeOptions"),
    "DEPTHWISE_CONV_2D": ("DepthwiseConv2DOptionsT", "DepthwiseConv2DOptions"),
    "TRANSPOSE_CONV": ("TransposeConvOptionsT", "TransposeConvOptions"),
    "CONCATENATION": ("ConcatenationOptionsT", "ConcatenationOptions"),
    "MUL": ("MulOptionsT", "MulOptions"),
    "SUB": ("SubOptionsT", "SubOptions"),
    "PAD": ("PadOptionsT", "PadOptions"),
    "PADV2": ("PadV2OptionsT", "PadV2Options"),
    "MEAN": ("ReducerOptionsT", "ReducerOptions"),
    "LEAKY_RELU": ("LeakyReluOptionsT", "LeakyReluOptions"),
    "RESIZE_NEAREST_NEIGHBOR": ("ResizeNearestNeighborOptionsT", "ResizeNearestNeighborOptions"),
    "HARD_SWISH": ("HardSwishOptionsT", "HardSwishOptions"),
    "SVDF": ("SVDFOptionsT", "SVDFOptions"),
    "REDUCE_MAX": ("ReducerOptionsT", "ReducerOptions"),
    "TRANSPOSE": ("TransposeOptionsT", "TransposeOptions"),
    "SPLIT": ("SplitOptionsT", "SplitOptions"),
    "SPLIT_V": ("SplitVOptionsT", "SplitVOptions"),
    "UNPACK": ("UnpackOptionsT", "UnpackOptions"),
    "STRIDED_SLICE": ("StridedSliceOptionsT", "StridedSliceOptions"),
    "SLICE": ("SliceOptionsT", "SliceOptions"),
    "SPACE_TO_BATCH_ND": ("SpaceToBatchNDOptionsT", "SpaceToBatchNDOptions"),
    "BATCH_TO_SPACE_ND": ("BatchToSpaceNDOptionsT", "BatchToSpaceNDOptions"),
    "DEPTH_TO_SPACE": ("DepthToSpaceOptionsT", "DepthToSpaceOptions"),
    "SPACE_TO_DEPTH": ("SpaceToDepthOptionsT", "SpaceToDepthOptions"),
    "GATHER": ("GatherOptionsT", "GatherOptions"),
    "UNIDIRECTIONAL_SEQUENCE_LSTM": (
        "UnidirectionalSequenceLSTMOptionsT",
        "UnidirectionalSequenceLSTMOptions",
    ),
}

_ACTIVATIONS = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3, "TANH": 4, "SIGN_BIT": 5}
_PADDINGS = {"SAME": 0, "VALID": 1}


class ModelBuilder:
    """Collects tensors and operators of one subgraph and packs them into .tflite bytes."""

    def __init__(self, description: str = "built by hil.tflite.build") -> None:
        self.description = description
        self.tensors: list[Any] = []
        self.buffers: list[Any] = [schema.BufferT()]  # buffer 0 is the empty sentinel
        self.ops: list[Any] = []
        self.op_codes: list[str] = []

    def tensor(
        self,
        name: str,
        shape: Sequence[int],
        type_name: str = "INT8",
        *,
        scale: float | Sequence[float] | None = None,
        zero_point: int | Sequence[int] | None = None,
        quantized_dimension: int = 0,
        data: np.ndarray | None = None,
        variable: bool = False,
    ) -> int:
        """Add a tensor (a constant when ``data`` is given; a state the interpreter keeps between
        invokes when ``variable``); returns its index."""
        t = schema.TensorT()
        t.isVariable = variable
        t.name = name
        t.shape = np.asarray(shape, dtype=np.int32)
        t.type = _TYPE_CODES[type_name]
        if scale is not None:
            q = schema.QuantizationParametersT()
            q.scale = np.atleast_1d(np.asarray(scale, dtype=np.float32))
            zp = 0 if zero_point is None else zero_point
            q.zeroPoint = np.broadcast_to(np.asarray(zp, dtype=np.int64), q.scale.shape).copy()
            q.quantizedDimension = quantized_dimension
            t.quantization = q
        if data is not None:
            dtype = next(dt for dt, code in TENSOR_TYPES.items() if code == t.type)
            arr = np.asarray(data)
            if arr.shape != tuple(shape):
                raise ValueError(
                    f"tensor {name!r}: data shape {arr.shape} != declared {tuple(shape)}"
                )
            buf = schema.BufferT()
            buf.data = np.frombuffer(arr.astype(dtype.newbyteorder("<")).tobytes(), dtype=np.uint8)
            self.buffers.append(buf)
            t.buffer = len(self.buffers) - 1
        else:
            t.buffer = 0
        self.tensors.append(t)
        return len(self.tensors) - 1

    def op(self, name: str, inputs: Sequence[int], outputs: Sequence[int], **options: Any) -> None:
        """Add an operator. Options use the schema's field names, plus the shorthands
        ``fused_activation`` ("RELU", ...) and ``padding`` ("SAME"/"VALID")."""
        if name not in self.op_codes:
            self.op_codes.append(name)
        o = schema.OperatorT()
        o.opcodeIndex = self.op_codes.index(name)
        o.inputs = np.asarray(inputs, dtype=np.int32)
        o.outputs = np.asarray(outputs, dtype=np.int32)
        if name in _OPTIONS:
            cls_name, member = _OPTIONS[name]
            opts = getattr(schema, cls_name)()
            for key, value in options.items():
                if key == "fused_activation":
                    key, value = "fusedActivationFunction", _ACTIVATIONS[value]
                elif key == "padding" and isinstance(value, str):
                    value = _PADDINGS[value]
                if not hasattr(opts, key):
                    raise ValueError(f"{cls_name} has no field {key!r}")
                setattr(opts, key, value)
            o.builtinOptionsType = getattr(schema.BuiltinOptions, member)
            o.builtinOptions = opts
        elif options:
            raise ValueError(f"{name}: options are not supported by this builder")
        self.ops.append(o)

    def build(self, inputs: Sequence[int], outputs: Sequence[int]) -> bytes:
        """The .tflite bytes (schema version 3, file identifier ``TFL3``)."""
        sub = schema.SubGraphT()
        sub.tensors = self.tensors
        sub.inputs = np.asarray(inputs, dtype=np.int32)
        sub.outputs = np.asarray(outputs, dtype=np.int32)
        sub.operators = self.ops
        sub.name = "main"
        model = schema.ModelT()
        model.version = 3
        model.description = self.description
        model.buffers = self.buffers
        model.subgraphs = [sub]
        codes = []
        for name in self.op_codes:
            oc = schema.OperatorCodeT()
            code = OP_CODES[name]
            oc.builtinCode = code
            oc.deprecatedBuiltinCode = min(code, 127)
            oc.version = 1
            codes.append(oc)
        model.operatorCodes = codes
        fb = flatbuffers.Builder(1024)
        fb.Finish(model.Pack(fb), file_identifier=FILE_IDENTIFIER)
        return bytes(fb.Output())


def _weight_and_bias(
    b: ModelBuilder,
    w: np.ndarray,
    bias: np.ndarray | None,
    in_scale: float,
    w_scale: float | Sequence[float],
    bias_type: str = "INT32",
) -> list[int]:
    """The int8 weight tensor (output channels first) and the bias tensor (int32; int64 for
    16x8) at scale ``in_scale * w_scale`` (-1: no bias), as operator inputs."""
    w_scale = np.atleast_1d(np.asarray(w_scale, dtype=np.float32))
    wt = b.tensor("w", w.shape, "INT8", scale=w_scale, zero_point=0, data=w)
    if bias is None:
        return [wt, -1]
    return [
        wt,
        b.tensor(
            "bias",
            (w.shape[0],),
            bias_type,
            scale=np.float32(in_scale) * w_scale,
            zero_point=0,
            data=np.asarray(bias),
        ),
    ]


def fully_connected_model(
    w: np.ndarray,
    bias: np.ndarray | None,
    *,
    in_scale: float,
    in_zp: int,
    w_scale: float | Sequence[float],
    out_scale: float,
    out_zp: int,
    activation: str = "NONE",
    batch: int = 1,
    act_type: str = "INT8",
) -> bytes:
    """A one-operator FULLY_CONNECTED model: input ``(batch, K)``, weights ``w (C, K)``,
    int32 ``bias (C)`` (or none); per-channel when ``w_scale`` has C values. ``act_type =
    "INT16"`` makes it a 16x8 kernel (int16 activations, int64 bias)."""
    w = np.asarray(w)
    c, k = w.shape
    b = ModelBuilder()
    x = b.tensor("x", (batch, k), act_type, scale=in_scale, zero_point=in_zp)
    ins = [x, *_weight_and_bias(b, w, bias, in_scale, w_scale, _bias_type(act_type))]
    y = b.tensor("y", (batch, c), act_type, scale=out_scale, zero_point=out_zp)
    b.op("FULLY_CONNECTED", ins, [y], fused_activation=activation)
    return b.build([x], [y])


def conv2d_model(
    w: np.ndarray,
    bias: np.ndarray | None,
    *,
    in_hw: tuple[int, int],
    in_scale: float,
    in_zp: int,
    w_scale: float | Sequence[float],
    out_scale: float,
    out_zp: int,
    stride: tuple[int, int] = (1, 1),
    dilation: tuple[int, int] = (1, 1),
    padding: str = "SAME",
    activation: str = "NONE",
    act_type: str = "INT8",
) -> bytes:
    """A one-operator CONV_2D model: input ``(1, H, W, Cin)``, filter ``w (Cout, KH, KW, Cin)``
    (``act_type = "INT16"``: 16x8)."""
    from .params import window_padding

    w = np.asarray(w)
    cout, kh, kw, cin = w.shape
    h, wd = in_hw
    pad = window_padding(
        _PADDINGS[padding], h, wd, kh, kw, stride[0], stride[1], dilation[0], dilation[1]
    )
    b = ModelBuilder()
    x = b.tensor("x", (1, h, wd, cin), act_type, scale=in_scale, zero_point=in_zp)
    ins = [x, *_weight_and_bias(b, w, bias, in_scale, w_scale, _bias_type(act_type))]
    y = b.tensor("y", (1, pad.out_h, pad.out_w, cout), act_type, scale=out_scale, zero_point=out_zp)
    b.op(
        "CONV_2D",
        ins,
        [y],
        padding=padding,
        strideH=stride[0],
        strideW=stride[1],
        dilationHFactor=dilation[0],
        dilationWFactor=dilation[1],
        fused_activation=activation,
    )
    return b.build([x], [y])


def _bias_type(act_type: str) -> str:
    return "INT64" if act_type == "INT16" else "INT32"


def _bias_tensor(
    b: ModelBuilder, bias: np.ndarray, in_scale: float, w_scale: np.ndarray, bias_type: str
) -> int:
    bias = np.asarray(bias)
    return b.tensor(
        "bias", bias.shape, bias_type, scale=np.float32(in_scale) * w_scale, zero_point=0, data=bias
    )


def depthwise_model(
    w: np.ndarray,
    bias: np.ndarray | None,
    *,
    in_hw: tuple[int, int],
    cin: int,
    in_scale: float,
    in_zp: int,
    w_scale: float | Sequence[float],
    out_scale: float,
    out_zp: int,
    stride: tuple[int, int] = (1, 1),
    dilation: tuple[int, int] = (1, 1),
    padding: str = "SAME",
    activation: str = "NONE",
    act_type: str = "INT8",
    batch: int = 1,
) -> bytes:
    """A one-operator DEPTHWISE_CONV_2D model: input ``(batch, H, W, cin)``, filter
    ``w (1, KH, KW, Cout)`` (``Cout = cin * depth_multiplier``); per-channel when ``w_scale``
    has Cout values. ``act_type = "INT16"`` makes it a 16x8 kernel (int64 bias)."""
    from .params import window_padding

    w = np.asarray(w)
    _, kh, kw, cout = w.shape
    h, wd = in_hw
    pad = window_padding(
        _PADDINGS[padding], h, wd, kh, kw, stride[0], stride[1], dilation[0], dilation[1]
    )
    ws = np.atleast_1d(np.asarray(w_scale, dtype=np.float32))
    b = ModelBuilder()
    x = b.tensor("x", (batch, h, wd, cin), act_type, scale=in_scale, zero_point=in_zp)
    ins = [x, b.tensor("w", w.shape, "INT8", scale=ws, zero_point=0, quantized_dimension=3, data=w)]
    if bias is not None:
        ins.append(_bias_tensor(b, bias, in_scale, ws, _bias_type(act_type)))
    y = b.tensor(
        "y", (batch, pad.out_h, pad.out_w, cout), act_type, scale=out_scale, zero_point=out_zp
    )
    b.op(
        "DEPTHWISE_CONV_2D",
        ins,
        [y],
        padding=padding,
        strideH=stride[0],
        strideW=stride[1],
        depthMultiplier=cout // cin,
        dilationHFactor=dilation[0],
        dilationWFactor=dilation[1],
        fused_activation=activation,
    )
    return b.build([x], [y])


def transpose_conv_model(
    w: np.ndarray,
    bias: np.ndarray | None,
    *,
    in_hw: tuple[int, int],
    out_hw: tuple[int, int],
    in_scale: float,
    in_zp: int,
    w_scale: float | Sequence[float],
    out_scale: float,
    out_zp: int,
    stride: tuple[int, int] = (1, 1),
    padding: str = "SAME",
    activation: str = "NONE",
    act_type: str = "INT8",
) -> bytes:
    """A one-operator TRANSPOSE_CONV model: input ``(1, H, W, Cin)``, filter
    ``w (Cout, KH, KW, Cin)``, output ``(1, *out_hw, Cout)``."""
    w = np.asarray(w)
    cout, kh, kw, cin = w.shape
    h, wd = in_hw
    ws = np.atleast_1d(np.asarray(w_scale, dtype=np.float32))
    b = ModelBuilder()
    shape = b.tensor("output_shape", (4,), "INT32", data=np.array([1, out_hw[0], out_hw[1], cout]))
    wt = b.tensor("w", w.shape, "INT8", scale=ws, zero_point=0, data=w)
    x = b.tensor("x", (1, h, wd, cin), act_type, scale=in_scale, zero_point=in_zp)
    ins = [shape, wt, x]
    if bias is not None:
        ins.append(_bias_tensor(b, bias, in_scale, ws, _bias_type(act_type)))
    y = b.tensor("y", (1, out_hw[0], out_hw[1], cout), act_type, scale=out_scale, zero_point=out_zp)
    b.op(
        "TRANSPOSE_CONV",
        ins,
        [y],
        padding=padding,
        strideH=stride[0],
        strideW=stride[1],
        fused_activation=activation,
    )
    return b.build([x], [y])
