"""The soak driver (soak/): random configs are valid and span the modes, the plan splits the
outputs exactly, and a tiny soak on Icarus checks every output it plans."""

from __future__ import annotations

import re

import numpy as np
import pytest

from pyref.config import ACC_MODES, ROUNDING_MODES, QmacConfig
from soak.cli import main, plan
from soak.random_config import random_config


def test_random_configs_are_valid_and_span_the_modes():
    rng = np.random.default_rng(1)
    cfgs = [random_config(rng) for _ in range(1000)]
    for c in cfgs:
        assert QmacConfig.from_dict(c.to_dict()) == c  # passes pyref's validation again
    assert {c.rounding for c in cfgs} == set(ROUNDING_MODES)
    assert {c.acc_mode for c in cfgs} == set(ACC_MODES)
    assert {c.in_signed for c in cfgs} == {True, False}
    assert {c.mult_bits == 0 for c in cfgs} == {True, False}
    assert min(c.lanes for c in cfgs) == 1 and max(c.lanes for c in cfgs) == 64
    assert max(c.acc_bits for c in cfgs) == 64 and min(c.out_bits for c in cfgs) == 2


def test_plan_splits_the_outputs_exactly():
    runs = plan(1_000_001, 5, ["verilator", "icarus"], 0.03, 200_000)
    assert sum(n for _, _, n, _ in runs) == 1_000_001
    assert sum(n for s, _, n, _ in runs if s == "icarus") == 30_000
    assert max(n for s, _, n, _ in runs if s == "icarus") == 10_000
    assert max(n for s, _, n, _ in runs if s == "verilator") == 200_000
    assert plan(1000, 5, ["verilator", "icarus"], 0.03, 200_000) == plan(
        1000, 5, ["verilator", "icarus"], 0.03, 200_000
    )  # the seed repeats it


def test_bad_options_are_named(capsys):
    assert main(["SIMS=modelsim"]) == 2
    assert "SIMS" in capsys.readouterr().err
    assert main(["N=0"]) == 2
    assert "N = 0" in capsys.readouterr().err


@pytest.mark.rtl
def test_tiny_soak_on_icarus(tmp_path, capsys):
    from sim_skip import require_simulator

    require_simulator("icarus")
    rc = main(["N=400", "SEED=4", "SIMS=icarus", "PER_RUN=4000", "JOBS=2", f"WORK={tmp_path}"])
    out = capsys.readouterr().out
    assert rc == 0, out
    total = re.search(r"total\s+(\d+) outputs checked, (\d+) mismatches, (\d+) configs", out)
    # Two runs of 200 planned outputs; a mid-job reset drops the few in flight.
    assert total and int(total.group(3)) == 2 and int(total.group(2)) == 0
    assert 360 <= int(total.group(1)) <= 400
    assert "qmac soak: PASS" in out and "bins required by some config hit" in out


@pytest.mark.rtl
def test_soak_runs_rtl_named_otherwise_through_its_ports_file(tmp_path, capsys):
    import sys
    from pathlib import Path

    from tb.shared.faults import apply_fault, fault_by_name

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tb" / "shared"))
    from renamed_rtl import renamed_rtl
    from sim_skip import require_simulator

    require_simulator("icarus")
    rtl, ports = renamed_rtl(tmp_path / "rtl")
    args = ["N=400", "SEED=4", "SIMS=icarus", "PER_RUN=4000", "JOBS=2", f"PORTS={ports}"]
    assert main([*args, f"RTL={rtl}", f"WORK={tmp_path / 'w1'}"]) == 0
    out = capsys.readouterr().out
    assert f"RTL {rtl} through PORTS {ports}" in out and "qmac soak: PASS" in out
    # the same folder with its last lane dropped fails: the soak ran that folder
    broken = apply_fault(fault_by_name("last_lane_dropped"), tmp_path / "broken", rtl)
    assert main([*args, f"RTL={broken}", f"WORK={tmp_path / 'w2'}"]) == 1
    assert "qmac soak: FAIL" in capsys.readouterr().out
    assert main(["N=400", "SIMS=icarus", f"PORTS={ports}"]) == 2
    assert "PORTS maps the names of your RTL: give RTL=<folder> too" in capsys.readouterr().err
