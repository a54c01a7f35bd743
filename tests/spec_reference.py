"""The arithmetic contract re-derived on plain Python integers and exact fractions.

Independent of pyref on purpose: no numpy, no bit tricks. Each rounding mode is written as the
textbook formula on the exact quotient (fractions.Fraction), the gemmlowp requantizer as the
formula of its definition, the fp32 requantizer with an explicit rounding to binary32, and one
layer as a triple loop over n, c and the beats of k. The tests compare pyref against these.
"""

from __future__ import annotations

import math
from fractions import Fraction

HALF = Fraction(1, 2)


def _sign(q: Fraction) -> int:
    return (q > 0) - (q < 0)


def round_fraction(q: Fraction, mode: str) -> int:
    """Round an exact rational ``q`` to an integer by ``mode``."""
    if mode == "floor":
        return math.floor(q)
    if mode == "trunc":
        return math.trunc(q)
    if mode == "half_up":
        return math.floor(q + HALF)
    if mode == "half_down":
        return math.ceil(q - HALF)
    if mode == "half_zero":
        return _sign(q) * math.ceil(abs(q) - HALF)
    if mode == "half_away":
        return _sign(q) * math.floor(abs(q) + HALF)
    if mode == "half_even":
        return round(q)  # Fraction.__round__ rounds ties to even
    raise ValueError(mode)


def round_div_pow2(v: int, t: int, mode: str) -> int:
    """``v / 2**t`` rounded by ``mode``."""
    return round_fraction(Fraction(v, 1 << t), mode)


def wrap_to(v: int, bits: int) -> int:
    """Two's complement wrap to ``bits`` bits, by repeated addition of the modulus."""
    m = 1 << bits
    v = v % m  # Python's % is non-negative for a positive modulus
    return v - m if v >= m >> 1 else v


def sat_to(v: int, bits: int) -> int:
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return min(max(v, lo), hi)


def gemmlowp_requant(x: int, m: int, s: int) -> int:
    """TFLite's double-rounding MultiplyByQuantizedMultiplier(x, M, s) by its definition:
    x' = x * 2^max(s,0) wrapped to int32; h = round-half-up(x' * M / 2^31) (saturating only for
    x' = M = -2^31); then h / 2^max(-s,0) rounded half away from zero."""
    xs = wrap_to(x * (1 << max(s, 0)), 32)
    if xs == m == -(1 << 31):
        h = (1 << 31) - 1
    else:
        h = math.floor(Fraction(xs * m, 1 << 31) + HALF)
    return round_fraction(Fraction(h, 1 << max(-s, 0)), "half_away")


def binary32_value(bits: int) -> Fraction:
    """The value of a binary32 bit pattern (finite numbers), by IEEE 754's formula."""
    sign, field, frac = bits >> 31, (bits >> 23) & 0xFF, bits & ((1 << 23) - 1)
    if field == 0xFF:
        raise ValueError(f"{bits:#010x} is not finite")
    if field == 0:
        value = Fraction(frac, 1 << 23) * Fraction(2) ** -126
    else:
        value = (1 + Fraction(frac, 1 << 23)) * Fraction(2) ** (field - 127)
    return -value if sign else value


def fl32(q: Fraction):
    """``q`` rounded to the nearest binary32, ties to even (subnormals included); +-math.inf
    when the rounded magnitude reaches 2^128."""
    if q == 0:
        return Fraction(0)
    a = abs(q)
    e = a.numerator.bit_length() - a.denominator.bit_length()  # 2^e <= a < 2^(e+2)
    while Fraction(2) ** (e + 1) <= a:
        e += 1
    while Fraction(2) ** e > a:
        e -= 1
    quantum = Fraction(2) ** (max(e, -126) - 23)  # 24 significant bits, or the subnormal step
    v = round(a / quantum) * quantum  # Fraction rounds ties to even
    if v >= Fraction(2) ** 128:
        return math.inf if q > 0 else -math.inf
    return v if q > 0 else -v


def fp32_requant(acc: int, mult: int):
    """``round_half_even(fl32(fl32(acc) * scale))``, scale the binary32 ``mult`` (an int, or
    +-math.inf when the product overflows binary32)."""
    f = fl32(fl32(Fraction(acc)) * binary32_value(mult))
    return f if isinstance(f, float) else round(f)


def requant(acc: int, mult: int, shift: int, cfg) -> int:
    if cfg.rounding == "gemmlowp":
        return gemmlowp_requant(acc, mult, shift)
    if cfg.rounding == "fp32":
        return fp32_requant(acc, mult)
    value = acc if cfg.mult_bits == 0 else acc * mult
    return round_div_pow2(value, shift, cfg.rounding)


def layer(cfg, x, w, bias, mult, shift, out_zp, act_min, act_max):
    """One layer by the contract, as nested lists: returns ``(y, saturated, acc, overflow)``.

    Every per-channel argument is a list of length C; ``x`` is N lists of K, ``w`` C lists of K.
    """
    n_rows, k_len, n_ch = len(x), len(x[0]), len(w)
    ys, sats, accs, ovfs = [], [], [], []
    acc_lo, acc_hi = -(1 << (cfg.acc_bits - 1)), (1 << (cfg.acc_bits - 1)) - 1
    for n in range(n_rows):
        y_row, sat_row, acc_row, ovf_row = [], [], [], []
        for c in range(n_ch):
            acc = bias[c]  # acc_0 = bias
            exact = bias[c]  # the unbounded sum, for the wrap-mode overflow flag
            overflow = False
            for start in range(0, k_len, cfg.lanes):
                # One beat: `lanes` products; lanes past K are padding (zero products).
                end = min(start + cfg.lanes, k_len)
                beat_sum = sum(x[n][k] * w[c][k] for k in range(start, end))
                exact += beat_sum
                if cfg.acc_mode == "saturate":
                    new = sat_to(acc + beat_sum, cfg.acc_bits)
                    overflow |= new != acc + beat_sum
                    acc = new
                else:
                    acc = wrap_to(acc + beat_sum, cfg.acc_bits)
            if cfg.acc_mode == "wrap":
                overflow = not acc_lo <= exact <= acc_hi
            r = requant(acc, mult[c], shift[c], cfg)
            z = r + out_zp[c]
            y = min(max(z, act_min[c]), act_max[c])
            y_row.append(y)
            sat_row.append(y != z)
            acc_row.append(acc)
            ovf_row.append(overflow)
        ys.append(y_row)
        sats.append(sat_row)
        accs.append(acc_row)
        ovfs.append(ovf_row)
    return ys, sats, accs, ovfs
