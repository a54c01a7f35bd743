"""The numpy kernels real converters emit — TRANSPOSE, SPLIT, SPLIT_V, UNPACK, STRIDED_SLICE and
SLICE of activations, SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND, REDUCE_MAX, RELU / RELU6, int16
pools, SOFTMAX int16 and int8 -> int16 — each against the TFLite Micro interpreter on
one-operator models (several outputs compared one by one), and the refusals at import."""

from __future__ import annotations

import numpy as np
import pytest

from hil.executor import run_network
from hil.kernels.base import UnsupportedOpError
from hil.kernels.softmax import gen_lut_int16, lut_lookup_int16
from hil.oracles.tflm import run_tflm
from hil.tflite.build import ModelBuilder
from hil.tflite.importer import import_model


def check_all(data: bytes, n: int = 4, seed: int = 0, dtype=np.int8):
    """Every output of ours and of TFLite Micro on random inputs; asserts they are equal."""
    model = import_model(data)
    rng = np.random.default_rng(seed)
    inputs = []
    for i in model.graph.inputs:
        t = model.graph.tensor(i)
        info = np.iinfo(t.dtype)
        inputs.append(rng.integers(info.min, info.max + 1, size=(n,) + t.shape).astype(t.dtype))
    ours = run_network(model, inputs).outputs
    theirs = run_tflm(model.graph, inputs).outputs
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        np.testing.assert_array_equal(o.array, t.reshape(o.array.shape))
    return [o.array for o in ours]


def const(b, name, values, typ="INT32"):
    a = np.asarray(values, dtype=np.int32)
    return b.tensor(name, a.shape, typ, data=a)


def test_transpose_matches_tflm():
    b = ModelBuilder()
    x = b.tensor("x", (1, 3, 4, 5), "INT8", scale=0.1, zero_point=2)
    y = b.tensor("y", (1, 5, 3, 4), "INT8", scale=0.1, zero_point=2)
    b.op("TRANSPOSE", [x, const(b, "perm", [0, 3, 1, 2])], [y])
    (out,) = check_all(b.build([x], [y]))
    assert out.shape == (4, 1, 5, 3, 4)


@pytest.mark.parametrize("axis", [1, -1])
def test_split_matches_tflm(axis):
    b = ModelBuilder()
    x = b.tensor("x", (1, 6, 6), "INT8", scale=0.1, zero_point=0)
    ys = [
        b.tensor(f"y{i}", (1, 2, 6) if axis == 1 else (1, 6, 2), "INT8", scale=0.1, zero_point=0)
        for i in range(3)
    ]
    b.op("SPLIT", [const(b, "axis", [axis]), x], ys, numSplits=3)
    outs = check_all(b.build([x], ys))
    assert len(outs) == 3 and not np.array_equal(outs[0], outs[1])


def test_split_v_matches_tflm():
    b = ModelBuilder()
    x = b.tensor("x", (1, 7, 3), "INT16", scale=0.001, zero_point=0)
    ys = [
        b.tensor("y0", (1, 2, 3), "INT16", scale=0.001, zero_point=0),
        b.tensor("y1", (1, 5, 3), "INT16", scale=0.001, zero_point=0),
    ]
    b.op("SPLIT_V", [x, const(b, "sizes", [2, 5]), const(b, "axis", [1])], ys, numSplits=2)
    outs = check_all(b.build([x], ys))
    assert [o.shape[2] for o in outs] == [2, 5]


def test_unpack_matches_tflm():
    b = ModelBuilder()
    x = b.tensor("x", (4, 1, 3), "INT8", scale=0.1, zero_point=-1)
    ys = [b.tensor(f"y{i}", (1, 3), "INT8", scale=0.1, zero_point=-1) for i in range(4)]
    b.op("UNPACK", [x], ys, num=4, axis=0)
    check_all(b.build([x], ys))


def test_strided_slice_of_an_activation_matches_tflm():
    b = ModelBuilder()
    x = b.tensor("x", (1, 6, 8), "INT8", scale=0.1, zero_point=0)
    y = b.tensor("y", (1, 8), "INT8", scale=0.1, zero_point=0)
    # x[:, -1, :]: the last time step, as a Keras LSTM with return_sequences=False takes it
    b.op(
        "STRIDED_SLICE",
        [x, const(b, "b", [0, -1, 0]), const(b, "e", [0, 0, 0]), const(b, "s", [1, 1, 1])],
        [y],
        beginMask=5,
        endMask=5,
        shrinkAxisMask=2,
    )
    (out,) = check_all(b.build([x], [y]))
    assert out.shape == (4, 1, 8)


def test_strided_slice_with_strides_and_slice_match_tflm():
    b = ModelBuilder()
    x = b.tensor("x", (1, 9, 4), "INT8", scale=0.1, zero_point=0)
    y = b.tensor("y", (1, 4, 2), "INT8", scale=0.1, zero_point=0)
    z = b.tensor("z", (1, 3, 3), "INT8", scale=0.1, zero_point=0)
    b.op(
        "STRIDED_SLICE",
        [x, const(b, "b", [0, 1, 0]), const(b, "e", [1, 9, 4]), const(b, "s", [1, 2, 3])],
        [y],
    )
    b.op("SLICE", [x, const(b, "b2", [0, 2, 1]), const(b, "n2", [1, 3, -1])], [z])
    check_all(b.build([x], [y, z]))


def test_strided_slice_with_a_computed_index_is_refused_at_import():
    b = ModelBuilder()
    x = b.tensor("x", (1, 6, 8), "INT8", scale=0.1, zero_point=0)
    begin = b.tensor("begin", (3,), "INT32")
    y = b.tensor("y", (1, 8), "INT8", scale=0.1, zero_point=0)
    b.op("SHAPE", [x], [begin])
    b.op(
        "STRIDED_SLICE",
        [x, begin, const(b, "e", [0, 0, 0]), const(b, "s", [1, 1, 1])],
        [y],
        shrinkAxisMask=2,
    )
    with pytest.raises(UnsupportedOpError, match="activation's slice must be constants"):
        import_model(b.build([x], [y]))


def test_strided_slice_of_a_shape_at_a_per_sample_index_is_refused_at_import():
    # shape arithmetic (SHAPE of x) sliced at an index computed from an input's values
    # (QUANTIZE of i to int32): differs per sample, refused at import, not mid-run
    b = ModelBuilder()
    x = b.tensor("x", (1, 6, 8), "INT8", scale=0.1, zero_point=0)
    i = b.tensor("i", (1,), "INT8", scale=1.0, zero_point=0)
    shape = b.tensor("shape", (3,), "INT32")
    begin = b.tensor("begin", (1,), "INT32", scale=1.0, zero_point=0)
    y = b.tensor("y", (1,), "INT32")
    b.op("SHAPE", [x], [shape])
    b.op("QUANTIZE", [i], [begin])
    b.op("STRIDED_SLICE", [shape, begin, const(b, "e", [3]), const(b, "s", [1])], [y])
    with pytest.raises(
        UnsupportedOpError, match="op 2 .STRIDED_SLICE.: begin / end / strides differ per sample"
    ):
        import_model(b.build([x, i], [y]))


def test_strided_slice_ellipsis_is_refused_at_import():
    b = ModelBuilder()
    x = b.tensor("x", (1, 6, 8), "INT8", scale=0.1, zero_point=0)
    y = b.tensor("y", (1, 6, 8), "INT8", scale=0.1, zero_point=0)
    b.op(
        "STRIDED_SLICE",
        [x, const(b, "b", [0]), const(b, "e", [1]), const(b, "s", [1])],
        [y],
        ellipsisMask=1,
    )
    with pytest.raises(UnsupportedOpError, match="op 0 .STRIDED_SLICE.: ellipsis_mask"):
        import_model(b.build([x], [y]))


def test_space_to_batch_and_back_match_tflm():
    b = ModelBuilder()
    x = b.tensor("x", (1, 6, 4, 2), "INT8", scale=0.1, zero_point=5)
    s = b.tensor("s", (6, 2, 2, 2), "INT8", scale=0.1, zero_point=5)
    y = b.tensor("y", (1, 4, 4, 2), "INT8", scale=0.1, zero_point=5)
    b.op(
        "SPACE_TO_BATCH_ND", [x, const(b, "block", [3, 2]), const(b, "pad", [[0, 0], [0, 0]])], [s]
    )
    b.op(
        "BATCH_TO_SPACE_ND",
        [s, const(b, "block2", [3, 2]), const(b, "crop", [[1, 1], [0, 0]])],
        [y],
    )
    sb, back = check_all(b.build([x], [s, y]))
    assert sb.shape == (4, 6, 2, 2, 2) and back.shape == (4, 1, 4, 4, 2)


def test_space_to_batch_with_padding_is_refused():
    b = ModelBuilder()
    x = b.tensor("x", (1, 4, 4, 1), "INT8", scale=0.1, zero_point=0)
    s = b.tensor("s", (4, 3, 3, 1), "INT8", scale=0.1, zero_point=0)
    b.op(
        "SPACE_TO_BATCH_ND", [x, const(b, "block", [2, 2]), const(b, "pad", [[1, 1], [1, 1]])], [s]
    )
    with pytest.raises(UnsupportedOpError, match="fills padding with a value it never sets"):
        import_model(b.build([x], [s]))


def test_space_to_batch_of_an_open_batch_is_refused():
    b = ModelBuilder()
    x = b.tensor("x", (1, 4, 4, 1), "INT8", scale=0.1, zero_point=0)
    s = b.tensor("s", (1, 2, 2, 1), "INT8", scale=0.1, zero_point=0)
    b.op(
        "SPACE_TO_BATCH_ND", [x, const(b, "block", [2, 2]), const(b, "pad", [[0, 0], [0, 0]])], [s]
    )
    with pytest.raises(UnsupportedOpError, match="batch of 4 but its output tensor declares 1"):
        import_model(b.build([x], [s]))


def test_reduce_max_matches_tflm():
    b = ModelBuilder()
    x = b.tensor("x", (1, 5, 5, 3), "INT8", scale=0.05, zero_point=-7)
    y = b.tensor("y", (1, 3), "INT8", scale=0.05, zero_point=-7)
    b.op("REDUCE_MAX", [x, const(b, "axes", [1, 2])], [y], keepDims=False)
    check_all(b.build([x], [y]))


def test_int16_reduce_max_is_refused_as_tflite_micro_does():
    b = ModelBuilder()
    x = b.tensor("x", (1, 5, 3), "INT16", scale=0.05, zero_point=0)
    y = b.tensor("y", (1, 3), "INT16", scale=0.05, zero_point=0)
    b.op("REDUCE_MAX", [x, const(b, "axes", [1])], [y])
    with pytest.raises(UnsupportedOpError, match="input tensor is INT16; implemented for INT8"):
        import_model(b.build([x], [y]))


def test_reduce_max_with_a_rescale_is_refused():
    b = ModelBuilder()
    x = b.tensor("x", (1, 5, 3), "INT8", scale=0.05, zero_point=0)
    y = b.tensor("y", (1, 3), "INT8", scale=0.1, zero_point=0)
    b.op("REDUCE_MAX", [x, const(b, "axes", [1])], [y])
    with pytest.raises(UnsupportedOpError, match="quantization differ"):
        import_model(b.build([x], [y]))


@pytest.mark.parametrize("typ,zp_in,zp_out", [("INT8", 3, -128), ("INT16", 0, 0)])
def test_relu_matches_tflm_with_a_rescale(typ, zp_in, zp_out):
    b = ModelBuilder()
    x = b.tensor("x", (1, 512), typ, scale=0.05, zero_point=zp_in)
    y = b.tensor("y", (1, 512), typ, scale=0.031, zero_point=zp_out)
    b.op("RELU", [x], [y])
    (out,) = check_all(b.build([x], [y]), n=6)
    assert len(np.unique(out)) > 20


def test_relu6_clamps_in_the_input_quantization_as_tflm():
    b = ModelBuilder()
    x = b.tensor("x", (1, 256), "INT8", scale=0.05, zero_point=3)
    y = b.tensor("y", (1, 256), "INT8", scale=0.031, zero_point=-128)
    b.op("RELU6", [x], [y])
    (out,) = check_all(b.build([x], [y]), n=6)
    # q(6) = 3 + round(6 / 0.05) = 123: the output scale plays no part
    assert out.min() == 3 and out.max() == 123


@pytest.mark.parametrize("op", ["MAX_POOL_2D", "AVERAGE_POOL_2D"])
@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_int16_pools_match_tflm(op, padding):
    b = ModelBuilder()
    x = b.tensor("x", (1, 7, 7, 3), "INT16", scale=0.001, zero_point=0)
    out = 4 if padding == "SAME" else 3
    y = b.tensor("y", (1, out, out, 3), "INT16", scale=0.001, zero_point=0)
    b.op(
        op,
        [x],
        [y],
        padding=padding,
        strideH=2,
        strideW=2,
        filterHeight=3,
        filterWidth=3,
        fused_activation="RELU6",
    )
    check_all(b.build([x], [y]))


@pytest.mark.parametrize("scale", [0.0001, 0.001, 0.004])
def test_softmax_int16_matches_tflm(scale):
    b = ModelBuilder()
    x = b.tensor("x", (1, 3, 10), "INT16", scale=scale, zero_point=0)
    y = b.tensor("y", (1, 3, 10), "INT16", scale=1 / 32768, zero_point=0)
    b.op("SOFTMAX", [x], [y], beta=1.0)
    (out,) = check_all(b.build([x], [y]), n=20)
    assert len(np.unique(out)) > 30


def test_softmax_int8_to_int16_matches_tflm():
    b = ModelBuilder()
    x = b.tensor("x", (1, 10), "INT8", scale=0.08, zero_point=3)
    y = b.tensor("y", (1, 10), "INT16", scale=1 / 65536, zero_point=-32768)
    b.op("SOFTMAX", [x], [y], beta=1.0)
    check_all(b.build([x], [y]), n=20)


def test_int16_table_by_hand():
    # exp over [-10, 0]: the last entry is exp(0) * 32768, clamped to 32767. The first:
    # exp(-10) * 32768 = 1.488 -> 1; the interpolated midpoint round((1.517 + 1) / 2) = 1, the
    # true one round(exp(-9.990) * 32768 = 1.502) = 2; bias round(-1 / 2) = -1 (away from 0),
    # so 1 - (-1) = 2.
    lut = gen_lut_int16(np.exp, -10.0, 0.0)
    assert lut[512] == 32767 and lut[0] == 2
    assert int(lut_lookup_int16(np.array([32767]), lut)[0]) == lut[511] + (
        (lut[512] - lut[511]) * 127 + 64 >> 7
    )


@pytest.mark.parametrize("typ,zp", [("INT8", -5), ("INT16", 0)])
def test_quantize_to_int32_matches_tflm(typ, zp):
    b = ModelBuilder()
    x = b.tensor("x", (1, 300), typ, scale=0.05, zero_point=zp)
    y = b.tensor("y", (1, 300), "INT32", scale=0.0001, zero_point=7)
    b.op("QUANTIZE", [x], [y])
    (out,) = check_all(b.build([x], [y]))
    assert out.dtype == np.int32 and np.abs(out).max() > 32767  # beyond int16


# ------------------------------------------------- DEPTH_TO_SPACE, SPACE_TO_DEPTH, GATHER


def test_depth_to_space_matches_tflm_and_by_hand():
    b = ModelBuilder()
    x = b.tensor("x", (1, 2, 3, 8), "INT8", scale=0.1, zero_point=1)
    y = b.tensor("y", (1, 4, 6, 2), "INT8", scale=0.1, zero_point=1)
    b.op("DEPTH_TO_SPACE", [x], [y], blockSize=2)
    data = b.build([x], [y])
    check_all(data)
    # by hand: one pixel's 8 channels 0..7 become a 2x2 block of 2 channels,
    # channel (by * 2 + bx) * 2 + c at pixel (by, bx)
    model = import_model(data)
    v = np.zeros((1, 1, 2, 3, 8), np.int8)
    v[0, 0, 0, 0] = np.arange(8)
    (out,) = run_network(model, [v]).outputs
    assert out.array[0, 0, :2, :2].tolist() == [[[0, 1], [2, 3]], [[4, 5], [6, 7]]]


def test_space_to_depth_matches_tflm_and_inverts_depth_to_space():
    b = ModelBuilder()
    x = b.tensor("x", (1, 4, 6, 3), "INT8", scale=0.1, zero_point=0)
    y = b.tensor("y", (1, 2, 3, 12), "INT8", scale=0.1, zero_point=0)
    b.op("SPACE_TO_DEPTH", [x], [y], blockSize=2)
    z = b.tensor("z", (1, 4, 6, 3), "INT8", scale=0.1, zero_point=0)
    b.op("DEPTH_TO_SPACE", [y], [z], blockSize=2)
    data = b.build([x], [y, z])
    rng = np.random.default_rng(2)
    v = rng.integers(-128, 128, (5, 1, 4, 6, 3)).astype(np.int8)
    ours = run_network(import_model(data), [v]).outputs
    theirs = run_tflm(import_model(data).graph, [v]).outputs
    for o, t in zip(ours, theirs):
        np.testing.assert_array_equal(o.array, t.reshape(o.array.shape))
    np.testing.assert_array_equal(ours[1].array, v)  # the round trip
    assert ours[0].array[0, 0, 0, 0, 3:6].tolist() == v[0, 0, 0, 1].tolist()  # (by 0, bx 1)


@pytest.mark.parametrize("axis,idx", [(1, [2, 0, 2]), (3, [[1], [0]]), (-1, [4])])
def test_gather_of_an_activation_matches_tflm(axis, idx):
    b = ModelBuilder()
    shape = (1, 3, 2, 5) if axis != 3 else (1, 3, 2, 2)
    x = b.tensor("x", shape, "INT8", scale=0.1, zero_point=0)
    pos = np.asarray(idx)
    out = np.take(np.zeros(shape), pos, axis=axis).shape
    y = b.tensor("y", out, "INT8", scale=0.1, zero_point=0)
    b.op("GATHER", [x, const(b, "idx", pos)], [y], axis=axis)
    (got,) = check_all(b.build([x], [y]))
    assert got.shape[1:] == out


@pytest.mark.parametrize(
    "case,why",
    [
        ("int16", "input tensor is INT16; implemented for INT8, FLOAT32"),
        ("block", "depth 6 is not a multiple of block^2 = 4"),
        ("index", "index 3 is out of range 0 .. 2 (axis 1)"),
        ("runtime", "the indices input must be a constant"),
        ("batch_dims", "batch_dims != 0 is not implemented"),
    ],
)
def test_layout_refusals_at_import(case, why):
    b = ModelBuilder()
    if case in ("int16", "block"):
        typ, c = ("INT16", 8) if case == "int16" else ("INT8", 6)
        x = b.tensor("x", (1, 2, 2, c), typ, scale=0.1, zero_point=0)
        y = b.tensor("y", (1, 4, 4, c // 4), typ, scale=0.1, zero_point=0)
        b.op("DEPTH_TO_SPACE", [x], [y], blockSize=2)
        ins = [x]
    else:
        x = b.tensor("x", (1, 3, 4), "INT8", scale=0.1, zero_point=0)
        y = b.tensor("y", (1, 1, 4), "INT8", scale=0.1, zero_point=0)
        if case == "runtime":
            i = b.tensor("i", (1,), "INT32")
            ins = [x, i]
        else:
            i, ins = const(b, "i", [3 if case == "index" else 0]), [x]
        opts = {"batchDims": 1} if case == "batch_dims" else {}
        b.op("GATHER", [x, i], [y], axis=1, **opts)
    with pytest.raises(UnsupportedOpError, match="cannot run|" + why) as e:
        import_model(b.build(ins, [y]))
    assert why in str(e.value)
