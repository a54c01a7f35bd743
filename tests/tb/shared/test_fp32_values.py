"""The fp32 builders of tb/shared/fp32_values.py against exact integers, numpy's binary32 rounding
and pyref: products one LSB above a tie of their rounding to 24 bits (product_sticky)."""

from __future__ import annotations

import struct
from fractions import Fraction

import numpy as np
import pytest

from pyref.fp32_math import fp32_requantize, fp32_stages, round_to_24_bits
from pyref.rounding import round_shift
from tb.shared import fp32_values as FV

N_MAX = 126     # out_bits = 8: n and n + 1 both seen through out_zp = -n


def _binary32(bits: int) -> Fraction:
    """The exact value of a binary32 bit pattern (struct, not pyref)."""
    return Fraction(struct.unpack("<f", struct.pack("<I", bits))[0])


def _sticky_row(a: int, s: int, n_max: int) -> tuple[int, int] | None:
    """(k, u) when the 48-bit product a * s is one LSB above a tie of its rounding to 24 bits
    and its kept bits are (n + 1/2) * 2^u with an even n in [2, n_max]; plain Python ints."""
    p = a * s
    k = p.bit_length() - 24
    if p % (1 << k) != (1 << (k - 1)) + 1:
        return None
    kept = p >> k
    u = (kept & -kept).bit_length()     # kept = (2n + 1) * 2^(u-1)
    n = kept >> u
    return (k, u) if n % 2 == 0 and 2 <= n <= n_max else None


def test_hand_worked_rows_are_in_the_table():
    # 8463219 * 16759227 = 0x8100_0080_0001: 48 bits, the 24 dropped ones 0x800001 (the half
    # bit and bit 0), kept 0x810000 = 129 * 2^16 = 64.5 * 2^17 (n = 64).
    assert 8463219 * 16759227 == 0x8100_0080_0001
    # 9072935 * 9694871 = 0x5000_0040_0001: 47 bits, dropped 0x400001, kept 0xA00000 = 2.5 * 2^22.
    assert 9072935 * 9694871 == 0x5000_0040_0001
    rows = {tuple(r) for r in FV.product_sticky_table(N_MAX).tolist()}
    assert (8463219, 16759227, 24, 17) in rows and (9072935, 9694871, 23, 22) in rows
    assert (9072935, 9694871, 23, 22) in {tuple(r) for r in FV.product_sticky_table(2).tolist()}


def test_table_rows_are_sticky_products():
    table = FV.product_sticky_table(N_MAX)
    assert len(table) >= 20
    ns = set()
    for a, s, k, u in table.tolist():
        assert a % 2 == 1 and 1 << 23 <= a < 1 << 24 and 1 << 23 <= s < 1 << 24
        assert _sticky_row(a, s, N_MAX) == (k, u), (a, s)
        ns.add((a * s) >> (k + u))
    assert min(ns) <= 4 and max(ns) >= 100      # small and large outputs


def test_table_is_complete_on_a_sample():
    """Every odd mantissa of a random sample (plus the table's own) has exactly the rows that a
    direct solve with Python's modular inverse finds."""
    table = FV.product_sticky_table(N_MAX)
    rng = np.random.default_rng(4)
    sample = set(table[:, 0].tolist()) | {2 * int(v) + 1 for v in
                                          rng.integers(1 << 22, 1 << 23, 3000)}
    expected = set()
    for a in sample:
        for m in range(23 + 17 + 1, 24 + 22 + 2):      # low bits fixed: k + u + 1
            for k in (23, 24):
                u = m - k - 1
                c = (1 << (k + u - 1)) + (1 << (k - 1)) + 1
                s = c * pow(a, -1, 1 << m) % (1 << m)
                if 1 << 23 <= s < 1 << 24 and _sticky_row(a, s, N_MAX) == (k, u):
                    expected.add((a, s, k, u))
    got = {tuple(r) for r in table.tolist() if r[0] in sample}
    assert got == expected


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("sign", [1, -1])
def test_product_sticky_against_binary32_and_pyref(seed, sign):
    rng = np.random.default_rng(seed)
    for _ in range(10):
        acc, mult, n = FV.product_sticky(rng, N_MAX, sign, 2**31 - 1)
        assert n % 2 == 0 and 2 <= n <= N_MAX and (acc > 0) == (sign > 0)
        assert abs(acc) < 2**31
        a = abs(acc)
        assert a >> (a.bit_length() - 24) << (a.bit_length() - 24) == a   # a binary32
        exact = acc * _binary32(mult)
        # 48 significant bits: exact in float64; numpy rounds it to binary32 once, then rint
        # rounds half to even.
        assert Fraction(float(exact)) == exact
        fl = np.float32(float(exact))
        assert int(np.rint(np.float64(fl))) == sign * (n + 1)
        assert abs(exact) - n - Fraction(1, 2) < Fraction(1, 2**16)
        # The mantissa product, its bit 0 cleared: an exact tie, rounded to even: n + 1/2.
        mant_a = a >> (a.bit_length() - 24)
        mant_s = (mult & 0x7F_FFFF) | 0x80_0000
        p = mant_a * mant_s
        assert p % 2 == 1
        scale = exact / (sign * p)                      # a power of two
        lost = sign * (p - 1) * scale
        fl_lost = np.float32(float(lost))
        assert Fraction(float(fl_lost)) == sign * Fraction(2 * n + 1, 2)
        assert int(np.rint(np.float64(fl_lost))) == sign * n
        # pyref: n + 1, and |r| = n with the (magnitude) product's bit 0 cleared.
        assert int(fp32_requantize(acc, mult)) == sign * (n + 1)
        st = fp32_stages(np.array([acc]), np.array([mult]))
        assert int(st["prod"][0]) == p and bool(st["neg"][0]) == (sign < 0)
        mant, drop = round_to_24_bits(st["prod"] & ~1)
        assert int(round_shift(mant, -(st["prod_exp"] + drop), "half_even")[0]) == n


def test_product_sticky_respects_the_caps():
    rng = np.random.default_rng(1)
    assert FV.product_sticky(rng, N_MAX, 1, (1 << 23)) is None     # no odd 24-bit |acc|
    assert FV.product_sticky(rng, 1, 1, 2**31 - 1) is None          # no even n >= 2
    for _ in range(20):
        acc, _, n = FV.product_sticky(rng, 2, -1, 1 << 24)
        assert n == 2 and -(1 << 24) <= acc < 0


def test_near_half_below_needs_a_large_accumulator():
    # A small accumulator cannot bring n + 1/2 - d within 2^-18 of n + 1/2: no pair (it used to
    # raise from numpy instead, for a config with a small bias and narrow products).
    assert FV.near_half(np.random.default_rng(0), 3, 1, "below", 383) is None


@pytest.mark.parametrize("out_bits", [3, 16])
def test_product_sticky_other_output_widths(out_bits):
    n_max = (1 << (out_bits - 1)) - 2
    rng = np.random.default_rng(out_bits)
    ns = set()
    for i in range(40):
        sign = 1 - 2 * (i % 2)
        acc, mult, n = FV.product_sticky(rng, n_max, sign, 2**31 - 1)
        fl = np.float32(float(acc * _binary32(mult)))
        assert int(np.rint(np.float64(fl))) == sign * (n + 1)
        assert int(fp32_requantize(acc, mult)) == sign * (n + 1)
        assert n % 2 == 0 and 2 <= n <= n_max
        ns.add(n)
    assert ns == {2} if n_max == 2 else len(ns) >= 10
