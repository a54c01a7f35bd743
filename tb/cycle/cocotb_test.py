"""The cocotb test of the per-cycle transport: one job from the environment, run cycle by cycle.

Started by :func:`tb.run.runner.run_sim` (``make sim``, ``make test``) through
``cocotb_tools.runner``;
the job arrives as JSON in ``$QMAC_TB_JOB`` and the report is written where the job says.
"""

from __future__ import annotations

import time
import traceback

import cocotb

from tb.shared.job import SimJob, SimReport
from tb.shared.prepare import make_report, prepare

from .testbench import QmacTB
from .trace_replay import replay_trace


@cocotb.test()
async def qmac_stream(dut):
    """Every output of the job's stimulus checked against pyref, cycle by cycle."""
    job = SimJob.from_env()
    tb = QmacTB(dut)
    await tb.start()
    report = await run_job(tb, job)
    assert report.passed, (
        f"{report.mismatches} mismatch(es)"
        + (f"; {report.error}" if report.error else "")
        + f"; reproduce with: {job.repro}"
    )


async def run_job(tb: QmacTB, job: SimJob) -> SimReport:
    """Play and check every beat of ``job`` through ``tb`` (clock running, reset done); save the
    report to ``job.results`` when it names a file, and return it."""
    dut = tb.dut
    if job.trace:
        report = await replay_trace(tb, job)
        if job.results:
            report.save(job.results)
        for m in report.details:
            dut._log.error("%s", m["message"])
        return report
    session = prepare(job)
    dut._log.info(
        "qmac: %d jobs, %d beats, seed %d, idle=%s ready=%s, %d mid-job resets",
        session.stim.n_jobs,
        session.stim.n_beats,
        job.seed,
        job.idle,
        job.ready,
        len(session.cut_jobs),
    )
    error = None
    t0 = time.perf_counter()
    try:
        stats = await tb.run(session)
    except Exception as exc:  # a protocol breach the driver/monitor cannot continue after
        error = f"{type(exc).__name__}: {exc}"
        dut._log.error("%s", traceback.format_exc())
        stats = None
    report = make_report(
        session,
        beats=stats.beats if stats else tb.driver.beats_accepted,
        cycles=stats.cycles if stats else tb.cycle(),
        seconds=stats.seconds if stats else time.perf_counter() - t0,
        events=stats.events if stats else {},
        error=error,
        stopped=(
            f"MAX_MISMATCHES = {job.max_mismatches} reached" if session.scoreboard.stop else ""
        ),
    )
    if job.results:
        report.save(job.results)
    for m in report.details:
        dut._log.error("%s", m["message"])
    return report
