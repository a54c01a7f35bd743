"""The cycle trace's protocol check (tb/cycle/trace_replay.py's TraceChecker), cycle by cycle by
hand, without a simulator: a job's value from pyref, an output with none pending, in_ready_o
against the rule, a job left without output; and make sim TRACE=... on Icarus."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sim_skip import require_simulator

from pyref.config import QmacConfig
from tb.cycle.trace_replay import TraceChecker
from tb.shared.cycle_trace import save_trace
from tb.shared.faults import apply_fault, fault_by_name

ROOT = Path(__file__).resolve().parents[3]

CFG = QmacConfig(lanes=2, in_bits=3, w_bits=3, acc_bits=6, bias_bits=6, out_bits=6).replace(
    shift_bits=1, rounding="floor"
)


def _rows(n: int) -> dict[str, np.ndarray]:
    rows = {k: np.zeros(n, np.int64) for k in ("rst", "valid", "first", "last", "bias", "mult")}
    rows |= {k: np.zeros(n, np.int64) for k in ("shift", "out_zp")}
    rows |= {"act_min": np.full(n, -32), "act_max": np.full(n, 31), "out_ready": np.ones(n)}
    rows |= {"x": np.zeros((n, 2), np.int64), "w": np.zeros((n, 2), np.int64)}
    return rows


def test_trace_checker_finds_each_kind():
    """Cycle 0 reset; cycles 1-2 a two-beat job, bias 5, x = (1, 2) then (-2, 1), w = (3, -1)
    then (2, 2): 5 + 1 - 2 = 4; cycle 3 outputs 5 (value); cycle 4 outputs with nothing
    pending (extra); cycle 5 in_ready_o high under a stall (in_ready); cycle 6 a one-beat job,
    bias -3, never output (missing)."""
    r = _rows(7)
    r["rst"][0] = 1
    r["valid"][[1, 2, 6]] = 1
    r["first"][[1, 6]] = 1
    r["last"][[2, 6]] = 1
    r["bias"][1], r["bias"][6] = 5, -3
    r["x"][1], r["w"][1] = (1, 2), (3, -1)
    r["x"][2], r["w"][2] = (-2, 1), (2, 2)
    r["out_ready"][5] = 0
    ck = TraceChecker(CFG, max_mismatches=10)
    # (ready, out_valid, y, sat) sampled in each cycle
    seen = [(0, 0, None, None), (1, 0, None, None), (1, 0, None, None), (1, 1, 5, 0)]
    seen += [(1, 1, 0, 0), (1, 1, None, None), (1, 0, None, None)]
    for c, (ready, valid_o, y, sat) in enumerate(seen):
        ck.cycle(c, r, c, ready, valid_o, y, sat)
    ck.finish(7)
    assert dict(ck.counts) == {"value": 1, "extra": 1, "in_ready": 1, "missing": 1}
    assert ck.checked == 1 and ck.jobs == 2
    value = next(m for m in ck.mismatches if m.kind == "value")
    assert value.expected["y"] == 4 and value.cycle == 3
    missing = next(m for m in ck.mismatches if m.kind == "missing")
    assert missing.expected["y"] == -3


def test_a_reset_drops_pending_jobs_and_the_job_in_progress():
    """A one-beat job (bias 7), then a reset before its output, then a beat without
    in_first_i (not a job after the reset): nothing is pending, so a later output is extra."""
    r = _rows(4)
    r["valid"][[0, 2]] = 1
    r["first"][0] = r["last"][0] = r["last"][2] = 1
    r["bias"][0] = 7
    r["rst"][1] = 1
    ck = TraceChecker(CFG, max_mismatches=10)
    for c, (ready, valid_o, y) in enumerate([(1, 0, None), (0, 0, None), (1, 0, None), (1, 1, 7)]):
        ck.cycle(c, r, c, ready, valid_o, y, 0)
    ck.finish(4)
    assert dict(ck.counts) == {"extra": 1} and ck.jobs == 1 and ck.checked == 0


def _stall_trace() -> dict[str, np.ndarray]:
    """Reset; the two-beat job above (y = 4) and a one-beat job (bias -3, x = (3, 3), w = (1, 1):
    y = 3); then out_ready_i low from cycle 4 to 19, and in cycle 16 (both outputs waiting) one
    beat offered, which in_ready_o must refuse: no third job."""
    r = _rows(20)
    r["rst"][0] = 1
    r["valid"][[1, 2, 3, 16]] = 1
    r["first"][[1, 3, 16]] = 1
    r["last"][[2, 3, 16]] = 1
    r["bias"][1], r["bias"][3], r["bias"][16] = 5, -3, 1
    r["x"][1], r["w"][1] = (1, 2), (3, -1)
    r["x"][2], r["w"][2] = (-2, 1), (2, 2)
    r["x"][3], r["w"][3] = (3, 3), (1, 1)
    r["out_ready"][4:] = 0
    return r


@pytest.mark.rtl
def test_make_sim_trace_checks_the_protocol(tmp_path):
    """make sim TRACE=...: on rtl/ both outputs are checked and the offered beat is refused (no
    mismatch); with the backpressure fault (in_ready_o = !rst_i) the beat is taken under the
    stall: an in_ready mismatch."""
    require_simulator("icarus")
    path = save_trace(tmp_path / "stall.npz", CFG, _stall_trace())
    sim = [sys.executable, "-m", "tb.cli.sim", "SIM=icarus", f"TRACE={path}"]
    good = subprocess.run(sim, cwd=ROOT, capture_output=True, text=True)
    assert good.returncode == 0, good.stdout[-2000:] + good.stderr[-2000:]
    assert "2 checked, 0 mismatches" in good.stdout, good.stdout[-2000:]
    rtl = apply_fault(fault_by_name("backpressure"), tmp_path / "rtl")
    bad = subprocess.run([*sim, f"RTL={rtl}"], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 1, bad.stdout[-2000:] + bad.stderr[-2000:]
    assert re.search(r"\{'in_ready': \d+", bad.stdout), bad.stdout[-2000:]
