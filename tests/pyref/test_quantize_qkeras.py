"""QKeras quantized_bits: integers z and scale, by hand and against a loop re-derivation."""

import math

import numpy as np
import pytest

from pyref.quantize.qkeras import qkeras_quantized_bits
from pyref.quantize.symmetric import requant_shift

# ----- by hand ----------------------------------------------------------------------------------


def test_auto_per_output_channel_by_hand():
    # Dense kernel (K=3, C=2); 4 bits: levels = 14, scale = 2 max|x| / 14 per column.
    x = np.array([[0.5, -1.0], [0.25, 0.3], [-0.75, 0.1]])
    r = qkeras_quantized_bits(x, bits=4, alpha="auto")
    # column 0: scale 1.5/14; x/scale = 4.67, 2.33, -7 -> 5, 2, -7
    # column 1: scale 2/14;   x/scale = -7, 2.1, 0.7  -> -7, 2, 1
    assert r.z.tolist() == [[5, -7], [2, 2], [-7, 1]]
    # QKeras' scale is the internal scale times m = 2^(4-1)
    assert r.scale.shape == (1, 2)
    assert r.scale.ravel().tolist() == pytest.approx([1.5 / 14 * 8, 2 / 14 * 8], rel=1e-6)
    assert r.channel_step().tolist() == pytest.approx([1.5 / 14, 2 / 14], rel=1e-6)
    np.testing.assert_allclose(r.xq, r.z * r.channel_step(), rtol=1e-6)


def test_auto_rounds_half_away_from_zero():
    # 3 bits: levels = 6, max 3 -> scale 1; x = +-0.5, +-1.5 are exact ties
    x = np.array([[3.0], [0.5], [-0.5], [1.5], [-1.5], [2.5]])
    r = qkeras_quantized_bits(x, bits=3, alpha="auto")
    assert r.z.ravel().tolist() == [3, 1, -1, 2, -2, 3]


def test_auto_po2_refinement_changes_the_scale():
    # 3 bits (levels/2 = 3), one channel: x = [1.098, 0.25 x 10]
    # initial: 1.098 / 3 = 0.366 -> log2 -1.45 -> round -> 2^-1 = 0.5
    # z at 0.5: [floor(2.196 + .5) = 2, floor(0.5 + .5) = 1 x 10]
    # least squares: mean(xz) / mean(zz) = (2.196 + 2.5) / (4 + 10) = 0.3354 -> 2^-2
    # z at 0.25: [4 -> clipped to 3, 1 x 10]; LS = (3.294 + 2.5) / 19 = 0.305 -> 2^-2 (stable)
    x = np.array([1.098] + [0.25] * 10).reshape(11, 1)
    r = qkeras_quantized_bits(x, bits=3, alpha="auto_po2")
    assert r.z.ravel().tolist() == [3] + [1] * 10
    assert r.channel_step().tolist() == 0.25
    assert r.scale.ravel().tolist() == [1.0]  # 0.25 * m, m = 2^(3-1)
    assert r.frac_bits().tolist() == 2


def test_rank1_auto_po2_scales_each_element():
    # QKeras: a rank-1 tensor gets one initial scale, but the least-squares step does not
    # reduce, so each element ends with its own power of two.
    x = np.array([1.098, 0.25])
    r = qkeras_quantized_bits(x, bits=3, alpha="auto_po2")
    # initial 0.5 for both; z = [2, 1]; LS per element: 0.549 -> 0.5, 0.25 -> 0.25
    assert r.channel_step().tolist() == [0.5, 0.25]
    assert r.z.tolist() == [2, 1]
    r = qkeras_quantized_bits(x, bits=3, alpha="auto")
    assert r.channel_step().shape == ()  # one scale: 1.098 / 3


def test_alpha_none_fixed_point_by_hand():
    # quantized_bits(4, 1): m = 2^3, m_i = 2; z = round(x * 8 / 2) in [-8, 7]; step = 1/4
    x = np.array([0.3, -0.375, 0.125, 5.0, -5.0, 0.625])
    r = qkeras_quantized_bits(x, bits=4, integer=1)
    # x * 4 = 1.2, -1.5, 0.5, 20, -20, 2.5 -> ties to even: 1, -2, 0, 7, -8, 2
    assert r.z.tolist() == [1, -2, 0, 7, -8, 2]
    assert float(r.channel_step()) == 0.25
    assert r.frac_bits().tolist() == 2
    assert r.xq.tolist() == [0.25, -0.5, 0.0, 1.75, -2.0, 0.5]
    # symmetric=1: the lower bound becomes -7; keep_negative=False: 0 .. m-1 with m = 2^4
    assert qkeras_quantized_bits(x, 4, 1, symmetric=1).z.tolist() == [1, -2, 0, 7, -7, 2]
    r = qkeras_quantized_bits(x, 4, 1, keep_negative=False)
    assert r.z.tolist() == [2, 0, 1, 15, 0, 5]  # x * 16 / 2 = 2.4, ..., 1.0, 40, 5.0
    assert float(r.channel_step()) == 0.125


def test_alpha_number_scales_the_output_only():
    x = np.array([0.3, -0.375])
    r = qkeras_quantized_bits(x, bits=4, integer=1, alpha=0.5)
    assert r.z.tolist() == [1, -2]  # as for alpha=None
    assert r.xq.tolist() == [0.125, -0.25]  # 0.5 * z / 4


def test_integer_bits_with_auto():
    # integer = 2: x' = x / 4, then as usual; xq = scale * m_i * z / m
    x = np.array([[2.0], [-1.0], [0.5]])
    r = qkeras_quantized_bits(x, bits=8, integer=2, alpha="auto")
    # x' = 0.5, -0.25, 0.125; scale = 2 * 0.5 / 254; z = 127, -63.5 -> -64, 31.75 -> 32
    assert r.z.ravel().tolist() == [127, -64, 32]
    assert float(r.channel_step()) == pytest.approx(4 * 1.0 / 254, rel=1e-6)


def test_zero_channel():
    x = np.array([[0.0, 1.0], [0.0, -0.5]])
    r = qkeras_quantized_bits(x, bits=4, alpha="auto")
    assert r.z[:, 0].tolist() == [0, 0]
    assert r.xq[:, 0].tolist() == [0.0, 0.0]


def test_errors():
    with pytest.raises(ValueError, match="bits = 1 must be an integer >= 2"):
        qkeras_quantized_bits([1.0], bits=1)
    with pytest.raises(ValueError, match="alpha = 'po2'"):
        qkeras_quantized_bits([1.0], alpha="po2")
    with pytest.raises(ValueError, match="only apply to alpha='auto_po2'"):
        qkeras_quantized_bits([1.0], alpha="auto", min_po2_exponent=-3)
    with pytest.raises(ValueError, match="x must be finite"):
        qkeras_quantized_bits([np.inf])


# ----- against a loop re-derivation -------------------------------------------------------------


def reference_auto(x, bits, integer, po2):
    """quantized_bits(alpha='auto'/'auto_po2') for a 2-D channels-last x, one column at a time,
    written from the QKeras source in plain Python floats."""
    k, c = x.shape
    levels = (2 ** (bits - 1) - 1) * 2
    m = 2.0 ** (bits - 1)
    m_i = 2.0**integer
    z_all = np.zeros((k, c), dtype=np.int64)
    scales = []
    for j in range(c):
        col = [float(v) / m_i for v in x[:, j]]

        def quant(scale):
            out = []
            for v in col:
                q = math.floor(abs(v) / scale + 0.5)
                q = q if q < levels / 2 else levels // 2
                out.append(int(math.copysign(q, v)) if v != 0 else 0)
            return out

        scale = max(abs(v) for v in col) * 2 / levels
        if po2:
            scale = 2.0 ** round(math.log(scale + 1e-7) / math.log(2.0))
            for _ in range(5):
                z = quant(scale)
                qx = sum(v * q for v, q in zip(col, z)) / k
                qq = sum(q * q for q in z) / k
                scale = 2.0 ** round(math.log(qx / (qq + 1e-7) + 1e-7) / math.log(2.0))
        z_all[:, j] = quant(scale)
        scales.append(scale * m)
    return z_all, np.array(scales)


@pytest.mark.parametrize(
    "bits,integer,alpha",
    [(8, 0, "auto"), (8, 0, "auto_po2"), (4, 0, "auto_po2"), (6, 1, "auto"), (5, 2, "auto_po2")],
)
def test_matches_loop_rederivation(bits, integer, alpha):
    rng = np.random.default_rng(bits * 10 + integer)
    x = (rng.standard_normal((48, 6)) * rng.uniform(0.05, 3.0, 6)).astype(np.float32)
    r = qkeras_quantized_bits(x, bits=bits, integer=integer, alpha=alpha)
    z, scale = reference_auto(x, bits, integer, alpha == "auto_po2")
    assert r.z.tolist() == z.tolist()
    np.testing.assert_allclose(r.scale.ravel(), scale, rtol=1e-6)
    # the quantizer output is scale * m_i * z / m (the relation the QKeras issue derives)
    np.testing.assert_array_equal(
        r.xq,
        (r.scale.astype(np.float32) * (np.float32(r.m_i) * z / np.float32(r.m))).astype(np.float32),
    )
    assert np.all(np.abs(z) <= 2 ** (bits - 1) - 1)


def test_auto_po2_gives_datapath_shifts():
    # An auto_po2 Dense kernel (K, C) becomes w = z.T with per-channel fractional bits; with
    # 8-bit inputs at 2^-7 and outputs at 2^-4 the shift per channel is f_in + f_w - f_out.
    rng = np.random.default_rng(1)
    kernel = rng.standard_normal((16, 3)) * np.array([0.1, 1.0, 4.0])
    r = qkeras_quantized_bits(kernel, bits=8, alpha="auto_po2")
    f_w = r.frac_bits()
    shifts = requant_shift(2.0**-7, r.channel_step(), 2.0**-4)
    assert shifts.tolist() == (7 + f_w - 4).tolist()
    assert r.z.T.shape == (3, 16)


def test_auto_po2_exponent_clip_by_hand():
    # 8 bits, x = [1, 0.5]: initial 2/254 -> 2^-7; the least-squares scale stays near 2^-7 but
    # max_po2_exponent = -8 clips it to 2^-8, where both values saturate at 127.
    x = np.array([[1.0], [0.5]])
    r = qkeras_quantized_bits(x, bits=8, alpha="auto_po2", max_po2_exponent=-8)
    assert r.channel_step().tolist() == 2.0**-8
    assert r.z.ravel().tolist() == [127, 127]
    r = qkeras_quantized_bits(x, bits=8, alpha="auto_po2")
    assert r.channel_step().tolist() == 2.0**-7
    assert r.z.ravel().tolist() == [127, 64]  # 1 / 2^-7 = 128 saturates to 127
