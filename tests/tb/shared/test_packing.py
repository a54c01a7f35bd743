"""Lane packing (tb/shared/packing.py) against bitstring's independent bit concatenation."""

from __future__ import annotations

import numpy as np
import pytest
from bitstring import BitArray

from tb.shared.packing import pack_lanes


@pytest.mark.parametrize("lanes,bits", [(1, 8), (8, 8), (5, 4), (3, 16), (32, 8), (7, 2)])
def test_pack_lanes_matches_bitstring(lanes, bits):
    rng = np.random.default_rng(lanes * 100 + bits)
    v = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), size=(20, lanes))
    words = pack_lanes(v, bits)
    for row, word in zip(v, words):
        # Lane 0 is the least significant: concatenate from the last lane down.
        bits_str = BitArray()
        for x in reversed(row.tolist()):
            bits_str.append(BitArray(int=int(x), length=bits))
        assert word == bits_str.uint
