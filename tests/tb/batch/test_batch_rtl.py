"""The batch transport on the real RTL: it passes on the clean datapath, with idle gaps,
back-pressure and mid-job resets, and it is exactly as strict as the per-cycle transport:
every fault of the fault table (:mod:`tb.shared.faults`, the table the per-cycle regression runs) is
caught in batch mode too.

The fault sweep runs on Icarus in ``make test`` (its builds take a second); the same sweep on
Verilator is marked ``slow`` (a build per fault).
"""

from __future__ import annotations

import pytest
from sim_skip import require_simulator

from tb.run.runner import run_sim
from tb.shared.faults import FAULTS, apply_fault
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


def check_fault_caught(fault, sim: str, tmp_path) -> None:
    rtl = apply_fault(fault, tmp_path / "rtl")
    job = batch_job(fault.qmac_config(), f"fault-{fault.name}", sim, FAULT_JOBS, resets=6)
    rep = run_sim(job, rtl_dir=rtl, test_dir=tmp_path / "run", build_root=tmp_path / "build").report
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


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.name)
def test_batch_mode_catches_fault_icarus(fault, tmp_path):
    require_simulator("icarus")
    check_fault_caught(fault, "icarus", tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.name)
def test_batch_mode_catches_fault_verilator(fault, tmp_path):
    require_simulator("verilator")
    check_fault_caught(fault, "verilator", tmp_path)


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
