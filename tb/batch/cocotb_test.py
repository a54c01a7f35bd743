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
The report is the same :class:`~tb.shared.job.SimReport`, plus ``batch-result.json`` beside it
with the batch figures.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from pathlib import Path

import cocotb
import numpy as np

from tb.shared.job import SimJob, SimReport
from tb.shared.prepare import make_report, prepare
from tb.shared.scoreboard import Scoreboard

from . import harness, pack, plan
from .checker import BatchChecker
from .patterns import PatternSource
from .transport import BatchPlayer, DpiTransport, MemhTransport

DEFAULT_BATCH_BEATS = {"verilator": 65536, "icarus": 16384}
"""Beats per batch: the fastest size (bigger batches amortize Python's wake-up); Icarus is
bounded by the wrapper's memories and its cycle budget."""
BATCH_BEATS_ENV = "QMAC_BATCH_BEATS"
"""Environment override of the batch size (the benchmark sweeps it)."""


def batch_beats(sim: str, full_speed: bool) -> int:
    """Beats per batch for ``sim`` (and for Icarus whether the handshake patterns pause)."""
    n = int(os.environ.get(BATCH_BEATS_ENV, DEFAULT_BATCH_BEATS[sim]))
    if sim == "icarus":
        d = harness.ICARUS_DEPTHS
        fit = (d["MAX_CYCLES"] - 1024) // (4 if full_speed else 24)
        n = min(n, d["MAX_BEATS"], d["MAX_JOBS"], fit)
    return max(n, 1)


def make_transport(sim: str):
    """The batch transport of ``sim``: DPI-C buffers on Verilator, $readmemh files on Icarus."""
    if sim == "verilator":
        return DpiTransport()
    return MemhTransport(os.getcwd(), dict(harness.ICARUS_DEPTHS))


def play_stream(stim, cut_jobs) -> tuple:
    """The beats the wrapper plays and the cut mark of each: every beat of the stimulus; a job
    cut by a reset is marked ``cut`` on its first beat, and the rest of it (its orphan beats,
    :func:`tb.batch.plan.orphan_beats`) is played after the reset, as the per-cycle driver
    does."""
    return stim.stream, plan.cut_beats(stim.stream, cut_jobs)


async def play_all(dut, session, job: SimJob, rng: np.random.Generator,
                   detail: dict, beat_words: np.ndarray | None = None) -> tuple[dict, str | None]:
    """Play and check every batch; returns the handshake events and the first handshake or
    timing failure (None when there was none)."""
    config, stim, sb = session.config, session.stim, session.scoreboard
    t0 = time.perf_counter()
    transport = make_transport(job.sim)
    player = BatchPlayer(dut, transport)
    patterns = PatternSource(job.idle, job.ready, rng)
    stream, cut = play_stream(stim, session.cut_jobs)
    # Words packed by the caller are the stream's own when no reset cuts a job.
    beats = (beat_words if beat_words is not None and not cut.any()
             else pack.pack_beats(stream, config, cut))
    jobs = pack.pack_jobs(stim.stream, config)   # every job, cut ones too
    bbits, jbits = pack.beat_bits(config), pack.job_bits(config)
    batches = plan.split(stream, batch_beats(job.sim, patterns.full_speed))
    pat_limit = transport.depths["PAT_LEN"] if isinstance(transport, MemhTransport) else None
    session.prepare_seconds += time.perf_counter() - t0
    detail.update(transport=transport.name, batches=len(batches), batches_played=0,
                  cycles=0, latency=None, t_pack=time.perf_counter() - t0, t_sim=0.0,
                  t_check=0.0)
    checker = BatchChecker(config, stream, cut, sb)
    for i, (b0, b1, j0, j1) in enumerate(batches):
        ta = time.perf_counter()
        budget = min(plan.cycle_budget(b1 - b0, j1 - j0, patterns.full_speed),
                     transport.max_cycles)
        # Long enough for a typical batch; the wrapper repeats it if the batch runs longer.
        span = min(budget, 4 * (b1 - b0 + j1 - j0))
        pattern = patterns.take(plan.pattern_length(span, pat_limit))
        played = await player.play(beats[b0:b1], bbits, jobs[j0:j1], jbits, pattern,
                                   max_cycles=budget, reset_cycles=3 if i == 0 else 0)
        tb_ = time.perf_counter()
        failures = checker.check(played, b0, b1, j0, j1)
        detail["t_sim"] += tb_ - ta
        detail["t_check"] += time.perf_counter() - tb_
        detail["batches_played"] += 1
        detail["cycles"] += len(played.words)
        detail["latency"] = checker.latency
        if failures:
            detail["handshake_failures"] = [str(x) for x in failures]
            return checker.events, str(failures[0])
        if sb.pending and not sb.stop:
            # The batch drained but some job that went in never came out: report it now,
            # before later outputs are matched to the wrong jobs.
            detail["missing_after_batch"] = i
            break
        if sb.stop:
            break
    return {**checker.events, "exact_after_reset": checker.exact_after_reset()}, None


async def run_job(dut, job: SimJob, *, stim=None, expected=None,
                  beat_words=None) -> tuple[SimReport, Scoreboard]:
    """Play and check every beat of ``job`` on ``dut`` (a ``qmac_batch_tb``); save its report to
    ``job.results`` when it names a file (with ``batch-result.json`` beside it). ``stim`` and
    ``expected`` play given jobs against a given prediction (:func:`tb.shared.prepare.prepare`);
    ``beat_words`` are ``stim``'s beats already packed (:func:`tb.batch.pack.pack_beats`).
    Returns the report and the scoreboard, which holds what the DUT output for each job."""
    session = prepare(job, stim=stim, expected=expected)
    # The patterns draw from their own stream; the stimulus is the per-cycle run's.
    rng = np.random.default_rng([job.seed, 0xBA7C])
    dut._log.info("qmac batch: %d jobs, %d beats, seed %d, idle=%s ready=%s",
                  session.stim.n_jobs, session.stim.n_beats, job.seed, job.idle, job.ready)
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
    report = make_report(session, beats=int(session.stim.n_beats), cycles=detail.get("cycles", 0),
                         seconds=seconds, events=events, error=error)
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
    assert report.passed, (f"{report.mismatches} mismatch(es)"
                           + (f"; {report.error}" if report.error else "")
                           + f"; reproduce with: {job.repro}")
