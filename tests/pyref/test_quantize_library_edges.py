"""The framework quantizers at their edges, against values the real libraries produced.

Every expected value below was printed by the library itself, in a scratch venv outside the
repo (the tests do not need the libraries):

- Brevitas 0.13.4 on torch 2.15.0 (CPU): ``QuantLinear(weight_quant=Int8WeightPerTensorFixedPoint
  | Int8WeightPerChannelFixedPoint, weight_bit_width=b)``, weights copied in, then
  ``quant_weight().int()`` and ``quant_weight().scale``.
- QKeras 0.9.0 (PyPI) on tensorflow-cpu 2.15.1: ``q = quantized_bits(...); q(tf.constant(x))``
  and ``q.scale``, printed with ``float.hex``.
"""

from __future__ import annotations

import numpy as np
import pytest

from pyref.quantize.brevitas import brevitas_fixed_point_weight
from pyref.quantize.qkeras import qkeras_quantized_bits

# ---------------------------------------------------------------- Brevitas scaling_min_val

# (C=4, K=3): an all-zero channel, a channel with 0 < max|w| < 1e-10, an ordinary one, and one
# at max|w| = 1e-10 (float32 rounds 1e-10 up, so the clamp leaves it alone).
BREVITAS_W = [[0.0, 0.0, 0.0], [3e-12, -1e-12, 7e-13], [0.75, -0.3, 0.01], [1e-10, 5e-11, -2e-11]]

# bits -> (int weights, log2 of the per-channel scales) from Int8WeightPerChannelFixedPoint
BREVITAS_PER_CHANNEL = {
    8: ([[0, 0, 0], [3, -1, 1], [96, -38, 1], [110, 55, -22]], [-40, -40, -7, -40]),
    4: ([[0, 0, 0], [0, 0, 0], [6, -2, 0], [7, 3, -1]], [-36, -36, -3, -36]),
}


@pytest.mark.parametrize("bits", sorted(BREVITAS_PER_CHANNEL))
def test_brevitas_per_channel_min_scale_matches_brevitas(bits):
    ints, log2_scale = BREVITAS_PER_CHANNEL[bits]
    r = brevitas_fixed_point_weight(BREVITAS_W, bits, axis=0)
    assert r.q.tolist() == ints
    assert r.scale.tolist() == [2.0**e for e in log2_scale]


@pytest.mark.parametrize(
    "w, ints",
    [
        (np.zeros((2, 3)), [[0, 0, 0], [0, 0, 0]]),
        ([[1e-12, -3e-12, 0.0], [2.5e-13, 0.0, 1e-11]], [[1, -3, 0], [0, 0, 11]]),
        ([[9e-11, -5e-11, 1e-11], [0.0, 0.0, 0.0]], [[99, -55, 11], [0, 0, 0]]),
    ],
)
def test_brevitas_per_tensor_min_scale_matches_brevitas(w, ints):
    # Int8WeightPerTensorFixedPoint: threshold max(max|w|, 1e-10) -> 2^ceil(log2) = 2^-33,
    # scale 2^-33 / 2^7 = 2^-40 (9.094947017729282e-13 as Brevitas printed it)
    r = brevitas_fixed_point_weight(w, 8)
    assert r.q.tolist() == ints
    assert float(r.scale) == 2.0**-40 == 9.094947017729282e-13


# ---------------------------------------------------------------- QKeras flush to zero

# (K=3, C=4) kernel: an ordinary channel, a channel of tiny normals/subnormals whose
# 2 * max / levels is subnormal, a channel of subnormals only, a zero channel.
QKERAS_X = np.array(
    [[0.5, 1e-38, 1e-40, 0.0], [-0.25, -3e-39, -2e-41, 0.0], [0.1, 1.2e-38, 0.0, 0.0]],
    dtype=np.float32,
)

_h = float.fromhex
# (bits, integer, alpha) -> (column 0 of the output, per-channel QKeras scale); columns 1..3 of
# the output are 0 in every case.
QKERAS_FTZ = {
    (8, 0, "auto"): (
        [_h("0x1p-1"), -_h("0x1.020408p-2"), _h("0x1.93264cp-4")],
        [_h("0x1.020408p-1"), 0.0, 0.0, 0.0],
    ),
    (4, 2, "auto"): (
        [_h("0x1p-1"), -_h("0x1.b6db7p-3"), _h("0x1.24924ap-4")],
        [_h("0x1.24924ap-3"), 0.0, 0.0, 0.0],
    ),
    (8, 0, "auto_po2"): (
        [_h("0x1.fcp-2"), -_h("0x1p-2"), _h("0x1.ap-4")],
        [_h("0x1p-1"), 2.0**-16, 2.0**-16, 2.0**-16],
    ),
}


@pytest.mark.parametrize("bits, integer, alpha", sorted(QKERAS_FTZ))
def test_qkeras_subnormal_scale_flushes_to_zero_like_tensorflow(bits, integer, alpha):
    col0, scale = QKERAS_FTZ[(bits, integer, alpha)]
    r = qkeras_quantized_bits(QKERAS_X, bits=bits, integer=integer, alpha=alpha)
    assert r.xq[:, 0].tolist() == col0
    assert r.xq[:, 1:].tolist() == [[0.0] * 3] * 3
    assert r.scale.ravel().tolist() == scale
    # still xq == scale * m_i * z / m, with step 0 on the flushed channels
    np.testing.assert_array_equal(
        r.xq,
        r.scale.astype(np.float32) * (np.float32(r.m_i) * r.z.astype(np.float32) / np.float32(r.m)),
    )


def test_qkeras_flushed_channel_keeps_tensorflows_internal_z():
    # The ops of quantized_bits run in TensorFlow 2.15.1 (scale = max|x| * 2 / 254 is 0 after
    # flushing; v = floor(|x| / 0 + 0.5); z = sign(x) * where(v < 127, v, 127)) give column 1
    # z = [0, 0, 127]: 1e-38 and -3e-39 are subnormal (read as 0), 1.2e-38 is normal.
    r = qkeras_quantized_bits(QKERAS_X, bits=8, alpha="auto")
    assert r.z.tolist() == [[127, 0, 0, 0], [-64, 0, 0, 0], [25, 127, 0, 0]]


def test_qkeras_returns_x_itself_where_the_quantization_error_is_subnormal():
    # QKeras returns x + stop_gradient(-x + xq). For channel 0 (|x| ~ 1e-36) every -x + xq is
    # subnormal, TensorFlow flushes it, and the output is x, not the grid value (z = 127, 31, -49
    # times the step); channel 1 is ordinary. Output of QKeras 0.9.0 / tensorflow-cpu 2.15.1:
    x = np.array([[2.5e-36, 1.0], [6.0497857e-37, 0.3], [-9.629249e-37, -0.55]], dtype=np.float32)
    r = qkeras_quantized_bits(x, bits=8, alpha="auto")
    assert (
        r.xq[:, 0].tolist()
        == x[:, 0].tolist()
        == [_h("0x1.a95a5cp-119"), _h("0x1.9bba22p-121"), -_h("0x1.47aa96p-120")]
    )
    assert r.xq[:, 1].tolist() == [1.0, _h("0x1.3264cap-2"), -_h("0x1.1a3468p-1")]
    assert r.z.tolist() == [[127, 127], [31, 38], [-49, -70]]
    assert r.scale.ravel().tolist() == [2.519685127100702e-36, 1.0078740119934082]


# ---------------------------------------------------------------- QKeras auto_po2 versions


def _non_converging():
    # 5^j copies of 2^-j, j = 0..6, bits = 2: the least-squares scale halves at every one of the
    # five iterations (1, 1/2, ..., 1/32), so the last z was quantized with the previous scale.
    return np.concatenate([np.full(5**j, 2.0**-j) for j in range(7)]).astype(np.float32)[:, None]


def _output_per_level(r, x):
    return [np.unique(r.xq[x[:, 0] == np.float32(2.0**-j)]).tolist() for j in range(7)]


def test_qkeras_090_keeps_z_of_the_last_iteration():
    x = _non_converging()
    r = qkeras_quantized_bits(x, bits=2, alpha="auto_po2", qkeras_version="0.9.0")
    # QKeras 0.9.0: q.scale = [[0.0625]]; output 0.03125 for 2^0 .. 2^-5 and 0 for 2^-6
    assert r.scale.tolist() == [[0.0625]]
    assert _output_per_level(r, x) == [[0.03125]] * 6 + [[0.0]]


def test_qkeras_master_quantizes_again_with_the_last_scale():
    # master ends with v = floor(|x| / scale + 0.5) at the final scale 0.0625 / 2: 2^-6 becomes
    # floor(0.5 + 0.5) = 1, output 0.03125 (0.9.0 gives 0 there); the scale is the same.
    x = _non_converging()
    r = qkeras_quantized_bits(x, bits=2, alpha="auto_po2")
    assert r.scale.tolist() == [[0.0625]]
    assert _output_per_level(r, x) == [[0.03125]] * 7


def test_qkeras_version_is_checked():
    with pytest.raises(ValueError, match="qkeras_version = '0.8' must be one of"):
        qkeras_quantized_bits([1.0, 2.0], alpha="auto_po2", qkeras_version="0.8")
