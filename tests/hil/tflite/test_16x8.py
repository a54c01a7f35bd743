"""The 16x8 kernels (int16 activations, int8 weights, int64 bias and accumulator) on the datapath
config :data:`hil.tflite.importer.TFLITE_16X8_CONFIG`: TFLite's 64-bit
``MultiplyByQuantizedMultiplier`` rounds the multiplier to 16 bits and rounds once, half up.
Checked against hand-worked values and the TFLite Micro interpreter; the alternatives (the full
32-bit multiplier, other tie rules) are shown to differ from it."""

from __future__ import annotations

import numpy as np
import pytest

from hil.executor import run_network
from hil.oracles.tflm import run_tflm
from hil.tflite.build import conv2d_model, depthwise_model, fully_connected_model
from hil.tflite.importer import TFLITE_16X8_CONFIG, import_model
from hil.tflite.params import reduce_multiplier_16x8
from pyref.arith import requantize
from pyref.layer import Layer
from pyref.model import run_layer


def test_config_is_16x8_with_64_bit_accumulator_and_16_bit_multiplier():
    c = TFLITE_16X8_CONFIG
    assert (
        c.in_bits,
        c.in_signed,
        c.w_bits,
        c.acc_bits,
        c.bias_bits,
        c.mult_bits,
        c.rounding,
        c.out_bits,
    ) == (16, True, 8, 64, 64, 16, "half_up", 16)


def test_reduce_multiplier_by_hand():
    m = np.array([0x40008000, 0x40007FFF, 0x7FFEFFFF, 0x7FFF0000, 0x7FFFFFFF, 0])
    s = np.array([-3, 0, 7, 1, -31, 0])
    m16, t = reduce_multiplier_16x8(m, s)
    assert m16.tolist() == [0x4001, 0x4000, 0x7FFF, 0x7FFF, 0x7FFF, 0]
    assert t.tolist() == [18, 15, 8, 14, 46, 15]
    with pytest.raises(ValueError, match=r"shift\[0\] = 8 is outside"):
        reduce_multiplier_16x8(np.array([1 << 30]), np.array([8]))


def test_one_rounding_half_up_by_hand():
    # m16 = 2^14, t = 15: x * 2^14 / 2^15 = x / 2, ties toward +inf (TFLite adds 2^(t-1), shifts).
    acc = np.arange(-5, 6)
    got = requantize(acc, 1 << 14, 15, TFLITE_16X8_CONFIG)
    assert got.tolist() == [-2, -2, -1, -1, 0, 0, 1, 1, 2, 2, 3]  # -2.5 -> -2, -0.5 -> 0, 2.5 -> 3


def tie_model() -> bytes:
    # real scale (0.5 * 0.25) / 0.25 = 0.5 exactly: M = 2^30, s = 0 -> m16 = 2^14, t = 15.
    return fully_connected_model(
        np.ones((1, 1), np.int64),
        np.zeros(1, np.int64),
        in_scale=0.5,
        in_zp=0,
        w_scale=0.25,
        out_scale=0.25,
        out_zp=0,
        act_type="INT16",
    )


def test_ties_round_up_in_tflite_micro_as_in_the_config():
    model = import_model(tie_model())
    spec = model.dense_steps[0].dense
    assert (int(spec.mult[0]), int(spec.shift[0])) == (1 << 14, 15)
    xs = np.arange(-9, 10, dtype=np.int16).reshape(-1, 1, 1)
    want = np.floor(xs / 2 + 0.5).astype(np.int64)  # half up, by hand
    theirs = run_tflm(model.graph, [xs]).outputs[0].astype(np.int64)
    np.testing.assert_array_equal(theirs, want)
    np.testing.assert_array_equal(run_network(model, [xs]).outputs[0].array, want)
    # Ties away from zero would differ on the negative halves:
    away = requantize(
        xs.ravel().astype(np.int64), 1 << 14, 15, TFLITE_16X8_CONFIG.replace(rounding="half_away")
    )
    assert np.count_nonzero(away != want.ravel()) == 5


def random_16x8(kind: str, per_channel: bool, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    if kind == "fc":
        c = 12
        ws = rng.uniform(0.002, 0.02, c) if per_channel else 0.01
        return fully_connected_model(
            rng.integers(-127, 128, (c, 40)),
            rng.integers(-(2**24), 2**24, c),
            in_scale=0.0005,
            in_zp=0,
            w_scale=ws,
            out_scale=0.02,
            out_zp=0,
            activation="RELU",
            batch=3,
            act_type="INT16",
        )
    if kind == "conv":
        c = 6
        ws = rng.uniform(0.002, 0.02, c) if per_channel else 0.01
        return conv2d_model(
            rng.integers(-127, 128, (c, 3, 3, 4)),
            rng.integers(-(2**24), 2**24, c),
            in_hw=(7, 6),
            in_scale=0.0005,
            in_zp=0,
            w_scale=ws,
            out_scale=0.01,
            out_zp=0,
            stride=(2, 1),
            act_type="INT16",
        )
    if kind == "transpose":
        from hil.tflite.build import transpose_conv_model

        c = 3
        ws = rng.uniform(0.002, 0.02, c) if per_channel else 0.01
        return transpose_conv_model(
            rng.integers(-127, 128, (c, 3, 3, 4)),
            rng.integers(-(2**20), 2**20, c),
            in_hw=(4, 4),
            out_hw=(8, 8),
            in_scale=0.0005,
            in_zp=0,
            w_scale=ws,
            out_scale=0.004,
            out_zp=0,
            stride=(2, 2),
            act_type="INT16",
        )
    c = 8
    ws = rng.uniform(0.002, 0.02, c) if per_channel else 0.01
    return depthwise_model(
        rng.integers(-127, 128, (1, 3, 3, c)),
        rng.integers(-(2**22), 2**22, c),
        in_hw=(7, 6),
        cin=4,
        in_scale=0.0005,
        in_zp=0,
        w_scale=ws,
        out_scale=0.003,
        out_zp=0,
        stride=(2, 1),
        padding="VALID",
        act_type="INT16",
    )


@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("kind", ["fc", "conv", "depthwise", "transpose"])
def test_16x8_kernels_match_tflm(kind, per_channel):
    model = import_model(random_16x8(kind, per_channel, seed=7))
    assert model.config == TFLITE_16X8_CONFIG
    t = model.graph.tensor(model.graph.inputs[0])
    xs = np.random.default_rng(105).integers(-32768, 32768, size=(6,) + t.shape).astype(np.int16)
    run = run_network(model, [xs])
    ours = run.outputs[0].array
    theirs = run_tflm(model.graph, [xs]).outputs[0].reshape(ours.shape)
    assert ours.dtype == np.int16
    np.testing.assert_array_equal(ours, theirs)
    inside = np.count_nonzero((theirs > -32768) & (theirs < 32767) & (theirs != 0))
    assert inside > theirs.size // 3  # mostly unclamped outputs: the rounding is seen


def test_the_full_32_bit_multiplier_would_not_match_tflm():
    """Same accumulators with TFLite's unreduced (M, 31 - s) and one rounding: some outputs differ
    from TFLite Micro, so the 16-bit reduction is part of the contract."""
    model = import_model(random_16x8("fc", True, seed=7))
    spec = model.dense_steps[0].dense
    xs = np.random.default_rng(120).integers(-32768, 32768, size=(200, 3, 40)).astype(np.int16)
    theirs = run_tflm(model.graph, [xs]).outputs[0].reshape(-1, spec.c).astype(np.int64)
    rows = xs.reshape(-1, 40).astype(np.int64)
    from hil.tflite.params import fully_connected_multipliers

    o = model.graph.tensor(model.graph.inputs[0])
    w_t = model.graph.tensor(model.graph.ops[0].inputs[1])
    y_t = model.graph.tensor(model.graph.outputs[0])
    m, s = fully_connected_multipliers(float(o.scale[0]), w_t.scale, float(y_t.scale[0]))
    cfg32 = TFLITE_16X8_CONFIG.replace(mult_bits=32)
    full = run_layer(
        Layer.build(cfg32, rows, spec.w, spec.bias, m, 31 - s, 0, spec.act_min, spec.act_max), cfg32
    ).y
    ours = run_layer(spec.layer(rows), TFLITE_16X8_CONFIG).y
    np.testing.assert_array_equal(ours, theirs)
    assert np.count_nonzero(full != theirs) > 0


def audio_16x8_model() -> bytes:
    """float32 (1, 8, 6, 2) -> QUANTIZE int16 -> CONV_2D 3x3 -> DEPTHWISE 3x3 -> RESHAPE ->
    FULLY_CONNECTED -> TANH -> DEQUANTIZE: a small 16x8 network end to end."""
    from hil.tflite.build import ModelBuilder

    rng = np.random.default_rng(16)
    b = ModelBuilder()
    xf = b.tensor("x", (1, 8, 6, 2), "FLOAT32")
    xq = b.tensor("xq", (1, 8, 6, 2), "INT16", scale=0.0005, zero_point=0)
    b.op("QUANTIZE", [xf], [xq])
    ws = rng.uniform(0.002, 0.01, 4).astype(np.float32)
    w1 = b.tensor("w1", (4, 3, 3, 2), "INT8", scale=ws, data=rng.integers(-127, 128, (4, 3, 3, 2)))
    b1 = b.tensor(
        "b1", (4,), "INT64", scale=np.float32(0.0005) * ws, data=rng.integers(-(10**5), 10**5, 4)
    )
    h1 = b.tensor("h1", (1, 8, 6, 4), "INT16", scale=0.0008, zero_point=0)
    b.op(
        "CONV_2D", [xq, w1, b1], [h1], padding="SAME", strideH=1, strideW=1, fused_activation="RELU"
    )
    ws2 = rng.uniform(0.002, 0.01, 4).astype(np.float32)
    w2 = b.tensor(
        "w2",
        (1, 3, 3, 4),
        "INT8",
        scale=ws2,
        quantized_dimension=3,
        data=rng.integers(-127, 128, (1, 3, 3, 4)),
    )
    b2 = b.tensor(
        "b2", (4,), "INT64", scale=np.float32(0.0008) * ws2, data=rng.integers(-(10**5), 10**5, 4)
    )
    h2 = b.tensor("h2", (1, 4, 3, 4), "INT16", scale=0.0006, zero_point=0)
    b.op(
        "DEPTHWISE_CONV_2D",
        [h1, w2, b2],
        [h2],
        padding="SAME",
        strideH=2,
        strideW=2,
        depthMultiplier=1,
    )
    r = b.tensor("r", (1, 48), "INT16", scale=0.0006, zero_point=0)
    b.op("RESHAPE", [h2], [r])
    w3 = b.tensor("w3", (5, 48), "INT8", scale=0.004, data=rng.integers(-127, 128, (5, 48)))
    b3 = b.tensor(
        "b3",
        (5,),
        "INT64",
        scale=np.float32(0.0006) * np.float32(0.004),
        data=rng.integers(-(10**4), 10**4, 5),
    )
    h3 = b.tensor("h3", (1, 5), "INT16", scale=2.0**-11, zero_point=0)
    b.op("FULLY_CONNECTED", [r, w3, b3], [h3])
    h4 = b.tensor("h4", (1, 5), "INT16", scale=2.0**-15, zero_point=0)
    b.op("TANH", [h3], [h4])
    y = b.tensor("y", (1, 5), "FLOAT32")
    b.op("DEQUANTIZE", [h4], [y])
    return b.build([xf], [y])


def test_a_16x8_network_end_to_end_matches_tflm():
    from hil.inputs import random_inputs
    from hil.report import compare_with_oracle, verdict

    model = import_model(audio_16x8_model())
    assert [s.where for s in model.steps] == [
        "software",
        "datapath",
        "datapath",
        "software",
        "datapath",
        "software",
        "software",
    ]
    inputs = random_inputs(model, 20, seed=3)
    run = run_network(model, inputs, keep_tensors=True)
    dense = [s.dense.output_index for s in model.dense_steps]
    checks = compare_with_oracle(run, run_tflm(model.graph, inputs, dense), ["y"], dense)
    assert [l.tflm_mismatches for l in run.layers] == [0, 0, 0]
    assert verdict(run, checks).passed
    assert len(np.unique(run.outputs[0].array)) > 10  # not a saturated constant


def test_int16_activations_with_a_zero_point_are_refused():
    from hil.kernels.base import UnsupportedOpError

    data = fully_connected_model(
        np.ones((2, 4), np.int64),
        None,
        in_scale=0.001,
        in_zp=3,
        w_scale=0.01,
        out_scale=0.01,
        out_zp=0,
        act_type="INT16",
    )
    with pytest.raises(
        UnsupportedOpError,
        match=r"op 0 \(FULLY_CONNECTED\): int16 activations must have zero point 0 "
        r"\(input 3, output 0\)",
    ):
        import_model(data)


def test_cli_prints_the_config_each_layer_uses(tmp_path, capsys):
    """A 16x8 model runs on ``tflite16x8``: the plan and the backend line name that config
    (not ``tflite``); an SVDF names both of its stages' configs."""
    from hil.cli import main

    path = tmp_path / "audio16x8.tflite"
    path.write_bytes(audio_16x8_model())
    assert main(["run", str(path), "--n", "4", "--no-progress", "--backend", "pyref"]) == 0
    out = capsys.readouterr().out
    assert "CONV_2D            x1   datapath (dense backend, config 'tflite16x8')" in out
    assert f"config: tflite16x8 ({TFLITE_16X8_CONFIG.describe()})" in out
    assert "config: tflite (" not in out
    assert "inputs: 4 random vectors of float32 at int16 code points" in out
    svdf = import_model(svdf_bytes())
    assert [c.out_bits for c in svdf.configs()] == [16, 8]
    assert "configs 'tflite+out_bits=16', 'tflite+in_bits=16,w_bits=16'" in svdf.describe_ops()


def svdf_bytes() -> bytes:
    from test_svdf import svdf_model

    return svdf_model()
