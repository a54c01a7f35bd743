"""The testbench around ``qmac``: owns the clock, the reset, the driver and the monitor, and
runs a prepared :class:`~tb.shared.prepare.Session` through the design.

Port names and parameters it expects are those of ``docs/interface.md`` (``clk_i``, ``rst_i``,
``in_*``, ``out_*``); any datapath with that interface can be dropped in.
"""

from __future__ import annotations

import dataclasses
import os
import time

from cocotb.clock import Clock
from cocotb.simtime import convert, get_sim_time
from cocotb.triggers import RisingEdge

from tb.shared.prepare import Session

from .driver import BeatDriver
from .monitor import OutputMonitor

DRAIN_CYCLES = 4000
"""How long to wait for outstanding outputs after the last beat before calling them missing."""
TAIL_CYCLES = 16
"""Cycles watched after the last expected output, to catch extra ones."""


@dataclasses.dataclass
class RunStats:
    """What one per-cycle run did: beats, cycles, wall time, handshake events."""

    beats: int
    cycles: int
    seconds: float
    events: dict


class QmacTB:
    """Clock (10 ns), synchronous reset, :class:`BeatDriver` and :class:`OutputMonitor`."""

    def __init__(self, dut, period_ns: int = 10, reset_cycles: int = 3):
        self.dut = dut
        self.clk = dut.clk_i
        self.period_ns = period_ns
        self.reset_cycles = reset_cycles
        self._period_steps = convert(period_ns, "ns", to="step")
        self.clock = Clock(
            dut.clk_i, period_ns, unit="ns", impl=os.environ.get("QMAC_CLOCK_IMPL", "gpi")
        )
        self._in_reset = False
        dut.rst_i.value = 0
        self.driver = BeatDriver(dut, self.cycle)
        self.monitor = OutputMonitor(dut, self.cycle)
        self.cut_jobs: list[int] = []
        self._session: Session | None = None

    def cycle(self) -> int:
        """The current clock cycle (rising edges since time 0)."""
        return get_sim_time("step") // self._period_steps

    @property
    def in_reset(self) -> bool:
        return self._in_reset

    async def start(self) -> None:
        """Start the clock and apply a reset."""
        self.clock.start(start_high=False)
        await self.reset(5)

    async def reset(self, cycles: int | None = None) -> None:
        """Hold ``rst_i`` high for ``cycles`` rising edges (inputs idle meanwhile)."""
        self._in_reset = True
        self.dut.rst_i.value = 1
        for _ in range(cycles or self.reset_cycles):
            await RisingEdge(self.clk)
        self.dut.rst_i.value = 0
        self._in_reset = False

    async def _cut(self, job: int) -> None:
        # The driver has lowered in_valid_i right after the edge that took the job's first beat.
        await self.reset()
        self._session.scoreboard.drop_through(job)
        self.cut_jobs.append(job)

    async def drain(self, sb, timeout: int = DRAIN_CYCLES, tail: int = TAIL_CYCLES) -> None:
        """Wait until every finished job has produced its output (at most ``timeout`` cycles),
        then ``tail`` cycles more to catch extra outputs."""
        edge = RisingEdge(self.clk)
        waited = 0
        while sb.pending and not sb.stop and waited < timeout:
            await edge
            waited += 1
        if not sb.stop:
            for _ in range(tail):
                await edge

    async def run(self, session: Session) -> RunStats:
        """Drive every job of ``session``, check every output, wait for the last ones."""
        self._session = session
        sb = session.scoreboard
        t0 = time.perf_counter()
        c0 = self.cycle()
        self.monitor.start(
            session.ready,
            sb.check_one,
            in_reset=lambda: self._in_reset,
            on_protocol_error=sb.protocol_error,
        )
        self.driver.start(
            session.stim,
            session.idle,
            cut_jobs=session.cut_jobs,
            on_cut=self._cut,
            on_job_sent=sb.job_sent,
            on_orphans_sent=sb.orphans_sent,
            should_stop=lambda: sb.stop,
        )
        await self.driver.done.wait()
        if self.driver.error is not None:
            self.monitor.stop()
            raise self.driver.error
        await self.drain(sb)
        self.monitor.stop()
        await self.monitor.stopped.wait()
        sb.finish()
        events = {
            **self.driver.stats,
            **self.monitor.stats,
            "reset_mid_job": len(self.cut_jobs),
            "exact_after_reset": sb.exact_after(self.cut_jobs),
        }
        return RunStats(
            self.driver.beats_accepted, self.cycle() - c0, time.perf_counter() - t0, events
        )
