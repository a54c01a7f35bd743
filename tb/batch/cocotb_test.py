"""The cocotb test of the batch transport (``mode="batch"``), run inside the simulator.

Started by :func:`tb.run.runner.run_sim` like the per-cycle test (:mod:`tb.cycle.cocotb_test`),
from the same :class:`~tb.shared.job.SimJob`: :func:`tb.shared.prepare.prepare` makes the same
stimulus, predictions, scoreboard and coverage model. The beats are played in batches through
``qmac_batch_tb`` (:mod:`tb.batch.transport`); each batch's cycle trace is checked by a
:class:`~tb.batch.checker.BatchChecker` (handshake and timing rules, :mod:`tb.batch.trace`),
which hands its outputs with their cycles to the shared
:class:`~tb.shared.scoreboard.Scoreboard`. Mid-job resets are played as the per-cycle driver
plays them: the wrapper holds rst for 3 cycles right after the cut job's first beat, the
scoreboard drops every job in flight, and the rest of the cut job is played after the reset.
On Verilator the packing and the checking run on worker threads while the simulator plays
(:mod:`tb.batch.pipeline`, :func:`overlap_enabled`). The report is the same
:class:`~tb.shared.job.SimReport`, plus ``batch-result.json`` beside it with the batch figures
and where the time went (``t_pack``, ``t_check``: the workers' seconds; ``t_sim``: handing over
and waiting for the simulator, of which ``t_sim_only`` from hand-over to the wrapper's last
cycle and ``t_handback`` from there to Python running again; ``t_wait``: waiting for a worker).
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path

import cocotb
import numpy as np

from tb.shared.job import SimJob, SimReport
from tb.shared.prepare import make_report, prepare
from tb.shared.scoreboard import Scoreboard

from . import pack, pipeline, plan, wrapper
from .checker import BatchChecker
from .patterns import PatternSource
from .transport import BatchPlayer, DpiTransport, MemhTransport

DEFAULT_BATCH_BEATS = {"verilator": 65536, "icarus": 16384}
"""Beats per batch: the fastest size (bigger batches amortize Python's wake-up); Icarus is
bounded by the wrapper's memories and its cycle budget."""
BATCH_BEATS_ENV = "QMAC_BATCH_BEATS"
"""Environment override of the batch size (the benchmark sweeps it)."""
OVERLAP_ENV = "QMAC_BATCH_OVERLAP"
"""``1`` / ``0`` / ``auto`` (default): worker threads pack and check while the simulator plays
(:func:`overlap_enabled`)."""


SWITCH_INTERVAL = 0.0002
"""Python's thread switch interval (seconds) while the workers run (default 0.005)."""


def batch_beats(sim: str, full_speed: bool) -> int:
    """Beats per batch for ``sim`` (and for Icarus whether the handshake patterns pause)."""
    n = int(os.environ.get(BATCH_BEATS_ENV, DEFAULT_BATCH_BEATS[sim]))
    if sim == "icarus":
        d = wrapper.ICARUS_DEPTHS
        fit = (d["MAX_CYCLES"] - 1024) // (4 if full_speed else 24)
        n = min(n, d["MAX_BEATS"], d["MAX_JOBS"], fit)
    return max(n, 1)


def make_transport(sim: str):
    """The batch transport of ``sim``: DPI-C buffers on Verilator, $readmemh files on Icarus."""
    if sim == "verilator":
        return DpiTransport()
    return MemhTransport(os.getcwd(), dict(wrapper.ICARUS_DEPTHS))


def play_stream(stim, cut_jobs) -> tuple:
    """The beats the wrapper plays and the cut mark of each: every beat of the stimulus; a job
    cut by a reset is marked ``cut`` on its first beat, and the rest of it (its orphan beats,
    :func:`tb.batch.plan.orphan_beats`) is played after the reset, as the per-cycle driver
    does."""
    return stim.stream, plan.cut_beats(stim.stream, cut_jobs)


def overlap_enabled(transport) -> bool:
    """Whether worker threads pack and check while the simulator plays
    (:mod:`tb.batch.pipeline`). Only where the simulator lets go of the GIL meanwhile (the DPI
    transport's main loop on Verilator). ``QMAC_BATCH_OVERLAP=1`` / ``0`` forces it on / off;
    by default (``auto``) it is on when a core is free: at least two cores and a 1-minute load
    average at most one below their number. The workers can only use a core the simulation
    leaves free: on a fully loaded machine they would slow the simulation down instead (see
    docs/performance.md). Either way the results are the same."""
    if not hasattr(transport, "release_gil"):
        return False
    mode = os.environ.get(OVERLAP_ENV, "auto").strip().lower()
    if mode in ("0", "false", "no", "off"):
        return False
    if mode in ("1", "true", "yes", "on"):
        return True
    if mode != "auto":
        raise ValueError(f"{OVERLAP_ENV} = {mode!r} must be 0, 1 or auto")
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        cores = os.cpu_count() or 1
    return cores >= 2 and os.getloadavg()[0] <= cores - 1


async def play_all(
    dut,
    session,
    job: SimJob,
    rng: np.random.Generator,
    detail: dict,
    beat_words: np.ndarray | None = None,
) -> tuple[dict, str | None]:
    """Play and check every batch; returns the handshake events and the first handshake or
    timing failure (None when there was none). On Verilator worker threads pack the next
    batches and check the last ones while the simulator plays (:mod:`tb.batch.pipeline`: the
    same results as the serial loop, bit for bit)."""
    config, stim, sb = session.config, session.stim, session.scoreboard
    t0 = time.perf_counter()
    transport = make_transport(job.sim)
    player = BatchPlayer(dut, transport)
    patterns = PatternSource(job.idle, job.ready, rng)
    stream, cut = play_stream(stim, session.cut_jobs)
    job_ends = stim.stream.job_ends  # last beat of every job of the run, cut ones too
    # Words packed by the caller are the stream's own when no reset cuts a job.
    prepacked = beat_words if beat_words is not None and not cut.any() else None
    bbits, jbits = pack.beat_bits(config), pack.job_bits(config)
    batches = plan.split(stream, batch_beats(job.sim, patterns.full_speed))
    pat_limit = transport.depths["PAT_LEN"] if isinstance(transport, MemhTransport) else None
    overlap = overlap_enabled(transport)
    session.prepare_seconds += time.perf_counter() - t0
    detail.update(
        transport=transport.name,
        overlap=overlap,
        batches=len(batches),
        batches_played=0,
        beats_played=0,
        cycles=0,
        latency=None,
        t_pack=time.perf_counter() - t0,
        t_sim=0.0,
        t_check=0.0,
        t_wait=0.0,
    )
    checker = BatchChecker(config, stream, cut, sb)
    first_failure: list[str] = []

    def prepare_batch(i: int) -> tuple:
        """Beat and job words, pattern and cycle budget of batch ``i`` (on a worker)."""
        ta = time.perf_counter()
        b0, b1, j0, j1 = batches[i]
        words = (
            prepacked[b0:b1]
            if prepacked is not None
            else pack.pack_beats(plan.slice_stream(stream, b0, b1), config, cut[b0:b1])
        )
        jobs = pack.pack_jobs(stim.stream, config, job_ends[j0:j1])  # cut jobs too
        budget = min(plan.cycle_budget(b1 - b0, j1 - j0, patterns.full_speed), transport.max_cycles)
        # Long enough for a typical batch; the wrapper repeats it if the batch runs longer.
        span = min(budget, 4 * (b1 - b0 + j1 - j0))
        pattern = plan.open_both_sides(patterns.take(plan.pattern_length(span, pat_limit)))
        budget = min(plan.pattern_budget(pattern, b1 - b0, j1 - j0, budget), transport.max_cycles)
        return words, jobs, pattern, budget, time.perf_counter() - ta

    async def play_batch(i: int, prepared: tuple):
        words, jobs, pattern, budget, seconds = prepared
        detail["t_pack"] += seconds
        played = await player.play(
            words, bbits, jobs, jbits, pattern, max_cycles=budget, reset_cycles=3 if i == 0 else 0
        )
        if played.sim_seconds is not None:
            detail["t_sim_only"] = detail.get("t_sim_only", 0.0) + played.sim_seconds
            detail["t_handback"] = detail.get("t_handback", 0.0) + played.handback_seconds
        return played

    def check_batch(i: int, played) -> tuple:
        """Check batch ``i`` (on a worker): its failures, the scoreboard's state after it."""
        ta = time.perf_counter()
        failures = checker.check(played, *batches[i])
        return (
            i,
            len(played.words),
            failures,
            bool(sb.pending) and not sb.stop,
            sb.stop,
            checker.latency,
            time.perf_counter() - ta,
        )

    def stops(checked: tuple) -> bool:
        """A handshake or timing failure, a job that never came out (reported now, before
        later outputs are matched to the wrong jobs) or the scoreboard's mismatch limit."""
        _, _, failures, missing, stop, _, _ = checked
        return bool(failures) or missing or stop

    def settle(checked: tuple) -> None:
        """Book a checked batch (on the cocotb side, in batch order)."""
        i, n_cycles, failures, missing, _, latency, seconds = checked
        detail["t_check"] += seconds
        detail["batches_played"] += 1
        detail["beats_played"] += batches[i][1] - batches[i][0]
        detail["cycles"] += n_cycles
        detail["latency"] = latency
        if failures:
            detail["handshake_failures"] = [str(x) for x in failures]
            first_failure.append(str(failures[0]))
        elif missing:
            detail["missing_after_batch"] = i

    timers = pipeline.Timers()
    switch = sys.getswitchinterval()
    if overlap:
        transport.release_gil(True)
        # The simulator's thread needs the GIL back quickly when a batch is done.
        sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        await pipeline.run_batches(
            len(batches),
            prepare_batch,
            play_batch,
            check_batch,
            stops,
            settle,
            overlap=overlap,
            timers=timers,
        )
    finally:
        if overlap:
            transport.release_gil(False)
            sys.setswitchinterval(switch)
        detail.update(t_sim=timers.play, t_wait=timers.wait)
        if timers.dropped:
            detail["dropped_after_stop"] = timers.dropped
    if first_failure:
        return checker.events, first_failure[0]
    return {**checker.events, "exact_after_reset": checker.exact_after_reset()}, None


def stop_reason(sb, job: SimJob, detail: dict, error: str | None) -> str:
    """Why the batches stopped before the last one ("" when every batch played)."""
    if detail.get("batches_played", 0) >= detail.get("batches", 0):
        return ""
    if sb.stop:
        return f"MAX_MISMATCHES = {job.max_mismatches} reached"
    if error:
        return "a handshake or timing failure"
    return "a job with no output"


async def run_job(
    dut, job: SimJob, *, stim=None, expected=None, beat_words=None
) -> tuple[SimReport, Scoreboard]:
    """Play and check every beat of ``job`` on ``dut`` (a ``qmac_batch_tb``); save its report to
    ``job.results`` when it names a file (with ``batch-result.json`` beside it). ``stim`` and
    ``expected`` play given jobs against a given prediction (:func:`tb.shared.prepare.prepare`);
    ``beat_words`` are ``stim``'s beats already packed (:func:`tb.batch.pack.pack_beats`).
    Returns the report and the scoreboard, which holds what the DUT output for each job."""
    session = prepare(job, stim=stim, expected=expected)
    # The patterns draw from their own stream; the stimulus is the per-cycle run's.
    rng = np.random.default_rng([job.seed, 0xBA7C])
    dut._log.info(
        "qmac batch: %d jobs, %d beats, seed %d, idle=%s ready=%s",
        session.stim.n_jobs,
        session.stim.n_beats,
        job.seed,
        job.idle,
        job.ready,
    )
    detail: dict = {}
    error = None
    t0 = time.perf_counter()
    try:
        events, error = await play_all(dut, session, job, rng, detail, beat_words)
    except Exception as exc:  # a transport or wrapper failure: report it, do not hide it
        error = f"{type(exc).__name__}: {exc}"
        dut._log.error("%s", traceback.format_exc())
        events = {}
    seconds = time.perf_counter() - t0
    if error is None:
        session.scoreboard.finish()
    report = make_report(
        session,
        beats=int(detail.get("beats_played", 0)),
        cycles=detail.get("cycles", 0),
        seconds=seconds,
        events=events,
        error=error,
        stopped=stop_reason(session.scoreboard, job, detail, error),
    )
    detail.update(t_run=seconds, prepare_seconds=session.prepare_seconds)
    if job.results:
        report.save(job.results)
        Path(job.results).with_name("batch-result.json").write_text(json.dumps(detail, indent=1))
    for m in report.details:
        dut._log.error("%s", m["message"])
    if error:
        dut._log.error("%s", error)
    return report, session.scoreboard


@cocotb.test()
async def qmac_batch(dut):
    """Every output of the job's stimulus checked against pyref, a batch at a time."""
    job = SimJob.from_env()
    report, _ = await run_job(dut, job)
    assert report.passed, (
        f"{report.mismatches} mismatch(es)"
        + (f"; {report.error}" if report.error else "")
        + f"; reproduce with: {job.repro}"
    )
