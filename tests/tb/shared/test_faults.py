"""A wrong RTL is caught: each fault of tb.shared.faults.FAULTS, applied alone, makes the
testbench fail and say where; the unmutated copy passes under the same configs.

Icarus with a few hundred outputs per fault; the run stops at the first failures. The faults a
run-time selector can guard run on the fault schema (tests/fault_schema.py: one build per config,
one simulator session per config and worker, the fault picked by the selector); the others on
their own faulted copy of rtl/. The schema is checked here too: at selector 0 it passes like the
copy, and a sample of faults gives exactly the report of its stand-alone build.
"""

from __future__ import annotations

import pytest
from fault_schema import fault_mutant, fault_schema
from sim_skip import require_simulator

from tb.run.build import RTL_DIR, config_name
from tb.run.runner import run_sim
from tb.shared.faults import FAULTS, apply_fault, fault_by_name
from tb.shared.job import SimJob
from tb.shared.scoreboard import format_mismatch

pytestmark = pytest.mark.rtl

SIM = "icarus"
BY_CONFIG = sorted(FAULTS, key=lambda f: (f.config, f.overrides))
"""The faults, those of one config together: an xdist worker then runs most of a config's
faults in one simulator session."""
N = 400
SEED = 11


def _job(cfg, max_mismatches=3) -> SimJob:
    return SimJob(
        config=cfg.to_dict(),
        config_name=config_name(cfg),
        sim=SIM,
        seed=SEED,
        n=N,
        mode="cycle",
        idle="mixed",
        ready="mixed",
        resets=2,
        max_mismatches=max_mismatches,
    )


def _run(rtl_dir, cfg, tmp_path, max_mismatches=3):
    require_simulator(SIM)
    job = _job(cfg, max_mismatches)
    return run_sim(
        job, rtl_dir=rtl_dir, build_root=tmp_path / "build", test_dir=tmp_path / "run"
    ).report


@pytest.mark.parametrize("fault", BY_CONFIG, ids=[f.name for f in BY_CONFIG])
def test_fault_is_caught(fault, tmp_path, fault_runs):
    require_simulator(SIM)
    rtl = apply_fault(fault, tmp_path / "rtl")
    original = (RTL_DIR / fault.file).read_text()
    mutated = (rtl / fault.file).read_text()
    for find, replace in fault.subs:
        assert original.count(find) == 1, f"{fault.name}: {find!r} not in rtl/{fault.file}"
    assert mutated != original
    assert (RTL_DIR / fault.file).read_text() == original  # rtl/ itself untouched
    # What the schema's selector switches to is this faulted text.
    assert fault_mutant(fault).apply(original) == mutated
    rep = fault_runs.run(fault, _job(fault.qmac_config()), tmp_path / "sel")
    assert not rep.passed, f"fault {fault.name} ({fault.what}) was not caught"
    first = rep.details[0]
    print(f"{fault.name}: caught as {rep.mismatch_counts}\n{format_mismatch(first)}")
    assert first["kind"] in fault.caught_by, (fault.name, first)
    assert first["cycle"] is not None and first["message"]  # says where
    if first["job"] is not None:
        assert first["inputs"]["K"] >= 1 and "x" in first["inputs"]


BASELINES = {(f.config, f.overrides): f.qmac_config() for f in FAULTS}


@pytest.mark.parametrize(
    "key", list(BASELINES), ids=[f"{c}{''.join(f'-{k}{v}' for k, v in o)}" for c, o in BASELINES]
)
def test_unmutated_copy_passes(key, tmp_path):
    rtl = apply_fault(None, tmp_path / "rtl")
    rep = _run(rtl, BASELINES[key], tmp_path)
    assert rep.passed, [m["message"] for m in rep.details]


@pytest.mark.parametrize(
    "key", list(BASELINES), ids=[f"{c}{''.join(f'-{k}{v}' for k, v in o)}" for c, o in BASELINES]
)
def test_schema_at_selector_0_passes(key, tmp_path, fault_runs):
    """The fault schema with its selector at 0 (the harness the faults it holds run in) passes
    where the unmutated copy does."""
    require_simulator(SIM)
    job = _job(BASELINES[key])
    assert fault_runs.on_schema(None, job)
    rep = fault_runs.run(None, job, tmp_path)
    assert rep.passed, [m["message"] for m in rep.details]
    assert rep.outputs_checked + rep.dropped_by_reset == N and rep.resets == 2


def test_schema_holds_most_faults():
    """The faults a selector can guard are in the schema (a schema that silently held none
    would only make the runs slow); the ones left out change a parameter, a localparam, a port
    connection, a generate loop or a declaration, where no run-time selector can go."""
    require_simulator(SIM)
    held = set(fault_schema().selectors)
    assert held <= {f.name for f in FAULTS}
    assert {"clamp_low", "sat_flag", "backpressure", "reset_in_job", "fp32_exponent"} <= held
    assert not held & {"bias_load", "acc_saturates_in_wrap_mode", "reset_in_flight"}
    assert len(held) >= 25, sorted(held)


@pytest.mark.parametrize("name", ["clamp_low", "reset_in_job"])
def test_schema_fault_matches_its_own_build(name, tmp_path, fault_runs):
    """Run in the schema's session (after other jobs), a fault gives the report its own
    faulted copy gives in a simulation of its own: the same verdict, mismatch counts and
    mismatches (job, cycle, kind, message), all of them (no stop at the first three)."""
    require_simulator(SIM)
    fault = fault_by_name(name)
    job = _job(fault.qmac_config(), max_mismatches=100_000)
    assert fault_runs.on_schema(fault, job)
    fault_runs.run(None, job, tmp_path / "before")  # not the session's first job
    on_schema = fault_runs.run(fault, job, tmp_path / "schema")
    alone = _run(apply_fault(fault, tmp_path / "rtl"), fault.qmac_config(), tmp_path, 100_000)
    assert not alone.passed and alone.mismatches >= 2, alone.mismatch_counts
    assert on_schema.passed == alone.passed and on_schema.error == alone.error
    assert on_schema.mismatch_counts == alone.mismatch_counts
    assert on_schema.mismatches == alone.mismatches
    assert on_schema.outputs_checked == alone.outputs_checked
    assert on_schema.cycles == alone.cycles and on_schema.beats == alone.beats
    keys = ("job", "cycle", "kind", "message")
    assert [{k: m[k] for k in keys} for m in on_schema.details] == [
        {k: m[k] for k in keys} for m in alone.details
    ]
