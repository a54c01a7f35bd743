"""TFLite Micro's int8 SOFTMAX (``reference_ops::Softmax`` with int8 input and output), bit for
bit: gemmlowp fixed-point ``exp`` of the scaled differences to the row maximum, their sum in Q12,
a Newton-Raphson reciprocal, and the rounding shift to int8 with zero point -128, scale 1/256.

The fixed-point functions work on int64 numpy arrays that hold int32 values; each follows the
function of the same name in gemmlowp's ``fixedpoint.h``; the basic helpers are
:mod:`pyref.fixed_point`'s.
"""

from __future__ import annotations

import math

import numpy as np

from pyref.fixed_point import (INT32_MAX, multiply_by_quantized_multiplier_greater_than_one,
                               rounding_divide_by_pot, saturating_rounding_multiply_by_pot, wrap)
from pyref.fixed_point import saturating_rounding_doubling_high_mul as srdhm
from pyref.tflite_math import quantize_multiplier

from .base import SoftwareOp, Value

SCALED_DIFF_INTEGER_BITS = 5      # the exp() input is Q5.26
ACCUMULATION_INTEGER_BITS = 12    # the sum of exps is Q12.19


def exp_on_interval_between_negative_one_quarter_and_0_excl(a) -> np.ndarray:
    """exp(a) for a in [-1/4, 0), Q0.31 in and out: Taylor series around -1/8."""
    constant_term = 1895147668          # exp(-1/8)
    constant_1_over_3 = 715827883
    x = wrap(np.asarray(a, dtype=np.int64) + (1 << 28), 32)
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = saturating_rounding_multiply_by_pot(x4, -2)
    poly = saturating_rounding_multiply_by_pot(
        wrap(srdhm(wrap(x4_over_4 + x3, 32), constant_1_over_3) + x2, 32), -1)
    return wrap(constant_term + srdhm(constant_term, wrap(x + poly, 32)), 32)


_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
           (2, 39332535), (3, 720401), (4, 242))
"""exp(-2^e) in Q0.31 for the barrel shifter of ``exp_on_negative_values``."""


def exp_on_negative_values(a, integer_bits: int = SCALED_DIFF_INTEGER_BITS) -> np.ndarray:
    """exp(a) for a <= 0, input Q(integer_bits), result Q0.31."""
    a = np.asarray(a, dtype=np.int64)
    frac = 31 - integer_bits
    one_quarter = 1 << (frac - 2)
    a_mod_quarter_minus_one_quarter = wrap((a & (one_quarter - 1)) - one_quarter, 32)
    result = exp_on_interval_between_negative_one_quarter_and_0_excl(
        saturating_rounding_multiply_by_pot(a_mod_quarter_minus_one_quarter, integer_bits))
    remainder = wrap(a_mod_quarter_minus_one_quarter - a, 32)
    for exponent, multiplier in _BARREL:
        if integer_bits > exponent:
            bit = (remainder & (1 << (frac + exponent))) != 0
            result = np.where(bit, srdhm(result, multiplier), result)
    if integer_bits > 5:
        result = np.where(a < -(1 << (36 - integer_bits)), 0, result)
    return np.where(a == 0, INT32_MAX, result)


def one_over_one_plus_x_for_x_in_0_1(a) -> np.ndarray:
    """1 / (1 + a) for a in [0, 1), Q0.31: three Newton-Raphson steps in Q2.29."""
    a = np.asarray(a, dtype=np.int64)
    s = a + INT32_MAX                                  # RoundingHalfSum(a, One)
    half_denominator = np.where(s + np.where(s >= 0, 1, -1) >= 0,
                                (s + np.where(s >= 0, 1, -1)) // 2,
                                -((-(s + np.where(s >= 0, 1, -1))) // 2))
    x = wrap(1515870810 + srdhm(half_denominator, -1010580540), 32)    # 48/17 - 32/17 d
    one_q2 = 1 << 29
    for _ in range(3):
        one_minus = wrap(one_q2 - srdhm(half_denominator, x), 32)
        x = wrap(x + saturating_rounding_multiply_by_pot(srdhm(x, one_minus), 2), 32)
    return saturating_rounding_multiply_by_pot(x, 1)


def get_reciprocal(x, x_integer_digits: int) -> tuple[np.ndarray, np.ndarray]:
    """TFLite's ``GetReciprocal``: ``(1/x as Q0.31 scaled into [0.5, 1), num_bits_over_unit)``."""
    x = np.asarray(x, dtype=np.int64)
    u = x & 0xFFFFFFFF
    headroom_plus_one = 32 - np.array([int(v).bit_length() for v in u.ravel()],
                                      dtype=np.int64).reshape(u.shape)
    num_bits_over_unit = x_integer_digits - headroom_plus_one
    shifted_sum_minus_one = wrap(((u << headroom_plus_one) & 0xFFFFFFFF) - (1 << 31), 32)
    return one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one), num_bits_over_unit


def softmax_params(beta: float, input_scale: float) -> tuple[int, int, int]:
    """``(input_multiplier, input_left_shift, diff_min)``: ``PreprocessSoftmaxScaling`` and
    ``CalculateInputRadius`` for the Q5.26 exp input."""
    real = min(float(np.float32(beta)) * float(np.float32(input_scale))
               * (1 << (31 - SCALED_DIFF_INTEGER_BITS)), (1 << 31) - 1.0)
    multiplier, left_shift = quantize_multiplier(real)
    if left_shift < 0:
        raise ValueError(f"softmax beta * input scale = {real!r} gives a right shift; "
                         f"TFLite needs it > 2^-26")
    radius = math.floor(((1 << SCALED_DIFF_INTEGER_BITS) - 1)
                        * (1 << (31 - SCALED_DIFF_INTEGER_BITS)) / (1 << left_shift))
    return multiplier, left_shift, -radius


def softmax_int8(x: np.ndarray, multiplier: int, left_shift: int, diff_min: int) -> np.ndarray:
    """Softmax over the last axis of int8 ``x``; int8 result (zero point -128, scale 1/256)."""
    x = np.asarray(x, dtype=np.int64)
    diff = x - x.max(axis=-1, keepdims=True)
    inside = diff >= diff_min
    rescaled = multiply_by_quantized_multiplier_greater_than_one(diff, multiplier, left_shift)
    exps = exp_on_negative_values(np.where(inside, rescaled, 0))
    in_accum = saturating_rounding_multiply_by_pot(exps, -ACCUMULATION_INTEGER_BITS)
    sum_of_exps = wrap(np.where(inside, in_accum, 0).sum(axis=-1, keepdims=True), 32)
    shifted_scale, bits_over_unit = get_reciprocal(sum_of_exps, ACCUMULATION_INTEGER_BITS)
    exponent = bits_over_unit + 31 - 8
    out = rounding_divide_by_pot(srdhm(shifted_scale, exps), exponent) - 128
    return np.where(inside, np.clip(out, -128, 127), -128).astype(np.int8)


class Softmax(SoftwareOp):
    """SOFTMAX int8 -> int8 over the last axis (:func:`softmax_int8`)."""

    names = ("SOFTMAX",)
    summary = "int8 softmax (gemmlowp fixed point)"

    def __init__(self, op, graph):
        super().__init__(op, graph)
        x, y = self.ins[0], self.outs[0]
        self.need_types("input", x, ("INT8",))
        self.need_types("output", y, ("INT8",))
        s_in, _ = self.need_per_tensor("input", x)
        s_out, zp_out = self.need_per_tensor("output", y)
        if zp_out != -128 or np.float32(s_out) != np.float32(1 / 256):
            raise self.refuse(f"int8 output must have zero point -128 and scale 1/256 "
                              f"(TFLite Micro requires it), has {zp_out} and {s_out}")
        beta = float(op.options.beta) if op.options is not None else 1.0
        try:
            self.params = softmax_params(beta, s_in)
        except ValueError as exc:
            raise self.refuse(str(exc)) from None

    def run(self, inputs):
        v = inputs[0]
        return [Value(softmax_int8(v.array, *self.params), v.batched)]


OPS = (Softmax,)
