"""The network executor with pluggable dense backends, the three-way check and its report,
and the command line, on a small two-layer model built here."""

from __future__ import annotations

import numpy as np
import pytest

import hil.backends.select as backend_mod
from hil.backends.select import BackendResult, PyrefBackend
from hil.cli import main
from hil.executor import run_network
from hil.inputs import random_inputs
from hil.oracles.tflm import run_tflm
from hil.report import compare_with_oracle, layer_table, verdict
from hil.tflite.build import ModelBuilder
from hil.tflite.importer import import_model
from pyref.model import run_layer

RNG = np.random.default_rng(5)


def two_layer_model() -> bytes:
    """int8 [1,2,6] -> RESHAPE [1,12] -> FC(12->10, RELU) -> FC(10->4) -> DEQUANTIZE."""
    b = ModelBuilder()
    x = b.tensor("x", (1, 2, 6), "INT8", scale=0.05, zero_point=-9)
    shp = b.tensor("shape", (2,), "INT32", data=np.array([1, 12]))
    x2 = b.tensor("x_flat", (1, 12), "INT8", scale=0.05, zero_point=-9)
    w1 = b.tensor("w1", (10, 12), "INT8", scale=0.01, data=RNG.integers(-127, 128, (10, 12)))
    b1 = b.tensor("b1", (10,), "INT32", scale=0.0005, data=RNG.integers(-900, 900, 10))
    h = b.tensor("h", (1, 10), "INT8", scale=0.04, zero_point=-128)
    w2 = b.tensor(
        "w2",
        (4, 10),
        "INT8",
        scale=RNG.uniform(0.005, 0.02, 4),
        data=RNG.integers(-127, 128, (4, 10)),
    )
    b2 = b.tensor("b2", (4,), "INT32", scale=0.0002, data=RNG.integers(-900, 900, 4))
    y = b.tensor("y", (1, 4), "INT8", scale=0.03, zero_point=2)
    yf = b.tensor("y_float", (1, 4), "FLOAT32")
    b.op("RESHAPE", [x, shp], [x2])
    b.op("FULLY_CONNECTED", [x2, w1, b1], [h], fused_activation="RELU")
    b.op("FULLY_CONNECTED", [h, w2, b2], [y])
    b.op("DEQUANTIZE", [y], [yf])
    return b.build([x], [yf])


@pytest.fixture(scope="module")
def model():
    return import_model(two_layer_model(), name="two_layer")


@pytest.fixture(scope="module")
def inputs(model):
    return random_inputs(model, 50, seed=3)


def oracle_check(model, inputs, run):
    dense = [s.dense.output_index for s in model.dense_steps]
    oracle = run_tflm(model.graph, inputs, dense)
    return compare_with_oracle(run, oracle, ["y_float"], dense)


def test_plan_says_where_each_op_runs(model):
    table = {name: (count, where) for name, count, where in model.op_table()}
    assert table["FULLY_CONNECTED"][0] == 2 and table["FULLY_CONNECTED"][1].startswith("datapath")
    assert table["RESHAPE"][1].startswith("software") and table["DEQUANTIZE"][1].startswith(
        "software"
    )
    assert "two_layer: 4 operators, 2 on the datapath" in model.describe_ops()


def test_pyref_run_passes_three_way_check(model, inputs):
    run = run_network(model, inputs, keep_tensors=True)
    checks = oracle_check(model, inputs, run)
    assert [l.tflm_mismatches for l in run.layers] == [0, 0]
    assert checks[0].mismatches == 0 and checks[0].elements == 50 * 4
    v = verdict(run, checks)
    assert v.passed and v.lines[0] == "VERDICT: PASS"
    assert [l.outputs for l in run.layers] == [500, 200]
    assert [(l.n, l.k, l.c) for l in run.layers] == [(50, 12, 10), (50, 10, 4)]
    assert [l.quant for l in run.layers] == ["per-tensor", "per-channel"]
    # beats at 8 lanes: 50*10*ceil(12/8) and 50*4*ceil(10/8)
    assert [l.beats for l in run.layers] == [1000, 400]


class FlipOne:
    """A broken 'RTL': adds 1 to one output of the second layer."""

    name = "flip-one"

    def __init__(self):
        self.calls = 0

    def run(self, layer, config):
        self.calls += 1
        y = run_layer(layer, config).y.copy()
        if self.calls == 2:
            y[7, 2] += 1
        return BackendResult(y=y, cycles=1234 * self.calls, wall=0.0)


def test_a_wrong_backend_is_caught_and_located(model, inputs):
    run = run_network(model, inputs, FlipOne(), keep_tensors=True)
    assert [l.ref_mismatches for l in run.layers] == [0, 1]
    m = run.layers[1].ref_first
    assert (m.row, m.channel, m.got - m.expected) == (7, 2, 1)
    assert [l.cycles for l in run.layers] == [1234, 2468]
    checks = oracle_check(model, inputs, run)
    assert run.layers[1].tflm_mismatches == 1 and checks[0].mismatches == 1
    v = verdict(run, checks)
    assert not v.passed and v.lines[0] == "VERDICT: FAIL"
    assert any("first mismatch at row 7 channel 2" in line for line in v.lines)
    table = layer_table(run)
    assert "2468" in table and "cycles" in table.splitlines()[0]


def test_plain_callable_backend_and_its_output_feeds_the_next_layer(model, inputs):
    seen = []

    def zeros(layer, config):
        seen.append(layer.x.copy())
        return np.zeros((layer.n, layer.c), dtype=np.int64)

    run = run_network(model, inputs, zeros)
    assert run.backend == "zeros"
    assert run.layers[0].ref_mismatches > 0
    # the second layer's input is what the backend returned for the first layer
    assert np.all(seen[1] == 0)


def test_backend_with_wrong_shape_is_an_error(model, inputs):
    with pytest.raises(
        ValueError,
        match=r"backend 'bad' returned y of shape \(50, 9\), "
        r"expected \(N, C\) = \(50, 10\)",
    ):

        def bad(layer, config):
            return np.zeros((layer.n, layer.c - 1), dtype=np.int64)

        run_network(model, inputs, bad)


def test_inputs_of_the_wrong_shape_are_refused(model):
    with pytest.raises(ValueError, match=r"expected shape \(N,\) \+ \(1, 2, 6\)"):
        run_network(model, [np.zeros((4, 12), np.int8)])


def test_cli_run_passes_and_reports(tmp_path, capsys):
    path = tmp_path / "two.tflite"
    path.write_bytes(two_layer_model())
    code = main(["run", str(path), "--n", "20", "--no-progress", "--backend", "pyref"])
    out = capsys.readouterr().out
    assert code == 0
    assert "VERDICT: PASS" in out and "FULLY_CONNECTED    x2" in out
    assert "layers vs TFLite Micro: 0 mismatches in 280 outputs over 2 layers" in out


def test_cli_without_rtl_backend_says_so(tmp_path, capsys, monkeypatch):
    import hil.backends.rtl

    def unavailable(**kw):
        raise backend_mod.BackendUnavailable("RTL backend: unavailable (no simulator in this test)")

    monkeypatch.setattr(hil.backends.rtl, "make_backend", unavailable)
    path = tmp_path / "two.tflite"
    path.write_bytes(two_layer_model())
    assert main(["run", str(path), "--n", "3", "--no-progress", "--no-oracle"]) == 0
    assert "RTL backend: unavailable" in capsys.readouterr().out
    assert main(["run", str(path), "--n", "3", "--no-progress", "--backend", "rtl"]) == 2
    assert "error: RTL backend: unavailable" in capsys.readouterr().err


def test_cli_refuses_unsupported_model(tmp_path, capsys):
    b = ModelBuilder()
    x = b.tensor("x", (1, 4), "INT8", scale=0.1, zero_point=0)
    y = b.tensor("y", (1, 4), "INT8", scale=0.1, zero_point=0)
    b.op("ELU", [x], [y])
    path = tmp_path / "elu.tflite"
    path.write_bytes(b.build([x], [y]))
    assert main(["run", str(path), "--no-progress"]) == 2
    assert "unsupported operator ELU (op 0)" in capsys.readouterr().err


def test_pyref_backend_reports_saturation(model, inputs):
    res = PyrefBackend().run(
        import_model(two_layer_model())
        .dense_steps[0]
        .dense.layer(inputs[0].reshape(50, 12).astype(np.int64)),
        model.config,
    )
    assert res.saturated is not None and res.saturated.shape == (50, 10) and res.cycles is None


def test_overflow_clamps_leave_out_the_activations_own_clamp():
    """``beyond act.``: a clamp at 127 (or, without a lower-bound activation, at -128) is
    overflow; a ReLU's clamp at its zero point -128, or a RELU6 clamp at 6, is the activation's."""
    from hil.executor import overflow_clamps
    from pyref.config import named_config
    from pyref.layer import Layer

    cfg = named_config("tflite")
    full = Layer.build(
        cfg, [[1]], [[1], [1], [1]], mult=1 << 30, shift=0, act_min=-128, act_max=127
    )
    y, sat = np.array([[127, -128, 5]]), np.array([[True, True, False]])
    assert overflow_clamps(y, sat, full, cfg, "NONE") == 2
    assert overflow_clamps(y, sat, full, cfg, "RELU") == 1
    relu6 = Layer.build(cfg, [[1]], [[1], [1], [1]], mult=1 << 30, shift=0, act_min=-128, act_max=6)
    assert (
        overflow_clamps(
            np.array([[6, -128, 6]]), np.array([[True, True, True]]), relu6, cfg, "RELU6"
        )
        == 0
    )
