"""The fp32 rounding mode (ONNX Runtime / XNNPACK binary32 requantization) in pyref, against
hand-worked values, numpy's binary32 arithmetic and exact fractions with an explicit rounding to
binary32 (tests/spec_reference.py); the double-rounding cases of the issue; bad input; the
vector file. The engines themselves are in test_fp32_engines.py."""

from __future__ import annotations

import struct
from fractions import Fraction

import numpy as np
import pytest
import spec_reference as ref

from pyref.checks import ValueRangeError
from pyref.config import named_config
from pyref.fp32_math import MULT_MAX, MULT_MIN, R_LIMIT, fp32_requantize, scale_to_mult
from pyref.layer import Layer
from pyref.model import compute
from pyref.vectors import load_vectors, save_vectors

FP32 = named_config("fp32")


def bits(value: float) -> int:
    """Bit pattern of ``value`` rounded to binary32 (struct: independent of pyref)."""
    return struct.unpack("<I", struct.pack("<f", value))[0]


def numpy_fp32(acc, mult) -> np.ndarray:
    """What MLAS / XNNPACK compute, in numpy binary32: rint(float(acc) * scale), +-2^31 past it."""
    scale = np.asarray(mult, dtype=np.int64).astype(np.uint32).view(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        f = np.rint(np.asarray(acc).astype(np.float32) * scale)
    f = np.where(np.abs(f) >= 2.0**31, np.sign(f) * 2.0**31, f)
    return f.astype(np.int64)


# (acc, scale, r) worked by hand.
HAND = [
    (3, 0.5, 2),  # 1.5 -> 2 (even)
    (5, 0.5, 2),  # 2.5 -> 2 (even)
    (-5, 0.5, -2),  # -2.5 -> -2
    (7, 0.5, 4),  # 3.5 -> 4
    (-7, 0.5, -4),
    (1, 0.25, 0),  # 0.25
    (6, 0.25, 2),  # 1.5 -> 2
    (0, 1e30, 0),
    (100, 0.3, 30),  # fl32(0.3) = 0.300000011920928955078125: 30.0000011920...
    ((1 << 24) + 1, 1.0, 1 << 24),  # acc tie: 16777217 -> 16777216 (even mantissa)
    ((1 << 24) + 3, 1.0, (1 << 24) + 4),  # 16777219 -> 16777220
    (-(1 << 31), 2.0**-24, -128),  # -2^31 is a binary32: -2^31 * 2^-24
    ((1 << 31) - 1, 2.0**-24, 128),  # 2^31 - 1 rounds to 2^31 first
    # Double rounding: 2^24 + 1 becomes 2^24 (tie to even), times 5 * 2^-25 is exactly 2.5,
    # which ties to 2; the exact product 2.5000001490116... rounds to 3.
    ((1 << 24) + 1, 5 * 2.0**-25, 2),
    (1, 2.0**127, R_LIMIT),  # 2^127: saturated
    (-3, 3e38, -R_LIMIT),  # the product overflows binary32 to -inf
    (1 << 20, 2.0**-126, 0),  # far below one half
]


@pytest.mark.parametrize("acc, scale, r", HAND)
def test_hand_worked_values(acc, scale, r):
    assert int(fp32_requantize(acc, bits(scale))) == r
    want = ref.fp32_requant(acc, bits(scale))  # exact (or infinite) value
    assert want == r or (abs(want) >= R_LIMIT and abs(r) == R_LIMIT and (want > 0) == (r > 0))


def test_double_rounding_cases_of_the_issue():
    """acc * scale = n + 1/2 - d with n odd and 0 < d <= 2^-18, where fl32 rounds the product
    up to n + 1/2: the engines' arithmetic gives n + 1, exact rounding n."""
    rng = np.random.default_rng(12)
    found = 0
    for _ in range(4000):
        n = 2 * int(rng.integers(0, 64)) + 1
        acc = int(rng.integers(1 << 16, 1 << 24))
        mult = bits(float(Fraction(2 * n + 1, 2) / acc))
        for m in (mult - 1, mult):
            exact = acc * ref.binary32_value(m)
            d = Fraction(2 * n + 1, 2) - exact
            if not 0 < d <= Fraction(1, 1 << 18):
                continue
            if ref.fl32(exact) != Fraction(2 * n + 1, 2):
                continue  # d too large for this n's binary32 spacing
            found += 1
            assert round(exact) == n  # exact rounding
            assert int(fp32_requantize(acc, m)) == n + 1  # pyref
            assert int(fp32_requantize(-acc, m)) == -(n + 1)
            assert int(numpy_fp32(acc, m)) == n + 1  # numpy binary32
    assert found >= 200


def _random_operands(rng, size):
    acc = rng.integers(-(1 << 31), 1 << 31, size)
    acc[: size // 4] = rng.integers(-1000, 1001, size // 4)  # small accumulators
    acc[size // 4 : size // 2] = rng.integers(-(1 << 25), 1 << 25, size // 4)
    exp = rng.integers(1, 255, size)  # every normal exponent
    exp[::2] = rng.integers(100, 135, size // 2 + size % 2)  # scales near 1
    mult = (exp << 23) | rng.integers(0, 1 << 23, size)
    return acc, mult


def test_matches_numpy_binary32():
    acc, mult = _random_operands(np.random.default_rng(1), 1_000_000)
    got = fp32_requantize(acc, mult)
    want = numpy_fp32(acc, mult)
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, (acc[bad[:3]], mult[bad[:3]], got[bad[:3]], want[bad[:3]])


def test_matches_exact_fractions():
    acc, mult = _random_operands(np.random.default_rng(2), 3000)
    got = fp32_requantize(acc, mult).tolist()
    for a, m, r in zip(acc.tolist(), mult.tolist(), got):
        want = ref.fp32_requant(a, m)
        if isinstance(want, float):  # an infinite product
            assert r == (R_LIMIT if want > 0 else -R_LIMIT), (a, hex(m))
        else:
            assert r == max(-R_LIMIT, min(R_LIMIT, want)), (a, hex(m))


def test_ties_at_every_step_match_fractions():
    """Directed: accumulators on binary32 ties, products on ties, results on half-integers."""
    cases = []
    for j in range(0, 7):
        for base in ((1 << 24) + 1, (1 << 24) + 3, (1 << 25) - 1, (1 << 25) - 3):
            for n in (4, 5, 100, 101):
                for num in (2 * n + 1, 2 * n - 1):
                    cases.append((base << j, (num << 10) | 1, -(25 + j + 10)))
    for t in range(1, 20):
        for a in (1, 3, 5, 7, 255, 257):
            cases.append((a << (t - 1), 1, -t))
    for acc, m, e in cases:
        scale_bits = bits(float(Fraction(m) * Fraction(2) ** e))
        for sign in (1, -1):
            r = int(fp32_requantize(sign * acc, scale_bits))
            assert r == ref.fp32_requant(sign * acc, scale_bits), (sign * acc, hex(scale_bits))
            assert r == int(numpy_fp32(sign * acc, scale_bits))


def test_layer_per_channel_against_the_reference_layer():
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 128, (5, 37))
    w = rng.integers(-128, 128, (6, 37))
    bias = rng.integers(-(1 << 20), 1 << 20, 6)
    mult = [bits(s) for s in (1e-3, 2e-4, 0.01, 3.3e-3, 7.7e-5, 1.0)]
    res = compute(FP32, x, w, bias=bias, mult=mult, shift=0, out_zp=-7)
    y, sat, _, _ = ref.layer(
        FP32, x.tolist(), w.tolist(), bias.tolist(), mult, [0] * 6, [-7] * 6, [-128] * 6, [127] * 6
    )
    assert res.y.tolist() == y and res.saturated.tolist() == sat
    assert 0 < res.n_saturated < res.y.size


BAD = [
    (dict(mult=[0, bits(0.5)]), ["mult[0]", "0", "8388608 .. 2139095039", "binary32"]),
    (dict(mult=[bits(0.5), bits(-0.5)]), ["mult[1]", str(bits(-0.5)), "positive normal"]),
    (dict(mult=[1, bits(0.5)]), ["mult[0]", "= 1 ", "positive normal"]),  # subnormal
    (dict(mult=[bits(0.5), 0x7F800000]), ["mult[1]", str(0x7F800000)]),  # +inf
    (dict(mult=[0x7FC00000, bits(0.5)]), ["mult[0]", str(0x7FC00000)]),  # NaN
    (dict(mult=[bits(0.5)] * 2, shift=[0, 1]), ["shift[1]", "1", "0 .. 0", "unused"]),
]


@pytest.mark.parametrize("changes, words", BAD, ids=[w[0] for _, w in BAD])
def test_bad_mult_and_shift_are_refused(changes, words):
    ops = dict(x=[[1, 2]], w=[[1, 1], [2, 2]], bias=[0, 0], shift=[0, 0], **{})
    ops.update(changes)
    with pytest.raises(ValueRangeError) as exc:
        Layer.build(FP32, **ops)
    for word in words:
        assert word in str(exc.value), (word, str(exc.value))


def test_scale_to_mult():
    assert scale_to_mult([1.0, 0.5, 2.0**-126]).tolist() == [0x3F800000, 0x3F000000, MULT_MIN]
    assert int(scale_to_mult(3.4028234663852886e38)) == MULT_MAX
    assert int(scale_to_mult(0.1)) == bits(0.1) == 0x3DCCCCCD  # rounded to binary32
    for bad in (0.0, -1.0, 1e-40, float("inf"), float("nan")):
        with pytest.raises(ValueRangeError, match="positive normal"):
            scale_to_mult([1.0, bad])


def test_vector_file_round_trip(tmp_path):
    rng = np.random.default_rng(4)
    layer = Layer.build(
        FP32,
        rng.integers(-128, 128, (3, 9)),
        rng.integers(-128, 128, (4, 9)),
        bias=rng.integers(-5000, 5000, 4),
        mult=[bits(s) for s in (0.01, 0.02, 0.004, 0.5)],
    )
    path = save_vectors(tmp_path / "fp32.npz", FP32, layer, compute_expected=True)
    cfg, back, y = load_vectors(path)
    assert cfg == FP32 and cfg.rounding == "fp32"
    assert back.mult.tolist() == layer.mult.tolist()
    want, _, _, _ = ref.layer(
        FP32,
        layer.x.tolist(),
        layer.w.tolist(),
        layer.bias.tolist(),
        layer.mult.tolist(),
        [0] * 4,
        [0] * 4,
        [-128] * 4,
        [127] * 4,
    )
    assert y.tolist() == want
