"""SPACE_TO_BATCH_ND -> CONV_2D / DEPTHWISE_CONV_2D -> BATCH_TO_SPACE_ND rewritten at import
into one dilated convolution (hil.tflite.dilated): hand-worked values, an independent numpy
formula, TFLite Micro on the dilated CONV_2D and LiteRT on the graph as written, and each
refusal at import."""

from __future__ import annotations

import numpy as np
import pytest

from hil.executor import run_network
from hil.kernels.base import UnsupportedOpError
from hil.oracles.tflm import TflmOracle
from hil.tflite.build import ModelBuilder
from hil.tflite.dilated import find_dilated
from hil.tflite.importer import import_model


def const(b, name, values):
    a = np.asarray(values, dtype=np.int32)
    return b.tensor(name, a.shape, "INT32", data=a)


def pattern_model(
    h=4,
    w=4,
    block=(2, 2),
    pads=((1, 1), (1, 1)),
    crops=((0, 0), (0, 0)),
    k=2,
    block2=None,
    conv_opts=None,
    out_hw=None,
    weights=None,
    zp=0,
):
    """x (1, h, w, 1) -> SPACE_TO_BATCH_ND -> CONV_2D k x k (1 -> 1 channel, bias 0,
    multiplier 1) -> BATCH_TO_SPACE_ND; scales 1 so the output is the integer sum."""
    bh, bw = block
    hp, wp = (h + sum(pads[0])) // bh, (w + sum(pads[1])) // bw
    oh, ow = hp - k + 1, wp - k + 1
    if out_hw is None:
        out_hw = (oh * bh - sum(crops[0]), ow * bw - sum(crops[1]))
    b = ModelBuilder()
    x = b.tensor("x", (1, h, w, 1), "INT8", scale=1.0, zero_point=zp)
    s = b.tensor("s", (1, hp, wp, 1), "INT8", scale=1.0, zero_point=zp)
    c = b.tensor("c", (1, oh, ow, 1), "INT8", scale=1.0, zero_point=0)
    y = b.tensor("y", (1,) + tuple(out_hw) + (1,), "INT8", scale=1.0, zero_point=0)
    wt = np.ones((1, k, k, 1), np.int8) if weights is None else weights
    wi = b.tensor("w", wt.shape, "INT8", scale=1.0, zero_point=0, data=wt)
    bias = b.tensor("bias", (1,), "INT32", scale=1.0, zero_point=0, data=np.zeros(1, np.int32))
    b.op("SPACE_TO_BATCH_ND", [x, const(b, "block", block), const(b, "pads", pads)], [s])
    opts = {"padding": "VALID", "strideH": 1, "strideW": 1, **(conv_opts or {})}
    b.op("CONV_2D", [s, wi, bias], [c], **opts)
    b.op(
        "BATCH_TO_SPACE_ND",
        [c, const(b, "block2", block2 or block), const(b, "crops", crops)],
        [y],
    )
    return b.build([x], [y])


def dilated_sum(img, k, block, top, left, out_hw):
    """Independent formula: out[y, x] = sum over taps of img[y - top + i*bh, x - left + j*bw],
    zero outside the image."""
    h, w = img.shape
    out = np.zeros(out_hw, np.int64)
    for yy in range(out_hw[0]):
        for xx in range(out_hw[1]):
            for i in range(k):
                for j in range(k):
                    r, c = yy - top + i * block[0], xx - left + j * block[1]
                    if 0 <= r < h and 0 <= c < w:
                        out[yy, xx] += img[r, c]
    return out


def run_one(data, img):
    model = import_model(data)
    x = np.asarray(img, np.int8)[None, None, :, :, None]
    return model, run_network(model, [x]).outputs[0].array.reshape(img.shape[0], -1)


def test_rewrite_by_hand():
    img = np.arange(16).reshape(4, 4)  # x[r, c] = 4r + c
    model, out = run_one(pattern_model(), img)
    assert [s.where for s in model.steps] == ["absorbed", "datapath", "absorbed"]
    g = model.dense_steps[0].dense.conv
    assert (g.dil_h, g.dil_w, g.pad.pad_top, g.pad.pad_left) == (2, 2, 1, 1)
    # out[y, x] reads rows y-1, y+1 and columns x-1, x+1
    assert out[0, 0] == 5  # only (1, 1) is inside
    assert out[1, 1] == 0 + 2 + 8 + 10
    assert out[2, 1] == 4 + 6 + 12 + 14
    assert out[3, 3] == 10
    np.testing.assert_array_equal(out, dilated_sum(img, 2, (2, 2), 1, 1, (4, 4)))


def test_rewrite_with_crops_and_uneven_block():
    # 2x2 taps, dilation (2, 3) on 5x7, SAME: top / left padding 1. H: 5 + pads (2, 1) = 8 =
    # 4 * 2, full (4 - 1) * 2 = 6, crops (1, 0): 5 rows, top padding 2 - 1 = 1. W: 7 + pads
    # (1, 4) = 12 = 4 * 3, full (4 - 1) * 3 = 9, crops (0, 2): 7 columns, left padding 1.
    pads, crops = ((2, 1), (1, 4)), ((1, 0), (0, 2))
    rng = np.random.default_rng(3)
    img = rng.integers(-15, 16, (5, 7))
    model, out = run_one(pattern_model(5, 7, (2, 3), pads, crops), img)
    g = model.dense_steps[0].dense.conv
    assert (g.dil_h, g.dil_w, g.pad.pad_top, g.pad.pad_left) == (2, 3, 1, 1)
    np.testing.assert_array_equal(out, dilated_sum(img, 2, (2, 3), 1, 1, (5, 7)))
    x = np.asarray(img, np.int8)[None, None, :, :, None]
    engine = TflmOracle().run(model, [x])
    np.testing.assert_array_equal(out, engine.outputs[0].reshape(out.shape))


def test_padding_is_the_zero_point():
    # zp 7: a padded position holds 7 (adds nothing once the zero point is taken off)
    img = np.full((4, 4), 7)
    img[1, 1] = 9
    _, out = run_one(pattern_model(zp=7), img)
    assert out[0, 0] == 2 and out[2, 2] == 2 and out[1, 1] == 0


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_tflite_micro_on_the_dilated_conv_and_litert_as_written(seed):
    rng = np.random.default_rng(seed)
    wt = rng.integers(-3, 4, (1, 3, 3, 1)).astype(np.int8)
    data = pattern_model(8, 8, (2, 2), ((2, 2), (2, 2)), k=3, weights=wt, zp=-3)
    model = import_model(data)
    x = rng.integers(-12, 13, (6, 1, 8, 8, 1)).astype(np.int8)
    run = run_network(model, [x], keep_tensors=True)
    ours = run.outputs[0].array.reshape(6, 8, 8)
    engine = TflmOracle().run(model, [x], run)
    np.testing.assert_array_equal(ours, engine.outputs[0].reshape(6, 8, 8))
    lite = pytest.importorskip("ai_edge_litert.interpreter")
    it = lite.Interpreter(model_content=data)
    it.allocate_tensors()
    for n in range(6):
        it.set_tensor(it.get_input_details()[0]["index"], x[n])
        it.invoke()
        got = it.get_tensor(it.get_output_details()[0]["index"]).reshape(8, 8)
        np.testing.assert_array_equal(ours[n], got)


@pytest.mark.parametrize(
    "kwargs, why",
    [
        ({"block2": (2, 1)}, r"block shapes differ: \[2, 2\] and \[2, 1\]"),
        (
            {"conv_opts": {"padding": "SAME"}, "out_hw": (6, 6)},
            "must be VALID, stride 1, dilation 1",
        ),
        ({"crops": ((2, 0), (0, 0))}, r"crops \[\[2, 0\], \[0, 0\]\] exceed the paddings"),
        ({"out_hw": (3, 3)}, r"output tensor is \[1, 3, 3, 1\] but block, paddings and crops"),
        ({"pads": ((1, 0), (1, 1))}, "padded size 5x6 is not a multiple of the block"),
        ({"pads": ((2, 0), (0, 0))}, "padding 2 top, 0 left.* neither SAME nor VALID"),
    ],
)
def test_refusals_at_import(kwargs, why):
    with pytest.raises(UnsupportedOpError, match=why) as e:
        import_model(pattern_model(**kwargs))
    assert "op 0 (SPACE_TO_BATCH_ND) -> op 1 (CONV_2D) -> op 2 (BATCH_TO_SPACE_ND)" in str(e.value)


def test_block_shape_from_a_model_input_is_refused_at_import():
    b = ModelBuilder()
    x = b.tensor("x", (1, 4, 4, 1), "INT8", scale=1.0, zero_point=0)
    blk = b.tensor("block", (2,), "INT32")
    s = b.tensor("s", (4, 2, 2, 1), "INT8", scale=1.0, zero_point=0)
    b.op("SPACE_TO_BATCH_ND", [x, blk, const(b, "pads", [[0, 0], [0, 0]])], [s])
    data = b.build([x, blk], [s])
    with pytest.raises(
        UnsupportedOpError, match="block shape and paddings/crops must be constants"
    ):
        import_model(data)


def test_the_committed_model_is_found():
    from pathlib import Path

    from hil.tflite.graph import read_tflite

    path = Path(__file__).resolve().parents[2] / "data" / "converters" / "k_dilated_conv.tflite"
    found = find_dilated(read_tflite(path))
    assert sorted(found) == [0, 1, 2, 4, 5, 6]
    # SAME 3x3 dilation 2 on 12x12: pads 2; the second is VALID: 0
    assert (found[1].block, found[1].pad_top, found[5].pad_top) == ((2, 2), 2, 0)


def test_depthwise_pattern_matches_tflite_micro_and_by_formula():
    rng = np.random.default_rng(5)
    b = ModelBuilder()
    x = b.tensor("x", (1, 6, 6, 2), "INT8", scale=1.0, zero_point=0)
    s = b.tensor("s", (1, 4, 4, 2), "INT8", scale=1.0, zero_point=0)
    c = b.tensor("c", (1, 3, 3, 2), "INT8", scale=1.0, zero_point=0)
    y = b.tensor("y", (1, 6, 6, 2), "INT8", scale=1.0, zero_point=0)
    wt = rng.integers(-2, 3, (1, 2, 2, 2)).astype(np.int8)
    wi = b.tensor(
        "w", wt.shape, "INT8", scale=[1.0, 1.0], zero_point=0, quantized_dimension=3, data=wt
    )
    bias = b.tensor(
        "bias", (2,), "INT32", scale=[1.0, 1.0], zero_point=0, data=np.zeros(2, np.int32)
    )
    b.op(
        "SPACE_TO_BATCH_ND", [x, const(b, "block", [2, 2]), const(b, "pads", [[1, 1], [1, 1]])], [s]
    )
    b.op(
        "DEPTHWISE_CONV_2D",
        [s, wi, bias],
        [c],
        padding="VALID",
        strideH=1,
        strideW=1,
        depthMultiplier=1,
    )
    b.op(
        "BATCH_TO_SPACE_ND",
        [c, const(b, "block2", [2, 2]), const(b, "crops", [[0, 0], [0, 0]])],
        [y],
    )
    model = import_model(b.build([x], [y]))
    xs = rng.integers(-10, 11, (3, 1, 6, 6, 2)).astype(np.int8)
    run = run_network(model, [xs], keep_tensors=True)
    ours = run.outputs[0].array.reshape(3, 6, 6, 2)
    for n in range(3):
        for ch in range(2):
            want = np.zeros((6, 6), np.int64)
            for i in range(2):
                for j in range(2):
                    want += wt[0, i, j, ch] * dilated_sum(
                        xs[n, 0, :, :, ch], 1, (2, 2), 1 - 2 * i, 1 - 2 * j, (6, 6)
                    )
            np.testing.assert_array_equal(ours[n, :, :, ch], want)
    engine = TflmOracle().run(model, [xs], run)
    np.testing.assert_array_equal(ours, engine.outputs[0].reshape(ours.shape))
