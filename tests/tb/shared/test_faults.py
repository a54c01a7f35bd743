"""A wrong RTL is caught: each fault of tb.shared.faults.FAULTS, applied alone to a copy of
rtl/, makes the testbench fail and say where; the unmutated copy passes under the same configs.

Icarus (compiles in about a second) with a few hundred outputs per fault; the run stops at
the first failures.
"""

from __future__ import annotations

import pytest
from sim_skip import require_simulator

from tb.run.build import RTL_DIR, config_name
from tb.run.runner import run_sim
from tb.shared.faults import FAULTS, apply_fault
from tb.shared.job import SimJob
from tb.shared.scoreboard import format_mismatch

pytestmark = pytest.mark.rtl

SIM = "icarus"
N = 400
SEED = 11


def _run(rtl_dir, cfg, tmp_path, max_mismatches=3):
    require_simulator(SIM)
    job = SimJob(
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
    return run_sim(
        job, rtl_dir=rtl_dir, build_root=tmp_path / "build", test_dir=tmp_path / "run"
    ).report


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_fault_is_caught(fault, tmp_path):
    rtl = apply_fault(fault, tmp_path / "rtl")
    original = (RTL_DIR / fault.file).read_text()
    mutated = (rtl / fault.file).read_text()
    for find, replace in fault.subs:
        assert original.count(find) == 1, f"{fault.name}: {find!r} not in rtl/{fault.file}"
    assert mutated != original
    assert (RTL_DIR / fault.file).read_text() == original  # rtl/ itself untouched
    rep = _run(rtl, fault.qmac_config(), tmp_path)
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
