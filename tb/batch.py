"""The batch transport: the RTL against pyref with Python waking once per batch, not per cycle.

Importing this module registers ``mode="batch"`` with :mod:`tb.run`, so
``run_sim(SimJob(..., mode="batch"))`` (and ``make sim MODE=batch``) builds
``tb/hdl/qmac_batch_tb.sv`` around the RTL (:mod:`tb.batch_build`) and runs
:mod:`tb.batch_cocotb`, with the same stimulus, scoreboard, coverage and report as the per-cycle
transport. Every output is checked: value, saturation flag, order, and the cycle against the
handshake rules (:mod:`tb.batch_trace`).

``mode="batch-timing"`` is the same testbench on cocotb's own Verilator main loop with the clock
made by ``--timing`` (for the benchmark's comparison only).
"""

from __future__ import annotations

import dataclasses

from . import batch_build
from .job import SimJob
from .run import RunResult, Transport, register_transport, run_sim

TRANSPORT = Transport("batch", "tb.batch_cocotb", toplevel=batch_build.TOPLEVEL,
                      extra_sources=(batch_build.WRAPPER,), build_tag="batch",
                      builder=batch_build.build)
TIMING_TRANSPORT = dataclasses.replace(TRANSPORT, name="batch-timing", build_tag="batch-timing")
register_transport(TRANSPORT)
register_transport(TIMING_TRANSPORT)


def run(job: SimJob, **kwargs) -> RunResult:
    """:func:`tb.run.run_sim` of ``job`` on the batch transport (same arguments, same result)."""
    if not job.mode.startswith("batch"):
        job = dataclasses.replace(job, mode="batch")
    return run_sim(job, **kwargs)
