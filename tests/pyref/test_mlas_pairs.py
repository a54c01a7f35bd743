"""pyref.mlas_pairs: ONNX Runtime's uint8 x int8 kernels without VNNI (product pairs added in
int16 with saturation), checked against hand-worked values and a plain Python loop."""

from __future__ import annotations

import numpy as np
import pytest

from pyref import named_config
from pyref.layer import Layer
from pyref.mlas_pairs import nhwc_patch_order, pair_clip_offset, run_layer_pairs16
from pyref.model import run_layer


def test_four_lanes_of_255_times_127_give_65534():
    # exact 4 * 255 * 127 = 129 540; each pair 64 770 clips to 32 767: 2 * 32 767 = 65 534
    off = pair_clip_offset([[255, 255, 255, 255]], [[127, 127, 127, 127]])
    assert off.tolist() == [[65534 - 129540]]


def test_negative_pairs_clip_at_minus_32768():
    # 255 * -128 * 2 = -65 280 -> -32 768: the kernel's sum is 32 512 higher
    assert pair_clip_offset([[255, 255]], [[-128, -128]]).tolist() == [[32512]]


def test_an_odd_last_position_is_alone():
    # pair (0, 1) clips to 32 767, position 2 adds 32 385 exactly: 65 152 instead of 97 155
    assert pair_clip_offset([[255, 255, 255]], [[127, 127, 127]]).tolist() == [[65152 - 97155]]


def test_pairs_that_fit_int16_are_exact():
    # 255 * 64 * 2 = 32 640 <= 32 767
    assert pair_clip_offset([[255, 255]], [[64, 64]]).tolist() == [[0]]
    # 255 * (65 + 64) = 32 895: one past, clipped to 32 767
    assert pair_clip_offset([[255, 255]], [[65, 64]]).tolist() == [[32767 - 32895]]


def test_nhwc_patch_order_hand_worked():
    # NCHW index c*2 + w of a (2 channels, 1 x 2) patch; MLAS reads (w0 c0, w0 c1, w1 c0, w1 c1)
    assert nhwc_patch_order(2, 1, 2).tolist() == [0, 2, 1, 3]
    assert nhwc_patch_order(1, 3, 3).tolist() == list(range(9))
    assert nhwc_patch_order(3, 1, 1).tolist() == [0, 1, 2]


def test_the_order_decides_which_products_pair():
    a, w = [[255, 0, 255, 0]], [[127, 127, 127, 127]]
    assert pair_clip_offset(a, w).tolist() == [[0]]  # pairs (0, 1), (2, 3): no clip
    order = nhwc_patch_order(2, 1, 2)  # pairs (0, 2), (1, 3)
    assert pair_clip_offset(a, w, order).tolist() == [[32767 - 64770]]


def _loop_offset(a, w, order):
    """The same quantity one output at a time, on Python integers."""
    out = []
    for row in a:
        out.append([])
        for wr in w:
            p = [int(row[i]) * int(wr[i]) for i in order]
            if len(p) % 2:
                p.append(0)
            out[-1].append(
                sum(
                    max(-32768, min(32767, p[j] + p[j + 1])) - (p[j] + p[j + 1])
                    for j in range(0, len(p), 2)
                )
            )
    return out


@pytest.mark.parametrize("cin, kh, kw", [(3, 3, 3), (1, 3, 3), (5, 2, 1), (4, 1, 1)])
def test_random_operands_against_a_python_loop(cin, kh, kw):
    rng = np.random.default_rng(cin * 100 + kh)
    k = cin * kh * kw
    a = rng.integers(0, 256, (7, k))
    a[:, rng.random(k) < 0.5] = 255
    w = rng.integers(-128, 128, (5, k))
    w[rng.random((5, k)) < 0.3] = 127
    order = nhwc_patch_order(cin, kh, kw)
    got = pair_clip_offset(a, w, order)
    assert got.tolist() == _loop_offset(a, w, order)
    assert np.count_nonzero(got) > 0  # the operands do clip


def test_layer_emulation_adds_the_offset_before_requantizing():
    config = named_config("fp32").replace(in_signed=False, out_bits=9)
    x = np.array([[255, 255, 255, 255], [10, 20, 30, 40]])
    w = np.array([[127, 127, 127, 127]])
    one = np.array([np.float32(1.0).view(np.uint32)])  # scale 1.0: r = acc exactly
    layer = Layer.build(config, x, w, np.array([-129500]), one, 0, 0, -256, 255)
    exact = run_layer(layer, config)
    emulated = run_layer_pairs16(layer, config)
    assert exact.acc.tolist() == [[129540 - 129500], [100 * 127 - 129500]]
    assert exact.y.tolist() == [[40], [-256]]
    assert emulated.acc.tolist() == [[65534 - 129500], [100 * 127 - 129500]]
    assert emulated.y.tolist() == [[-256], [-256]]


def test_codes_outside_0_255_are_refused_with_the_index():
    with pytest.raises(ValueError, match=r"a\[0, 1\] = -1 is out of range"):
        pair_clip_offset([[0, -1]], [[1, 1]])
    with pytest.raises(ValueError, match="must share K"):
        pair_clip_offset([[0, 1]], [[1, 1, 1]])
