"""A batch as the words of ``tb/batch/hdl/qmac_batch_tb.sv`` (fields packed by
:func:`tb.shared.packing.pack_fields`).

A beat word is ``{cut, last, first, w[lanes-1] .. w[0], x[lanes-1] .. x[0]}`` (x lane 0 at bit 0); a
job word is ``{act_max, act_min, out_zp, shift, mult, bias}`` (bias at bit 0), each field in
two's complement at its config width. Words are rows of little-endian 32-bit words (what a
DPI ``svBitVecVal`` array holds) or lines of hex digits (what ``$readmemh`` reads).
"""

from __future__ import annotations

import numpy as np

from pyref.beats import BeatStream
from pyref.config import QmacConfig
from pyref.fixed_point import ceil_div
from tb.shared.packing import pack_fields

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def beat_bits(config: QmacConfig) -> int:
    """Width of a beat word."""
    return config.lanes * (config.in_bits + config.w_bits) + 3


def job_bits(config: QmacConfig) -> int:
    """Width of a job word."""
    return config.bias_bits + max(config.mult_bits, 1) + config.shift_bits + 3 * config.out_bits


def pack_beats(stream: BeatStream, config: QmacConfig, cut: np.ndarray | None = None) -> np.ndarray:
    """Beat words of ``stream``, one ``(words,)`` uint32 row per beat; ``cut`` marks beats after
    which the wrapper resets the DUT mid-job."""
    n = len(stream)
    fields = [
        (stream.x, config.in_bits),
        (stream.w, config.w_bits),
        (stream.first, 1),
        (stream.last, 1),
        (np.zeros(n, np.int64) if cut is None else cut, 1),
    ]
    return pack_fields(n, fields)


def pack_jobs(stream: BeatStream, config: QmacConfig, ends: np.ndarray | None = None) -> np.ndarray:
    """Job words of ``stream``, one row per job, values taken from each job's last beat;
    ``ends`` (beat indices of last beats) picks some jobs, by default every job."""
    ends = stream.job_ends if ends is None else np.asarray(ends)
    n = len(ends)
    mult = stream.mult[ends] if config.mult_bits else np.zeros(n, dtype=np.int64)
    fields = [
        (stream.bias[ends], config.bias_bits),
        (mult, max(config.mult_bits, 1)),
        (stream.shift[ends], config.shift_bits),
        (stream.out_zp[ends], config.out_bits),
        (stream.act_min[ends], config.out_bits),
        (stream.act_max[ends], config.out_bits),
    ]
    return pack_fields(n, fields)


def to_hex_lines(words: np.ndarray, bits: int) -> bytes:
    """``$readmemh`` text: one line of ``ceil(bits / 4)`` hex digits per row of ``words``."""
    n, nw = words.shape
    digits = ceil_div(bits, 4)
    if n == 0:
        return b""
    be = np.ascontiguousarray(words[:, ::-1]).astype(">u4").view(np.uint8).reshape(n, nw * 4)
    nib = np.empty((n, nw * 8), dtype=np.uint8)
    nib[:, 0::2] = be >> 4
    nib[:, 1::2] = be & 15
    text = np.empty((n, digits + 1), dtype=np.uint8)
    text[:, :digits] = _HEX[nib[:, nw * 8 - digits :]]
    text[:, digits] = ord("\n")
    return text.tobytes()


def parse_hex_words(data: bytes, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Parse ``$writememh`` output of 32-bit words: ``(values uint32, unknown (count, 8) bool)``.

    ``unknown`` marks ``x``/``z`` digits, most significant first (they read as 0 in ``values``).
    Comment lines (``//``) and blank lines are skipped.
    """
    lines = [ln for ln in data.split(b"\n") if ln.strip() and not ln.lstrip().startswith(b"//")]
    if len(lines) < count:
        raise ValueError(f"trace file holds {len(lines)} words, expected {count}")
    raw = b"".join(ln.strip().rjust(8, b"0") for ln in lines[:count])
    chars = np.frombuffer(raw, dtype=np.uint8).reshape(count, 8)
    lower = chars | 0x20
    is_digit = (chars >= ord("0")) & (chars <= ord("9"))
    is_hex = (lower >= ord("a")) & (lower <= ord("f"))
    unknown = ~(is_digit | is_hex)
    nib = np.where(is_digit, chars - ord("0"), np.where(is_hex, lower - ord("a") + 10, 0))
    weights = np.uint32(1) << (np.uint32(4) * np.arange(7, -1, -1, dtype=np.uint32))
    values = (nib.astype(np.uint32) * weights).sum(axis=1, dtype=np.uint64).astype(np.uint32)
    return values, unknown
