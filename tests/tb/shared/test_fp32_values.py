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

N_MAX = 126  # out_bits = 8: n and n + 1 both seen through out_zp = -n


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
    u = (kept & -kept).bit_length()  # kept = (2n + 1) * 2^(u-1)
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
    assert min(ns) <= 4 and max(ns) >= 100  # small and large outputs


def test_table_is_complete_on_a_sample():
    """Every odd mantissa of a random sample (plus the table's own) has exactly the rows that a
    direct solve with Python's modular inverse finds."""
    table = FV.product_sticky_table(N_MAX)
    rng = np.random.default_rng(4)
    sample = set(table[:, 0].tolist()) | {
        2 * int(v) + 1 for v in rng.integers(1 << 22, 1 << 23, 3000)
    }
    expected = set()
    for a in sample:
        for m in range(23 + 17 + 1, 24 + 22 + 2):  # low bits fixed: k + u + 1
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
        assert a >> (a.bit_length() - 24) << (a.bit_length() - 24) == a  # a binary32
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
        scale = exact / (sign * p)  # a power of two
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
    assert FV.product_sticky(rng, N_MAX, 1, (1 << 23)) is None  # no odd 24-bit |acc|
    assert FV.product_sticky(rng, 1, 1, 2**31 - 1) is None  # no even n >= 2
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


# --- tie_neighbour: exact products one ulp from n + 1/2, a quarter ulp above a product tie ------


def _mantissa(v: int) -> int:
    """The 24-bit normalized mantissa of a positive integer below 2^24 * 2^k (exact)."""
    b = v.bit_length()
    return v << (24 - b) if b <= 24 else v >> (b - 24)


def _rtl_r(
    acc: int, mult: int, guard_up: int = 0, sticky_lo: int = 0, carry_lost: bool = False
) -> int:
    """r as rtl/qmac_fp32_round.v computes it, from the 48-bit product of the normalized
    mantissas (plain ints): ``guard_up = 1`` reads the guard bit one place higher (from the kept
    bits' LSB), ``sticky_lo = 1`` leaves the bit right below the guard out of the sticky bit."""
    sign = -1 if acc < 0 else 1
    a = abs(acc)
    assert _mantissa(a) << (a.bit_length() - 24) == a if a.bit_length() > 24 else True
    ms = (mult & 0x7F_FFFF) | 0x80_0000
    p = _mantissa(a) * ms
    k = 24 if p >> 47 else 23
    kept = p >> k
    guard = (p >> (k - 1 + guard_up)) & 1
    sticky = p % (1 << (k - 1 - sticky_lo)) != 0
    m = kept + (guard & (sticky | kept & 1))
    m = m % (1 << 24) if carry_lost else m
    # |acc * scale| = p * 2^E exactly; 2^E from the binary32 values (struct).
    scale_e = Fraction(abs(acc)) * _binary32(mult) / p
    v = m * (1 << k) * scale_e
    q, rem = divmod(v, 1)
    r = int(q) + (rem > Fraction(1, 2) or (rem == Fraction(1, 2) and int(q) % 2 == 1))
    return sign * r


def test_tie_neighbour_hand_worked():
    # n = 17, ulp at 17.5 = 2^-19: 17.5 - 2^-19 = 9175039 * 2^-19 = 43 * 213373 * 2^-19; the
    # mantissas 43 * 2^18 and 213373 * 2^6 give 9175039 * 2^24: 48 bits, nothing dropped, kept
    # odd. Exact: 17. Reading the guard from kept[0] rounds up to 17.5, then to even: 18.
    assert 43 * 213373 == 9175039 == 35 * (1 << 18) - 1
    mult = struct.unpack("<I", struct.pack("<f", 213373 * 2.0**-19))[0]
    assert _rtl_r(43, mult) == 17 == int(fp32_requantize(43, mult))
    assert _rtl_r(43, mult, guard_up=1) == 18
    assert _rtl_r(-43, mult) == -17 and _rtl_r(-43, mult, guard_up=1) == -18
    # 47 bits: acc = 1 (mantissa 2^23), scale 1.5 - 2^-23 = (3 * 2^22 - 1) * 2^-23: r = 1, the
    # mutant 2.
    mult = struct.unpack("<I", struct.pack("<f", 1.5 - 2.0**-23))[0]
    assert (1 << 23) * ((mult & 0x7F_FFFF) | 0x80_0000) < 1 << 47
    assert _rtl_r(1, mult) == 1 == int(fp32_requantize(1, mult)) and _rtl_r(1, mult, 1) == 2
    # sticky_high, n = 4 (ulp 2^-21): 4.5 + 3/4 * 2^-21 = (4 * 9437184 + 3) * 2^-23 = 37748739 *
    # 2^-23 = 3 * 12582913 * 2^-23. Mantissas 3 * 2^22 and 12582913: 37748739 * 2^22, 48 bits;
    # dropped (24 bits) 0xC00000: half and the bit below. r = 5; without that bit: tie, 4.
    assert 3 * 12582913 == 37748739 == 4 * 9437184 + 3 and 9437184 == 9 << 20
    assert (3 << 22) * 12582913 == 37748739 << 22 and ((37748739 << 22) & 0xFF_FFFF) == 0xC0_0000
    mult = struct.unpack("<I", struct.pack("<f", 12582913 * 2.0**-23))[0]
    assert _rtl_r(3, mult) == 5 == int(fp32_requantize(3, mult))
    assert _rtl_r(3, mult, sticky_lo=1) == 4
    assert _rtl_r(3, mult, guard_up=1) == 4  # kept even: that guard never rounds up
    # 47 bits: n = 2 (ulp 2^-22), q = 4 * 5 * 2^21 + 3 = 41943043 = 617 * 67979.
    assert 617 * 67979 == 41943043 == 20 * (1 << 21) + 3
    mult = struct.unpack("<I", struct.pack("<f", 67979 * 2.0**-24))[0]
    assert _mantissa(617) * ((mult & 0x7F_FFFF) | 0x80_0000) < 1 << 47
    assert _rtl_r(617, mult) == 3 == int(fp32_requantize(617, mult))
    assert _rtl_r(617, mult, sticky_lo=1) == 2


@pytest.mark.parametrize("kind", FV.ULP_KINDS)
@pytest.mark.parametrize("top", [0, 1])
@pytest.mark.parametrize("n_max,cap", [(127, 2**31 - 1), (127, 5000), (32767, 2**31 - 1)])
def test_tie_neighbour_against_binary32_pyref_and_the_mutants(kind, top, n_max, cap):
    ns = FV.tie_neighbour_ns(kind, top, n_max, cap)
    assert len(ns) >= 16 and len(set(ns)) == len(ns)
    assert max(ns) > n_max // 2 and min(ns) < n_max // 2  # spread over the range
    rng = np.random.default_rng(top + 2 * n_max)
    for i, n in enumerate(ns):
        sign = 1 - 2 * (i % 2)
        acc, mult = FV.tie_neighbour(rng, kind, n, sign, top, cap)
        a = abs(acc)
        assert (acc > 0) == (sign > 0) and a <= cap
        assert a.bit_length() <= 24 or a % (1 << (a.bit_length() - 24)) == 0  # a binary32
        # The exact product, against the target worked out here (ulp from n's bit length).
        ulp = Fraction(1, 1 << (25 - (2 * n + 1).bit_length()))  # spacing at n + 1/2
        half = Fraction(2 * n + 1, 2)
        target = {
            "ulp_below": half - ulp,
            "ulp_above": half + ulp,
            "sticky_high": half + 3 * ulp / 4,
        }[kind]
        exact = acc * _binary32(mult)
        assert exact == sign * target
        assert n % 2 == (kind == "ulp_below")
        # numpy: one binary32 rounding of the exact value (float64 holds it), then rint.
        assert Fraction(float(exact)) == exact
        r = n if kind == "ulp_below" else n + 1
        assert int(np.rint(np.float64(np.float32(float(exact))))) == sign * r
        assert (Fraction(float(np.float32(float(exact)))) == exact) == (kind != "sticky_high")
        # The product's shape, pyref, the RTL's arithmetic and its mutants.
        p = _mantissa(a) * ((mult & 0x7F_FFFF) | 0x80_0000)
        assert p >> 47 == top and p >> 46 >= 1
        assert int(fp32_requantize(acc, mult)) == sign * r == _rtl_r(acc, mult)
        other = sign * (2 * n + 1 - r)
        if kind == "ulp_below":
            assert _rtl_r(acc, mult, guard_up=1) == other
        elif kind == "sticky_high":
            assert _rtl_r(acc, mult, sticky_lo=1) == other


def test_tie_neighbour_ns_none_and_parity():
    # n_max = 1: sticky_high only at n = 0, q = 4 * 2^23 + 3 = 2^25 + 3 = 5 * 6710887 (prime
    # cofactor): the only split of two 24-bit factors has 3 + 23 = 26 bits = bitlen(q), so the
    # product has 48 bits, never 47.
    assert 5 * 6710887 == (1 << 25) + 3
    assert [d for d in range(3, 5794, 2) if ((1 << 25) + 3) % d == 0] == [5]
    assert FV.tie_neighbour_ns("sticky_high", 0, 1, 2**31 - 1) == ()
    assert FV.tie_neighbour_ns("sticky_high", 1, 1, 2**31 - 1) == (0,)
    assert FV.tie_neighbour_ns("sticky_high", 1, 1, 4) == ()  # 5 > cap
    rng = np.random.default_rng(0)
    assert FV.tie_neighbour(rng, "ulp_below", 4, 1, 0, 2**31 - 1) is None  # n even
    assert FV.tie_neighbour(rng, "ulp_above", 3, 1, 0, 2**31 - 1) is None  # n odd
    assert set(FV.tie_neighbour_ns("ulp_below", 1, 127, 2**31 - 1)) <= set(range(1, 128, 2))


def test_product_carry_hand_worked():
    # acc = 25 (mantissa 25 * 2^19), mantissa 10737418: product 0x7FFF_FFC0_0000 + ..., in
    # [2^47 - 2^22, 2^47): 47 bits, kept 2^24 - 1, guard set: rounds to 2^47. Scale
    # 10737418 * 2^-25: |acc * scale| = P * 2^-44 just below 8, r = 8; a lost carry gives 0.
    p = (25 << 19) * 10737418
    assert p == 140737485209600 and (1 << 47) - (1 << 22) <= p < 1 << 47
    assert p >> 23 == (1 << 24) - 1 and (p >> 22) & 1
    mult = struct.unpack("<I", struct.pack("<f", 10737418 * 2.0**-25))[0]
    assert _rtl_r(25, mult) == 8 == int(fp32_requantize(25, mult))
    assert _rtl_r(-25, mult, carry_lost=True) == 0 and _rtl_r(-25, mult) == -8
    assert (25, 10737418) in FV.product_carry_pairs(2**31 - 1)


@pytest.mark.parametrize("cap", [100, 5000, 2**31 - 1])
def test_product_carry_against_binary32_pyref_and_the_lost_carry(cap):
    pairs = FV.product_carry_pairs(cap)
    assert len(pairs) >= 12
    for a, s in pairs:
        ma = a << (24 - a.bit_length())
        assert a % 2 == 1 and a <= cap and (1 << 47) - (1 << 22) <= ma * s < 1 << 47
    rng = np.random.default_rng(cap % 1000)
    for i in range(40):
        sign, p = 1 - 2 * (i % 2), i % 8
        acc, mult = FV.product_carry(rng, p, sign, cap)
        a = abs(acc)
        assert (acc > 0) == (sign > 0) and a <= cap
        assert a.bit_length() <= 24 or a % (1 << (a.bit_length() - 24)) == 0  # a binary32
        exact = acc * _binary32(mult)
        assert 2**p - Fraction(2**p, 1 << 25) <= abs(exact) < 2**p  # within half an ulp
        fl = np.float32(float(exact))
        assert fl == sign * 2.0**p and int(np.rint(np.float64(fl))) == sign * 2**p
        assert int(fp32_requantize(acc, mult)) == sign * 2**p == _rtl_r(acc, mult)
        assert _rtl_r(acc, mult, carry_lost=True) == 0


def test_product_carry_needs_a_large_enough_accumulator():
    # No odd a <= 17 has a multiple of its mantissa in [2^47 - 2^22, 2^47) (brute force over
    # the two candidates around the interval's bottom).
    lo = (1 << 47) - (1 << 22)
    for a in range(3, 18, 2):
        ma = a << (24 - a.bit_length())
        assert not any(lo <= ma * s < 1 << 47 for s in range(lo // ma - 1, lo // ma + 3))
    assert FV.product_carry_pairs(17) == ()
    assert FV.product_carry(np.random.default_rng(0), 0, 1, 17) is None


def test_stored_product_sticky_table_is_the_search():
    from tb.shared.fp32_values import PRODUCT_STICKY_TABLES, search_product_sticky_table

    for n_max, rows in PRODUCT_STICKY_TABLES.items():
        assert search_product_sticky_table(n_max).tolist() == [list(r) for r in rows]
