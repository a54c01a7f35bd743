"""Activation functions in numpy, bit-exact with TFLite Micro: LOGISTIC and TANH (int8 through
gemmlowp's fixed-point ``logistic``/``tanh`` on a Q4.27 input; int16 through TFLite's 256-entry
sigmoid table with linear interpolation), HARD_SWISH (int8, 16-bit fixed point) and LEAKY_RELU
(int8). Each kernel follows its TFLite Micro ``Prepare`` (the integer parameters) and the
reference kernel (``reference_integer_ops::Logistic``, ``Tanh``, ``reference_ops::HardSwish``,
``QuantizeLeakyRelu``)."""

from __future__ import annotations

import math

import numpy as np

from pyref.fixed_point import (
    INT32_MAX,
    multiply_by_quantized_multiplier,
    rounding_divide_by_pot,
    saturate,
    saturating_doubling_high_mul,
    saturating_rounding_multiply_by_pot,
    wrap,
)
from pyref.fixed_point import saturating_rounding_doubling_high_mul as srdhm
from pyref.tflite_math import quantize_multiplier, std_round

from .base import SoftwareOp, Value, clip_to
from .softmax import exp_on_negative_values, one_over_one_plus_x_for_x_in_0_1

INPUT_INTEGER_BITS = 4
"""int8 LOGISTIC/TANH rescale their input to Q4.27."""

# TFLite's sigmoid_table_uint16 (kernels/internal/common.h): 65536 * sigmoid(i / 24), i = 0..255,
# as the int16 LOGISTIC and TANH interpolate it.
SIGMOID_TABLE_UINT16 = np.array(
    [
        32768,
        33451,
        34133,
        34813,
        35493,
        36169,
        36843,
        37513,
        38180,
        38841,
        39498,
        40149,
        40794,
        41432,
        42064,
        42688,
        43304,
        43912,
        44511,
        45102,
        45683,
        46255,
        46817,
        47369,
        47911,
        48443,
        48964,
        49475,
        49975,
        50464,
        50942,
        51409,
        51865,
        52311,
        52745,
        53169,
        53581,
        53983,
        54374,
        54755,
        55125,
        55485,
        55834,
        56174,
        56503,
        56823,
        57133,
        57433,
        57724,
        58007,
        58280,
        58544,
        58800,
        59048,
        59288,
        59519,
        59743,
        59959,
        60168,
        60370,
        60565,
        60753,
        60935,
        61110,
        61279,
        61441,
        61599,
        61750,
        61896,
        62036,
        62172,
        62302,
        62428,
        62549,
        62666,
        62778,
        62886,
        62990,
        63090,
        63186,
        63279,
        63368,
        63454,
        63536,
        63615,
        63691,
        63765,
        63835,
        63903,
        63968,
        64030,
        64090,
        64148,
        64204,
        64257,
        64308,
        64357,
        64405,
        64450,
        64494,
        64536,
        64576,
        64614,
        64652,
        64687,
        64721,
        64754,
        64786,
        64816,
        64845,
        64873,
        64900,
        64926,
        64950,
        64974,
        64997,
        65019,
        65039,
        65060,
        65079,
        65097,
        65115,
        65132,
        65149,
        65164,
        65179,
        65194,
        65208,
        65221,
        65234,
        65246,
        65258,
        65269,
        65280,
        65291,
        65301,
        65310,
        65319,
        65328,
        65337,
        65345,
        65352,
        65360,
        65367,
        65374,
        65381,
        65387,
        65393,
        65399,
        65404,
        65410,
        65415,
        65420,
        65425,
        65429,
        65433,
        65438,
        65442,
        65445,
        65449,
        65453,
        65456,
        65459,
        65462,
        65465,
        65468,
        65471,
        65474,
        65476,
        65479,
        65481,
        65483,
        65485,
        65488,
        65489,
        65491,
        65493,
        65495,
        65497,
        65498,
        65500,
        65501,
        65503,
        65504,
        65505,
        65507,
        65508,
        65509,
        65510,
        65511,
        65512,
        65513,
        65514,
        65515,
        65516,
        65517,
        65517,
        65518,
        65519,
        65520,
        65520,
        65521,
        65522,
        65522,
        65523,
        65523,
        65524,
        65524,
        65525,
        65525,
        65526,
        65526,
        65526,
        65527,
        65527,
        65528,
        65528,
        65528,
        65529,
        65529,
        65529,
        65529,
        65530,
        65530,
        65530,
        65530,
        65531,
        65531,
        65531,
        65531,
        65531,
        65532,
        65532,
        65532,
        65532,
        65532,
        65532,
        65533,
        65533,
        65533,
        65533,
        65533,
        65533,
        65533,
        65533,
        65534,
        65534,
        65534,
        65534,
        65534,
        65534,
        65534,
        65534,
        65534,
        65534,
        65535,
    ],
    dtype=np.int64,
)


# ----- gemmlowp fixed point (fixedpoint.h) --------------------------------------------------------


def one_minus_x_over_one_plus_x_for_x_in_0_1(a) -> np.ndarray:
    """(1 - a) / (1 + a) for a in [0, 1), Q0.31: the Newton-Raphson reciprocal of
    :func:`hil.kernels.softmax.one_over_one_plus_x_for_x_in_0_1`, then ``x - 1`` rescaled."""
    a = np.asarray(a, dtype=np.int64)
    s = a + INT32_MAX  # RoundingHalfSum(a, One)
    s = s + np.where(s >= 0, 1, -1)
    half_denominator = np.where(s >= 0, s // 2, -((-s) // 2))
    x = wrap(1515870810 + srdhm(half_denominator, -1010580540), 32)
    one_q2 = 1 << 29
    for _ in range(3):
        one_minus = wrap(one_q2 - srdhm(half_denominator, x), 32)
        x = wrap(x + saturating_rounding_multiply_by_pot(srdhm(x, one_minus), 2), 32)
    return saturating_rounding_multiply_by_pot(wrap(x - one_q2, 32), 2)


def logistic_q0(a: np.ndarray) -> np.ndarray:
    """gemmlowp ``logistic`` of a Q4.27 value, Q0.31 result."""
    a = np.asarray(a, dtype=np.int64)
    positive = a > 0
    abs_input = np.where(positive, a, -a)
    if_positive = one_over_one_plus_x_for_x_in_0_1(
        exp_on_negative_values(-abs_input, INPUT_INTEGER_BITS)
    )
    if_negative = wrap(INT32_MAX - if_positive, 32)
    return np.where(a == 0, 1 << 30, np.where(positive, if_positive, if_negative))


def tanh_q0(a: np.ndarray) -> np.ndarray:
    """gemmlowp ``tanh`` of a Q4.27 value, Q0.31 result."""
    a = np.asarray(a, dtype=np.int64)
    negative = a < 0
    n = np.where(negative, a, -a)
    # ExactMulByPot<1>: the same raw value read with one more integer bit (Q5.26).
    t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(n, INPUT_INTEGER_BITS + 1))
    return np.where(a == 0, 0, np.where(negative, -t, t))


def int8_input_rescale(scale: float) -> tuple[int, int, int]:
    """``(input_multiplier, input_left_shift, input_range_radius)`` of the int8 LOGISTIC/TANH
    ``Prepare``: ``frexp(scale * 2^27)``, ``CalculateInputRadius(4, shift, 31)``."""
    q, shift = math.frexp(float(np.float32(scale)) * (1 << (31 - INPUT_INTEGER_BITS)))
    mult = std_round(q * (1 << 31))
    radius = (
        math.floor(
            ((1 << INPUT_INTEGER_BITS) - 1) * (1 << (31 - INPUT_INTEGER_BITS)) / (1 << shift)
        )
        if shift >= 0
        else INT32_MAX
    )
    return mult, shift, radius


def checked_log2(x: float) -> tuple[bool, int]:
    """TFLite's ``CheckedLog2`` in float32: (is a power of two, rounded log2)."""
    x_log2 = np.float32(np.log(np.float32(x))) * np.float32(
        1.0 / np.float32(np.log(np.float32(2.0)))
    )
    rounded = std_round(float(x_log2))
    return abs(float(np.float32(x_log2 - np.float32(rounded)))) < 1e-3, rounded


def int16_input_rescale(scale: float, pot_shifts: tuple[int, ...]) -> tuple[int, int]:
    """``(input_multiplier, input_left_shift)`` of the int16 LOGISTIC/TANH ``Prepare``: 0 and a
    shift for a power-of-two scale, else ``scale * 4096 * 3`` doubled up to 16383.5."""
    pot, log2 = checked_log2(scale)
    shift = (15 - 3) + log2
    if pot and shift in pot_shifts:
        return 0, shift
    multiplier = float(np.float32(scale)) * 4096.0 * 3.0
    shift = 0
    while multiplier <= 32767.0 / 2.0 and shift <= 30:
        shift += 1
        multiplier *= 2.0
    return int(multiplier), shift


def _rescale_int16(x: np.ndarray, multiplier: int, left_shift: int) -> np.ndarray:
    if multiplier == 0:  # power-of-two case
        multiplier, left_shift = 3 << left_shift, 0
    rnd = (1 << (left_shift - 1)) if left_shift > 0 else 0
    return (x.astype(np.int64) * multiplier + rnd) >> left_shift


def logistic_int16(x: np.ndarray, multiplier: int, left_shift: int) -> np.ndarray:
    """``reference_integer_ops::Logistic`` for int16 (output scale 2^-15)."""
    v = _rescale_int16(x, multiplier, left_shift)
    a = np.abs(v)
    uh = a >> 9
    inside = uh < 255
    ua = SIGMOID_TABLE_UINT16[np.minimum(uh, 254)]
    ub = SIGMOID_TABLE_UINT16[np.minimum(uh, 254) + 1]
    result = np.where(inside, (ua << 9) + (a & 0x1FF) * (ub - ua), 0x7FFF << 10)
    result = np.where(v >= 0, result + (1 << 9), (1 << 25) - result + (1 << 9) - 1)
    return (result & 0xFFFFFFFF) >> 10


def tanh_int16(x: np.ndarray, multiplier: int, left_shift: int) -> np.ndarray:
    """``reference_integer_ops::Tanh`` for int16 (output scale 2^-15)."""
    v = _rescale_int16(x, multiplier, left_shift)
    a = np.abs(v)
    uh = a >> 8
    inside = uh < 255
    ua = SIGMOID_TABLE_UINT16[np.minimum(uh, 254)]
    ub = SIGMOID_TABLE_UINT16[np.minimum(uh, 254) + 1]
    result = np.where(inside, (ua << 8) + (a & 0xFF) * (ub - ua), 0xFFFF << 8)
    result = np.where(v >= 0, result - (1 << 23) + (1 << 7), -result + (1 << 23) + (1 << 7) - 1)
    return result >> 8


class _SigmoidLike(SoftwareOp):
    """Shared checks of LOGISTIC and TANH: same type in and out, TFLite's fixed output scale."""

    out_zp_int8 = 0
    out_scale_int8 = 0.0
    int16_pot_shifts: tuple[int, ...] = (0,)

    def __init__(self, op, graph):
        super().__init__(op, graph)
        x, y = self.ins[0], self.outs[0]
        self.need_types("input", x, ("INT8", "INT16"))
        self.need_types("output", y, (x.type_name,))
        s_in, zp_in = self.need_per_tensor("input", x)
        s_out, zp_out = self.need_per_tensor("output", y)
        self.int16 = x.type_name == "INT16"
        if self.int16:
            if zp_in or zp_out:
                raise self.refuse(
                    f"int16 input and output need zero point 0 (have {zp_in}, {zp_out})"
                )
            if not checked_log2(s_out)[0] or checked_log2(s_out)[1] != -15:
                raise self.refuse(f"int16 output scale must be 2^-15, is {s_out}")
            self.mult, self.shift = int16_input_rescale(s_in, self.int16_pot_shifts)
        else:
            if zp_out != self.out_zp_int8 or np.float32(s_out) != np.float32(self.out_scale_int8):
                raise self.refuse(
                    f"int8 output must have zero point {self.out_zp_int8} and scale "
                    f"{self.out_scale_int8} (TFLite's fixed output), has {zp_out} and {s_out}"
                )
            self.zp = zp_in
            self.mult, self.shift, self.radius = int8_input_rescale(s_in)

    def _int8_q4(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        v = x.astype(np.int64) - self.zp
        q4 = multiply_by_quantized_multiplier(
            np.clip(v, -self.radius, self.radius), self.mult, self.shift
        )
        return v, q4


class Logistic(_SigmoidLike):
    """LOGISTIC int8 (output zero point -128, scale 1/256) and int16 (scale 2^-15)."""

    names = ("LOGISTIC",)
    summary = "sigmoid: gemmlowp fixed point (int8), table interpolation (int16)"
    out_zp_int8 = -128
    out_scale_int8 = 1.0 / 256

    def run(self, inputs):
        v = inputs[0]
        if self.int16:
            return [
                Value(clip_to(logistic_int16(v.array, self.mult, self.shift), np.int16), v.batched)
            ]
        d, q4 = self._int8_q4(v.array)
        out = np.clip(rounding_divide_by_pot(logistic_q0(q4), 31 - 8) - 128, -128, 127)
        out = np.where(d <= -self.radius, -128, np.where(d >= self.radius, 127, out))
        return [Value(out.astype(np.int8), v.batched)]


class Tanh(_SigmoidLike):
    """TANH int8 (output zero point 0, scale 1/128) and int16 (scale 2^-15)."""

    names = ("TANH",)
    summary = "tanh: gemmlowp fixed point (int8), table interpolation (int16)"
    out_zp_int8 = 0
    out_scale_int8 = 1.0 / 128
    int16_pot_shifts = (0, 1)

    def run(self, inputs):
        v = inputs[0]
        if self.int16:
            return [Value(clip_to(tanh_int16(v.array, self.mult, self.shift), np.int16), v.batched)]
        d, q4 = self._int8_q4(v.array)
        out = np.clip(rounding_divide_by_pot(tanh_q0(q4), 31 - 7), -128, 127)
        out = np.where(d <= -self.radius, -128, np.where(d >= self.radius, 127, out))
        return [Value(out.astype(np.int8), v.batched)]


# ----- HARD_SWISH ---------------------------------------------------------------------------------


def saturating_left_shift16(v: np.ndarray, amount: int) -> np.ndarray:
    return saturate(np.asarray(v, dtype=np.int64) * (1 << amount), 16)[0]


def downscale_to_int16_multiplier(m: int) -> int:
    """``DownScaleInt32ToInt16Multiplier``: the top 16 bits of a Q31 multiplier, rounded."""
    if m >= INT32_MAX - (1 << 15):
        return 32767
    return (m + (1 << 15)) >> 16


class HardSwish(SoftwareOp):
    """HARD_SWISH int8 (``reference_ops::HardSwish``): x * relu6(x + 3) / 6 in 16-bit fixed
    point."""

    names = ("HARD_SWISH",)
    summary = "int8 hard swish (16-bit fixed point)"

    def __init__(self, op, graph):
        super().__init__(op, graph)
        x, y = self.ins[0], self.outs[0]
        self.need_types("input", x, ("INT8",))
        self.need_types("output", y, ("INT8",))
        s_in, self.in_zp = self.need_per_tensor("input", x)
        s_out, self.out_zp = self.need_per_tensor("output", y)
        hires = np.float32(1.0 / 128.0) * np.float32(s_in)
        m, self.out_exp = quantize_multiplier(float(np.float32(hires / np.float32(s_out))))
        if self.out_exp > 0:
            raise self.refuse(
                f"output multiplier exponent {self.out_exp} > 0 (TFLite Micro refuses it)"
            )
        self.out_mult = downscale_to_int16_multiplier(m)
        m, self.reluish_exp = quantize_multiplier(
            float(np.float32(hires / np.float32(3.0 / 32768.0)))
        )
        self.reluish_mult = downscale_to_int16_multiplier(m)

    def run(self, inputs):
        v = inputs[0]
        x = wrap(v.array.astype(np.int64) - self.in_zp, 16)
        hires = wrap(x * 128, 16)
        preshift_out = srdhm(hires, self.out_mult, 16)
        reluish = hires
        if self.reluish_exp > 0:
            reluish = saturating_left_shift16(reluish, self.reluish_exp - 1)
        reluish = srdhm(reluish, self.reluish_mult, 16)
        if self.reluish_exp > 0:
            reluish = saturating_left_shift16(reluish, 1)
        if self.reluish_exp < 0:
            reluish = rounding_divide_by_pot(reluish, -self.reluish_exp)
        reluish = (reluish + (1 << 15)) >> 1
        out = saturating_doubling_high_mul(reluish, preshift_out, 16)
        out = wrap(rounding_divide_by_pot(out, -self.out_exp) + self.out_zp, 16)
        return [Value(np.clip(out, -128, 127).astype(np.int8), v.batched)]


class LeakyRelu(SoftwareOp):
    """LEAKY_RELU int8 and int16 (``QuantizeLeakyRelu``): one multiplier for x >= 0, one for
    x < 0, each ``MultiplyByQuantizedMultiplier`` of ``x - zp_in``, plus ``zp_out``, clamped."""

    names = ("LEAKY_RELU",)
    summary = "int8/int16 leaky relu (two requantizations)"

    def __init__(self, op, graph):
        super().__init__(op, graph)
        x, y = self.ins[0], self.outs[0]
        self.need_types("input", x, ("INT8", "INT16"))
        self.need_types("output", y, ("INT8", "INT16"))
        s_in, self.in_zp = self.need_per_tensor("input", x)
        s_out, self.out_zp = self.need_per_tensor("output", y)
        alpha = float(np.float32(op.options.alpha if op.options is not None else 0.2))
        s_in, s_out = float(np.float32(s_in)), float(np.float32(s_out))
        # TFLite Micro's source writes these products in float32, but the interpreter in the
        # wheel follows the double products: on scales where the two give multipliers one
        # unit apart, its int16 outputs differ by one from the float32 rule (see the tests).
        self.alpha = quantize_multiplier(s_in * alpha / s_out)
        self.identity = quantize_multiplier(s_in / s_out)
        self.dtype = y.dtype

    def run(self, inputs):
        v = inputs[0]
        d = v.array.astype(np.int64) - self.in_zp
        pos = multiply_by_quantized_multiplier(d, *self.identity)
        neg = multiply_by_quantized_multiplier(d, *self.alpha)
        out = np.where(d >= 0, pos, neg) + self.out_zp
        return [Value(clip_to(out, self.dtype), v.batched)]


class Relu(SoftwareOp):
    """RELU on int8 / int16 (``ReluQuantized``): the rescale ``zp_out + MBQM(x - zp_in, M, s)``
    of ``s_in / s_out`` (double), clamped to ``[max(qmin, zp_out), qmax]``."""

    names = ("RELU",)
    summary = "int8/int16 relu (integer rescale and clamp)"

    def __init__(self, op, graph):
        super().__init__(op, graph)
        x, y = self.ins[0], self.outs[0]
        self.need_types("input", x, ("INT8", "INT16"))
        self.need_types("output", y, (x.type_name,))
        s_in, self.zp_in = self.need_per_tensor("input", x)
        s_out, self.zp_out = self.need_per_tensor("output", y)
        self.mult, self.shift = quantize_multiplier(
            float(np.float32(s_in)) / float(np.float32(s_out))
        )
        self.dtype = y.dtype
        info = np.iinfo(self.dtype)
        self.act = (max(info.min, self.zp_out), info.max)

    def run(self, inputs):
        v = inputs[0]
        y = self.zp_out + multiply_by_quantized_multiplier(
            v.array.astype(np.int64) - self.zp_in, self.mult, self.shift
        )
        return [Value(np.clip(y, *self.act).astype(self.dtype), v.batched)]


class Relu6(SoftwareOp):
    """RELU6 on int8 (``Relu6Quantized``): the input codes clamped to ``[zp_in, q_in(6)]`` in the
    *input's* quantization; TFLite Micro ignores the output's (it has no int16 RELU6)."""

    names = ("RELU6",)
    summary = "int8 relu6 (clamp, no rescale)"

    def __init__(self, op, graph):
        super().__init__(op, graph)
        x, y = self.ins[0], self.outs[0]
        self.need_types("input", x, ("INT8",))
        self.need_types("output", y, ("INT8",))
        s_in, zp_in = self.need_per_tensor("input", x)
        six = float(np.float32(6.0) / np.float32(s_in))
        six = zp_in + int(np.sign(six) * np.floor(abs(six) + 0.5))
        self.lo, self.hi = zp_in, min(127, max(-128, six))

    def run(self, inputs):
        v = inputs[0]
        return [Value(np.clip(v.array, self.lo, self.hi).astype(np.int8), v.batched)]


OPS = (Logistic, Tanh, HardSwish, LeakyRelu, Relu, Relu6)
