"""QKeras' ``quantized_bits`` in numpy, returning what the quantizer does not: the integer weights
``z`` and the scale, so that a QKeras-trained layer can be exported to integer hardware.

This follows ``qkeras/quantizers.py`` (``quantized_bits.__call__`` and
``_get_least_squares_scale``), in float32 like TensorFlow. With ``m = 2^(bits - keep_negative)``
and ``m_i = 2^integer``, the quantizer output is always ``xq = scale * m_i * z / m``; one integer
step is worth ``step = scale * m_i / m``.

``alpha=None`` (or a number / array): ``z = clip(round(x * m / m_i), lo, m - 1)`` with ``round``
ties-to-even (``tf.round``) and ``lo = -m + symmetric`` (``0`` when not ``keep_negative``);
``scale = alpha`` (1 for None).

``alpha='auto'`` / ``'auto_po2'`` (QKeras forces ``symmetric=True``):

1. ``x' = x / m_i``; ``levels = 2 * (2^(bits-1) - 1)``.
2. ``scale = 2 * max|x'| / levels``, reduced over every axis but the channel axis (the last
   one, or all but ``scale_axis``); a rank-1 tensor gets one scale.
3. ``auto_po2`` only: ``scale = 2^round(log(scale + eps) / log 2)`` (``eps = 1e-7``, ``round``
   ties-to-even), then five times: quantize (step 4) with that scale and set
   ``scale = 2^round(log2(mean(x' z) / (mean(z z) + eps) + eps))``, the power of two nearest the
   least-squares scale, optionally clipped to ``[2^min_po2_exponent, 2^max_po2_exponent]``.
   (QKeras' least-squares step gives a rank-1 tensor one scale *per element*; reproduced.)
4. ``z = sign(x') * min(floor(|x'| / scale + 0.5), levels / 2)``: round half away from zero,
   saturating at ``2^(bits-1) - 1``.
5. QKeras reports ``scale * m`` as its ``scale``; ``xq = (scale * m) * (m_i * z / m)``.

Subnormal float32 values: TensorFlow's CPU kernels flush them to zero, on input and output
(FTZ/DAZ). So does this module: a subnormal weight counts as 0, and a channel whose ``scale`` in
step 2 is subnormal gets ``scale = 0`` and output 0 (its ``z`` are what QKeras computes inside,
``sign(x') * levels/2``, since ``|x'| / 0`` is infinite). The quantizer returns
``x + stop_gradient(-x + xq)``: where ``-x + xq`` is subnormal it is flushed and the output is
``x`` itself; ``.xq`` is that output.

Version: QKeras master (``google/qkeras``), where ``auto_po2`` quantizes once more with the last
scale (step 4 after step 3). QKeras 0.9.0, the last PyPI release, keeps the ``z`` of the fifth
iteration, quantized with the scale *before* the last least-squares step; the two differ when
the scale has not converged after five iterations. ``qkeras_version="0.9.0"`` reproduces that.

Known limits: float32 ``log``/``mean`` may differ from TensorFlow's in the last bit, which only
matters when ``log2`` of a scale is within ~1e-7 of a rounding boundary. ``bits = 1`` (QKeras'
binary sign quantizer) is not supported.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..checks import as_real_array
from .symmetric import po2_exponent, round_real

EPSILON = np.float32(1e-7)
"""``K.epsilon()``."""

_LN2 = np.float32(np.log(2.0))

QKERAS_VERSIONS = ("master", "0.9.0")
"""The QKeras versions whose ``auto_po2`` result :func:`qkeras_quantized_bits` can reproduce."""

_TINY = np.finfo(np.float32).tiny


def _ftz(a) -> np.ndarray:
    """Flush float32 subnormals to (signed) zero, as TensorFlow's CPU kernels do."""
    a = np.asarray(a, dtype=np.float32)
    return np.where(np.abs(a) < _TINY, a * np.float32(0), a).astype(np.float32)


@dataclasses.dataclass(frozen=True)
class QKerasQuantized:
    """Integers ``z`` and scales of one ``quantized_bits`` call.

    ``scale`` is QKeras' ``quantizer.scale`` (broadcastable against ``z``, keepdims shape);
    ``xq`` is the quantizer's float32 output; ``xq == scale * m_i * z / m`` except where the
    quantization error is subnormal (TensorFlow then returns ``x``; module doc).
    """

    z: np.ndarray
    scale: np.ndarray
    m: float
    m_i: float
    xq: np.ndarray
    bits: int
    integer: int

    @property
    def step(self) -> np.ndarray:
        """The real value of one integer step (``scale * m_i / m``), broadcastable against ``z``."""
        return np.asarray(self.scale, dtype=np.float64) * self.m_i / self.m

    def channel_step(self) -> np.ndarray:
        """``step`` as a flat array: one value per channel (or a 0-d array when per-tensor)."""
        s = np.asarray(self.step)
        return s.reshape(-1) if s.size > 1 else s.reshape(())

    def frac_bits(self) -> np.ndarray:
        """Fractional bits of a power-of-two ``step`` (``auto_po2``, or ``alpha`` of 1 / None)."""
        return -po2_exponent(self.channel_step(), "step")


def _ste_output(x: np.ndarray, xq: np.ndarray) -> np.ndarray:
    """What the quantizer returns: ``x + stop_gradient(-x + xq)``. In float32 that is ``xq``,
    except where ``xq - x`` is subnormal: flushed to 0, it leaves ``x`` itself."""
    return _ftz(x + _ftz(-x + xq))


def _scaling_axes(ndim: int, scale_axis: int | None) -> tuple[int, ...]:
    """QKeras' ``_get_scaling_axis``: every axis but ``scale_axis`` (default: the last)."""
    keep = ndim - 1 if scale_axis is None else scale_axis % ndim
    return tuple(i for i in range(ndim) if i != keep)


def _po2_round(scale: np.ndarray) -> np.ndarray:
    """``K.pow(2, tf.round(K.log(scale + eps) / log 2))`` in float32."""
    with np.errstate(divide="ignore"):
        e = np.rint(np.log((_ftz(scale) + EPSILON).astype(np.float32)) / _LN2)
    return np.ldexp(np.float32(1.0), e.astype(np.int32)).astype(np.float32)


def _quantize_z(x: np.ndarray, scale: np.ndarray, levels: int) -> np.ndarray:
    """``sign(x) * where(v < levels/2, v, levels/2)`` with ``v = floor(|x| / scale + 0.5)``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.floor(_ftz(np.abs(x) / scale) + np.float32(0.5)).astype(np.float32)
        half = np.float32(levels / 2)
        return (np.sign(x) * np.where(v < half, v, half)).astype(np.float32)


def _least_squares_po2(x, z, scale_axis, min_po2_exponent, max_po2_exponent) -> np.ndarray:
    if x.ndim > 1:
        axes = _scaling_axes(x.ndim, scale_axis)
        qx = _ftz(np.mean(_ftz(x * z), axis=axes, keepdims=True, dtype=np.float32))
        qq = np.mean(z * z, axis=axes, keepdims=True, dtype=np.float32)
    else:  # QKeras: "no summing along the channel axis" -- one scale per element
        qx, qq = _ftz(x * z), z * z
    scale = _po2_round(_ftz(qx / (qq + EPSILON)))
    if min_po2_exponent is not None or max_po2_exponent is not None:
        lo = None if min_po2_exponent is None else np.float32(2.0**min_po2_exponent)
        hi = None if max_po2_exponent is None else np.float32(2.0**max_po2_exponent)
        scale = np.clip(scale, lo, hi).astype(np.float32)
    return scale


def qkeras_quantized_bits(
    x,
    bits: int = 8,
    integer: int = 0,
    symmetric: bool | int = 0,
    keep_negative: bool = True,
    alpha=None,
    *,
    scale_axis: int | None = None,
    min_po2_exponent: int | None = None,
    max_po2_exponent: int | None = None,
    qkeras_version: str = "master",
) -> QKerasQuantized:
    """``quantized_bits(bits, integer, symmetric, keep_negative, alpha)(x)`` with its integers.

    Arguments and defaults are QKeras' (``symmetric=0``, ``keep_negative=True``, ``alpha=None``;
    channels last). For a Dense kernel ``(K, C)`` the per-channel scales are per output ``C``;
    the datapath's weight matrix is ``z.T``. ``qkeras_version`` is ``"master"`` (default) or
    ``"0.9.0"``; they differ only for an ``auto_po2`` scale that has not converged (module doc).
    """
    if qkeras_version not in QKERAS_VERSIONS:
        raise ValueError(f"qkeras_version = {qkeras_version!r} must be one of {QKERAS_VERSIONS}")
    if isinstance(bits, bool) or not isinstance(bits, int) or bits < 2:
        raise ValueError(
            f"bits = {bits!r} must be an integer >= 2 (1-bit sign quantizer is not supported)"
        )
    auto = isinstance(alpha, str)
    if auto and alpha not in ("auto", "auto_po2"):
        raise ValueError(f"alpha = {alpha!r} must be None, a number/array, 'auto' or 'auto_po2'")
    if alpha != "auto_po2" and (min_po2_exponent is not None or max_po2_exponent is not None):
        raise ValueError("min_po2_exponent / max_po2_exponent only apply to alpha='auto_po2'")
    x = as_real_array("x", x, np.float32)
    if not np.all(np.isfinite(x)):
        raise ValueError("x must be finite")
    x = _ftz(x)
    unsigned_bits = bits - int(bool(keep_negative))
    m = np.float32(2.0**unsigned_bits)
    m_i = np.float32(2.0**integer)

    if not auto:
        p = (x * m / m_i).astype(np.float32)
        lo = int(bool(keep_negative)) * (-float(m) + int(symmetric))
        z = np.clip(round_real(p, "half_even"), lo, float(m) - 1).astype(np.float32)
        scale = np.asarray(1.0 if alpha is None else alpha, dtype=np.float32)
        xq = _ste_output(x, _ftz(scale * _ftz(m_i * z / m)))
        return QKerasQuantized(
            z=z.astype(np.int64),
            scale=scale.astype(np.float64),
            m=float(m),
            m_i=float(m_i),
            xq=xq,
            bits=bits,
            integer=integer,
        )

    axes = _scaling_axes(x.ndim, scale_axis) if x.ndim > 1 else (0,)
    xs = _ftz(x / m_i)
    levels = (2 ** (bits - 1) - 1) * 2
    scale = _ftz(
        _ftz(np.max(np.abs(xs), axis=axes, keepdims=True) * np.float32(2)) / np.float32(levels)
    )
    z = None
    if alpha == "auto_po2":
        scale = _po2_round(scale)
        for _ in range(5):
            z = _quantize_z(xs, scale, levels)
            scale = _least_squares_po2(xs, z, scale_axis, min_po2_exponent, max_po2_exponent)
    if z is None or qkeras_version == "master":
        z = _quantize_z(xs, scale, levels)
    scale = _ftz(scale * m)
    xq = _ste_output(_ftz(m_i * xs), _ftz(scale * _ftz(m_i * z / m)))
    return QKerasQuantized(
        z=z.astype(np.int64),
        scale=scale.astype(np.float64),
        m=float(m),
        m_i=float(m_i),
        xq=xq,
        bits=bits,
        integer=integer,
    )
