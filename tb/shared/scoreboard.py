"""The scoreboard: every output checked against pyref's prediction, in order, on its cycle.

The expected value of every job comes from :func:`pyref.beats.predict_jobs` (or from a vector
file). Outputs must come in job order, one per job whose last beat was accepted, and never
before that beat; a job cut by a reset, and every job still in flight at the reset, produces
no output, and neither do the rest of the cut job's beats, played after the reset outside any
job (its orphan beats, :meth:`Scoreboard.orphans_sent`). A check reports, per output: the
value, the saturation flag, X/Z on the output bus, an output with no finished job to belong to
(extra, duplicated, early, or caused by orphan beats), and at the end every finished job that
never produced one (missing).

Two entry points share the same bookkeeping: :meth:`Scoreboard.check_one` for a monitor that
samples one output per call, and :meth:`Scoreboard.check` for a whole captured batch ("these N
outputs, on these cycles"), checked with numpy. Both also keep what the DUT produced for each
job (:attr:`Scoreboard.got_y`, :attr:`Scoreboard.got_sat`), right or wrong: hardware in the loop
hands it on to the next layer.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from pyref.beats import JobResult

MISMATCH_KINDS = ("value", "sat", "xz", "extra", "missing")


@dataclasses.dataclass
class Mismatch:
    """One failed check, with what is needed to understand and reproduce it."""

    kind: str
    """``value``, ``sat``, ``xz`` (X/Z on out_y_o/out_sat_o), ``extra`` or ``missing``."""
    job: int | None
    cycle: int | None
    expected: dict | None
    actual: dict | None
    message: str
    inputs: dict | None = None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def format_mismatch(m: dict) -> str:
    """A scoreboard mismatch record as the indented lines the summary prints."""
    at = ""
    if m.get("cycle") is not None:
        at = f" (cycle {m['cycle']}: the rising edge at {m['cycle'] * 10 + 5} ns)"
    lines = [f"  [{m['kind']}] {m['message']}{at}"]
    if m.get("expected"):
        e = m["expected"]
        lines.append(f"      expected y = {e['y']}, sat = {int(e['sat'])} (accumulator {e['acc']})")
    if m.get("actual"):
        a = m["actual"]
        sat = "X" if a.get("sat") is None else int(a["sat"])
        lines.append(f"      actual   y = {'X' if a.get('y') is None else a['y']}, sat = {sat}")
    inp = m.get("inputs")
    if inp:
        lines.append(
            f"      inputs   {inp['kind']} job, K = {inp['K']} in {inp['beats']} beat(s) "
            f"from beat {inp['first_beat']} of the stream"
        )
        lines.append(
            f"      channel  bias = {inp['bias']}, mult = {inp['mult']}, "
            f"shift = {inp['shift']}, out_zp = {inp['out_zp']}, "
            f"act_min = {inp['act_min']}, act_max = {inp['act_max']}"
        )
        more = f"  ({inp['truncated']})" if inp.get("truncated") else ""
        lines.append(f"      x        {inp['x']}{more}")
        lines.append(f"      w        {inp['w']}")
    return "\n".join(lines)


class Scoreboard:
    """Expected outputs for every job of a run, and the record of what the DUT produced.

    ``describe_job(j)`` returns the inputs of job j for failure reports (see
    :meth:`tb.shared.stimulus.Stimulus.job_detail`). After ``max_mismatches`` failures
    :attr:`stop` turns True so the testbench can end the run early.
    """

    def __init__(
        self,
        expected: JobResult,
        *,
        expected_y: np.ndarray | None = None,
        describe_job: Callable[[int], dict] | None = None,
        max_mismatches: int = 10,
        max_detailed: int = 10,
    ):
        y = np.asarray(expected.y if expected_y is None else expected_y, dtype=np.int64)
        self.n_jobs = int(y.shape[0])
        self.exp_y = y
        self.exp_sat = np.asarray(expected.saturated, dtype=bool)
        self.exp_acc = np.asarray(expected.acc)
        self.exp_overflow = np.asarray(expected.overflow, dtype=bool).reshape(-1)
        """pyref's prediction: the job's accumulator overflowed (wrapped or saturated)."""
        self._y = self.exp_y.tolist()
        self._sat = self.exp_sat.tolist()
        self.accept_cycle = np.full(self.n_jobs, -1, np.int64)
        """Cycle on which each job's last beat was accepted (-1: not yet / never)."""
        self.out_cycle = np.full(self.n_jobs, -1, np.int64)
        self.checked = np.zeros(self.n_jobs, bool)
        self.got_y = np.zeros(self.n_jobs, np.int64)
        """What the DUT output for each job (valid where :attr:`checked` and not :attr:`got_xz`)."""
        self.got_sat = np.zeros(self.n_jobs, bool)
        self.got_xz = np.zeros(self.n_jobs, bool)
        """The job's output held X/Z."""
        self.dropped = np.zeros(self.n_jobs, bool)
        self.orphan_cycle = np.full(self.n_jobs, -1, np.int64)
        """For a job cut by a reset: cycle its last orphan beat was accepted (-1: none)."""
        self.failed_jobs = np.zeros(self.n_jobs, bool)
        self.next_job = 0
        self.n_outputs = 0
        self.n_mismatches = 0
        self.counts = {k: 0 for k in MISMATCH_KINDS}
        self.mismatches: list[Mismatch] = []
        self.describe_job = describe_job
        self.max_mismatches = max_mismatches
        self.max_detailed = max_detailed
        self.stop = False
        self.last_checked_job = -1
        self._held: tuple | None = None
        """An output held by :meth:`check_one` until the next one says whose it is."""

    # -- events from the driver and the testbench --------------------------------------------

    def job_sent(self, job: int, cycle: int) -> None:
        """The last beat of ``job`` was accepted on ``cycle``: its output may appear after it."""
        self.accept_cycle[job] = cycle

    def jobs_sent(self, jobs: np.ndarray, cycles: np.ndarray) -> None:
        """:meth:`job_sent` for many jobs at once (a captured batch)."""
        self.accept_cycle[np.asarray(jobs, dtype=np.int64)] = cycles

    def drop_through(self, job: int) -> int:
        """A reset cut ``job``: it and every earlier job not yet output produce nothing.
        Returns how many jobs were dropped. Call after the outputs sampled before the reset."""
        lo = self.next_job
        hi = max(lo, job + 1)
        self.dropped[lo:hi] = True
        self.next_job = hi
        return hi - lo

    def orphans_sent(self, job: int, cycle: int) -> None:
        """The rest of ``job``, cut by a reset, was played after the reset (its orphan beats,
        outside any job); the last was accepted on ``cycle``. They must produce no output: an
        output that comes instead is reported as extra, naming ``job``."""
        self.orphan_cycle[job] = cycle

    def protocol_error(self, cycle: int, message: str) -> None:
        """A handshake signal held X/Z (or another protocol breach) on ``cycle``."""
        self._record(Mismatch("xz", None, cycle, None, None, f"cycle {cycle}: {message}"))

    # -- checks --------------------------------------------------------------------------------

    def check_one(self, y: int | None, sat: int | None, cycle: int) -> bool:
        """Check one output seen on ``cycle`` (``y``/``sat`` None: X/Z); True when right.

        The first output after a cut job's orphan beats that is wrong for the next job is held
        until the one after it: when that one is the next job's right output, the held one was
        the orphans' (reported as extra, naming the cut job); otherwise it is the next job's
        wrong output, reported as such."""
        self.n_outputs += 1
        held = self._held
        if held is not None:
            self._held = None
            if self._fits(y, sat, cycle):
                hy, hs, hc = held
                self._extra(
                    self.next_job,
                    hy,
                    hs,
                    hc,
                    why=f"the next output, on cycle {cycle}, is job {self.next_job}'s",
                )
            else:
                self._check(*held)
        elif (
            self._orphan_before(self.next_job, cycle) is not None
            and self._causal(cycle)
            and not self._fits(y, sat, cycle)
        ):
            self._held = (y, sat, cycle)
            return False
        return self._check(y, sat, cycle)

    def _causal(self, cycle: int) -> bool:
        """An output on ``cycle`` may be the next job's."""
        j = self.next_job
        return j < self.n_jobs and 0 <= self.accept_cycle[j] < cycle

    def _fits(self, y, sat, cycle: int) -> bool:
        """An output on ``cycle`` is the next job's right output."""
        j = self.next_job
        return (
            self._causal(cycle)
            and y is not None
            and sat is not None
            and y == self._y[j]
            and bool(sat) == self._sat[j]
        )

    def _check(self, y: int | None, sat: int | None, cycle: int) -> bool:
        j = self.next_job
        if j >= self.n_jobs or self.accept_cycle[j] < 0 or cycle <= self.accept_cycle[j]:
            self._extra(j, y, sat, cycle)
            return False
        self.next_job = j + 1
        self.checked[j] = True
        self.out_cycle[j] = cycle
        self.last_checked_job = j
        self.got_xz[j] = y is None or sat is None
        if not self.got_xz[j]:
            self.got_y[j], self.got_sat[j] = y, bool(sat)
        if y is None or sat is None:
            self._fail("xz", j, y, sat, cycle, "out_y_o/out_sat_o hold X or Z while out_valid_o")
            return False
        if y != self._y[j]:
            self._fail("value", j, y, sat, cycle, self._value_hint(j, y))
            return False
        if bool(sat) != self._sat[j]:
            self._fail(
                "sat",
                j,
                y,
                sat,
                cycle,
                f"out_sat_o = {int(sat)} but the clamp "
                f"{'did' if self._sat[j] else 'did not'} change the value",
            )
            return False
        return True

    def check(
        self, y: np.ndarray, sat: np.ndarray, cycles: np.ndarray, xz: np.ndarray | None = None
    ) -> int:
        """Check a batch of outputs in the order they appeared, each with its cycle.

        ``xz`` marks outputs whose bus held X/Z (their y/sat are ignored). Returns the number of
        failures in the batch. Equivalent to calling :meth:`check_one` for each output.
        """
        y = np.asarray(y, dtype=np.int64)
        sat = np.asarray(sat, dtype=bool)
        cycles = np.asarray(cycles, dtype=np.int64)
        n = y.shape[0]
        if not (sat.shape[0] == cycles.shape[0] == n):
            raise ValueError(
                f"y, sat and cycles must have the same length, got {n}, "
                f"{sat.shape[0]}, {cycles.shape[0]}"
            )
        xz = np.zeros(n, bool) if xz is None else np.asarray(xz, dtype=bool)
        if not n:
            return 0
        before = self.n_mismatches
        j0 = self.next_job
        if self._held is not None or self._orphan_before(j0, int(cycles[0])) is not None:
            # The first outputs after orphan beats: one by one (see check_one), then the rest.
            self.check_one(
                None if xz[0] else int(y[0]), None if xz[0] else bool(sat[0]), int(cycles[0])
            )
            self.check(y[1:], sat[1:], cycles[1:], xz[1:])
            return self.n_mismatches - before
        jobs = j0 + np.arange(n)
        causal = jobs[-1] < self.n_jobs
        if causal:
            acc_c = self.accept_cycle[jobs]
            causal = bool(np.all((acc_c >= 0) & (cycles > acc_c)))
        if not causal:
            # An extra output shifts everything after it: take the exact one-by-one path.
            for i in range(n):
                self.check_one(
                    None if xz[i] else int(y[i]), None if xz[i] else bool(sat[i]), int(cycles[i])
                )
            return self.n_mismatches - before
        self.n_outputs += n
        self.next_job = j0 + n
        self.checked[jobs] = True
        self.out_cycle[jobs] = cycles
        self.last_checked_job = int(jobs[-1])
        self.got_y[jobs] = np.where(xz, 0, y)
        self.got_sat[jobs] = sat & ~xz
        self.got_xz[jobs] = xz
        bad_val = ~xz & (y != self.exp_y[jobs])
        bad_sat = ~xz & ~bad_val & (sat != self.exp_sat[jobs])
        for i in np.flatnonzero(xz | bad_val | bad_sat):
            j = int(jobs[i])
            if xz[i]:
                self._fail(
                    "xz",
                    j,
                    None,
                    None,
                    int(cycles[i]),
                    "out_y_o/out_sat_o hold X or Z while out_valid_o",
                )
            elif bad_val[i]:
                self._fail(
                    "value",
                    j,
                    int(y[i]),
                    bool(sat[i]),
                    int(cycles[i]),
                    self._value_hint(j, int(y[i])),
                )
            else:
                self._fail(
                    "sat",
                    j,
                    int(y[i]),
                    bool(sat[i]),
                    int(cycles[i]),
                    f"out_sat_o = {int(sat[i])} but the clamp "
                    f"{'did' if self.exp_sat[j] else 'did not'} change the value",
                )
        return self.n_mismatches - before

    def finish(self) -> None:
        """End of run: every job whose last beat was accepted and that was neither output nor
        dropped by a reset is missing (not counted when the run was stopped early)."""
        if self._held is not None:
            held, self._held = self._held, None
            self._check(*held)
        if self.stop:
            return
        missing = np.flatnonzero((self.accept_cycle >= 0) & ~self.checked & ~self.dropped)
        for j in missing:
            j = int(j)
            self._fail(
                "missing",
                j,
                None,
                None,
                None,
                f"no output for job {j} (its last beat was accepted on cycle "
                f"{int(self.accept_cycle[j])})",
            )

    # -- results -------------------------------------------------------------------------------

    @property
    def passed(self) -> bool:
        return self.n_mismatches == 0

    @property
    def n_checked(self) -> int:
        return int(np.count_nonzero(self.checked))

    @property
    def n_dropped(self) -> int:
        return int(np.count_nonzero(self.dropped))

    @property
    def pending(self) -> int:
        """Finished jobs whose output has not appeared yet."""
        sent = self.accept_cycle >= 0
        return int(np.count_nonzero(sent[self.next_job :]))

    def exact_after(self, cut_jobs) -> int:
        """How many of the jobs a reset cut were followed by a job that was checked and right."""
        n = 0
        for j in cut_jobs:
            nxt = int(j) + 1
            if nxt < self.n_jobs and self.checked[nxt] and not self.failed_jobs[nxt]:
                n += 1
        return n

    def produced(self) -> np.ndarray:
        """Jobs whose output came out with a known value (see :attr:`got_y`, :attr:`got_sat`)."""
        return self.checked & ~self.got_xz

    def saturated_checked(self) -> int:
        return int(np.count_nonzero(self.exp_sat & self.checked))

    def overflowed_checked(self) -> int:
        """Checked outputs whose accumulator overflowed (pyref's prediction)."""
        return int(np.count_nonzero(self.exp_overflow & self.checked))

    # -- internals -----------------------------------------------------------------------------

    def _expected(self, j: int) -> dict:
        return {"y": int(self.exp_y[j]), "sat": bool(self.exp_sat[j]), "acc": int(self.exp_acc[j])}

    def _value_hint(self, j: int, y: int) -> str:
        hint = f"out_y_o = {y}, expected {int(self.exp_y[j])}"
        # Neighbours as context: a dropped or duplicated output shows as a shift by one job.
        around = []
        if j > 0:
            around.append(f"job {j - 1} expects {int(self.exp_y[j - 1])}")
        if j + 1 < self.n_jobs:
            around.append(f"job {j + 1} expects {int(self.exp_y[j + 1])}")
        return hint + (f" ({', '.join(around)})" if around else "")

    def _extra(self, j: int, y, sat, cycle: int, why: str | None = None) -> None:
        """Report an output on ``cycle`` that is not job ``j``'s (``why``: the reason, if not
        the usual ones), naming the cut job when orphan beats came just before it."""
        if why is None:
            if j >= self.n_jobs:
                why = "every job has produced its output already"
            elif self.accept_cycle[j] < 0:
                why = f"the next job ({j}) has not had its last beat accepted yet"
            else:
                why = (
                    f"the next job ({j}) had its last beat accepted on cycle "
                    f"{int(self.accept_cycle[j])}, not before this one"
                )
        k = self.last_checked_job
        prev = (
            f"; the last output checked was job {k} (y = {int(self.exp_y[k])}, cycle "
            f"{int(self.out_cycle[k])})"
            if k >= 0
            else ""
        )
        orphan = self._orphan_before(j, cycle)
        if orphan is None:
            self._record(
                Mismatch(
                    "extra",
                    None,
                    cycle,
                    None,
                    {"y": y, "sat": sat},
                    f"extra output y = {y} on cycle {cycle}: {why}{prev}",
                )
            )
            return
        oc = int(self.orphan_cycle[orphan])
        self._record(
            Mismatch(
                "extra",
                orphan,
                cycle,
                None,
                {"y": y, "sat": sat},
                f"job {orphan}: extra output y = {y} on cycle {cycle} after the "
                f"orphan beats of job {orphan} (cut by a reset; the rest of its "
                f"beats, the last taken on cycle {oc}, came outside any job and "
                f"must be dropped): {why}{prev}",
            )
        )

    def _orphan_before(self, j: int, cycle: int) -> int | None:
        """The cut job whose orphan beats most likely caused an extra output on ``cycle``: the
        latest one before job ``j`` whose beats went in before ``cycle``, with no output
        checked since."""
        lo = self.last_checked_job + 1
        hi = min(j, self.n_jobs)
        if hi <= lo:
            return None
        cand = np.flatnonzero((self.orphan_cycle[lo:hi] >= 0) & (self.orphan_cycle[lo:hi] < cycle))
        return lo + int(cand[-1]) if cand.size else None

    def _fail(self, kind: str, j: int, y, sat, cycle, message: str) -> None:
        self.failed_jobs[j] = True
        inputs = (
            self.describe_job(j)
            if (self.describe_job and len(self.mismatches) < self.max_detailed)
            else None
        )
        actual = (
            None
            if y is None and kind != "xz"
            else {"y": y, "sat": None if sat is None else bool(sat)}
        )
        self._record(
            Mismatch(kind, j, cycle, self._expected(j), actual, f"job {j}: {message}", inputs)
        )

    def _record(self, mm: Mismatch) -> None:
        self.n_mismatches += 1
        self.counts[mm.kind] += 1
        if len(self.mismatches) < self.max_detailed:
            if mm.inputs is None and mm.job is not None and self.describe_job:
                mm.inputs = self.describe_job(mm.job)
            self.mismatches.append(mm)
        if self.n_mismatches >= self.max_mismatches:
            self.stop = True
