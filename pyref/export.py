"""Exporters: two's complement hex for Verilog ``$readmemh`` (and reading it back), memory images
of a matrix as the RTL reads it beat by beat, ``ap_fixed<W,I>`` literals, and C / Verilog
constant arrays. Every value is range-checked first; nothing is wrapped silently.
"""

from __future__ import annotations

import math
import os
from decimal import Decimal
from fractions import Fraction

import numpy as np

from .checks import (
    ValueRangeError,
    as_int_array,
    as_real_array,
    check_path,
    check_range,
    check_shape,
    describe,
)
from .fixed_point import beats_per_job, ceil_div


class HexFormatError(ValueError):
    """A hex file line that is not a word of the expected width."""


def value_range(bits: int, signed: bool = True) -> tuple[int, int]:
    """Inclusive range of a ``bits``-wide word."""
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or bits < 1:
        raise ValueError(f"bits = {bits!r} must be an integer >= 1")
    if signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def _check_count(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} = {value!r} must be an integer >= 1")


def hex_digits(bits: int) -> int:
    """Hex digits of a ``bits``-wide word: ``ceil(bits / 4)``."""
    return ceil_div(bits, 4)


def to_hex_words(values, bits: int, *, signed: bool = True, name: str = "value") -> list[str]:
    """Each value as a ``ceil(bits/4)``-digit lowercase two's complement hex word (C order).

    ``to_hex_words([-2, 6], 8) == ['fe', '06']``. Out-of-range values raise, naming the index.
    """
    arr = as_int_array(name, values)
    lo, hi = value_range(bits, signed)
    check_range(name, arr, lo, hi, f"{bits}-bit {'signed' if signed else 'unsigned'}")
    mask = (1 << bits) - 1
    digits = hex_digits(bits)
    return [format(int(v) & mask, f"0{digits}x") for v in arr.reshape(-1)]


def _parse_word(word: str, bits: int, signed: bool) -> int:
    """One hex word -> its value; :class:`HexFormatError` (without location) when malformed."""
    digits = hex_digits(bits)
    w = word.strip().lower()
    if w.startswith("0x"):
        w = w[2:]
    w = w.replace("_", "")  # $readmemh allows underscores between digits
    if not w or len(w) > digits or any(ch not in "0123456789abcdef" for ch in w):
        raise HexFormatError(
            f"{word!r} is not a hex word of at most {digits} digit(s) ({bits} bits)"
        )
    u = int(w, 16)
    if u >> bits:
        raise HexFormatError(
            f"{word!r} = {u} does not fit {bits} bits (at most {(1 << bits) - 1:#x})"
        )
    return u - (1 << bits) if signed and u >> (bits - 1) else u


def from_hex_words(words, bits: int, *, signed: bool = True, name: str = "hex") -> np.ndarray:
    """Inverse of :func:`to_hex_words`: hex words -> values (sign-extended when signed); int64,
    or Python ints in an object array for words wider than int64 holds."""
    fits = bits < 64 or (bits == 64 and signed)
    out = np.empty(len(words), dtype=np.int64 if fits else object)
    for i, word in enumerate(words):
        try:
            out[i] = _parse_word(word, bits, signed)
        except HexFormatError as exc:
            raise HexFormatError(f"{name}[{i}] = {exc}") from None
    return out


def write_hex(
    path: str | os.PathLike, values, bits: int, *, signed: bool = True, name: str = "value"
) -> int:
    """Write ``values`` (flattened in C order) to ``path`` for ``$readmemh``: one word a line.
    Returns the number of words."""
    path = check_path("path", path)
    words = to_hex_words(values, bits, signed=signed, name=name)
    with open(path, "w", encoding="ascii") as f:
        f.write("".join(w + "\n" for w in words))
    return len(words)


def read_hex(
    path: str | os.PathLike, bits: int, *, signed: bool = True, count: int | None = None
) -> np.ndarray:
    """Read a ``$readmemh`` file written by :func:`write_hex` (blank lines and ``//`` comments
    are skipped; one word a line). ``count`` checks the number of words."""
    path = check_path("path", path)
    value_range(bits, signed)
    values = []
    with open(path, encoding="ascii") as f:
        for lineno, line in enumerate(f, start=1):
            text = line.split("//", 1)[0].strip()
            if not text:
                continue
            if text.startswith("@"):
                raise HexFormatError(
                    f"{path}:{lineno}: address records ({text!r}) are not supported"
                )
            if len(text.split()) != 1:
                raise HexFormatError(f"{path}:{lineno}: expected one word a line, got {text!r}")
            try:
                values.append(_parse_word(text, bits, signed))
            except HexFormatError as exc:
                raise HexFormatError(f"{path}:{lineno}: {exc}") from None
    if count is not None and len(values) != count:
        raise HexFormatError(f"{path}: {len(values)} word(s), expected {count}")
    # Python ints: a memory image word can be wider than int64.
    return np.array(values, dtype=np.int64 if bits <= 63 else object)


# ----- memory images: one line per beat ---------------------------------------------------------


def pack_beats(
    matrix, bits: int, lanes: int, *, signed: bool = True, name: str = "matrix"
) -> list[int]:
    """Pack a ``(M, K)`` matrix into beats of ``lanes`` values: row by row, ``K`` padded with
    zeros to a multiple of ``lanes``; lane ``l`` at bits ``[l*bits +: bits]`` (lane 0 least
    significant), as the RTL's ``in_x_i`` / ``in_w_i`` buses carry them. Returns unsigned words
    of ``lanes * bits`` bits, ``ceil(K / lanes)`` per row."""
    arr = as_int_array(name, matrix)
    check_shape(name, arr, (None, None))
    _check_count("lanes", lanes)
    lo, hi = value_range(bits, signed)
    check_range(name, arr, lo, hi, f"{bits}-bit {'signed' if signed else 'unsigned'}")
    m, k = arr.shape
    beats = beats_per_job(k, lanes)
    padded = np.zeros((m, beats * lanes), dtype=np.int64)
    padded[:, :k] = arr
    lane_values = padded.reshape(m * beats, lanes) & ((1 << bits) - 1)  # two's complement
    if lanes * bits <= 63:
        shifts = np.arange(lanes, dtype=np.int64) * bits
        return (lane_values << shifts).sum(axis=1).tolist()
    shifts = np.array([lane * bits for lane in range(lanes)], dtype=object)
    return (lane_values.astype(object) << shifts).sum(axis=1).tolist()


def unpack_beats(words, bits: int, lanes: int, k: int, *, signed: bool = True) -> np.ndarray:
    """Inverse of :func:`pack_beats`: beat words -> the ``(M, K)`` matrix (padding dropped)."""
    value_range(bits)
    _check_count("lanes", lanes)
    _check_count("k", k)
    beats = beats_per_job(k, lanes)
    if len(words) % beats:
        raise ValueError(
            f"{len(words)} beat word(s) is not a multiple of {beats} beat(s) per row "
            f"(K = {k}, lanes = {lanes})"
        )
    shifts = np.array([lane * bits for lane in range(lanes)], dtype=object)
    raw = (np.array([int(w) for w in words], dtype=object)[:, None] >> shifts) & ((1 << bits) - 1)
    vals = raw.astype(np.int64)
    if signed:
        vals = np.where(vals >> (bits - 1) != 0, vals - (1 << bits), vals)
    return vals.reshape(-1, beats * lanes)[:, :k]


def write_memory_image(
    path: str | os.PathLike,
    matrix,
    bits: int,
    lanes: int,
    *,
    signed: bool = True,
    name: str = "matrix",
) -> int:
    """Write :func:`pack_beats` words for ``$readmemh``: one beat a line,
    ``ceil(lanes*bits/4)`` hex digits. Returns the number of lines."""
    path = check_path("path", path)
    words = pack_beats(matrix, bits, lanes, signed=signed, name=name)
    digits = hex_digits(lanes * bits)
    with open(path, "w", encoding="ascii") as f:
        f.write("".join(format(w, f"0{digits}x") + "\n" for w in words))
    return len(words)


def read_memory_image(
    path: str | os.PathLike, bits: int, lanes: int, k: int, *, signed: bool = True
) -> np.ndarray:
    """Read a :func:`write_memory_image` file back to the ``(M, K)`` matrix."""
    value_range(bits)
    _check_count("lanes", lanes)
    return unpack_beats(
        read_hex(path, lanes * bits, signed=False).tolist(), bits, lanes, k, signed=signed
    )


# ----- ap_fixed literals ------------------------------------------------------------------------


def ap_fixed_int(
    value, width: int, integer: int, *, signed: bool = True, name: str = "value"
) -> np.ndarray:
    """The raw integers of ``ap_fixed<width, integer>`` values: ``value * 2^(width - integer)``,
    refused (naming the index) unless exactly representable and in range."""
    if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or not 1 <= width <= 63:
        raise ValueError(f"W = {width!r} is out of range: allowed an integer 1 .. 63")
    if isinstance(integer, bool) or not isinstance(integer, (int, np.integer)):
        raise ValueError(f"I = {integer!r} must be an integer")
    frac = width - integer
    arr = as_real_array(name, value)
    raw = np.ldexp(arr, frac)  # exact: scaling by a power of two
    lo, hi = value_range(width, signed)
    for idx, r in np.ndenumerate(raw):
        where = f"{name}{'' if idx == () else list(idx)} = {float(arr[idx])!r}"
        if not math.isfinite(r) or r != math.floor(r):
            raise ValueRangeError(
                f"{where} is not a multiple of 2^-{frac}: not exactly "
                f"representable as {_ap_type(width, integer, signed)}"
            )
        if not lo <= r <= hi:
            raise ValueRangeError(
                f"{where} is out of range for {_ap_type(width, integer, signed)}: allowed "
                f"{ap_fixed_from_raw(lo, width, integer)} .. "
                f"{ap_fixed_from_raw(hi, width, integer)}"
            )
    return raw.astype(np.int64)


def _ap_type(width: int, integer: int, signed: bool) -> str:
    return f"{'ap_fixed' if signed else 'ap_ufixed'}<{width},{integer}>"


def _exact_decimal(value: Fraction) -> str:
    """The exact decimal expansion of a dyadic rational ``n / 2^f`` (always finite):
    ``n / 2^f == n * 5^f / 10^f``."""
    f = value.denominator.bit_length() - 1
    if value.denominator != 1 << f:
        raise ValueError(f"{value} is not a dyadic rational")
    s = format(Decimal(value.numerator * 5**f).scaleb(-f), "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


def ap_fixed_literal(value: float, width: int, integer: int, *, signed: bool = True) -> str:
    """A C++ literal of an exactly representable value: ``ap_fixed<8,2>(0.09375)``.

    The value is written as its exact decimal expansion (a multiple of ``2^-(W-I)`` always has
    one), so the ``double`` the compiler reads is the value and ``ap_fixed``'s conversion does
    not round. Values that are not exactly representable are refused.
    """
    raw = int(ap_fixed_int(value, width, integer, signed=signed))
    return f"{_ap_type(width, integer, signed)}({ap_fixed_from_raw(raw, width, integer)})"


def ap_fixed_from_raw(raw: int, width: int, integer: int) -> str:
    """The exact decimal value of raw integer ``raw`` in ``ap_fixed<width, integer>``."""
    frac = width - integer
    value = Fraction(int(raw), 2**frac) if frac >= 0 else Fraction(int(raw) * 2**-frac)
    return _exact_decimal(value)


# ----- constant arrays --------------------------------------------------------------------------


def _check_identifier(name) -> None:
    if not (isinstance(name, str) and name.isidentifier() and name.isascii()):
        raise ValueError(
            f"name must be a C / Verilog identifier (letters, digits and _, not "
            f"starting with a digit), got {describe(name)}"
        )


def _c_type(bits: int, signed: bool) -> str:
    for width in (8, 16, 32, 64):
        if bits <= width:
            return f"{'int' if signed else 'uint'}{width}_t"
    raise ValueError(f"bits = {bits} does not fit a C integer type (at most 64)")


def c_array(name: str, values, bits: int, *, signed: bool = True, per_line: int = 16) -> str:
    """``static const int8_t name[N] = {...};`` (C order, range-checked, ``<stdint.h>`` types)."""
    _check_identifier(name)
    arr = as_int_array(name, values).reshape(-1)
    check_range(name, arr, *value_range(bits, signed), f"{bits}-bit")
    ctype = _c_type(bits, signed)
    lo = value_range(bits, signed)[0]
    # -2^31 / -2^63 are not literals in C (the minus applies to a too-large constant).
    items = [f"({v + 1} - 1)" if signed and v == lo and bits > 16 else str(v) for v in arr.tolist()]
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    body = ",\n    ".join(lines)
    return f"static const {ctype} {name}[{len(items)}] = {{\n    {body}\n}};\n"


def verilog_localparam(name: str, values, bits: int, *, signed: bool = True) -> str:
    """``localparam [N*BITS-1:0] NAME = {...};`` with element ``i`` at ``[i*BITS +: BITS]``
    (element 0 least significant, like the lanes of a beat)."""
    _check_identifier(name)
    words = to_hex_words(values, bits, signed=signed, name=name)
    items = [f"{bits}'h{w}" for w in reversed(words)]
    lines = [", ".join(items[i : i + 8]) for i in range(0, len(items), 8)]
    body = ",\n  ".join(lines)
    return f"localparam [{len(words) * bits - 1}:0] {name} = {{\n  {body}\n}};\n"
