"""Symmetric quantization of float tensors to integers and scales, and power-of-two scales as
shifts.

Convention: a quantized tensor is ``real ~= q * scale`` with integer ``q`` and a positive float
``scale`` (the value of one integer step). Per-tensor quantization has one scale; per-channel has
one per index of the channel axis. The datapath's output requantizer then multiplies the
accumulator by ``s_in * s_w / s_out`` (see :mod:`pyref.quantize.layer`).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..checks import ValueRangeError, _fmt_index, as_real_array

REAL_ROUNDING_MODES = (
    "half_even",
    "half_away",
    "half_up",
    "half_down",
    "half_zero",
    "floor",
    "trunc",
)
"""How a real value is rounded to an integer; same names as the datapath's shift rounding."""


def int_range(bits: int, *, narrow: bool = True, signed: bool = True) -> tuple[int, int]:
    """Inclusive integer range of ``bits``: narrow ``[-(2^(b-1)-1), 2^(b-1)-1]`` or full
    ``[-2^(b-1), 2^(b-1)-1]``; unsigned ``[0, 2^b - 1]``."""
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or bits < 1:
        raise ValueError(f"bits = {bits!r} must be an integer >= 1")
    if not signed:
        return 0, (1 << bits) - 1
    if bits < 2 and narrow:
        raise ValueError("bits = 1 has no narrow signed range (it would be {0})")
    hi = (1 << (bits - 1)) - 1
    return (-hi if narrow else -hi - 1), hi


def round_real(v, mode: str = "half_even") -> np.ndarray:
    """Round float values to integers (int64) by ``mode``, exactly (no ``+0.5`` double rounding).

    ``half_even`` is numpy's ``rint`` / ONNX; ``half_away`` is C ``round`` (TFLite's converter,
    QKeras ``auto``); ``half_up`` ties toward +inf.
    """
    if mode not in REAL_ROUNDING_MODES:
        raise ValueError(f"rounding = {mode!r} is not one of {', '.join(REAL_ROUNDING_MODES)}")
    v = as_real_array("value", v)
    if not np.all(np.isfinite(v)):
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(v))[0])
        raise ValueRangeError(f"value{_fmt_index(idx)} = {v[idx]} is not finite")
    if v.size and np.max(np.abs(v)) >= 2.0**62:
        raise ValueRangeError(f"|value| = {np.max(np.abs(v))} does not fit int64 after rounding")
    # Round the magnitude: for a >= 0, a - floor(a) is exact (Sterbenz), v - floor(v) is not.
    neg = v < 0
    a = np.abs(v)
    fl = np.floor(a)
    d = a - fl
    tie = d == 0.5
    if mode == "floor":  # toward -inf: magnitude up for negatives
        up = neg & (d > 0)
    elif mode == "trunc":
        up = np.zeros(v.shape, dtype=bool)
    else:
        up = d > 0.5
        if mode == "half_even":
            up |= tie & (np.mod(fl, 2) == 1)
        elif mode == "half_away":
            up |= tie
        elif mode == "half_up":  # toward +inf
            up |= tie & ~neg
        elif mode == "half_down":  # toward -inf
            up |= tie & neg
        # half_zero: a tie keeps the smaller magnitude
    mag = (fl + up).astype(np.int64)
    return np.where(neg, -mag, mag)


@dataclasses.dataclass(frozen=True)
class Quantized:
    """Integers ``q`` and the ``scale`` they stand for: ``real ~= q * scale``.

    ``scale`` is a float64 scalar (per-tensor) or has the size of the channel axis ``axis``.
    """

    q: np.ndarray
    scale: np.ndarray
    bits: int
    axis: int | None = None

    def scale_broadcast(self) -> np.ndarray:
        """``scale`` shaped to broadcast against ``q``."""
        return _expand(np.asarray(self.scale), self.q.ndim, self.axis)

    def dequantize(self) -> np.ndarray:
        """The real values the integers stand for (float64)."""
        return self.q.astype(np.float64) * self.scale_broadcast()


def _expand(per_channel: np.ndarray, ndim: int, axis: int | None) -> np.ndarray:
    if axis is None or per_channel.ndim == 0:
        return per_channel
    shape = [1] * ndim
    shape[axis] = per_channel.size
    return per_channel.reshape(shape)


def _norm_axis(axis: int | None, ndim: int) -> int | None:
    if axis is None:
        return None
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis = {axis} is out of range for a tensor of {ndim} dimension(s)")
    return axis % ndim


def abs_max(x, axis: int | None = None) -> np.ndarray:
    """``max |x|`` over the whole tensor (``axis=None``) or over every axis but ``axis``."""
    x = as_real_array("x", x)
    axis = _norm_axis(axis, x.ndim)
    if x.size == 0:
        raise ValueError("cannot take max |x| of an empty tensor")
    if axis is None:
        return np.asarray(np.max(np.abs(x)))
    others = tuple(i for i in range(x.ndim) if i != axis)
    return np.max(np.abs(x), axis=others) if others else np.abs(x)


def symmetric_scale(max_abs, bits: int) -> np.ndarray:
    """``max_abs / (2^(bits-1) - 1)``: the scale that maps ``max_abs`` onto the largest integer.

    A zero ``max_abs`` (an all-zero channel) gets scale 1.0: any scale represents it exactly.
    """
    max_abs = as_real_array("max_abs", max_abs)
    if np.any(max_abs < 0) or not np.all(np.isfinite(max_abs)):
        raise ValueError("max_abs must be finite and >= 0")
    qmax = (1 << (bits - 1)) - 1
    if qmax < 1:
        raise ValueError(f"bits = {bits} is too narrow for symmetric quantization (need >= 2)")
    return np.where(max_abs > 0, max_abs / qmax, 1.0)


def quantize_symmetric(
    x,
    bits: int = 8,
    *,
    axis: int | None = None,
    narrow: bool = True,
    rounding: str = "half_even",
    max_abs=None,
    scale=None,
) -> Quantized:
    """Symmetric (zero point 0) quantization of a float tensor.

    - ``axis=None``: one scale for the tensor; ``axis=c``: one scale per index of axis ``c``
      (per-channel: for a weight matrix ``(C, K)`` use ``axis=0``).
    - ``scale`` defaults to ``max_abs / (2^(bits-1) - 1)`` with ``max_abs`` the clip threshold
      (default ``max |x|``, per channel when ``axis`` is given); pass ``scale`` to impose one
      (e.g. a power of two from :func:`po2_scale`).
    - ``q = clip(round(x / scale), lo, hi)`` with ``[lo, hi]`` the ``narrow`` or full range;
      values beyond the threshold saturate, as a calibrated clip range intends.
    """
    x = as_real_array("x", x)
    axis = _norm_axis(axis, x.ndim)
    lo, hi = int_range(bits, narrow=narrow)
    if scale is None:
        if max_abs is None:
            max_abs = abs_max(x, axis)
        scale = symmetric_scale(max_abs, bits)
    scale = as_real_array("scale", scale)
    if np.any(~np.isfinite(scale)) or np.any(scale <= 0):
        raise ValueError(f"scale must be finite and > 0, got {scale}")
    if axis is not None and scale.ndim and scale.size != x.shape[axis]:
        raise ValueError(f"scale has {scale.size} values but axis {axis} has {x.shape[axis]}")
    q = np.clip(round_real(x / _expand(scale, x.ndim, axis), rounding), lo, hi)
    return Quantized(q=q.astype(np.int64), scale=scale, bits=bits, axis=axis)


def quantize_to_scale(
    values,
    scale,
    bits: int,
    *,
    rounding: str = "half_even",
    name: str = "bias",
    narrow: bool = False,
) -> np.ndarray:
    """Quantize ``values`` with a given ``scale`` (e.g. a bias at ``s_in * s_w``) and refuse,
    naming the index and the range, any value that does not fit ``bits`` (no silent clamp)."""
    values = as_real_array(name, values)
    scale = as_real_array(f"scale of {name}", scale)
    if np.any(~np.isfinite(scale)) or np.any(scale <= 0):
        raise ValueError(f"scale of {name} must be finite and > 0")
    q = round_real(values / scale, rounding)
    lo, hi = int_range(bits, narrow=narrow)
    bad = (q < lo) | (q > hi)
    if np.any(bad):
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueRangeError(
            f"{name}{_fmt_index(idx)} = {float(values[idx])!r} quantizes to {q[idx]}, which does "
            f"not fit {bits} bits: allowed {lo} .. {hi}; use a wider {name} or a larger scale"
        )
    return q


# ----- power-of-two scales ----------------------------------------------------------------------


def po2_scale(max_abs, bits: int, *, mode: str = "ceil") -> np.ndarray:
    """A power-of-two scale ``2^e`` for threshold ``max_abs`` at ``bits`` (symmetric).

    ``ceil``: the smallest ``2^e`` with ``max_abs <= (2^(bits-1)-1) * 2^e`` (nothing clips);
    ``round``: ``2^round(log2(max_abs / (2^(bits-1)-1)))`` (may clip the largest values).
    """
    max_abs = as_real_array("max_abs", max_abs)
    qmax = (1 << (bits - 1)) - 1
    if qmax < 1:
        raise ValueError(f"bits = {bits} is too narrow for symmetric quantization (need >= 2)")
    if mode not in ("ceil", "round"):
        raise ValueError(f"mode = {mode!r} is not one of ceil, round")
    out = np.empty(max_abs.shape, dtype=np.float64)
    for idx, a in np.ndenumerate(max_abs):
        a = float(a)
        if not math.isfinite(a) or a < 0:
            raise ValueError(f"max_abs{_fmt_index(idx)} = {a} must be finite and >= 0")
        if a == 0:
            out[idx] = 1.0
            continue
        ratio = a / qmax
        if mode == "round":
            out[idx] = 2.0 ** round(math.log2(ratio))
            continue
        e = math.ceil(math.log2(ratio))
        # log2 of a double can be off by an ulp: settle the exponent with exact comparisons.
        while math.ldexp(qmax, e - 1) >= a:
            e -= 1
        while math.ldexp(qmax, e) < a:
            e += 1
        out[idx] = math.ldexp(1.0, e)
    return out


def po2_exponent(scale, name: str = "scale") -> np.ndarray:
    """The integer ``e`` with ``scale == 2^e`` exactly; an error names any non-power of two."""
    scale = as_real_array(name, scale)
    out = np.empty(scale.shape, dtype=np.int64)
    for idx, s in np.ndenumerate(scale):
        m, e = math.frexp(float(s))
        if not (math.isfinite(s) and s > 0 and m == 0.5):
            raise ValueError(f"{name}{_fmt_index(idx)} = {float(s)!r} is not a power of two")
        out[idx] = e - 1
    return out


def frac_bits(scale, name: str = "scale") -> np.ndarray:
    """Fractional bits ``f`` of a power-of-two scale ``2^-f`` (``ap_fixed<W, W-f>``)."""
    return -po2_exponent(scale, name)


def requant_shift(s_in, s_w, s_out) -> np.ndarray:
    """The right shift of a shift-only requantizer for ``out = in * w``.

    The accumulator has scale ``s_in * s_w``; the output ``s_out``, all powers of two. The
    output integer is ``acc * s_in * s_w / s_out = acc / 2^t`` with
    ``t = f_in + f_w - f_out`` fractional bits. ``s_w`` may be per channel; ``t < 0`` (which
    would need a left shift) is an error.
    """
    t = frac_bits(s_in, "s_in") + frac_bits(s_w, "s_w") - frac_bits(s_out, "s_out")
    t = np.asarray(t)
    if np.any(t < 0):
        idx = tuple(int(i) for i in np.argwhere(t < 0)[0])
        raise ValueError(
            f"requant shift{_fmt_index(idx)} = {int(t[idx])} < 0: s_in * s_w / s_out > 1 needs a "
            f"left shift, which the datapath does not have; give the output a larger scale"
        )
    return t
