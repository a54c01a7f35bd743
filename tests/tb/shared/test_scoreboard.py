"""The scoreboard's bookkeeping (tb/shared/scoreboard.py) on hand-made outputs."""

from __future__ import annotations

import numpy as np

from pyref.beats import JobResult
from tb.shared.scoreboard import Scoreboard


def _board(y, sat=None, **kw):
    y = np.array(y)
    sat = np.zeros(len(y), bool) if sat is None else np.array(sat)
    res = JobResult(
        y=y, saturated=sat, acc=np.zeros(len(y), np.int64), overflow=np.zeros(len(y), bool)
    )
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
    assert not sb.check_one(5, 0, 10)  # on the accepting cycle itself: too early
    assert sb.check_one(5, 0, 14)
    assert not sb.check_one(5, 0, 15)  # duplicate before job 1 was even sent
    assert sb.mismatches[-1].kind == "extra"
    sb.job_sent(1, 16)
    sb.job_sent(2, 17)
    assert not sb.check_one(5, 0, 20)  # duplicate again, now compared with job 1
    assert "job 0 expects 5" in sb.mismatches[-1].message
    sb.finish()  # job 2 never came
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
    assert [(m.kind, m.job, m.cycle) for m in good.mismatches] == [
        (m.kind, m.job, m.cycle) for m in batch.mismatches
    ]
    assert np.array_equal(good.checked, batch.checked)


def test_scoreboard_batch_with_an_extra_output():
    sb = _board([1, 2, 3])
    sb.job_sent(0, 0)
    sb.job_sent(1, 1)
    sb.job_sent(2, 9)
    assert sb.check([1, 2, 2, 3], [0, 0, 0, 0], [3, 4, 5, 12]) == 1  # job 2 not done at 5
    assert sb.mismatches[0].kind == "extra" and sb.n_checked == 3


def test_scoreboard_reset_drops_jobs_in_flight():
    sb = _board([1, 2, 3, 4, 5])
    sb.job_sent(0, 1)
    sb.job_sent(1, 2)
    assert sb.check_one(1, 0, 5)
    assert sb.drop_through(2) == 2  # job 1 in flight, job 2 cut
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
    res = JobResult(
        y=y,
        saturated=np.zeros(4, bool),
        acc=np.zeros(4, np.int64),
        overflow=np.array([True, False, True, True]),
    )
    sb = Scoreboard(res)
    for j in range(4):
        sb.job_sent(j, j)
    assert sb.check_one(1, 0, 10) and sb.check_one(2, 0, 11) and sb.check_one(3, 0, 12)
    assert sb.overflowed_checked() == 2  # jobs 0 and 2; job 3 not output yet


def _after_orphans(y=(1, 2, 3, 4, 5)):
    """Jobs 0, 1 sent and checked; job 2 cut by a reset, its orphan beats ended on cycle 20;
    jobs 3 and 4 finished on cycles 22 and 23."""
    sb = _board(list(y))
    sb.job_sent(0, 1)
    sb.job_sent(1, 2)
    assert sb.check_one(1, 0, 5) and sb.check_one(2, 0, 6)
    sb.drop_through(2)
    sb.orphans_sent(2, 20)
    sb.job_sent(3, 22)
    sb.job_sent(4, 23)
    return sb


def test_scoreboard_orphan_output_before_the_next_job_is_extra_naming_the_cut_job():
    sb = _after_orphans()
    assert not sb.check_one(9, 0, 22)  # job 3's last beat went in on 22: not job 3's
    assert sb.check_one(4, 0, 26) and sb.check_one(5, 0, 27)
    sb.finish()
    assert [(m.kind, m.job, m.cycle) for m in sb.mismatches] == [("extra", 2, 22)]
    assert "orphan beats of job 2" in sb.mismatches[0].message
    assert "cycle 20" in sb.mismatches[0].message
    assert sb.n_checked == 4 and sb.mismatches[0].inputs == {"job": 2}


def test_scoreboard_orphan_output_after_the_next_job_finished_is_held_then_extra():
    # The orphans' output (9) comes after job 3's last beat: it could be job 3's. The next
    # output is job 3's right value, so the first was the orphans'.
    sb = _after_orphans()
    assert not sb.check_one(9, 0, 24)
    assert sb.pending == 2 and sb.n_mismatches == 0  # held, nothing decided yet
    assert sb.check_one(4, 0, 26) and sb.check_one(5, 0, 27)
    sb.finish()
    assert [(m.kind, m.job, m.cycle) for m in sb.mismatches] == [("extra", 2, 24)]
    assert "the next output, on cycle 26, is job 3's" in sb.mismatches[0].message
    assert sb.n_checked == 4 and sb.out_cycle[3] == 26


def test_scoreboard_wrong_output_after_orphans_is_still_a_value_mismatch():
    # A wrong value for job 3 followed by job 4's output: job 3's output was wrong.
    sb = _after_orphans()
    assert not sb.check_one(9, 0, 24)
    assert sb.check_one(5, 0, 27)
    sb.finish()
    assert [(m.kind, m.job, m.cycle) for m in sb.mismatches] == [("value", 3, 24)]
    # The same when the wrong output is the last of the run.
    sb = _after_orphans()
    assert not sb.check_one(9, 0, 24)
    sb.finish()
    assert [(m.kind, m.job, m.cycle) for m in sb.mismatches] == [
        ("value", 3, 24),
        ("missing", 4, None),
    ]


def test_scoreboard_right_outputs_after_orphans_pass():
    sb = _after_orphans()
    assert sb.check_one(4, 0, 26) and sb.check_one(5, 0, 27)
    sb.finish()
    assert sb.passed and sb.n_checked == 4 and sb.n_dropped == 1


def test_scoreboard_batch_after_orphans_equals_one_by_one():
    for got, cycles in (
        ([9, 4, 5], [24, 26, 27]),
        ([9, 4, 5], [22, 26, 27]),
        ([9, 5], [24, 27]),
        ([4, 5], [26, 27]),
        ([9, 9, 4, 5], [21, 24, 26, 27]),
    ):
        one, batch = _after_orphans(), _after_orphans()
        for y, c in zip(got, cycles):
            one.check_one(y, 0, c)
        batch.check(got, [0] * len(got), cycles)
        one.finish()
        batch.finish()
        rows = [(m.kind, m.job, m.cycle, m.message) for m in one.mismatches]
        assert rows == [(m.kind, m.job, m.cycle, m.message) for m in batch.mismatches], got
        assert np.array_equal(one.checked, batch.checked)
