"""The batch transport (the one ``make sim`` runs) on every named config and both simulators,
with the same bar as the per-cycle regression (tests/tb/cycle/test_rtl.py): every output checked
against pyref, every reachable coverage bin hit, mixed handshake patterns and mid-job resets.

Each case prints its seed and the ``make sim`` command that repeats it (``QMAC_SEED`` picks
other seeds).
"""

from __future__ import annotations

import os
import zlib

import pytest
from sim_skip import require_simulator

from pyref.config import NAMED_CONFIGS
from tb.cli.report import format_summary
from tb.cli.sim import repro_command
from tb.run.runner import run_sim
from tb.run.toolchain import SIMULATORS
from tb.shared.job import SimJob

pytestmark = pytest.mark.rtl

BATCH_N = 700
"""Outputs per case, as in the per-cycle regression."""


def case_seed(sim: str, name: str) -> int:
    base = int(os.environ.get("QMAC_SEED", "2024"))
    return (zlib.crc32(f"batch/{sim}/{name}".encode()) ^ base) & 0x7FFFFFFF


@pytest.mark.parametrize("name", list(NAMED_CONFIGS))
@pytest.mark.parametrize("sim", SIMULATORS)
def test_batch_matches_pyref(sim, name, tmp_path):
    require_simulator(sim)
    cfg = NAMED_CONFIGS[name]
    job = SimJob(
        config=cfg.to_dict(),
        config_name=name,
        sim=sim,
        seed=case_seed(sim, name),
        n=BATCH_N,
        mode="batch",
        idle="mixed",
        ready="mixed",
        resets=2,
    )
    job.repro = repro_command(job, name, {})
    print(f"batch {sim}/{name}: seed {job.seed}; reproduce with: {job.repro}")
    result = run_sim(job, test_dir=tmp_path)
    summary = format_summary(result, job, show_bins=True)
    print(summary)
    rep = result.report
    assert rep.passed, summary
    assert rep.outputs_checked >= BATCH_N - 20, summary
    holes = rep.coverage_report().holes
    assert not holes, f"coverage bins reachable for {name} but empty: {holes}\n{summary}"
    assert rep.events["out_stall"] > 0 and rep.events["in_stall"] > 0, summary
