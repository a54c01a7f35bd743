"""How TFLite (Micro) turns a model's float scales and options into integer kernel parameters.

Each function follows one TFLite routine, with the same float32/float64 steps, so that the
integers come out identical: requantization multipliers (fully connected and
``PopulateConvolutionQuantizationParams``), the fused-activation clamp
(``CalculateActivationRangeQuantized``) and SAME/VALID padding (``ComputePaddingHeightWidth``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pyref.quantize.tflite import activation_range as tflite_activation_range
from pyref.quantize.tflite import tflite_multipliers

from .schema import ACTIVATION_NAMES, schema


def activation_range(
    activation: int, out_scale: float, out_zp: int, bits: int = 8
) -> tuple[int, int]:
    """``CalculateActivationRangeQuantized`` for a fused-activation code of the schema: the
    ``bits``-wide (int8, int16) output clamp (:func:`pyref.quantize.tflite.activation_range`; ``q(f)
    = zp + round(float32(f) / scale)``). TANH and SIGN_BIT are not clamps and raise
    :class:`ActivationError`."""
    return tflite_activation_range(ActivationError.check(activation), out_scale, out_zp, bits)


class ActivationError(ValueError):
    """A fused activation that an integer kernel cannot apply as a clamp (TANH, SIGN_BIT)."""

    CLAMPS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")

    @classmethod
    def check(cls, activation: int) -> str:
        name = ACTIVATION_NAMES.get(activation, f"code {activation}")
        if name not in cls.CLAMPS:
            raise cls(f"fused activation {name} is not a clamp; supported: {', '.join(cls.CLAMPS)}")
        return name


def fully_connected_multipliers(
    in_scale: float, w_scales: np.ndarray, out_scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(M, s)`` of an int8 FULLY_CONNECTED layer: one pair (per-tensor) or one per channel,
    by TFLite Micro's rule (:func:`pyref.quantize.tflite.tflite_multipliers`, ``engine="tflm"``)."""
    w_scales = np.asarray(w_scales, dtype=np.float32).ravel()
    return tflite_multipliers(
        in_scale, w_scales, out_scale, per_channel=w_scales.size > 1, engine="tflm"
    )


def conv_multipliers(
    in_scale: float, w_scales: np.ndarray, out_scale: float, channels: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(M, s)`` per output channel of an int8 CONV_2D (``PopulateConvolutionQuantizationParams``:
    ``double(s_in) * double(s_w[c]) / double(s_out)``, per-tensor filters repeated)."""
    w_scales = np.asarray(w_scales, dtype=np.float32).ravel()
    return tflite_multipliers(
        in_scale,
        w_scales,
        out_scale,
        per_channel=w_scales.size > 1,
        channels=channels,
        engine="tflm",
    )


@dataclasses.dataclass(frozen=True)
class Padding2D:
    """Output size and the top/left padding of a 2-D window op (bottom/right take the rest)."""

    out_h: int
    out_w: int
    pad_top: int
    pad_left: int


def out_size(padding: int, in_size: int, filter_size: int, stride: int, dilation: int = 1) -> int:
    """``ComputeOutSize``: SAME -> ceil(in / stride); VALID -> floor((in - eff) / stride) + 1."""
    eff = (filter_size - 1) * dilation + 1
    if padding == schema.Padding.SAME:
        return (in_size + stride - 1) // stride
    if padding == schema.Padding.VALID:
        return (in_size + stride - eff) // stride
    raise ValueError(f"padding code {padding} is neither SAME (0) nor VALID (1)")


def window_padding(
    padding: int,
    in_h: int,
    in_w: int,
    f_h: int,
    f_w: int,
    stride_h: int,
    stride_w: int,
    dil_h: int = 1,
    dil_w: int = 1,
) -> Padding2D:
    """``ComputePaddingHeightWidth``: the output size and TFLite's top/left padding."""
    for name, v in (
        ("stride_h", stride_h),
        ("stride_w", stride_w),
        ("dilation_h", dil_h),
        ("dilation_w", dil_w),
    ):
        if v < 1:
            raise ValueError(f"{name} = {v} must be >= 1")
    oh = out_size(padding, in_h, f_h, stride_h, dil_h)
    ow = out_size(padding, in_w, f_w, stride_w, dil_w)

    def pad(stride: int, dil: int, size: int, fs: int, out: int) -> int:
        total = (out - 1) * stride + (fs - 1) * dil + 1 - size
        return max(total, 0) // 2

    return Padding2D(
        oh, ow, pad(stride_h, dil_h, in_h, f_h, oh), pad(stride_w, dil_w, in_w, f_w, ow)
    )


def reduce_multiplier_16x8(m: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TFLite's 64-bit ``MultiplyByQuantizedMultiplier(int64 x, M, s)`` (the 16x8 kernels) as one
    rounded multiply-and-shift: ``(x * m16 + 2^(t-1)) >> t`` with the multiplier rounded to 16
    bits, ``m16 = (M + 2^15) >> 16`` (``0x7FFF`` from ``M >= 0x7FFF0000`` up) and ``t = 15 - s``.
    Returns ``(m16, t)``: the datapath's ``mult`` and ``shift`` with ``rounding = half_up``."""
    m = np.asarray(m, dtype=np.int64)
    s = np.asarray(s, dtype=np.int64)
    bad = (s < -31) | (s > 7)
    if np.any(bad):
        i = int(np.argmax(bad))
        raise ValueError(
            f"shift[{i}] = {int(s[i])} is outside TFLite's 16x8 range -31 .. 7 "
            f"(the real scale is too large for a 16x8 kernel)"
        )
    m16 = np.where(m < 0x7FFF0000, (m + (1 << 15)) >> 16, 0x7FFF)
    return m16, 15 - s
