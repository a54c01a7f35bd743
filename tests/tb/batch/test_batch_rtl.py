"""The batch transport on the real RTL: it passes on the clean datapath, with idle gaps,
back-pressure and mid-job resets, and it is exactly as strict as the per-cycle transport:
every fault of the fault table (:mod:`tb.shared.faults`, the table the per-cycle regression runs) is
caught in batch mode too.

The fault sweep runs on Icarus in ``make test``: the faults a run-time selector can guard on
the fault schema (tests/fault_schema.py: one build and one simulator session per config and
worker), the others on their own faulted copy; the same sweep on Verilator, every fault on its
own copy, is marked ``slow`` (a build per fault).
"""

from __future__ import annotations

import dataclasses

import pytest
from fault_schema import FaultRuns
from sim_skip import require_simulator

from tb.run.runner import run_sim
from tb.shared.faults import FAULTS, apply_fault, fault_by_name
from tb.shared.job import SimJob

pytestmark = pytest.mark.rtl

FAULT_JOBS = 600
"""Enough jobs that every directed stimulus kind (ties, clamp edges, overflow ...) is in."""


def batch_job(
    config,
    name: str,
    sim: str,
    n: int,
    *,
    seed: int = 7,
    resets: int = 2,
    idle: str = "bursts",
    ready: str = "mixed",
) -> SimJob:
    return SimJob(
        config=config.to_dict(),
        config_name=name,
        sim=sim,
        seed=seed,
        n=n,
        mode="batch",
        idle=idle,
        ready=ready,
        resets=resets,
    )


@pytest.mark.parametrize("sim", ["verilator", "icarus"])
def test_batch_mode_passes_clean_rtl(sim, tmp_path):
    require_simulator(sim)
    from pyref.config import named_config

    job = batch_job(
        named_config("default"), "default", sim, 3000 if sim == "verilator" else 800, resets=3
    )
    res = run_sim(job, test_dir=tmp_path)
    rep = res.report
    assert rep.passed, (rep.error, rep.details[:2])
    # Every job is either checked or was dropped by one of the three mid-job resets.
    assert rep.outputs_checked + rep.dropped_by_reset == job.n
    assert rep.resets == 3 and 3 <= rep.dropped_by_reset
    assert rep.events["out_stall"] > 0 and rep.events["in_stall"] > 0
    assert rep.events["idle_gap"] > 0
    assert rep.events["exact_after_reset"] == 3
    assert rep.cycles > rep.beats  # idle gaps and stalls cost cycles


def fault_job(fault, sim: str) -> SimJob:
    return batch_job(fault.qmac_config(), f"fault-{fault.name}", sim, FAULT_JOBS, resets=6)


def check_fault_caught(fault, sim: str, tmp_path, runs: FaultRuns) -> None:
    rep = runs.run(fault, fault_job(fault, sim), tmp_path)
    assert not rep.passed, f"fault {fault.name} ({fault.what}) was not caught in batch mode"
    # Caught the way the per-cycle regression catches it: the scoreboard's first mismatch is
    # of a kind the fault table names (a handshake or timing failure may come on top).
    assert rep.details or rep.error, "failed without saying where"
    if rep.details:
        first = rep.details[0]
        assert first["kind"] in fault.caught_by, (fault.name, first["kind"], first["message"])
        assert first["cycle"] is not None and first["message"]
    if rep.error:
        assert "cycle" in rep.error and "job" in rep.error, rep.error


BY_CONFIG = sorted(FAULTS, key=lambda f: (f.config, f.overrides))
"""The faults, those of one config together (most of a config's faults in one session)."""


@pytest.mark.parametrize("fault", BY_CONFIG, ids=lambda f: f.name)
def test_batch_mode_catches_fault_icarus(fault, tmp_path, fault_runs):
    require_simulator("icarus")
    check_fault_caught(fault, "icarus", tmp_path, fault_runs)


@pytest.mark.slow
@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.name)
def test_batch_mode_catches_fault_verilator(fault, tmp_path, fault_runs):
    require_simulator("verilator")
    check_fault_caught(fault, "verilator", tmp_path, fault_runs)  # on its own copy


SCHEMA_CONFIGS = {(f.config, f.overrides): f.qmac_config() for f in FAULTS}


@pytest.mark.parametrize(
    "key",
    list(SCHEMA_CONFIGS),
    ids=[f"{c}{''.join(f'-{k}{v}' for k, v in o)}" for c, o in SCHEMA_CONFIGS],
)
def test_batch_schema_at_selector_0_passes(key, tmp_path, fault_runs):
    """The fault schema at selector 0, in batch mode, passes under every config of the table
    (the unmutated copy's check below runs the first one)."""
    require_simulator("icarus")
    job = batch_job(SCHEMA_CONFIGS[key], "schema", "icarus", FAULT_JOBS, resets=6)
    assert fault_runs.on_schema(None, job)
    rep = fault_runs.run(None, job, tmp_path)
    assert rep.passed, (rep.error, rep.details[:2])
    assert rep.outputs_checked + rep.dropped_by_reset == FAULT_JOBS and rep.resets == 6


def test_batch_schema_fault_matches_its_own_build(tmp_path, fault_runs):
    """Run in the schema's batch session (after another job), a fault gives the report of its
    own faulted copy in a simulation of its own: verdict, mismatch counts, every mismatch's job,
    kind and message; its cycles count on from the session's earlier jobs, so those are compared
    from the first mismatch."""
    require_simulator("icarus")
    fault = fault_by_name("fp32_product_tie_away")
    job = dataclasses.replace(fault_job(fault, "icarus"), max_mismatches=100_000)
    assert fault_runs.on_schema(fault, job)
    fault_runs.run(None, job, tmp_path / "before")  # not the session's first job
    on_schema = fault_runs.run(fault, job, tmp_path / "schema")
    rtl = apply_fault(fault, tmp_path / "rtl")
    alone = run_sim(
        job, rtl_dir=rtl, test_dir=tmp_path / "run", build_root=tmp_path / "build"
    ).report
    assert not alone.passed and alone.mismatches >= 2, alone.mismatch_counts
    assert on_schema.passed == alone.passed and on_schema.error == alone.error
    assert on_schema.mismatch_counts == alone.mismatch_counts
    assert on_schema.mismatches == alone.mismatches
    assert on_schema.outputs_checked == alone.outputs_checked and on_schema.beats == alone.beats
    assert on_schema.cycles == alone.cycles

    def seen(rep):
        c0 = rep.details[0]["cycle"]
        return [(m["job"], m["kind"], m["cycle"] - c0, m["message"]) for m in rep.details]

    assert seen(on_schema) == seen(alone)


def test_batch_mode_unmutated_copy_passes(tmp_path):
    """The fault runs' harness itself (RTL copied, resets, patterns) passes without a fault."""
    require_simulator("icarus")
    rtl = apply_fault(None, tmp_path / "rtl")
    cfg = FAULTS[0].qmac_config()
    job = batch_job(cfg, "copy", "icarus", FAULT_JOBS, resets=6)
    rep = run_sim(job, rtl_dir=rtl, test_dir=tmp_path / "run", build_root=tmp_path / "build").report
    assert rep.passed, (rep.error, rep.details[:2])


def test_both_transports_play_the_orphan_beats(tmp_path):
    """After a mid-job reset both transports play the rest of the cut job (its orphan beats):
    every beat of the stimulus goes in on both, the same orphans, and the clean RTL drops them."""
    require_simulator("icarus")
    from pyref.config import named_config
    from tb.shared.prepare import prepare

    cfg = named_config("default")
    reps = {}
    for mode in ("cycle", "batch"):
        job = SimJob(
            config=cfg.to_dict(),
            config_name="default",
            sim="icarus",
            seed=5,
            n=300,
            mode=mode,
            idle="bursts",
            ready="mixed",
            resets=3,
        )
        reps[mode] = run_sim(job, test_dir=tmp_path / mode).report
        assert reps[mode].passed, (mode, reps[mode].error, reps[mode].details[:2])
    session = prepare(job)
    stim = session.stim
    orphans = sum(int(stim.beats_per_job[j]) - 1 for j in session.cut_jobs)
    assert len(session.cut_jobs) == 3 and orphans >= 3
    for mode, rep in reps.items():
        assert rep.beats == stim.n_beats, mode
        assert rep.events["orphan_beats"] == orphans, mode
        assert rep.resets == 3 and rep.events["exact_after_reset"] == 3, mode
