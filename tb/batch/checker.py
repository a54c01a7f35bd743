"""Checking the batches of a run as they come back: one :class:`BatchChecker` per run.

For each played batch it decodes the cycle trace (:mod:`tb.batch.trace`), checks the handshake
rules, hands the batch's accepted last beats and outputs (with their cycles, and the mid-job
resets between them) to the run's shared :class:`~tb.shared.scoreboard.Scoreboard` through its
public methods, and checks that every output came a fixed latency after its job's last beat.
Values are checked by the scoreboard only: the batch path has no output checker of its own.
"""

from __future__ import annotations

import numpy as np

from pyref.beats import BeatStream
from pyref.config import QmacConfig
from tb.shared.scoreboard import Scoreboard

from . import plan, trace
from .trace import Failure
from .transport import Trace


class BatchChecker:
    """Checks the batches of one run, in order.

    ``stream`` holds the beats the wrapper plays (every beat of the run); ``cut`` marks the
    first beat of each job a reset cuts. The rest of such a job (its orphan beats,
    :func:`tb.batch.plan.orphan_beats`) goes in after the reset and must produce nothing: its
    last beat finishes no job, and an output it causes is an extra one. Job numbers are those
    of the run (the scoreboard's).
    """

    def __init__(
        self, config: QmacConfig, stream: BeatStream, cut: np.ndarray, scoreboard: Scoreboard
    ):
        self.config = config
        self.stream = stream
        self.cut = np.asarray(cut, dtype=bool)
        self.orphan = plan.orphan_beats(stream, self.cut)
        self.job_of_beat = stream.job_of_beat
        """Run index of the job of each beat (batches start at a job's first beat)."""
        self.scoreboard = scoreboard
        self.latency: int | None = None
        """Pipeline advances from a job's last beat to its output (set by the first output)."""
        self.events: dict[str, int] = {"reset_mid_job": 0, "orphan_beats": 0}
        """Handshake coverage events so far (names of :data:`tb.shared.coverage.EVENT_BINS`)."""
        self.cut_jobs: list[int] = []
        """Jobs a reset has cut so far."""

    def check(self, played: Trace, b0: int, b1: int, j0: int, j1: int) -> list[Failure]:
        """Check the batch of beats ``b0:b1`` (jobs ``j0:j1``) from its trace; returns the
        handshake and timing failures, earliest first (values go to the scoreboard)."""
        sb = self.scoreboard
        c0 = played.cycle0
        sub = plan.slice_stream(self.stream, b0, b1)
        f = trace.decode(played.words, played.unknown_digits)
        out = trace.extract(f, self.config)
        hs = trace.check_handshake(f, out, sub, job_offset=j0, cycle0=c0)
        # When each job's last beat went in, then the outputs with their cycles (global cycle
        # numbers: the rising edge that ends the cycle), a reset at a time.
        taken = len(out.accept)
        orphan = self.orphan[b0:b1]
        lasts = np.flatnonzero(sub.last & ~orphan)
        lasts = lasts[lasts < taken]
        job_of_beat = self.job_of_beat[b0:b1]
        sb.jobs_sent(job_of_beat[lasts], c0 + out.accept[lasts])
        ends = np.flatnonzero(sub.last & orphan)
        ends = ends[ends < taken]
        for b in ends:
            sb.orphans_sent(int(job_of_beat[b]), c0 + int(out.accept[b]))
        self.events["orphan_beats"] += int(np.count_nonzero(orphan[:taken]))
        cuts = job_of_beat[np.flatnonzero(self.cut[b0:b1])]
        bounds = trace.reset_starts(f)
        lo = 0
        for k in range(len(bounds) + 1):
            hi = np.searchsorted(out.fire, bounds[k]) if k < len(bounds) else len(out.fire)
            sel = slice(lo, hi)
            sb.check(out.y[sel], out.sat[sel], c0 + out.fire[sel], out.xz[sel])
            if k < len(bounds) and k < len(cuts):
                sb.drop_through(int(cuts[k]))
                self.cut_jobs.append(int(cuts[k]))
            lo = hi
        self.events["reset_mid_job"] += len(bounds)
        for name, count in hs.events.items():
            self.events[name] = self.events.get(name, 0) + count
        failures = list(hs.failures)
        bad = self._check_latency(f, out, c0, j0, j1)
        if bad is not None:
            failures.append(bad)
        return sorted(failures, key=lambda x: x.cycle)

    def _check_latency(self, f, out, c0: int, j0: int, j1: int) -> Failure | None:
        """Latency of every output the scoreboard matched to a job of this batch."""
        sb = self.scoreboard
        mine = np.arange(j0, j1)
        mine = mine[sb.checked[mine] & (sb.out_cycle[mine] >= c0)]
        idx = np.searchsorted(out.fire, sb.out_cycle[mine] - c0)
        self.latency, bad = trace.check_latency(
            f, out, idx, sb.accept_cycle[mine] - c0, mine, cycle0=c0, latency=self.latency
        )
        return bad

    def exact_after_reset(self) -> int:
        """How many mid-job resets were followed by a job that was checked and right."""
        return self.scoreboard.exact_after(self.cut_jobs)
