"""Brevitas' fixed-point quantizers in numpy: ``Int8WeightPerTensorFixedPoint`` (and its other
bit widths / per-channel form) and the externally scaled ``Int8Bias`` / ``Int16Bias`` /
``Int32Bias``.

What Brevitas does (``brevitas.quant.fixed_point``, ``brevitas.core``):

- weights: ``NarrowIntQuant`` (signed, narrow range ``[-(2^(b-1)-1), 2^(b-1)-1]``),
  ``MaxStatsScaling`` (threshold ``max |w|``, clamped to at least ``scaling_min_val = 1e-10``
  before the logarithm, so an all-zero tensor or channel gets ``2^-33 / 2^(b-1)``),
  ``PerTensorPoTScaling8bit``
  (``restrict_scaling_type = POWER_OF_TWO`` with ``CeilSte``: the threshold goes to
  ``2^ceil(log2(max |w|))``) and, for power-of-two scaling, ``PowerOfTwoIntScaling``
  (divide by ``2^(b-1)``). So ``scale = 2^ceil(log2 max(max|w|, 1e-10)) / 2^(b-1)`` and
  ``int_w = clamp(round(w / scale))`` with ``torch.round`` (ties to even). PyTorch parameters
  are float32, so the weights are taken as float32 here too.
- bias with an external scale (``IntQuant`` at 8/16/32 bits, not narrow):
  ``scale = s_w * s_in`` and ``int_b = round(b / scale)`` (ties to even). Brevitas clamps a bias
  that does not fit; qmac refuses it instead (a clamped bias is a silently wrong layer).

The fractional bits of a power-of-two scale are ``-log2(scale)``, i.e. ``ap_fixed<b, b - f>``.
"""

from __future__ import annotations

import numpy as np

from ..checks import ValueRangeError, as_real_array
from .symmetric import Quantized, _norm_axis, int_range, round_real

SCALING_MIN_VAL = np.float32(1e-10)
"""``MaxStatsScaling.scaling_min_val``: the smallest threshold Brevitas lets through."""

BIAS_BITS = (8, 16, 24, 32)
"""Bit widths of Brevitas' ``Int8Bias``, ``Int16Bias``, ``Int24Bias``, ``Int32Bias``."""


def brevitas_fixed_point_weight(w, bits: int = 8, *, axis: int | None = None) -> Quantized:
    """``Int<bits>WeightPerTensorFixedPoint`` (``axis=None``) or its per-output-channel form
    (``axis`` = the output-channel axis, 0 for a PyTorch ``(out, in)`` weight).

    Returns the narrow-range integers and the power-of-two scale (per channel with ``axis``).
    """
    lo, hi = int_range(bits, narrow=True)
    w32 = as_real_array("w", w, np.float32)
    if not np.all(np.isfinite(w32)):
        raise ValueError("weights must be finite")
    axis = _norm_axis(axis, w32.ndim)
    if axis is None:
        amax = np.max(np.abs(w32))
    else:
        others = tuple(i for i in range(w32.ndim) if i != axis)
        amax = np.max(np.abs(w32), axis=others) if others else np.abs(w32)
    # Brevitas clamps the threshold to scaling_min_val, then takes ceil(log2) in float32.
    threshold = np.maximum(amax.astype(np.float32), SCALING_MIN_VAL)
    exp = np.ceil(np.log2(threshold))
    scale = np.ldexp(1.0, (exp - (bits - 1)).astype(np.int64))
    shape = [1] * w32.ndim
    if axis is not None:
        shape[axis] = -1
    per = np.reshape(scale, shape) if axis is not None else scale
    q = np.clip(round_real(w32.astype(np.float64) / per, "half_even"), lo, hi)
    return Quantized(q=q, scale=np.asarray(scale, dtype=np.float64), bits=bits, axis=axis)


def brevitas_bias(bias, s_w, s_in, bits: int = 32) -> Quantized:
    """``Int<bits>Bias``: the bias at ``scale = s_w * s_in`` (per channel when ``s_w`` is),
    rounded half to even, refused with the channel and range named when it does not fit."""
    if bits not in BIAS_BITS:
        raise ValueError(f"bias bits = {bits} is not one of Brevitas' {BIAS_BITS}")
    # float32 throughout, like the torch tensors: scale = s_w * s_in, then bias / scale.
    scale32 = as_real_array("s_w", s_w, np.float32) * as_real_array("s_in", s_in, np.float32)
    b32 = as_real_array("bias", bias, np.float32)
    if np.any(~np.isfinite(scale32)) or np.any(scale32 <= 0):
        raise ValueError("bias scale s_w * s_in must be finite and > 0")
    q = round_real((b32 / scale32).astype(np.float32), "half_even")
    lo, hi = int_range(bits, narrow=False)
    bad = (q < lo) | (q > hi)
    if np.any(bad):
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        where = "[" + ", ".join(map(str, idx)) + "]" if idx else ""
        raise ValueRangeError(
            f"bias{where} = {float(b32[idx])!r} quantizes to {int(q[idx])} at scale s_w * s_in, "
            f"which does not fit Int{bits}Bias: allowed {lo} .. {hi} (Brevitas would clamp it); "
            f"use a wider bias"
        )
    scale = scale32.astype(np.float64)
    return Quantized(q=q, scale=scale, bits=bits, axis=None if scale.ndim == 0 else 0)
