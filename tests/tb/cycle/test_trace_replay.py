"""The cycle trace's protocol check (tb/cycle/trace_replay.py's TraceChecker), cycle by cycle by
hand, without a simulator: a job's value from pyref, an output with none pending, in_ready_o
against the rule, a job left without output."""

from __future__ import annotations

import numpy as np

from pyref.config import QmacConfig
from tb.cycle.trace_replay import TraceChecker

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
