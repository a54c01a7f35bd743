"""The scoreboard's bookkeeping (tb/shared/scoreboard.py) on hand-made outputs."""

from __future__ import annotations

import numpy as np

from pyref.beats import JobResult
from tb.shared.scoreboard import Scoreboard


def _board(y, sat=None, **kw):
    y = np.array(y)
    sat = np.zeros(len(y), bool) if sat is None else np.array(sat)
    res = JobResult(y=y, saturated=sat, acc=np.zeros(len(y), np.int64),
                    overflow=np.zeros(len(y), bool))
    return Scoreboard(res, describe_job=lambda j: {"job": j}, **kw)


def test_scoreboard_passes_right_outputs_in_order():
    sb = _board([5, -3, 7], [False, True, False])
    for j, c in enumerate((10, 11, 12)):
        sb.job_sent(j, c)
    assert sb.check_one(5, 0, 15) and sb.check_one(-3, 1, 16) and sb.check_one(7, 0, 17)
    sb.finish()
    assert sb.passed and sb.n_checked == 3


def test_scoreboard_reports_value_sat_xz_with_job_and_cycle():
    sb = _board([5, -3, 7, 1], [False, True, False, False])
    for j in range(4):
        sb.job_sent(j, j)
    assert not sb.check_one(6, 0, 10)
    assert not sb.check_one(-3, 0, 11)
    assert not sb.check_one(None, None, 12)
    assert sb.check_one(1, 0, 13)
    kinds = [(m.kind, m.job, m.cycle) for m in sb.mismatches]
    assert kinds == [("value", 0, 10), ("sat", 1, 11), ("xz", 2, 12)]
    assert sb.mismatches[0].inputs == {"job": 0}


def test_scoreboard_extra_early_duplicate_and_missing():
    sb = _board([5, -3, 7])
    sb.job_sent(0, 10)
    assert not sb.check_one(5, 0, 10)          # on the accepting cycle itself: too early
    assert sb.check_one(5, 0, 14)
    assert not sb.check_one(5, 0, 15)          # duplicate before job 1 was even sent
    assert sb.mismatches[-1].kind == "extra"
    sb.job_sent(1, 16)
    sb.job_sent(2, 17)
    assert not sb.check_one(5, 0, 20)          # duplicate again, now compared with job 1
    assert "job 0 expects 5" in sb.mismatches[-1].message
    sb.finish()                                # job 2 never came
    assert [m.kind for m in sb.mismatches] == ["extra", "extra", "value", "missing"]


def test_scoreboard_batch_equals_one_by_one():
    y = np.arange(50) - 20
    sat = (y % 3) == 0
    good = _board(y, sat)
    batch = _board(y, sat)
    for sb in (good, batch):
        for j in range(50):
            sb.job_sent(j, 2 * j)
    got_y = y.copy()
    got_y[[7, 30]] += 1
    cycles = 2 * np.arange(50) + 5
    for j in range(50):
        good.check_one(int(got_y[j]), int(sat[j]), int(cycles[j]))
    assert batch.check(got_y[:25], sat[:25], cycles[:25]) == 1
    assert batch.check(got_y[25:], sat[25:], cycles[25:]) == 1
    assert [(m.kind, m.job, m.cycle) for m in good.mismatches] == \
        [(m.kind, m.job, m.cycle) for m in batch.mismatches]
    assert np.array_equal(good.checked, batch.checked)


def test_scoreboard_batch_with_an_extra_output():
    sb = _board([1, 2, 3])
    sb.job_sent(0, 0)
    sb.job_sent(1, 1)
    sb.job_sent(2, 9)
    assert sb.check([1, 2, 2, 3], [0, 0, 0, 0], [3, 4, 5, 12]) == 1   # job 2 not done at 5
    assert sb.mismatches[0].kind == "extra" and sb.n_checked == 3


def test_scoreboard_reset_drops_jobs_in_flight():
    sb = _board([1, 2, 3, 4, 5])
    sb.job_sent(0, 1)
    sb.job_sent(1, 2)
    assert sb.check_one(1, 0, 5)
    assert sb.drop_through(2) == 2             # job 1 in flight, job 2 cut
    sb.job_sent(3, 20)
    sb.job_sent(4, 21)
    assert sb.check_one(4, 0, 25) and sb.check_one(5, 0, 26)
    sb.finish()
    assert sb.passed and sb.n_dropped == 2 and sb.n_checked == 3


def test_scoreboard_stops_after_max_mismatches():
    sb = _board([0] * 10, max_mismatches=2)
    for j in range(10):
        sb.job_sent(j, 0)
    sb.check_one(1, 0, 5)
    assert not sb.stop
    sb.check_one(1, 0, 6)
    assert sb.stop


def test_scoreboard_counts_accumulator_overflows_of_checked_jobs():
    """pyref's overflow flags, counted over the outputs checked (a job dropped by a reset or
    never output does not count)."""
    y = np.array([1, 2, 3, 4])
    res = JobResult(y=y, saturated=np.zeros(4, bool), acc=np.zeros(4, np.int64),
                    overflow=np.array([True, False, True, True]))
    sb = Scoreboard(res)
    for j in range(4):
        sb.job_sent(j, j)
    assert sb.check_one(1, 0, 10) and sb.check_one(2, 0, 11) and sb.check_one(3, 0, 12)
    assert sb.overflowed_checked() == 2          # jobs 0 and 2; job 3 not output yet
