"""The make sim summary (tb/cli/report.py): what the outputs line says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from sim_skip import require_simulator

from pyref import Layer
from pyref.config import QmacConfig
from pyref.vectors import save_vectors
from tb.cli.report import format_summary
from tb.shared.job import SimJob, SimReport

ROOT = Path(__file__).resolve().parents[3]


def _summary(cfg: QmacConfig, **report) -> str:
    job = SimJob(config=cfg.to_dict(), config_name="x", sim="icarus", seed=1, n=4)
    rep = SimReport(
        passed=True, job={}, outputs_checked=4, beats=8, cycles=20, sim_seconds=1.0, **report
    )
    result = SimpleNamespace(
        report=rep,
        compiled=False,
        build_dir=Path("b"),
        wall_seconds=2.0,
        build_seconds=0.0,
        waves_file=None,
        log_file=Path("b/sim.log"),
    )
    return format_summary(result, job)


def test_the_outputs_line_counts_accumulator_overflows_next_to_saturations_per_mode():
    wrap = _summary(QmacConfig(acc_bits=16, bias_bits=16), saturated=1, overflowed=4)
    assert (
        "  outputs    4 checked, 0 mismatches, 1 saturated, 4 accumulator overflows (wrap)\n"
        in wrap
    )
    sat = _summary(QmacConfig(acc_bits=16, bias_bits=16, acc_mode="saturate"), overflowed=1)
    assert "0 saturated, 1 accumulator overflow (saturate)" in sat
    assert "0 accumulator overflows (wrap)" in _summary(QmacConfig())


@pytest.mark.rtl
def test_make_sim_says_every_output_overflowed(tmp_path):
    """acc_bits = 16, wrap: 127 * 127 * 2000 = 32 258 000 does not fit -32768 .. 32767, so each
    of the 2 x 2 outputs overflowed. The RTL wraps as pyref does (PASS), and the summary must
    say so."""
    require_simulator("icarus")
    cfg = QmacConfig(acc_bits=16, bias_bits=16)
    x = np.full((2, 2000), 127)
    layer = Layer.build(cfg, x, x, bias=[0, 0], shift=[6, 6])
    path = save_vectors(tmp_path / "overflow.npz", cfg, layer)
    r = subprocess.run(
        [sys.executable, "-m", "tb.cli.sim", f"VECTORS={path}", "SIM=icarus"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "qmac sim: PASS" in r.stdout
    assert "outputs    4 checked, 0 mismatches" in r.stdout
    assert ", 4 accumulator overflows (wrap)\n" in r.stdout


@pytest.mark.rtl
def test_a_run_stopped_at_the_mismatch_limit_says_so(tmp_path):
    """A planted fault with MAX_MISMATCHES=10: the summary says the run stopped and how much of
    N it checked, counts only the beats played, and lists no coverage holes."""
    from tb.shared.faults import apply_fault, fault_by_name

    require_simulator("verilator")
    rtl = apply_fault(fault_by_name("rounding_constant"), tmp_path / "rtl")
    r = subprocess.run(
        [sys.executable, "-m", "tb.sim", f"RTL={rtl}", "N=40000", "MAX_MISMATCHES=10", "SEED=3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = r.stdout
    assert r.returncode == 1, out + r.stderr
    line = next(l for l in out.splitlines() if l.strip().startswith("outputs"))
    assert "stopped (MAX_MISMATCHES = 10 reached): " in line
    checked = int(line.split("): ")[1].split(" of ")[0])
    assert int(line.split("checked, ")[1].split()[0]) >= 10  # mismatches
    assert 0 < checked < 40000 and " of 40000 checked" in line
    speed = next(l for l in out.splitlines() if l.strip().startswith("speed"))
    beats, cycles = int(speed.split()[1]), int(speed.split("played, ")[1].split()[0])
    assert " beats played, " in speed and beats <= cycles
    cov = next(l for l in out.splitlines() if l.strip().startswith("coverage"))
    assert "EMPTY" not in cov and "not counted: the run stopped early" in cov
