"""TFLite's real scales as integers, bit for bit: ``QuantizeMultiplier`` turns a real scale into
``(M, s)`` and ``TfLiteRound`` rounds like C++ ``std::round``. The requantization that uses
``(M, s)`` (``MultiplyByQuantizedMultiplier``) is in :mod:`pyref.fixed_point`.
"""

from __future__ import annotations

import math


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
