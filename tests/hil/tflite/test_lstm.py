"""UNIDIRECTIONAL_SEQUENCE_LSTM (int8, int16 cell state): the gate FCs on the datapath (pyref
here, the RTL below), the gates, cell and hidden state in numpy; checked bit for bit against the
TFLite Micro interpreter over sequences of invokes (the state carries across them)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from sim_skip import require_simulator

from hil.executor import run_network
from hil.kernels.base import UnsupportedOpError
from hil.oracles.tflm import run_tflm
from hil.tflite.build import ModelBuilder
from hil.tflite.importer import import_model


def lstm_model(
    *,
    batch=2,
    steps=3,
    n_input=5,
    n_state=4,
    time_major=False,
    cell_clip=0.0,
    activation="TANH",
    in_scale=0.05,
    in_zp=-3,
    w_scale=0.002,
    rec_scale=0.004,
    hidden_scale=1 / 128,
    hidden_zp=5,
    cell_scale=2.0**-11,
    seed=0,
    extra: dict[int, str] | None = None,
    last_step: bool = False,
) -> bytes:
    """A one-operator LSTM model; ``extra`` adds a (random) tensor at those input slots (to
    test the refusals of peephole/projection/layer norm); ``last_step`` ends it as a Keras
    ``LSTM(return_sequences=False)`` converts: a STRIDED_SLICE ``y[:, -1, :]``."""
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    shape = (steps, batch, n_input) if time_major else (batch, steps, n_input)
    x = b.tensor("x", shape, "INT8", scale=in_scale, zero_point=in_zp)
    ins = [x] + [-1] * 23
    for j, g in enumerate(("input", "forget", "cell", "output")):
        ins[1 + j] = b.tensor(
            f"w_in_{g}",
            (n_state, n_input),
            "INT8",
            scale=w_scale,
            data=rng.integers(-127, 128, (n_state, n_input)),
        )
        ins[5 + j] = b.tensor(
            f"w_rec_{g}",
            (n_state, n_state),
            "INT8",
            scale=rec_scale,
            data=rng.integers(-127, 128, (n_state, n_state)),
        )
        ins[12 + j] = b.tensor(
            f"bias_{g}",
            (n_state,),
            "INT32",
            scale=np.float32(in_scale) * np.float32(w_scale),
            data=rng.integers(-3000, 3000, n_state),
        )
    ins[18] = b.tensor(
        "hidden", (batch, n_state), "INT8", scale=hidden_scale, zero_point=hidden_zp, variable=True
    )
    ins[19] = b.tensor("cell", (batch, n_state), "INT16", scale=cell_scale, variable=True)
    for slot, type_name in (extra or {}).items():
        ins[slot] = b.tensor(
            f"extra{slot}", (n_state,), type_name, scale=0.01, data=rng.integers(-100, 100, n_state)
        )
    out_shape = shape[:2] + (n_state,)
    y = b.tensor("y", out_shape, "INT8", scale=hidden_scale, zero_point=hidden_zp)
    b.op(
        "UNIDIRECTIONAL_SEQUENCE_LSTM",
        ins,
        [y],
        fused_activation=activation,
        cellClip=cell_clip,
        timeMajor=time_major,
    )
    if last_step:
        last = b.tensor("last", (batch, n_state), "INT8", scale=hidden_scale, zero_point=hidden_zp)
        idx = [
            b.tensor(n, (3,), "INT32", data=np.asarray(v, np.int32))
            for n, v in (("begin", [0, -1, 0]), ("end", [0, 0, 0]), ("strides", [1, 1, 1]))
        ]
        b.op("STRIDED_SLICE", [y] + idx, [last], beginMask=5, endMask=5, shrinkAxisMask=2)
        return b.build([x], [last])
    return b.build([x], [y])


CASES = {
    "batch-major B2 T3": dict(),
    "time-major B2 T3": dict(time_major=True),
    "B1 T6 I10 S8, cell clip": dict(batch=1, steps=6, n_input=10, n_state=8, cell_clip=1.0),
    "cell scale 2^-15 (tanh input shifted right)": dict(cell_scale=2.0**-15, steps=4),
    "cell scale 2^-9, saturating gates": dict(cell_scale=2.0**-9, in_scale=0.1, w_scale=0.01),
    "time-major B3, hidden zp -7": dict(
        time_major=True, batch=3, hidden_zp=-7, cell_scale=2.0**-10
    ),
}


def ours_and_tflm(data: bytes, n: int, backend=None, seed=1):
    model = import_model(data)
    xs = (
        np.random.default_rng(seed)
        .integers(-128, 128, size=(n,) + model.graph.tensor(model.graph.inputs[0]).shape)
        .astype(np.int8)
    )
    run = run_network(model, [xs], backend)
    ours = run.outputs[0].array
    return model, run, ours, run_tflm(model.graph, [xs]).outputs[0].reshape(ours.shape)


@pytest.mark.parametrize("case", sorted(CASES))
def test_lstm_matches_tflm_over_invokes(case):
    # 5 invokes of T steps each: the hidden and cell states carry across invokes
    model, run, ours, theirs = ours_and_tflm(lstm_model(**CASES[case]), 5)
    assert [s.where for s in model.steps] == ["datapath"]
    np.testing.assert_array_equal(ours, theirs)
    assert len(np.unique(theirs)) > 10  # not a constant output
    spec = model.steps[0].dense
    # one input-FC stage over every step, then one recurrent stage per time step
    assert run.layers[0].beats == (
        5 * spec.steps * spec.batch * spec.c * (-(-spec.n_input // 8) + -(-spec.n_state // 8))
    )


def test_lstm_with_return_sequences_false_matches_tflm():
    """The last time step (STRIDED_SLICE of the LSTM's output) runs, where it was refused only
    once the simulator had started."""
    model, _, ours, theirs = ours_and_tflm(lstm_model(batch=1, steps=6, last_step=True), 5)
    assert [s.name for s in model.steps] == ["UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE"]
    assert ours.shape == (5, 1, 4)
    np.testing.assert_array_equal(ours, theirs)
    assert np.unique(ours).size > 5


def test_lstm_state_carries_across_invokes():
    """The same invokes in another order give other outputs; the reversed order matches TFLite
    Micro run on that order too."""
    model = import_model(lstm_model())
    xs = np.random.default_rng(2).integers(-128, 128, size=(4, 2, 3, 5)).astype(np.int8)
    forward = run_network(model, [xs]).outputs[0].array
    rev = xs[::-1].copy()
    backward = run_network(model, [rev]).outputs[0].array
    assert np.count_nonzero(forward != backward[::-1]) > 0
    np.testing.assert_array_equal(
        backward, run_tflm(model.graph, [rev]).outputs[0].reshape(backward.shape)
    )


def test_lstm_cell_clip_changes_the_outputs():
    """The cell clip is exercised: with it the outputs differ from those without, and both
    match TFLite Micro."""
    kw = dict(cell_scale=2.0**-9, in_scale=0.1, w_scale=0.01, steps=4)
    _, _, clipped, theirs_clipped = ours_and_tflm(lstm_model(cell_clip=0.5, **kw), 4)
    _, _, free, theirs_free = ours_and_tflm(lstm_model(**kw), 4)
    np.testing.assert_array_equal(clipped, theirs_clipped)
    np.testing.assert_array_equal(free, theirs_free)
    assert np.count_nonzero(clipped != free) > 0


def test_lstm_quantized_parameters_by_hand():
    """The integer parameters of a model, worked by hand: the gate FCs' scale 0.05 * 0.002 / 2^-12 =
    0.4096 = 0.8192 * 2^-1 (in float32 scales); forget x cell: 2^-15 * s_c / s_c = 2^-15 = 0.5 *
    2^-14; input x cell gate: 2^-30 / 2^-11 = 0.5 * 2^-18; tanh(c) x output gate into the hidden
    state (scale 1/128): 2^-30 * 128 = 0.5 * 2^-22; the folded bias ``b - zp * sum(w)``."""
    spec = import_model(lstm_model()).steps[0].dense
    # the float32 scales exactly, as Fractions: M = round(2 * s_x * s_w * 4096 * 2^31)
    real = Fraction(float(np.float32(0.05))) * Fraction(float(np.float32(0.002))) * 4096
    assert Fraction(1, 4) <= real < Fraction(1, 2)  # so shift -1
    assert (int(spec.in_mult[0]), int(spec.in_shift[0])) == (round(real * 2 * 2**31), -1)
    assert spec.forget_mul == (1 << 30, -14)
    assert spec.input_mul == (1 << 30, -18)
    assert spec.output_mul == (1 << 30, -22)
    assert spec.cell_scale_power == -11
    assert spec.hidden_zp == 5
    model = import_model(lstm_model())
    w = model.graph.tensor(model.steps[0].op.inputs[1]).data.astype(np.int64)
    b = model.graph.tensor(model.steps[0].op.inputs[12]).data.astype(np.int64)
    np.testing.assert_array_equal(spec.in_bias[:4], b + 3 * w.sum(axis=1))  # input zp -3
    wr = model.graph.tensor(model.steps[0].op.inputs[5]).data.astype(np.int64)
    np.testing.assert_array_equal(spec.rec_bias[:4], -5 * wr.sum(axis=1))  # hidden zp 5


@pytest.mark.parametrize(
    "extra, feature",
    [
        ({9: "INT16"}, "peephole"),
        ({16: "INT8"}, "projection"),
        ({20: "INT16"}, "layer norm"),
    ],
)
def test_lstm_variants_tflm_lacks_are_refused_by_name(extra, feature):
    with pytest.raises(
        UnsupportedOpError,
        match=rf"op 0 \(UNIDIRECTIONAL_SEQUENCE_LSTM\): "
        rf"TFLite Micro's integer LSTM kernel has no {feature}",
    ):
        import_model(lstm_model(extra=extra))


def test_lstm_without_input_gate_cifg_is_refused():
    b = ModelBuilder()
    x = b.tensor("x", (1, 2, 3), "INT8", scale=0.05)
    y = b.tensor("y", (1, 2, 2), "INT8", scale=0.05)
    b.op("UNIDIRECTIONAL_SEQUENCE_LSTM", [x] + [-1] * 23, [y], fused_activation="TANH")
    with pytest.raises(UnsupportedOpError, match=r"CIFG"):
        import_model(b.build([x], [y]))


@pytest.mark.rtl
@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_lstm_on_the_rtl(sim):
    from hil.backends.rtl import RtlBackend

    require_simulator(sim)
    data = lstm_model(**CASES["time-major B3, hidden zp -7"])
    with RtlBackend(sim) as rtl:
        model, run, ours, theirs = ours_and_tflm(data, 4, rtl)
    np.testing.assert_array_equal(ours, theirs)
    layer = run.layers[0]
    assert layer.ref_mismatches == 0 and layer.cycles >= layer.beats > 0
