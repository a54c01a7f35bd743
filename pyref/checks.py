"""Range and shape checks that name the array, the first offending index and the allowed range."""

from __future__ import annotations

import numbers
import os
from typing import Any

import numpy as np


class ValueRangeError(ValueError):
    """A value does not fit the width the config gives it."""


class ShapeError(ValueError):
    """An array has the wrong shape for its role."""


def as_int_array(name: str, value: Any) -> np.ndarray:
    """``value`` as an integer numpy array (int64, or object for Python ints past 64 bits).

    Floats are refused unless every element is integral (and converted exactly, however large);
    booleans are accepted as 0/1. Ragged nesting is a :class:`ShapeError` naming ``name``.
    """
    try:
        arr = np.asarray(value)
    except ValueError as exc:  # ragged nested sequences
        raise ShapeError(f"{name} is not a rectangular array: {exc}") from None
    if arr.dtype == object:
        for idx, v in np.ndenumerate(arr):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
                raise ValueRangeError(f"{name}{_fmt_index(idx)} = {v!r} is not an integer")
        try:
            return arr.astype(np.int64)
        except OverflowError:
            return np.vectorize(int, otypes=[object])(arr) if arr.size else arr
    if arr.dtype.kind == "b":
        return arr.astype(np.int64)
    if arr.dtype.kind in "iu":
        if arr.dtype == np.uint64 and arr.size and int(arr.max()) > np.iinfo(np.int64).max:
            return np.vectorize(int, otypes=[object])(arr)
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueRangeError(
                f"{name}{_fmt_index(idx)} = {arr[idx].item()!r} is not an integer"
            )
        if arr.size and float(np.max(np.abs(arr))) >= 2.0**63:
            # Past int64 a cast would wrap; keep the exact values so range checks report them.
            return np.vectorize(int, otypes=[object])(arr)
        return arr.astype(np.int64)
    raise ValueRangeError(f"{name} must hold integers, got dtype {arr.dtype}")


def describe(value: Any) -> str:
    """``value`` for an error message: its type and, when short, its repr."""
    text = repr(value)
    kind = type(value).__name__
    return kind if len(text) > 60 or text.startswith("<") else f"{kind} {text}"


def check_type(name: str, value: Any, expected: type | tuple, what: str, hint: str = "") -> None:
    """Raise ``TypeError`` naming ``name``, what was expected and what was given."""
    if not isinstance(value, expected):
        raise TypeError(f"{name} must be {what}, got {describe(value)}{hint}")


def check_path(name: str, value: Any) -> str:
    """A file path (``str`` or ``os.PathLike``) as a ``str``; ``TypeError`` naming ``name``."""
    check_type(name, value, (str, os.PathLike), "a file path (str or os.PathLike)")
    return os.fspath(value)


def as_real_array(name: str, value: Any, dtype=np.float64) -> np.ndarray:
    """``value`` (a real number or an array of them) as a float numpy array.

    ``None``, strings and other non-numbers raise ``TypeError`` naming ``name`` (numpy would
    turn ``None`` into ``nan`` silently); ragged nesting is a :class:`ShapeError`.
    """
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a real number or an array of them, got {describe(value)}")
    try:
        arr = np.asarray(value)
    except ValueError as exc:  # ragged nested sequences
        raise ShapeError(f"{name} is not a rectangular array: {exc}") from None
    if arr.dtype == object:
        for idx, v in np.ndenumerate(arr):
            if not isinstance(v, numbers.Real):
                raise TypeError(f"{name}{_fmt_index(idx)} must be a real number, got {describe(v)}")
    elif arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    return arr.astype(dtype)


def check_range(name: str, arr: np.ndarray, lo: int, hi: int, what: str = "") -> None:
    """Raise :class:`ValueRangeError` at the first element of ``arr`` outside ``[lo, hi]``."""
    arr = np.asarray(arr)
    if arr.size == 0:
        return
    bad = (arr < lo) | (arr > hi)
    if np.any(bad):
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        count = int(np.count_nonzero(bad))
        extra = f" ({what})" if what else ""
        raise ValueRangeError(
            f"{name}{_fmt_index(idx)} = {arr[idx]} is out of range: allowed {lo} .. {hi}{extra}; "
            f"{count} value(s) out of range"
        )


def check_shape(name: str, arr: np.ndarray, shape: tuple) -> None:
    """Raise :class:`ShapeError` unless ``arr.shape`` matches ``shape`` (None matches any size)."""
    ok = arr.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, arr.shape))
    if not ok:
        want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
        raise ShapeError(f"{name} has shape {arr.shape}, expected {want}")


def _fmt_index(idx: tuple) -> str:
    return "" if idx == () else "[" + ", ".join(str(i) for i in idx) + "]"
