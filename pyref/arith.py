"""The integer arithmetic of one output (docs/arithmetic.md): accumulator overflow modes, the
requantizer and the output clamp. Vectorized; exact for every width the config allows.

Values that fit int64 stay int64; the wide requantizer products (up to ``acc_bits + mult_bits``
= 96 bits) are computed on Python integers in object arrays.
"""

from __future__ import annotations

import numpy as np

from .config import QmacConfig
from .fixed_point import multiply_by_quantized_multiplier
from .fp32_math import fp32_requantize
from .rounding import round_shift

# Largest width whose sums of two values still fit int64 without overflow.
INT64_SAFE_BITS = 62


def requantize(acc: np.ndarray, mult, shift, config: QmacConfig) -> np.ndarray:
    """Requantize accumulator values: ``round_shift(acc [* mult], shift)``, TFLite's gemmlowp, or
    the binary32 scale of ``fp32`` mode (``shift`` unused there).

    ``mult`` and ``shift`` broadcast against ``acc`` (per-channel values along the last axis).
    The result may be wider than int64 (object dtype) when the product is.
    """
    acc = np.asarray(acc)
    if config.rounding == "gemmlowp":
        return multiply_by_quantized_multiplier(acc, mult, shift)
    if config.rounding == "fp32":
        return fp32_requantize(acc, mult)
    if config.mult_bits == 0:
        return round_shift(acc, shift, config.rounding)
    mult = np.asarray(mult)
    if config.product_bits <= INT64_SAFE_BITS and acc.dtype != object:
        product = acc.astype(np.int64) * mult.astype(np.int64)
    else:
        product = acc.astype(object) * mult.astype(object)
    return round_shift(product, shift, config.rounding)


def clamp_output(r: np.ndarray, out_zp, act_min, act_max) -> tuple[np.ndarray, np.ndarray]:
    """``clamp(r + out_zp, act_min, act_max)`` computed exactly; returns ``(y, saturated)``."""
    r = np.asarray(r)
    if r.dtype == object:
        # Clamp on Python ints first; the result then fits the output width.
        z = r + np.asarray(out_zp).astype(object)
        lo = np.asarray(act_min).astype(object)
        hi = np.asarray(act_max).astype(object)
    else:
        # |r| can reach 2^62 (a shift-0 requant of a 64-bit accumulator): add in object only then.
        big = r.size and (int(r.min()) < -(1 << 61) or int(r.max()) > (1 << 61))
        z = r.astype(object) + np.asarray(out_zp).astype(object) if big else r + np.asarray(out_zp)
        lo, hi = np.asarray(act_min), np.asarray(act_max)
    low = np.asarray(z < lo, dtype=bool)
    high = np.asarray(z > hi, dtype=bool)
    y = np.where(low, lo, np.where(high, hi, z))
    return np.asarray(y).astype(np.int64), low | high
