"""TFLite's integer requantization helpers, bit for bit.

These follow TFLite's ``common.h`` / gemmlowp ``fixedpoint.h`` (the reference kernels of TFLite
Micro and CMSIS-NN's ``arm_nn_requantize``): ``MultiplyByQuantizedMultiplier`` with the default
double rounding, and ``QuantizeMultiplier`` that turns a real scale into ``(M, s)``.
The ``*_scalar`` functions read like the C code; the others are their vectorized forms.
"""

from __future__ import annotations

import math

import numpy as np

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def wrap_int32_scalar(v: int) -> int:
    """Two's complement wrap of a Python int to int32 (what C does on overflow in practice)."""
    return ((v + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def saturating_rounding_doubling_high_mul_scalar(a: int, b: int) -> int:
    """gemmlowp ``SaturatingRoundingDoublingHighMul(int32 a, int32 b)``."""
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    # C's int64 division truncates toward zero.
    num = ab + nudge
    q = abs(num) // (1 << 31)
    return q if num >= 0 else -q


def rounding_divide_by_pot_scalar(x: int, exponent: int) -> int:
    """gemmlowp ``RoundingDivideByPOT(int32 x, int exponent)``: x / 2^exponent, ties away from zero."""
    if not 0 <= exponent <= 31:
        raise ValueError(f"exponent = {exponent} is out of range: allowed 0 .. 31")
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def multiply_by_quantized_multiplier_scalar(x: int, quantized_multiplier: int, shift: int) -> int:
    """TFLite ``MultiplyByQuantizedMultiplier(int32 x, int32 M, int s)``, double rounding."""
    left_shift = shift if shift > 0 else 0
    right_shift = 0 if shift > 0 else -shift
    return rounding_divide_by_pot_scalar(
        saturating_rounding_doubling_high_mul_scalar(wrap_int32_scalar(x * (1 << left_shift)),
                                                     quantized_multiplier),
        right_shift,
    )


def multiply_by_quantized_multiplier(x: np.ndarray, m: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Vectorized :func:`multiply_by_quantized_multiplier_scalar` for int32-range ``x``.

    ``m`` must be in ``[0, 2^31)`` (TFLite's multipliers are never negative), so the saturating
    case of the doubling high multiply cannot occur; ``s`` in ``[-31, 30]``.
    """
    x = np.asarray(x, dtype=np.int64)
    m = np.asarray(m, dtype=np.int64)
    s = np.asarray(s, dtype=np.int64)
    left = np.maximum(s, 0)
    right = np.maximum(-s, 0)
    shifted = x << left                                      # |x| <= 2^31, left <= 30: fits int64
    shifted = ((shifted + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)  # wrap to int32 like the C code
    ab = shifted * m                                         # |ab| < 2^62
    high = (ab + (1 << 30)) >> 31                            # == C's nudge-and-truncate, see tests
    mask = (np.int64(1) << right) - 1
    remainder = high & mask
    threshold = (mask >> 1) + (high < 0)
    return (high >> right) + (remainder > threshold)


def quantize_multiplier(real_multiplier: float) -> tuple[int, int]:
    """TFLite ``QuantizeMultiplier(double, int32* M, int* s)``: a real scale as ``(M, s)``.

    ``M`` is a Q0.31 value in ``[2^30, 2^31)`` (or 0) and ``real ~= M * 2^(s - 31)``.
    """
    if real_multiplier == 0.0:
        return 0, 0
    if not math.isfinite(real_multiplier) or real_multiplier < 0:
        raise ValueError(f"real multiplier {real_multiplier!r} must be finite and >= 0")
    q, shift = math.frexp(real_multiplier)
    q_fixed = std_round(q * (1 << 31))
    if q_fixed > (1 << 31):
        raise ValueError(f"QuantizeMultiplier overflow for {real_multiplier!r}")
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift = 0
        q_fixed = 0
    if shift > 30:
        # TFLite's double-rounding path would shift an int32 left by 31 or more (undefined in C).
        raise ValueError(f"real multiplier {real_multiplier!r} is too large: (M, s) needs s <= 30")
    return int(q_fixed), int(shift)


def std_round(v: float) -> int:
    """C++ ``std::round`` (TFLite's ``TfLiteRound``) of a float: halfway cases away from zero."""
    r = math.floor(abs(v) + 0.5)
    return int(r if v >= 0 else -r)
