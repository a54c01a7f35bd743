"""The batch path's check (BatchChecker: trace decoding, handshake and latency, the shared
Scoreboard for the values): a correct trace passes, and each kind of violation is caught and
named with its job and cycle.

Traces come from a small cycle-by-cycle model of a legal DUT written here in plain Python
(latency L, the whole pipeline stalls while the output is back-pressured), independent of the
vectorized checker; expected outputs come from pyref.
"""

from __future__ import annotations

import numpy as np
import pytest

from pyref.beats import BeatStream, jobs_to_beats, predict_jobs
from pyref.config import QmacConfig
from tb.batch import trace as bt
from tb.batch.checker import BatchChecker
from tb.batch.transport import Trace
from tb.shared.scoreboard import Scoreboard

CFG = QmacConfig(lanes=2)


def stream_of(ks: list[int], seed: int = 0, shift: int = 4) -> BeatStream:
    rng = np.random.default_rng(seed)
    parts = []
    for k in ks:
        x = rng.integers(-128, 128, (1, k))
        w = rng.integers(-128, 128, (1, k))
        parts.append(jobs_to_beats(CFG, x, w, bias=int(rng.integers(-500, 500)), shift=shift))
    return BeatStream.concat(parts)


def model_trace(stream: BeatStream, y, sat, latency: int, offer, ready) -> np.ndarray:
    """Trace words of a legal DUT: ``offer[c]`` / ``ready[c]`` are the wrapper's per-cycle
    pattern; a beat once offered is held until taken; cycle 0 is idle."""
    n_beats, n_jobs = len(stream), stream.n_jobs
    pipe = [None] * (latency - 1)  # job index or None, stage 0 first
    out = None
    words = []
    b = 0
    in_valid = False
    out_ready = False
    done = 0
    c = 0
    while True:
        out_valid = out is not None
        stall = out_valid and not out_ready
        in_ready = not stall
        word = (int(in_valid) << bt.BIT_IN_VALID) | (int(in_ready) << bt.BIT_IN_READY)
        word |= (int(out_valid) << bt.BIT_OUT_VALID) | (int(out_ready) << bt.BIT_OUT_READY)
        if out_valid:
            word |= (int(y[out]) & 0xFF) | (int(sat[out]) << bt.BIT_SAT)
        words.append(word)
        take = in_valid and in_ready
        if out_valid and out_ready:
            done += 1
        if not stall:
            new = None
            if take and stream.last[b]:
                new = int(stream.job_of_beat[b])
            out = pipe[-1] if pipe else new
            pipe = ([new] + pipe[:-1]) if pipe else []
        if take:
            b += 1
        c += 1
        if not (in_valid and not take):
            in_valid = b < n_beats and bool(offer[c % len(offer)])
        out_ready = bool(ready[c % len(ready)])
        if done == n_jobs and b == n_beats and c > 4:
            for _ in range(3):  # a few idle cycles, as the wrapper's drain
                words.append(int(out_ready) << bt.BIT_OUT_READY | 1 << bt.BIT_IN_READY)
            return np.array(words, dtype=np.uint32)
        assert c < 10000


class Caught(AssertionError):
    """What the checker and the scoreboard found, as ``(kind, job, cycle, message)`` rows."""

    def __init__(self, failures: list[tuple]):
        self.failures = failures
        super().__init__("\n".join(f"{k}: job {j}, cycle {c}: {m}" for k, j, c, m in failures))


def run_check(words, stream, unknown=None, latency=None, cycle0=0):
    """One batch through a BatchChecker and a Scoreboard; raises :class:`Caught` on any
    failure, else returns ``(checker, scoreboard)``."""
    sb = Scoreboard(predict_jobs(stream, CFG))
    checker = BatchChecker(CFG, stream, np.zeros(len(stream), bool), sb)
    checker.latency = latency
    played = Trace(np.asarray(words, dtype=np.uint32), unknown, cycle0)
    failures = [
        (f.kind, f.job, f.cycle, f.message)
        for f in checker.check(played, 0, len(stream), 0, stream.n_jobs)
    ]
    sb.finish()
    failures += [(m.kind, m.job, m.cycle, m.message) for m in sb.mismatches]
    if failures:
        raise Caught(failures)
    return checker, sb


def legal(ks=(5, 1, 4, 2, 6), latency=5, offer=(1,), ready=(1,)):
    s = stream_of(list(ks))
    e = predict_jobs(s, CFG)
    return s, e, model_trace(s, e.y, e.saturated, latency, offer, ready)


@pytest.mark.parametrize(
    "offer,ready", [((1,), (1,)), ((1, 0, 1), (1,)), ((1,), (1, 0, 0, 1)), ((0, 1, 1), (1, 1, 0))]
)
def test_legal_trace_passes_and_measures_latency(offer, ready):
    s, _, words = legal(offer=offer, ready=ready)
    checker, sb = run_check(words, s)
    assert checker.latency == 5
    assert sb.n_checked == s.n_jobs == 5 and sb.passed
    assert len(s) == 3 + 1 + 2 + 1 + 3
    assert (sb.accept_cycle >= 0).all() and (sb.out_cycle > sb.accept_cycle).all()


def test_given_latency_must_match():
    s, _, words = legal(latency=4)
    with pytest.raises(Caught, match="timing: job 0, .*4 pipeline advances.*expected 5"):
        run_check(words, s, latency=5)


def fire_cycles(words):
    f = bt.decode(words)
    return np.flatnonzero(f.out_valid & f.out_ready)


def test_wrong_value_names_job_and_cycle():
    s, e, words = legal()
    c = int(fire_cycles(words)[3])
    words[c] ^= 1  # flip y's lowest bit on job 3's transfer
    with pytest.raises(Caught) as exc:
        run_check(words, s, cycle0=1000)
    kind, job, cycle, message = exc.value.failures[0]
    assert (kind, job, cycle) == ("value", 3, 1000 + c)
    assert f"expected {int(e.y[3])}" in message
    assert bt.edge_time_ns(cycle) == 5 + 10 * (1000 + c)


def test_wrong_saturation_flag():
    s, e, words = legal()
    c = int(fire_cycles(words)[1])
    words[c] ^= 1 << bt.BIT_SAT
    with pytest.raises(Caught, match=r"sat: job 1, .*out_sat_o = "):
        run_check(words, s)


def test_missing_output():
    s, _, words = legal()
    c = int(fire_cycles(words)[-1])
    words[c] &= ~np.uint32(1 << bt.BIT_OUT_VALID)
    with pytest.raises(Caught, match="missing: job 4, .*no output for job 4"):
        run_check(words, s)


def test_duplicate_output_is_extra():
    s, _, words = legal()
    c = int(fire_cycles(words)[-1])
    words[c + 1] = words[c]  # the last output shows up again in the next cycle
    with pytest.raises(Caught, match="extra: .*extra output"):
        run_check(words, s)


def test_input_stall_without_backpressure():
    s, _, words = legal()
    f = bt.decode(words)
    c = int(np.flatnonzero(f.in_valid & f.in_ready)[2])
    words[c] &= ~np.uint32(1 << bt.BIT_IN_READY)
    with pytest.raises(Caught) as exc:
        run_check(words, s)
    assert exc.value.failures[0][:3] == ("handshake", 0, c)
    assert "in_ready is low while the output is not back-pressured" in str(exc.value)


def test_output_must_hold_while_backpressured():
    s, _, words = legal(ready=(1, 0, 0, 1))
    f = bt.decode(words)
    stalled = np.flatnonzero(f.out_valid & ~f.out_ready)
    c = int(stalled[0]) + 1
    words[c] ^= 2  # y changes in the cycle after a stalled one
    with pytest.raises(Caught, match="changed .* while output 1 of the batch was back-pressured"):
        run_check(words, s)


def test_output_before_its_last_beat_is_timing_error():
    s, _, words = legal(latency=1 + 1)  # legal model with latency 2 ...
    with pytest.raises(Caught, match="timing"):
        run_check(words, s, latency=5)  # ... is early for a DUT documented at 5


def test_x_on_handshake_and_on_output():
    s, _, words = legal()
    unknown = np.zeros((len(words), 8), dtype=bool)
    unknown[7, 2] = True  # bits 20..23: a handshake digit
    with pytest.raises(Caught, match="X: job None, cycle 7: .*handshake signal"):
        run_check(words, s, unknown=unknown)
    unknown[:] = False
    c = int(fire_cycles(words)[0])
    unknown[c, 7] = True  # a y digit on an output transfer
    with pytest.raises(Caught, match="xz: job 0, .*hold X or Z"):
        run_check(words, s, unknown=unknown)


def test_hung_batch_reports_timeout():
    s, _, words = legal()
    f = bt.decode(words)
    cut = int(np.flatnonzero(f.in_valid & f.in_ready)[6])
    with pytest.raises(Caught, match="timeout: job 3, .*6 of 10 beats"):
        run_check(words[:cut], s)


def test_handshake_events_counted():
    s, _, words = legal(ready=(1, 0, 0, 1))
    f = bt.decode(words)
    hs = bt.check_handshake(f, bt.extract(f, CFG), s)
    assert hs.failures == []
    assert hs.events["out_stall"] == int(np.count_nonzero(f.out_valid & ~f.out_ready)) > 0
    assert hs.events["in_stall"] == int(np.count_nonzero(f.in_valid & ~f.in_ready)) > 0
    assert hs.events["back_to_back_jobs"] > 0
    # Offered one cycle in two: a gap before every job's first beat but the very first.
    s, _, words = legal(offer=(0, 1))
    f = bt.decode(words)
    hs = bt.check_handshake(f, bt.extract(f, CFG), s)
    assert hs.events["idle_gap"] == s.n_jobs - 1
    assert hs.events["back_to_back_jobs"] == 0


RESET_CYCLES = 3


def model_trace_with_resets(
    stream: BeatStream, y, sat, latency: int, cut, *, orphan_output: bool = False
) -> np.ndarray:
    """Trace words of the wrapper and a DUT with mid-job resets, every beat offered as soon as
    it may be and out_ready always high: once a beat marked in ``cut`` is taken, rst is high
    for RESET_CYCLES cycles (no beat offered, nothing valid after the first reset edge), then
    the rest of the cut job is played. The DUT follows the contract (a beat counts only after
    a first beat, until a last beat, with no reset between), or with ``orphan_output`` takes
    the beats after a reset as part of the cut job and outputs that job's value for them."""
    n_beats = len(stream)
    pipe = [None] * (latency - 1)
    out = None
    in_job = False
    rst_left = 0
    words = []
    b = 0
    in_valid = False
    c = 0
    idle_after = 0
    while True:
        rst = rst_left > 0
        in_ready = not rst
        word = (int(in_valid) << bt.BIT_IN_VALID) | (int(in_ready) << bt.BIT_IN_READY)
        word |= (int(out is not None) << bt.BIT_OUT_VALID) | (1 << bt.BIT_OUT_READY)
        word |= int(rst) << bt.BIT_RST
        if out is not None:
            word |= (int(y[out]) & 0xFF) | (int(sat[out]) << bt.BIT_SAT)
        words.append(word)
        take = in_valid and in_ready
        if rst:
            pipe, out, in_job = [None] * (latency - 1), None, orphan_output
            rst_left -= 1
        else:
            new = None
            if take and (stream.first[b] or in_job):
                in_job = not stream.last[b]
                if stream.last[b]:
                    new = int(stream.job_of_beat[b])
            out = pipe[-1] if pipe else new
            pipe = ([new] + pipe[:-1]) if pipe else []
        if take and cut[b]:
            rst_left = RESET_CYCLES
        if take:
            b += 1
        c += 1
        in_valid = b < n_beats and rst_left == 0
        if b == n_beats and out is None and all(p is None for p in pipe) and rst_left == 0:
            idle_after += 1
            if idle_after > 3:
                return np.array(words, dtype=np.uint32)
        assert c < 10000


def reset_run(cut_jobs, *, orphan_output=False, ks=(5, 1, 4, 2, 6, 3, 4), latency=5):
    from tb.batch.plan import cut_beats

    s = stream_of(list(ks), seed=1, shift=8)  # outputs of distinct values, none saturated
    e = predict_jobs(s, CFG)
    assert len(set(e.y.tolist())) == len(ks) and not e.saturated.any()
    cut = cut_beats(s, cut_jobs)
    words = model_trace_with_resets(s, e.y, e.saturated, latency, cut, orphan_output=orphan_output)
    sb = Scoreboard(predict_jobs(s, CFG))
    checker = BatchChecker(CFG, s, cut, sb)
    played = Trace(np.asarray(words, dtype=np.uint32), None, 0)
    failures = checker.check(played, 0, len(s), 0, s.n_jobs)
    sb.finish()
    return s, words, checker, sb, failures


def test_orphan_beats_are_taken_and_must_produce_nothing():
    # Jobs of 3, 1, 2, 1, 3, 2, 2 beats; job 2 (beats 4-5) and job 4 (beats 7-9) are cut.
    s, words, checker, sb, failures = reset_run([2, 4])
    f = bt.decode(words)
    assert failures == [] and sb.passed, (failures, [m.message for m in sb.mismatches])
    assert int(np.count_nonzero(f.in_valid & f.in_ready)) == len(s) == 14  # orphans taken
    assert checker.events["reset_mid_job"] == 2
    assert checker.events["orphan_beats"] == 1 + 2
    assert checker.cut_jobs == [2, 4]
    # The orphans' last beat finishes no job: jobs 2 and 4 were never sent, only dropped.
    assert (sb.accept_cycle[[2, 4]] == -1).all() and sb.dropped[[2, 4]].all()
    assert sb.orphan_cycle[2] > 0 and sb.orphan_cycle[4] > sb.orphan_cycle[2]
    assert sb.checked[[5, 6]].all() and checker.latency == 5


def test_output_for_orphan_beats_is_extra_naming_the_cut_job():
    # Jobs of 3, 1, 2, 1, 3, 2, 2, 4, 1 beats; jobs 2 and 6 cut. Job 2's orphan output comes
    # after job 3 (one beat) finished: it is held, then called extra when job 3's comes.
    s, words, checker, sb, failures = reset_run(
        [2, 6], orphan_output=True, ks=(5, 1, 4, 2, 6, 3, 4, 8, 2)
    )
    rows = [(m.kind, m.job) for m in sb.mismatches]
    assert rows == [("extra", 2), ("extra", 6)], [m.message for m in sb.mismatches]
    assert "orphan beats of job 2" in sb.mismatches[0].message
    assert sb.checked[[3, 7, 8]].all() and not sb.failed_jobs.any()  # 4, 5 in flight at a reset
    # The latency check still holds for the real outputs; the extra ones are the scoreboard's.
    assert failures == [] and checker.latency == 5
