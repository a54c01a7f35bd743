"""TFLite's quantization parameters, formed the way TFLite forms them: the real multipliers of a
fully-connected / convolution layer (float32 scales, as a ``.tflite`` file stores them), their
``(M, s)`` pairs, and the clamp range of a fused activation.

References: ``tensorflow/lite/kernels/kernel_util.cc`` (``GetQuantizedConvolutionMultipler``,
``PopulateConvolutionQuantizationParams``, ``CalculateActivationRangeQuantized``) and
``quantization_util.cc`` (``QuantizeMultiplier``, in :mod:`pyref.tflite_math`).
"""

from __future__ import annotations

import numpy as np

from ..checks import as_real_array, describe
from ..tflite_math import quantize_multiplier, std_round

ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")
"""Fused activations of TFLite's quantized FULLY_CONNECTED / CONV_2D."""


def _f32(name: str, v) -> np.ndarray:
    return as_real_array(name, v, np.float32)


ENGINES = ("tflm", "tflite")
"""Which engine's rule forms a per-tensor real multiplier: TFLite Micro (the reference interpreter
that the hardware-in-the-loop runs check against) or TFLite/LiteRT's ``kernel_util.cc``."""


def tflite_real_multipliers(
    s_in, s_w, s_out, *, per_channel: bool | None = None, engine: str = "tflm"
) -> np.ndarray:
    """The real multiplier(s) of a quantized FC/conv layer, bit for bit as the engine computes them.

    - per-channel, and per-tensor with ``engine="tflm"`` (TFLite Micro's
      ``GetQuantizedConvolutionMultipler`` / ``PopulateConvolutionQuantizationParams``):
      ``double(s_in) * double(s_w[c]) / double(s_out)``;
    - per-tensor with ``engine="tflite"`` (TFLite/LiteRT's ``kernel_util.cc``):
      ``double(float32(s_in * s_w)) / double(s_out)`` -- the product is rounded to float32 first.

    The two per-tensor rules give a different ``M`` for some scales; the interpreter in the
    ``tflite-micro`` wheel follows the double product (tests/test_hil_import.py shows it).
    Scales are taken as float32 first (that is what the flatbuffer holds). ``per_channel``
    defaults to "``s_w`` has more than one value".
    """
    if engine not in ENGINES:
        raise ValueError(f"engine = {engine!r} is not one of {', '.join(ENGINES)}")
    scales = {"s_in": _f32("s_in", s_in), "s_w": _f32("s_w", s_w), "s_out": _f32("s_out", s_out)}
    for key, v in scales.items():
        # a weight scale of 0 (an all-zero channel) gives the multiplier 0, which TFLite accepts
        if not np.all(np.isfinite(v) & ((v >= 0) if key == "s_w" else (v > 0))):
            raise ValueError(
                f"{key} must be finite and {'>=' if key == 's_w' else '>'} 0 "
                f"(a TFLite scale), got {v}"
            )
    s_in, s_w, s_out = scales["s_in"], scales["s_w"], scales["s_out"]
    if s_in.ndim or s_out.ndim:
        raise ValueError("s_in and s_out must be scalars (per-tensor activations)")
    if per_channel is None:
        per_channel = s_w.size > 1
    if per_channel or engine == "tflm":
        if not per_channel and s_w.size != 1:
            raise ValueError(f"per-tensor quantization needs one weight scale, got {s_w.size}")
        real = np.float64(s_in) * s_w.astype(np.float64).reshape(-1) / np.float64(s_out)
        return real if per_channel else np.asarray(real[0])
    if s_w.size != 1:
        raise ValueError(f"per-tensor quantization needs one weight scale, got {s_w.size}")
    product = np.float32(s_in * s_w.reshape(()))  # float32 * float32 -> float32, as in C++
    return np.asarray(np.float64(product) / np.float64(s_out))


def tflite_multipliers(
    s_in,
    s_w,
    s_out,
    *,
    per_channel: bool | None = None,
    channels: int | None = None,
    engine: str = "tflm",
) -> tuple[np.ndarray, np.ndarray]:
    """TFLite's ``(M, s)`` arrays (int64) for :func:`tflite_real_multipliers`.

    With ``channels``, a per-tensor pair is repeated to that many channels (the vector file
    and :class:`~pyref.layer.Layer` carry one value per channel).
    """
    real = np.atleast_1d(
        tflite_real_multipliers(s_in, s_w, s_out, per_channel=per_channel, engine=engine)
    )
    pairs = [quantize_multiplier(float(r)) for r in real]
    m = np.array([p[0] for p in pairs], dtype=np.int64)
    s = np.array([p[1] for p in pairs], dtype=np.int64)
    if channels is not None:
        if m.size == 1:
            m, s = np.repeat(m, channels), np.repeat(s, channels)
        elif m.size != channels:
            raise ValueError(f"{m.size} per-channel multipliers but channels = {channels}")
    return m, s


def activation_range(
    activation: str, out_scale: float, out_zp: int, out_bits: int = 8
) -> tuple[int, int]:
    """``(act_min, act_max)`` of a fused activation: TFLite's ``CalculateActivationRangeQuantized``.

    ``quantize(f) = zp + int(TfLiteRound(float32(f) / float32(scale)))`` (float32 division,
    ties away from zero), then ``RELU: [max(qmin, q(0)), qmax]``,
    ``RELU6: [max(qmin, q(0)), min(qmax, q(6))]``, ``RELU_N1_TO_1: [max(qmin, q(-1)),
    min(qmax, q(1))]``, ``NONE: [qmin, qmax]`` with ``[qmin, qmax]`` the signed ``out_bits``
    range.
    """
    if not isinstance(activation, str):
        raise TypeError(
            f"activation must be one of {', '.join(ACTIVATIONS)} (a str), got "
            f"{describe(activation)}"
        )
    activation = activation.upper()
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation = {activation!r} is not one of {', '.join(ACTIVATIONS)}")
    qmin, qmax = -(1 << (out_bits - 1)), (1 << (out_bits - 1)) - 1
    scale = np.float32(as_real_array("out_scale", out_scale))
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"out_scale = {out_scale!r} must be finite and > 0 as a float32")
    out_zp = int(out_zp)

    def quantize(f: float) -> int:
        with np.errstate(over="ignore"):
            t = np.float32(np.float32(f) / scale)
        if not np.isfinite(t) or not -(2.0**31) <= float(t) < 2.0**31:
            raise ValueError(f"activation bound {f} / out_scale {out_scale} overflows int32")
        return out_zp + std_round(float(t))  # float32 -> double is exact

    if activation == "RELU":
        return max(qmin, quantize(0.0)), qmax
    if activation == "RELU6":
        return max(qmin, quantize(0.0)), min(qmax, quantize(6.0))
    if activation == "RELU_N1_TO_1":
        return max(qmin, quantize(-1.0)), min(qmax, quantize(1.0))
    return qmin, qmax
