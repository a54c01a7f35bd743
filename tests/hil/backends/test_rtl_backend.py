"""Hardware in the loop on the real RTL: a two-layer int8 model (built here) with every dense
layer on the Verilog, checked against TFLite Micro; a faulty RTL is caught and its wrong outputs
are what the backend hands on, and pyref runs once per layer."""

from __future__ import annotations

import numpy as np
import pytest
from sim_skip import require_simulator

from hil.backends.rtl import RtlBackend
from hil.backends.select import PyrefBackend
from hil.cli import main
from hil.executor import run_network
from hil.inputs import random_inputs
from hil.oracles.tflm import run_tflm
from hil.report import compare_with_oracle, layer_table, verdict
from hil.tflite.build import ModelBuilder
from hil.tflite.importer import import_model
from tb.shared.faults import apply_fault, fault_by_name

pytestmark = pytest.mark.rtl

N_INPUTS = 40


def two_fc_model() -> bytes:
    """int8 [1,20] -> FC(20->12, RELU, per-tensor) -> FC(12->5, per-channel) -> int8 [1,5].

    K = 20 and 12 at 8 lanes: 3 and 2 beats a job, the last one padded."""
    rng = np.random.default_rng(11)
    b = ModelBuilder()
    x = b.tensor("x", (1, 20), "INT8", scale=0.06, zero_point=5)
    w1 = b.tensor("w1", (12, 20), "INT8", scale=0.012, data=rng.integers(-127, 128, (12, 20)))
    b1 = b.tensor("b1", (12,), "INT32", scale=0.06 * 0.012, data=rng.integers(-2000, 2000, 12))
    h = b.tensor("h", (1, 12), "INT8", scale=0.05, zero_point=-128)
    s_w2 = rng.uniform(0.004, 0.03, 5)
    w2 = b.tensor("w2", (5, 12), "INT8", scale=s_w2, data=rng.integers(-127, 128, (5, 12)))
    b2 = b.tensor("b2", (5,), "INT32", scale=0.05 * s_w2, data=rng.integers(-3000, 3000, 5))
    y = b.tensor("y", (1, 5), "INT8", scale=0.07, zero_point=-3)
    b.op("FULLY_CONNECTED", [x, w1, b1], [h], fused_activation="RELU")
    b.op("FULLY_CONNECTED", [h, w2, b2], [y])
    return b.build([x], [y])


@pytest.fixture(scope="module")
def model():
    return import_model(two_fc_model(), name="two_fc")


@pytest.fixture(scope="module")
def inputs(model):
    return random_inputs(model, N_INPUTS, seed=4)


def run_and_check(model, inputs, backend):
    run = run_network(model, inputs, backend, keep_tensors=True)
    dense = [s.dense.output_index for s in model.dense_steps]
    oracle = run_tflm(model.graph, inputs, dense)
    checks = compare_with_oracle(run, oracle, ["y"], dense)
    return run, checks


@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_two_layer_model_on_the_rtl_equals_tflite_micro(sim, model, inputs, capsys, monkeypatch):
    require_simulator(sim)

    def second_pyref_run(self, layer, config):
        raise AssertionError("pyref ran again: the RTL backend's prediction should be reused")

    monkeypatch.setattr(PyrefBackend, "run", second_pyref_run)
    with RtlBackend(sim, model.config) as rtl:
        run, checks = run_and_check(model, inputs, rtl)
        assert rtl.session.runs == 2  # both layers in the one simulator process
    assert [l.quant for l in run.layers] == ["per-tensor", "per-channel"]
    assert [(l.n, l.k, l.c) for l in run.layers] == [(N_INPUTS, 20, 12), (N_INPUTS, 12, 5)]
    assert [l.ref_mismatches for l in run.layers] == [0, 0]
    assert [l.tflm_mismatches for l in run.layers] == [0, 0]
    assert checks[0].elements == N_INPUTS * 5 and checks[0].mismatches == 0
    # Full rate: one beat per clock (40*12*3 and 40*5*2 beats), plus the pipeline latency and
    # the few idle and drain cycles of one batch.
    assert [l.beats for l in run.layers] == [1440, 400]
    for l in run.layers:
        assert l.beats <= l.cycles <= l.beats + 64, (l.beats, l.cycles)
    # The saturation flags came from the RTL's out_sat_o: the ReLU layer clamps some outputs.
    assert run.layers[0].saturated > 0
    assert verdict(run, checks).passed
    assert "RTL: " + sim in capsys.readouterr().out


def test_a_faulty_rtl_is_caught_and_its_outputs_are_handed_on(model, inputs, tmp_path, capsys):
    """The bias is loaded on a job's last beat instead of its first: every multi-beat job goes
    wrong. The backend returns the RTL's (wrong) outputs; the table and the verdict show it."""
    require_simulator("icarus")
    rtl_dir = apply_fault(fault_by_name("bias_load"), tmp_path / "rtl")
    with RtlBackend("icarus", rtl_dir=rtl_dir, build_root=tmp_path / "build") as rtl:
        run, checks = run_and_check(model, inputs, rtl)
    first = run.layers[0]
    assert first.ref_mismatches > 0
    assert first.tflm_mismatches == first.ref_mismatches  # pyref and TFLite Micro agree
    assert first.ref_first.got != first.ref_first.expected
    assert checks[0].mismatches > 0
    v = verdict(run, checks)
    assert not v.passed and v.lines[0] == "VERDICT: FAIL"
    assert f"{first.ref_mismatches}" in layer_table(run).splitlines()[2]
    out = capsys.readouterr().out
    # The testbench's own report of the same mismatches: count, job and cycle, inputs.
    assert "RTL layer 0 (40 x 20 -> 12): " in out
    assert f"'value': {first.ref_mismatches}" in out.split("RTL layer 1")[0]
    assert "[value] job " in out and "(cycle " in out and "inputs   vectors job, K = 20" in out
    assert "replay: make sim VECTORS=" in out and f"RTL={rtl_dir}" in out


def test_cli_runs_the_model_on_the_rtl(model, tmp_path, capsys):
    require_simulator("icarus")
    path = tmp_path / "two_fc.tflite"
    path.write_bytes(two_fc_model())
    code = main(
        ["run", str(path), "--n", "10", "--sim", "icarus", "--backend", "rtl", "--no-progress"]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "backend: rtl (icarus, batch transport)" in out
    assert "RTL: 460 beats to simulate on icarus" in out  # 10*12*3 + 10*5*2
    assert "rtl vs pyref: 0 mismatches in 170 outputs over 2 layers" in out
    assert "VERDICT: PASS" in out


def test_cli_refuses_an_rtl_folder_without_verilog(tmp_path, capsys):
    """An explicit --rtl never falls back to pyref."""
    path = tmp_path / "two_fc.tflite"
    path.write_bytes(two_fc_model())
    (tmp_path / "empty").mkdir()
    assert (
        main(["run", str(path), "--n", "2", "--rtl", str(tmp_path / "empty"), "--no-progress"]) == 2
    )
    assert "not a folder of Verilog files" in capsys.readouterr().err
