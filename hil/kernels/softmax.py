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

from pyref.fixed_point import (
    INT32_MAX,
    multiply_by_quantized_multiplier,
    multiply_by_quantized_multiplier_greater_than_one,
    rounding_divide_by_pot,
    saturating_rounding_multiply_by_pot,
    wrap,
)
from pyref.fixed_point import saturating_rounding_doubling_high_mul as srdhm
from pyref.tflite_math import quantize_multiplier

from .base import SoftwareOp, Value

SCALED_DIFF_INTEGER_BITS = 5  # the exp() input is Q5.26
ACCUMULATION_INTEGER_BITS = 12  # the sum of exps is Q12.19


def exp_on_interval_between_negative_one_quarter_and_0_excl(a) -> np.ndarray:
    """exp(a) for a in [-1/4, 0), Q0.31 in and out: Taylor series around -1/8."""
    constant_term = 1895147668  # exp(-1/8)
    constant_1_over_3 = 715827883
    x = wrap(np.asarray(a, dtype=np.int64) + (1 << 28), 32)
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = saturating_rounding_multiply_by_pot(x4, -2)
    poly = saturating_rounding_multiply_by_pot(
        wrap(srdhm(wrap(x4_over_4 + x3, 32), constant_1_over_3) + x2, 32), -1
    )
    return wrap(constant_term + srdhm(constant_term, wrap(x + poly, 32)), 32)


_BARREL = (
    (-2, 1672461947),
    (-1, 1302514674),
    (0, 790015084),
    (1, 290630308),
    (2, 39332535),
    (3, 720401),
    (4, 242),
)
"""exp(-2^e) in Q0.31 for the barrel shifter of ``exp_on_negative_values``."""


def exp_on_negative_values(a, integer_bits: int = SCALED_DIFF_INTEGER_BITS) -> np.ndarray:
    """exp(a) for a <= 0, input Q(integer_bits), result Q0.31."""
    a = np.asarray(a, dtype=np.int64)
    frac = 31 - integer_bits
    one_quarter = 1 << (frac - 2)
    a_mod_quarter_minus_one_quarter = wrap((a & (one_quarter - 1)) - one_quarter, 32)
    result = exp_on_interval_between_negative_one_quarter_and_0_excl(
        saturating_rounding_multiply_by_pot(a_mod_quarter_minus_one_quarter, integer_bits)
    )
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
    s = a + INT32_MAX  # RoundingHalfSum(a, One)
    half_denominator = np.where(
        s + np.where(s >= 0, 1, -1) >= 0,
        (s + np.where(s >= 0, 1, -1)) // 2,
        -((-(s + np.where(s >= 0, 1, -1))) // 2),
    )
    x = wrap(1515870810 + srdhm(half_denominator, -1010580540), 32)  # 48/17 - 32/17 d
    one_q2 = 1 << 29
    for _ in range(3):
        one_minus = wrap(one_q2 - srdhm(half_denominator, x), 32)
        x = wrap(x + saturating_rounding_multiply_by_pot(srdhm(x, one_minus), 2), 32)
    return saturating_rounding_multiply_by_pot(x, 1)


def get_reciprocal(x, x_integer_digits: int) -> tuple[np.ndarray, np.ndarray]:
    """TFLite's ``GetReciprocal``: ``(1/x as Q0.31 scaled into [0.5, 1), num_bits_over_unit)``."""
    x = np.asarray(x, dtype=np.int64)
    u = x & 0xFFFFFFFF
    headroom_plus_one = 32 - np.array(
        [int(v).bit_length() for v in u.ravel()], dtype=np.int64
    ).reshape(u.shape)
    num_bits_over_unit = x_integer_digits - headroom_plus_one
    shifted_sum_minus_one = wrap(((u << headroom_plus_one) & 0xFFFFFFFF) - (1 << 31), 32)
    return one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one), num_bits_over_unit


def softmax_params(beta: float, input_scale: float) -> tuple[int, int, int]:
    """``(input_multiplier, input_left_shift, diff_min)``: ``PreprocessSoftmaxScaling`` and
    ``CalculateInputRadius`` for the Q5.26 exp input."""
    real = min(
        float(np.float32(beta))
        * float(np.float32(input_scale))
        * (1 << (31 - SCALED_DIFF_INTEGER_BITS)),
        (1 << 31) - 1.0,
    )
    multiplier, left_shift = quantize_multiplier(real)
    if left_shift < 0:
        raise ValueError(
            f"softmax beta * input scale = {real!r} gives a right shift; TFLite needs it > 2^-26"
        )
    radius = math.floor(
        ((1 << SCALED_DIFF_INTEGER_BITS) - 1)
        * (1 << (31 - SCALED_DIFF_INTEGER_BITS))
        / (1 << left_shift)
    )
    return multiplier, left_shift, -radius


def softmax_int8(
    x: np.ndarray, multiplier: int, left_shift: int, diff_min: int, out_bits: int = 8
) -> np.ndarray:
    """Softmax over the last axis of int8 ``x``: int8 (zero point -128, scale 1/256) or, with
    ``out_bits = 16``, int16 (zero point -32768, scale 1/65536) as ``reference_ops::Softmax``."""
    x = np.asarray(x, dtype=np.int64)
    diff = x - x.max(axis=-1, keepdims=True)
    inside = diff >= diff_min
    rescaled = multiply_by_quantized_multiplier_greater_than_one(diff, multiplier, left_shift)
    exps = exp_on_negative_values(np.where(inside, rescaled, 0))
    in_accum = saturating_rounding_multiply_by_pot(exps, -ACCUMULATION_INTEGER_BITS)
    sum_of_exps = wrap(np.where(inside, in_accum, 0).sum(axis=-1, keepdims=True), 32)
    shifted_scale, bits_over_unit = get_reciprocal(sum_of_exps, ACCUMULATION_INTEGER_BITS)
    exponent = bits_over_unit + 31 - out_bits
    lo, hi = -(1 << (out_bits - 1)), (1 << (out_bits - 1)) - 1
    out = rounding_divide_by_pot(srdhm(shifted_scale, exps), exponent) + lo
    dtype = np.int8 if out_bits == 8 else np.int16
    return np.where(inside, np.clip(out, lo, hi), lo).astype(dtype)


def gen_lut_int16(func, input_min: float, input_max: float) -> np.ndarray:
    """TFLite's ``gen_lut<float, int16_t, int16_t>`` for output range [-1, 1]: 512 samples
    (each biased by half the interpolation error at its midpoint) and the end point, float32
    arithmetic, ``TfLiteRound`` (half away from zero)."""
    f32 = np.float32

    def fn(v):
        return f32(func(float(f32(v))))

    def rnd(v):
        return f32(np.sign(v) * np.floor(abs(float(v)) + 0.5))

    step = f32((f32(input_max) - f32(input_min)) / f32(512))
    half = f32(step / f32(2))
    inv = f32(f32(65536) / (f32(1) - f32(-1)))
    lut = np.empty(513, dtype=np.int64)
    for i in range(512):
        at = f32(f32(input_min) + f32(f32(i) * step))
        val = fn(at)
        mid = fn(f32(at + half))
        nxt = fn(f32(f32(input_min) + f32(f32(i + 1) * step)))
        sample = rnd(f32(val * inv))
        interp = rnd(f32(f32(f32(nxt * inv) + rnd(f32(val * inv))) / f32(2)))
        err = f32(interp - rnd(f32(mid * inv)))
        bias = rnd(f32(err / f32(2)))
        lut[i] = int(min(max(float(f32(sample - bias)), -32768.0), 32767.0))
    lut[512] = int(min(max(float(rnd(f32(fn(input_max) * inv))), -32768.0), 32767.0))
    return lut


def lut_lookup_int16(value: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """``generic_int16_table_lookup``: the base at ``256 + (v >> 7)`` and the slope to the
    next entry times the low 7 bits, rounded."""
    v = np.asarray(value, dtype=np.int64)
    index = 256 + (v >> 7)
    base = lut[index]
    slope = lut[index + 1] - base
    return wrap(base + ((slope * (v & 0x7F) + 64) >> 7), 16)


EXP_LUT = None
ONE_OVER_ONE_PLUS_X_LUT = None


def _luts() -> tuple[np.ndarray, np.ndarray]:
    global EXP_LUT, ONE_OVER_ONE_PLUS_X_LUT
    if EXP_LUT is None:
        EXP_LUT = gen_lut_int16(math.exp, -10.0, 0.0)
        ONE_OVER_ONE_PLUS_X_LUT = gen_lut_int16(lambda v: 1.0 / (1.0 + v), 0.0, 1.0)
    return EXP_LUT, ONE_OVER_ONE_PLUS_X_LUT


def softmax_int16(x: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    """``reference_ops::SoftmaxInt16`` over the last axis: exp and 1/(1+x) from the 513-entry
    tables, output zero point 0, scale 1/32768."""
    exp_lut, recip_lut = _luts()
    x = np.asarray(x, dtype=np.int64)
    diff = x - x.max(axis=-1, keepdims=True)
    scaled = multiply_by_quantized_multiplier(diff, multiplier, shift)
    exps = lut_lookup_int16(np.clip(scaled + 32767, -32768, 32767), exp_lut)
    total = exps.sum(axis=-1, keepdims=True)
    headroom_plus_one = 32 - np.vectorize(lambda t: int(t).bit_length())(total)
    shifted = ((total << (headroom_plus_one - 1)) + (1 << 13)) >> 14
    recip = lut_lookup_int16(np.clip(shifted - ((1 << 15) + (1 << 16)), -32768, 32767), recip_lut)
    right = 31 - headroom_plus_one
    out = (exps * recip + (np.int64(1) << (right - 1))) >> right
    return np.clip(out, 0, 32767).astype(np.int16)


class Softmax(SoftwareOp):
    """SOFTMAX over the last axis: int8 -> int8 or int16 (gemmlowp fixed point), int16 -> int16
    (the exp and reciprocal tables)."""

    names = ("SOFTMAX",)
    summary = "int8/int16 softmax (gemmlowp fixed point; int16: tables)"

    _OUTPUT = {"INT8": (-128, 256), "INT16": (-32768, 65536)}  # zero point, 1 / scale

    def __init__(self, op, graph):
        super().__init__(op, graph)
        x, y = self.ins[0], self.outs[0]
        self.need_types("input", x, ("INT8", "INT16"))
        self.need_types("output", y, ("INT8", "INT16") if x.type_name == "INT8" else ("INT16",))
        s_in, _ = self.need_per_tensor("input", x)
        s_out, zp_out = self.need_per_tensor("output", y)
        beta = float(op.options.beta) if op.options is not None else 1.0
        self.int16 = x.type_name == "INT16"
        want = (0, 32768) if self.int16 else self._OUTPUT[y.type_name]
        if zp_out != want[0] or np.float32(s_out) != np.float32(1 / want[1]):
            raise self.refuse(
                f"{y.type_name.lower()} output must have zero point {want[0]} and "
                f"scale 1/{want[1]} (TFLite Micro requires it), has {zp_out} "
                f"and {s_out}"
            )
        if self.int16:
            # Prepare: the input scaled so that [-65535, 0] is [-10, 0] (double arithmetic).
            self.params = quantize_multiplier(
                float(np.float32(s_in)) * float(np.float32(beta)) / (10.0 / 65535.0)
            )
            return
        self.out_bits = 8 if y.type_name == "INT8" else 16
        try:
            self.params = softmax_params(beta, s_in)
        except ValueError as exc:
            raise self.refuse(str(exc)) from None

    def run(self, inputs):
        v = inputs[0]
        if self.int16:
            return [Value(softmax_int16(v.array, *self.params), v.batched)]
        return [Value(softmax_int8(v.array, *self.params, out_bits=self.out_bits), v.batched)]


OPS = (Softmax,)
