"""Everything a run needs before the first clock edge, and its report after the last one.

:func:`prepare` turns a :class:`~tb.shared.job.SimJob` into stimulus, pyref's predictions, the reset
plan, the scoreboard, the coverage model and the handshake patterns; :func:`make_report` turns
the scoreboard and the testbench's counters into a :class:`~tb.shared.job.SimReport`. Both
transports
(per-cycle here, batch in ``tb/batch*``) call them, so they check and cover identically.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from pyref.beats import JobResult, predict_jobs
from pyref.config import QmacConfig

from .coverage import EVENT_BINS, CoverageModel, RunShape
from .generators import mixed_stimulus, plan_resets
from .job import SimJob, SimReport
from .patterns import PATTERNS, Pattern, make_pattern
from .scoreboard import Scoreboard
from .stimulus import Stimulus, from_layer


@dataclasses.dataclass
class Session:
    """What :func:`prepare` builds for one job: stimulus, predictions, reset plan, scoreboard,
    coverage model and handshake patterns."""

    job: SimJob
    config: QmacConfig
    stim: Stimulus
    expected: JobResult
    cut_jobs: np.ndarray
    scoreboard: Scoreboard
    coverage: CoverageModel | None
    idle: Pattern
    ready: Pattern
    notes: list
    prepare_seconds: float


def load_vectors(path: str):
    """``(config, layer, y or None)`` of a vector file, without comparing ``y`` to pyref (the
    replay reports disagreements itself)."""
    from pyref.vectors import load_vectors as _load

    return _load(path, check_expected=False)


def prepare(
    job: SimJob, *, stim: Stimulus | None = None, expected: JobResult | None = None
) -> Session:
    """Stimulus, predictions, patterns, scoreboard and coverage for ``job`` (seeded by
    ``job.seed``: the same job gives the same run).

    ``stim`` plays given jobs instead (no resets), and ``expected`` is the prediction for them
    when the caller already has it (the HIL session makes it once, in the parent)."""
    t0 = time.perf_counter()
    seq = np.random.SeedSequence(job.seed)
    rng_stim, rng_idle, rng_ready, rng_reset = (np.random.default_rng(s) for s in seq.spawn(4))
    notes: list[str] = []
    given = stim is not None
    expected_y = None
    resets = job.resets
    if stim is not None:
        config = stim.config
        resets = 0
    elif job.vectors:
        config, layer, y = load_vectors(job.vectors)
        stim = from_layer(config, layer)
        stim.validate()
        if y is not None:
            expected_y = np.asarray(y, dtype=np.int64).reshape(-1)
        resets = 0  # a replay checks every output of the file
    else:
        config = job.qmac_config()
        # The stream's checks run once, in predict_jobs (below, unless a prediction is given).
        stim = mixed_stimulus(
            config, rng_stim, job.n, job.mix, validate_stream=expected is not None
        )
    if expected is None:
        expected = predict_jobs(stim.stream, config)
    if expected_y is not None:
        differ = int(np.count_nonzero(expected_y != expected.y))
        if differ:
            j = int(np.argmax(expected_y != expected.y))
            notes.append(
                f"the vector file's y disagrees with pyref on {differ} output(s) "
                f"(first: job {j}, file {int(expected_y[j])}, pyref {int(expected.y[j])});"
                " the RTL is checked against the file"
            )
    cut_jobs = plan_resets(stim, rng_reset, resets)
    idle_info, ready_info = PATTERNS[job.idle], PATTERNS[job.ready]
    shape = RunShape(
        idle_pauses=idle_info.pauses,
        idle_runs=idle_info.runs,
        ready_pauses=ready_info.pauses,
        ready_runs=ready_info.runs,
        resets=len(cut_jobs),
        replay=bool(job.vectors) or given,
    )
    sb = Scoreboard(
        expected,
        expected_y=expected_y,
        describe_job=stim.job_detail,
        max_mismatches=job.max_mismatches,
    )
    cov = CoverageModel(stim, expected, shape) if job.coverage else None
    return Session(
        job,
        config,
        stim,
        expected,
        cut_jobs,
        sb,
        cov,
        make_pattern(job.idle, rng_idle),
        make_pattern(job.ready, rng_ready),
        notes,
        time.perf_counter() - t0,
    )


def make_report(
    session: Session,
    *,
    beats: int,
    cycles: int,
    seconds: float,
    events: dict,
    error: str | None = None,
    stopped: str = "",
) -> SimReport:
    """The report of a finished run (``events``: counts for the coverage event bins)."""
    sb, cov = session.scoreboard, session.coverage
    coverage = {}
    if cov is not None:
        for name in EVENT_BINS:
            if name in events:
                cov.add_event(name, int(events[name]))
        coverage = cov.report(sb.checked).to_dict()
    return SimReport(
        passed=sb.passed and error is None,
        job=dataclasses.asdict(session.job),
        outputs_checked=sb.n_checked,
        mismatches=sb.n_mismatches,
        mismatch_counts={k: v for k, v in sb.counts.items() if v},
        details=[m.to_dict() for m in sb.mismatches],
        saturated=sb.saturated_checked(),
        overflowed=sb.overflowed_checked(),
        jobs=sb.n_jobs,
        jobs_sent=int(np.count_nonzero(sb.accept_cycle >= 0)),
        dropped_by_reset=sb.n_dropped,
        resets=int(events.get("reset_mid_job", 0)),
        beats=beats,
        cycles=cycles,
        sim_seconds=seconds,
        prepare_seconds=session.prepare_seconds,
        coverage=coverage,
        events={k: int(v) for k, v in events.items()},
        notes=list(session.notes),
        error=error,
        stopped=stopped,
    )
