"""SVDF (int8, with int8 or int16 state and time weights): both matrix stages on the datapath
(pyref here, the RTL below), the state carried across invokes as TFLite Micro carries it; checked
bit for bit against the TFLite Micro interpreter."""

from __future__ import annotations

import numpy as np
import pytest
from sim_skip import require_simulator

from hil.executor import run_network
from hil.oracles.tflm import run_tflm
from hil.tflite.build import ModelBuilder
from hil.tflite.importer import import_model


def svdf_model(
    *,
    batch=1,
    k=10,
    filters=8,
    rank=2,
    memory=5,
    state_type="INT16",
    time_type="INT16",
    state_scale=0.02,
    state_zp=0,
    time_scale=0.00005,
    out_scale=0.05,
    seed=0,
) -> bytes:
    rng = np.random.default_rng(seed)
    units = filters // rank
    b = ModelBuilder()
    x = b.tensor("x", (batch, k), "INT8", scale=0.05, zero_point=-3)
    wf = b.tensor(
        "wf", (filters, k), "INT8", scale=0.01, data=rng.integers(-127, 128, (filters, k))
    )
    hi = 8192 if time_type == "INT16" else 127
    wt = b.tensor(
        "wt",
        (filters, memory),
        time_type,
        scale=time_scale,
        data=rng.integers(-hi, hi + 1, (filters, memory)),
    )
    bias = b.tensor(
        "bias",
        (units,),
        "INT32",
        scale=np.float32(state_scale) * np.float32(time_scale),
        data=rng.integers(-20000, 20000, units),
    )
    state = b.tensor(
        "state",
        (batch, memory * filters),
        state_type,
        scale=state_scale,
        zero_point=state_zp,
        variable=True,
    )
    y = b.tensor("y", (batch, units), "INT8", scale=out_scale, zero_point=2)
    b.op("SVDF", [x, wf, wt, bias, state], [y], rank=rank)
    return b.build([x], [y])


CASES = {
    "int16 state, rank 2": dict(),
    "int8 state and time weights": dict(
        state_type="INT8",
        time_type="INT8",
        state_scale=0.05,
        state_zp=4,
        time_scale=0.01,
        out_scale=0.3,
    ),
    "batch 2, rank 1": dict(batch=2, rank=1, filters=6, memory=3, out_scale=0.03),
}


def ours_and_tflm(data: bytes, n: int, backend=None):
    model = import_model(data)
    xs = (
        np.random.default_rng(1)
        .integers(-128, 128, size=(n,) + model.graph.tensor(model.graph.inputs[0]).shape)
        .astype(np.int8)
    )
    run = run_network(model, [xs], backend)
    ours = run.outputs[0].array
    return model, run, ours, run_tflm(model.graph, [xs]).outputs[0].reshape(ours.shape)


@pytest.mark.parametrize("case", sorted(CASES))
def test_svdf_matches_tflm_over_a_sequence(case):
    # 12 invokes: the state fills up (memory 5 or 3) and then slides
    model, run, ours, theirs = ours_and_tflm(svdf_model(**CASES[case]), 12)
    assert [s.where for s in model.steps] == ["datapath"]
    np.testing.assert_array_equal(ours, theirs)
    inside = np.count_nonzero((theirs > -128) & (theirs < 127))
    assert inside > theirs.size // 2  # mostly unclamped
    assert run.layers[0].outputs == theirs.size


def test_svdf_state_order_matters():
    """The same inputs in another order give other outputs: the state is really carried."""
    model = import_model(svdf_model())
    xs = np.random.default_rng(2).integers(-128, 128, size=(6, 1, 10)).astype(np.int8)
    forward = run_network(model, [xs]).outputs[0].array
    backward = run_network(model, [xs[::-1].copy()]).outputs[0].array[::-1]
    assert np.count_nonzero(forward != backward) > 0
    np.testing.assert_array_equal(
        forward, run_tflm(model.graph, [xs]).outputs[0].reshape(forward.shape)
    )


@pytest.mark.rtl
@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_svdf_on_the_rtl(sim):
    from hil.backends.rtl import RtlBackend

    require_simulator(sim)
    data = svdf_model(**CASES["int8 state and time weights"])
    with RtlBackend(sim) as rtl:
        _, run, ours, theirs = ours_and_tflm(data, 10, rtl)
    np.testing.assert_array_equal(ours, theirs)
    assert run.layers[0].ref_mismatches == 0 and run.layers[0].cycles >= run.layers[0].beats


def test_missing_operator_is_refused_by_name():
    """BIDIRECTIONAL_SEQUENCE_LSTM is not implemented: the model is refused before anything
    runs, naming the operator and its index."""
    from hil.kernels.base import UnsupportedOpError

    b = ModelBuilder()
    x = b.tensor("x", (1, 3, 4), "INT8", scale=0.05, zero_point=0)
    y = b.tensor("y", (1, 3, 2), "INT8", scale=0.05, zero_point=0)
    b.op("BIDIRECTIONAL_SEQUENCE_LSTM", [x], [y])
    with pytest.raises(
        UnsupportedOpError,
        match=r"unsupported operator "
        r"BIDIRECTIONAL_SEQUENCE_LSTM \(op 0\)",
    ):
        import_model(b.build([x], [y]))


def test_float_svdf_is_refused_naming_the_tensor():
    from hil.kernels.base import UnsupportedOpError

    b = ModelBuilder()
    x = b.tensor("x", (1, 4), "FLOAT32")
    wf = b.tensor("wf", (2, 4), "FLOAT32", data=np.ones((2, 4)))
    wt = b.tensor("wt", (2, 3), "FLOAT32", data=np.ones((2, 3)))
    bias = b.tensor("bias", (2,), "FLOAT32", data=np.zeros(2))
    st = b.tensor("state", (1, 6), "FLOAT32", variable=True)
    y = b.tensor("y", (1, 2), "FLOAT32")
    b.op("SVDF", [x, wf, wt, bias, st], [y], rank=1)
    with pytest.raises(UnsupportedOpError, match=r"op 0 \(SVDF\): input tensor 'x' is FLOAT32"):
        import_model(b.build([x], [y]))
