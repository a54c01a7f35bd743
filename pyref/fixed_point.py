"""Fixed-point integer helpers, each written once for pyref, tb, hil, sweep and mutate.

- beats per job: :func:`ceil_div`, :func:`beats_per_job`;
- two's complement wrap and saturation to a bit width: :func:`wrap`, :func:`saturate`
  (vectorized), :func:`wrap_scalar` (one Python int);
- gemmlowp's fixed point (``fixedpoint.h``) and TFLite Micro's ``common.h`` requantization:
  ``SaturatingRoundingDoublingHighMul``, ``SaturatingDoublingHighMul`` (int16 HARD_SWISH),
  ``RoundingDivideByPOT``, ``SaturatingRoundingMultiplyByPOT`` and
  ``MultiplyByQuantizedMultiplier`` with its ``SmallerThanOneExp`` / ``GreaterThanOne`` forms.

The vectorized forms take int64 numpy arrays holding int32 (or int16) values; the ``*_scalar``
forms read like the C code. tests/pyref/test_fixed_point.py checks both against exact formulas.
"""

from __future__ import annotations

import numpy as np

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def ceil_div(a, b):
    """``ceil(a / b)`` for integers ``b > 0`` (Python ints or numpy integer arrays)."""
    return -(-a // b)


def beats_per_job(k, lanes):
    """Beats of a job of ``k`` products on ``lanes`` lanes: ``ceil(k / lanes)``."""
    return ceil_div(k, lanes)


# ----- wrap and saturate to a bit width ----------------------------------------------------------


def wrap_scalar(v: int, bits: int = 32) -> int:
    """Two's complement wrap of a Python int to ``bits`` bits (what C does on overflow)."""
    half = 1 << (bits - 1)
    return ((v + half) & ((1 << bits) - 1)) - half


def wrap(v: np.ndarray, bits: int) -> np.ndarray:
    """Two's complement wrap of ``v`` to ``bits`` bits (int64 in, int64 out for bits <= 64)."""
    v = np.asarray(v)
    if v.dtype == object:
        m = 1 << bits
        h = 1 << (bits - 1)
        return np.asarray(((v + h) % m) - h).astype(np.int64) if bits <= 64 else (v + h) % m - h
    if bits >= 64:
        return v.astype(np.int64)
    shift = np.int64(64 - bits)
    return (v.astype(np.int64) << shift) >> shift


def saturate(v: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Clip ``v`` to the ``bits``-bit signed range; returns ``(clipped, was_clipped)``."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    v = np.asarray(v)
    clipped = (v < lo) | (v > hi)
    out = np.where(v < lo, lo, np.where(v > hi, hi, v))
    if v.dtype != object or bits <= 64:
        out = out.astype(np.int64)
    return out, np.asarray(clipped, dtype=bool)


# ----- gemmlowp, vectorized ----------------------------------------------------------------------


def _truncating_shift(num: np.ndarray, bits: int) -> np.ndarray:
    """``num / 2^bits`` truncated toward zero, as C's integer division does."""
    return np.where(num >= 0, num >> bits, -((-num) >> bits))


def saturating_rounding_doubling_high_mul(a, b, bits: int = 32) -> np.ndarray:
    """``SaturatingRoundingDoublingHighMul`` on ``bits``-bit values (32 or 16): ``a * b`` over
    ``2^(bits-1)``, nudged by +-1/2 and truncated; saturating only for ``min * min``."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    lo = -(1 << (bits - 1))
    ab = a * b
    num = ab + np.where(ab >= 0, 1 << (bits - 2), 1 - (1 << (bits - 2)))
    return np.where((a == lo) & (b == lo), -lo - 1, _truncating_shift(num, bits - 1))


def saturating_doubling_high_mul(a, b, bits: int = 16) -> np.ndarray:
    """TFLite's ``SaturatingDoublingHighMul`` (int16 HARD_SWISH): like
    :func:`saturating_rounding_doubling_high_mul`, truncating toward zero without the nudge."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    lo = -(1 << (bits - 1))
    return np.where((a == lo) & (b == lo), -lo - 1, _truncating_shift(a * b, bits - 1))


def rounding_divide_by_pot(x, exponent) -> np.ndarray:
    """``RoundingDivideByPOT``: ``x / 2^exponent``, ties away from zero (exponent may be an
    array, 0 .. 62)."""
    x = np.asarray(x, dtype=np.int64)
    e = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << e) - 1
    threshold = (mask >> 1) + (x < 0)
    return (x >> e) + ((x & mask) > threshold)


def saturating_rounding_multiply_by_pot(x, exponent: int, bits: int = 32) -> np.ndarray:
    """``SaturatingRoundingMultiplyByPOT<exponent>``: a left shift saturating to ``bits`` bits,
    or (``exponent < 0``) :func:`rounding_divide_by_pot`."""
    x = np.asarray(x, dtype=np.int64)
    if exponent == 0:
        return x
    if exponent < 0:
        return rounding_divide_by_pot(x, -exponent)
    threshold = (1 << (bits - 1 - exponent)) - 1
    hi, lo = (1 << (bits - 1)) - 1, -(1 << (bits - 1))
    return np.where(x > threshold, hi, np.where(x < -threshold, lo, x << exponent))


def multiply_by_quantized_multiplier_smaller_than_one_exp(x, m, left_shift) -> np.ndarray:
    """``MultiplyByQuantizedMultiplierSmallerThanOneExp(x, M, left_shift <= 0)``."""
    high = saturating_rounding_doubling_high_mul(x, m)
    return rounding_divide_by_pot(high, -np.asarray(left_shift, dtype=np.int64))


def multiply_by_quantized_multiplier_greater_than_one(x, m, left_shift) -> np.ndarray:
    """``MultiplyByQuantizedMultiplierGreaterThanOne(x, M, left_shift >= 0)``; ``x << left_shift``
    wraps to int32 as the C code does in practice."""
    shifted = np.asarray(x, dtype=np.int64) << np.asarray(left_shift, dtype=np.int64)
    return saturating_rounding_doubling_high_mul(wrap(shifted, 32), m)


def multiply_by_quantized_multiplier(x, m, s) -> np.ndarray:
    """TFLite ``MultiplyByQuantizedMultiplier(int32 x, int32 M, int s)``, double rounding:
    ``x << max(s, 0)`` wrapped to int32, the doubling high multiply by ``M``, then a rounding
    right shift by ``max(-s, 0)``. ``s`` in ``[-31, 30]``; broadcasts."""
    s = np.asarray(s, dtype=np.int64)
    high = multiply_by_quantized_multiplier_greater_than_one(x, m, np.maximum(s, 0))
    return rounding_divide_by_pot(high, np.maximum(-s, 0))


# ----- gemmlowp, scalar --------------------------------------------------------------------------


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
    """gemmlowp ``RoundingDivideByPOT(int32 x, int exponent)``: x / 2^exponent, ties away from
    zero."""
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
        saturating_rounding_doubling_high_mul_scalar(
            wrap_scalar(x * (1 << left_shift)), quantized_multiplier
        ),
        right_shift,
    )
