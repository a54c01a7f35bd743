"""Rounding of an arithmetic right shift: ``v / 2**t`` rounded by one of the modes of the contract.

``round_shift_scalar`` is the readable definition on Python integers; ``round_shift`` is the
vectorized form used by the model, tested against it and against exact fractions.
"""

from __future__ import annotations

import numpy as np

SHIFT_MODES = ("floor", "trunc", "half_up", "half_down", "half_zero", "half_away", "half_even")
"""The modes that round a single right shift (``gemmlowp`` is a two-step rule, see tflite_math)."""

# The int64 path needs 1 << t and v >> t to stay inside int64.
_INT64_MAX_SHIFT = 62


def round_shift_scalar(v: int, t: int, mode: str) -> int:
    """Round ``v / 2**t`` (``t >= 0``) to an integer by ``mode``; exact for any size of ``v``."""
    if t < 0:
        raise ValueError(f"shift t = {t} must be >= 0")
    if mode not in SHIFT_MODES:
        raise ValueError(f"rounding mode {mode!r} is not one of {SHIFT_MODES}")
    if t == 0:
        return v
    q = v >> t  # floor(v / 2^t)
    rem = v - (q << t)  # 0 <= rem < 2^t
    half = 1 << (t - 1)
    if mode == "floor":
        return q
    if mode == "trunc":
        return q + 1 if (rem and v < 0) else q
    if rem != half:  # not a tie: every "half_*" mode rounds to nearest
        return q + 1 if rem > half else q
    # Exactly halfway between q and q + 1.
    if mode == "half_up":
        return q + 1
    if mode == "half_down":
        return q
    if mode == "half_zero":
        return q + 1 if v < 0 else q
    if mode == "half_away":
        return q if v < 0 else q + 1
    return q + 1 if q & 1 else q  # half_even


def round_shift(v: np.ndarray, t, mode: str) -> np.ndarray:
    """Vectorized :func:`round_shift_scalar`; ``t`` is a scalar or broadcasts against ``v``.

    ``v`` is int64 or an object array of Python ints. The result has ``v``'s dtype, except that an
    int64 ``v`` shifted by more than 62 bits is computed on Python ints (object dtype).
    """
    if mode not in SHIFT_MODES:
        raise ValueError(f"rounding mode {mode!r} is not one of {SHIFT_MODES}")
    v = np.asarray(v)
    t = np.asarray(t, dtype=np.int64)
    if t.size and int(t.min()) < 0:
        raise ValueError(f"shift t = {int(t.min())} must be >= 0")
    wide = v.dtype == object or (t.size and int(t.max()) > _INT64_MAX_SHIFT)
    if wide:
        v = v.astype(object)
        t = t.astype(object)
        one = np.array(1, dtype=object)
    else:
        v = v.astype(np.int64, copy=False)
        one = np.int64(1)
    q = v >> t
    rem = v - (q << t)
    half = np.where(
        t > 0, one << np.maximum(t - 1, 0), one
    )  # t = 0: rem is 0, never a tie or above
    if mode == "floor":
        up = np.zeros(np.broadcast(v, t).shape, dtype=bool)
    elif mode == "trunc":
        up = (rem != 0) & (v < 0)
    else:
        tie = rem == half
        up = rem > half
        if mode == "half_up":
            up |= tie
        elif mode == "half_zero":
            up |= tie & (v < 0)
        elif mode == "half_away":
            up |= tie & (v >= 0)
        elif mode == "half_even":
            up |= tie & ((q & 1) == 1)
        # half_down: ties stay at q
    up = np.asarray(up, dtype=bool)
    if wide:
        return q + up.astype(np.int64).astype(object)
    return q + up
