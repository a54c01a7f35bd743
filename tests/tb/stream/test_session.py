"""The HIL stream session (tb/stream/session.py) on the RTL, against hand-worked outputs, and
its failure report when jobs have no known output."""

from __future__ import annotations

import numpy as np
import pytest
from sim_skip import require_simulator

from pyref.beats import jobs_to_beats
from pyref.config import named_config
from tb.shared.job import SimReport
from tb.stream.session import RtlRunError, RtlSession, StreamResult, run_stream


def test_jobs_without_a_known_output_stop_the_layer_with_the_reason(tmp_path):
    """X/Z or no output: there is no value to hand on, so the backend refuses to go on."""
    report = SimReport(
        passed=False,
        job={},
        mismatches=1,
        details=[
            {
                "kind": "xz",
                "job": 1,
                "cycle": 9,
                "expected": {"y": 4, "sat": False, "acc": 256},
                "actual": {"y": None, "sat": None},
                "message": "job 1: out_y_o/out_sat_o hold X or Z while out_valid_o",
            }
        ],
    )
    res = StreamResult(
        y=np.array([3, 0, 5]),
        sat=np.zeros(3, bool),
        produced=np.array([True, False, True]),
        report=report,
        cycles=20,
        wall=0.1,
        run_dir=tmp_path,
    )
    with pytest.raises(
        RtlRunError,
        match=r"(?s)no known output for 1 of 3 jobs \(first: job 1\)"
        r".*\[xz\] job 1: .* \(cycle 9: ",
    ):
        res.require_outputs()
    StreamResult(
        y=res.y,
        sat=res.sat,
        produced=np.ones(3, bool),
        report=report,
        cycles=20,
        wall=0.1,
        run_dir=tmp_path,
    ).require_outputs()  # all there: no error


def test_stream_hook_returns_what_the_rtl_computed():
    """Three one-beat jobs on the default config (8 lanes, shift with half_up, 8-bit out),
    worked by hand: x = 1..8, w = 1 -> sum 36.
    bias 28: 64 >> 6 = 1;  bias 60: 96 / 64 = 1.5 -> 2;  bias 10000: 10036 / 64 = 156.8 -> 157,
    clamped to act_max 127 (flag set)."""
    require_simulator("icarus")
    cfg = named_config("default")
    x = np.tile(np.arange(1, 9), (3, 1))
    stream = jobs_to_beats(cfg, x, np.ones_like(x), bias=[28, 60, 10000], shift=6)
    res = run_stream(cfg, stream, "icarus")
    assert res.y.tolist() == [1, 2, 127]
    assert res.sat.tolist() == [False, False, True]
    assert res.produced.all() and res.passed and res.mismatches == 0
    assert 3 <= res.cycles <= 3 + 64


def test_a_session_serves_several_runs(tmp_path):
    """One simulator, two runs; the second continues where the first left off."""
    require_simulator("icarus")
    cfg = named_config("default")
    x = np.array([[3, 0, 0, 0, 0, 0, 0, 0]])
    with RtlSession(cfg, "icarus") as rtl:
        a = rtl.run(jobs_to_beats(cfg, x, x, shift=0))  # 3 * 3 = 9
        b = rtl.run(jobs_to_beats(cfg, x, -x, shift=0, bias=-1))  # -9 - 1 = -10
        assert rtl.runs == 2
    assert (a.y.tolist(), b.y.tolist()) == ([9], [-10])
