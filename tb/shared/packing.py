"""Packing values into bit fields, written once: lanes of a beat (lane ``l`` at bits
``[l*bits, (l+1)*bits)``, two's complement) and fields of a word, the first at bit 0.

The batch transport ships the rows as 32-bit words (:mod:`tb.batch.pack`), the per-cycle driver
writes them to the ports as Python ints (:func:`rows_to_ints`), the benchmark's native harness
reads them as raw bytes.
"""

from __future__ import annotations

import numpy as np

from pyref.fixed_point import ceil_div


def pack_fields(n: int, fields: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """Pack fields, the first at bit 0, into ``(n, words)`` uint32 rows.

    A field is ``(values, bits)``: ``values`` is ``(n,)``, or ``(n, k)`` for ``k`` sub-fields of
    ``bits`` each (lanes, lowest first). Values are taken in two's complement modulo
    ``2**bits`` (``bits`` <= 64).
    """
    total = sum(bits * (1 if np.ndim(v) == 1 else np.shape(v)[1]) for v, bits in fields)
    n64 = max(1, ceil_div(total, 64))
    out = np.zeros((n, n64), dtype=np.uint64)
    as_bytes = out.view(np.uint8)
    off = 0
    for values, bits in fields:
        if not 1 <= bits <= 64:
            raise ValueError(f"field width {bits} is not in 1 .. 64")
        v = np.asarray(values)
        if v.shape[:1] != (n,) or v.ndim not in (1, 2):
            raise ValueError(f"field of shape {v.shape}, expected ({n},) or ({n}, k)")
        cols = v.reshape(n, -1)
        if bits in (8, 16, 32) and off % 8 == 0 and n:
            # Byte-aligned lanes: their little-endian bytes are the packed bits.
            raw = cols.astype(f"<i{bits // 8}").view(np.uint8)
            as_bytes[:, off // 8 : off // 8 + raw.shape[1]] = raw
            off += bits * cols.shape[1]
            continue
        if bits < 8 and off // 8 == (off + bits * cols.shape[1] - 1) // 8 and n:
            # Small fields inside one byte (the beat markers): OR their bits into that byte.
            byte = as_bytes[:, off // 8]
            for c in range(cols.shape[1]):
                u = cols[:, c].astype(np.uint8) & np.uint8((1 << bits) - 1)
                byte |= u << np.uint8(off % 8)
                off += bits
            continue
        for c in range(cols.shape[1]):
            col = cols[:, c]
            u = col.astype(np.int64).view(np.uint64) if col.dtype != np.uint64 else col
            if bits < 64:
                u = u & np.uint64((1 << bits) - 1)
            word, sh = divmod(off, 64)
            out[:, word] |= u << np.uint64(sh)
            if sh and sh + bits > 64:
                out[:, word + 1] |= u >> np.uint64(64 - sh)
            off += bits
    words32 = ceil_div(total, 32)
    if not n:
        return np.zeros((0, words32), np.uint32)
    return np.ascontiguousarray(out.view(np.uint32)[:, :words32])


def rows_to_ints(words: np.ndarray) -> list[int]:
    """Each row of 32-bit little-endian words (:func:`pack_fields`) as one Python int."""
    words = np.ascontiguousarray(words, dtype="<u4")
    return [int.from_bytes(row.tobytes(), "little") for row in words]


def pack_lanes(values: np.ndarray, bits: int) -> list[int]:
    """Each row of ``values`` (``(J, lanes)``, signed or unsigned) as one unsigned int with lane
    ``l`` at bits ``[l*bits, (l+1)*bits)`` in two's complement: the port word of a beat."""
    values = np.asarray(values)
    return rows_to_ints(pack_fields(values.shape[0], [(values, bits)]))
