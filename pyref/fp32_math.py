"""Binary32 requantization, the ``fp32`` rounding mode: ONNX Runtime's QLinear kernels (MLAS) and
XNNPACK (LiteRT's default CPU path), bit for bit, computed on integers.

``r = round_half_even(fl32(fl32(acc) * scale))`` where ``fl32`` rounds to the nearest binary32,
ties to even, and ``scale`` is a positive normal binary32 given by its bit pattern (``mult``).
The steps are those of the RTL (rtl/qmac_fp32_*.v): ``fl32(acc)`` keeps the top 24 significant
bits of ``|acc|`` (rounded, ties to even), the two 24-bit mantissas are multiplied exactly, the
product is rounded to 24 significant bits (ties to even) and then to an integer (ties to even).
Products below 2^-126, where binary32 would go subnormal, all round to 0 either way; products of
2^31 and more (an infinite one included) are returned as ``+-2^31``, which every output clamp
treats the same way as the exact value.
"""

from __future__ import annotations

import numpy as np

from .checks import ValueRangeError
from .rounding import round_shift

MULT_MIN = 0x0080_0000
"""Bit pattern of the smallest positive normal binary32, 2^-126."""
MULT_MAX = 0x7F7F_FFFF
"""Bit pattern of the largest finite binary32, (2 - 2^-23) * 2^127."""
R_LIMIT = 1 << 31
"""|r| is saturated to this (any such r is far outside every output range)."""

_MANT_BITS = 24  # significant bits of a binary32, the hidden one included
_EXP_BIAS = 127 + 23  # scale = mantissa * 2^(exponent field - 150)


def scale_to_mult(scale) -> np.ndarray:
    """The binary32 bit patterns (int64) of ``scale``, each rounded to binary32 first.

    Raises :class:`~pyref.checks.ValueRangeError` naming the first index whose binary32 value is
    not a positive normal number (zero, negative, subnormal, infinite or NaN).
    """
    f = np.asarray(scale, dtype=np.float32)
    bits = f.view(np.uint32).astype(np.int64)
    bad = (bits < MULT_MIN) | (bits > MULT_MAX)
    if np.any(bad):
        idx = tuple(int(i) for i in np.argwhere(bad)[0]) if f.ndim else ()
        where = "[" + ", ".join(map(str, idx)) + "]" if idx else ""
        raise ValueRangeError(
            f"scale{where} = {f[idx]!r} as binary32 is not a "
            f"positive normal number (allowed 2^-126 .. 3.4028235e38)"
        )
    return bits


def mult_to_scale(mult) -> np.ndarray:
    """The binary32 values (``np.float32``) of the bit patterns ``mult``."""
    return np.asarray(mult, dtype=np.int64).astype(np.uint32).view(np.float32)


def bit_length(v: np.ndarray) -> np.ndarray:
    """Bit length of non-negative int64 values below 2^53 (exact: float64 holds them)."""
    return np.frexp(np.asarray(v, dtype=np.float64))[1].astype(np.int64)


def round_to_24_bits(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``m`` (non-negative int64 < 2^53) rounded to 24 significant bits, ties to even, as
    ``(mantissa, exponent)`` with ``mantissa * 2^exponent`` the rounded value (the mantissa may
    round up to 2^24)."""
    drop = np.maximum(bit_length(m) - _MANT_BITS, 0)
    return round_shift(m, drop, "half_even"), drop


def fp32_stages(acc, mult) -> dict[str, np.ndarray]:
    """The integer steps of the fp32 requantizer, for ``acc`` (int32 range) and ``mult``:

    - ``acc_mant * 2^acc_exp = fl32(|acc|)`` (``acc_mant`` up to 2^24),
    - ``prod * 2^prod_exp = fl32(|acc|) * scale`` exactly,
    - ``fl_mant * 2^fl_exp = fl32(|fl32(acc) * scale|)``,
    - ``neg``: acc < 0 (every step is symmetric in the sign).
    """
    acc = np.asarray(acc, dtype=np.int64)
    mult = np.asarray(mult, dtype=np.int64)
    acc_mant, acc_exp = round_to_24_bits(np.abs(acc))
    ms = (mult & 0x7F_FFFF) | 0x80_0000  # scale = ms * 2^(es - 150)
    es = (mult >> 23) & 0xFF
    prod = acc_mant * ms  # < 2^49: exact in int64
    prod_exp = acc_exp + es - _EXP_BIAS
    fl_mant, drop = round_to_24_bits(prod)
    return {
        "neg": acc < 0,
        "acc_mant": acc_mant,
        "acc_exp": acc_exp,
        "prod": prod,
        "prod_exp": prod_exp,
        "fl_mant": fl_mant,
        "fl_exp": prod_exp + drop,
    }


def fp32_requantize(acc, mult) -> np.ndarray:
    """``round_half_even(fl32(fl32(acc) * scale))`` for int32-range ``acc`` and bit patterns
    ``mult`` of positive normal binary32 scales (broadcast against each other); int64, with
    ``|r|`` saturated to :data:`R_LIMIT`."""
    st = fp32_stages(acc, mult)
    mp, ep = st["fl_mant"], st["fl_exp"]
    # Round mp * 2^ep to an integer, ties to even. mp < 2^25, so a right shift of 26 or more
    # gives 0 (less than one half) and mp << 7 already reaches R_LIMIT.
    r = round_shift(mp, np.clip(-ep, 0, 26), "half_even")
    r = np.where(ep > 0, np.minimum(mp << np.clip(ep, 0, 8), R_LIMIT), r)
    r = np.minimum(r, R_LIMIT)
    return np.where(st["neg"], -r, r)
