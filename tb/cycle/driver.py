"""The input-stream driver: plays a :class:`~tb.shared.stimulus.Stimulus` beat by beat on the
``in_*`` ports of ``qmac``, with idle cycles from an idle pattern.

Every beat is packed into port words (ints) before the run starts, so a cycle costs a handful
of writes and one read. Per cycle: right after the rising edge it presents the next beat (or
nothing, when the idle pattern pauses; a presented beat stays until accepted), then samples
``in_ready_o`` in the read-only phase, when every input of the cycle (including
``out_ready_i``, which ``in_ready_o`` may depend on) has settled. Sampling there rather than at
the edge keeps the handshake right on every simulator (Verilator runs edge callbacks after the
flip-flops have updated, Icarus before).
"""

from __future__ import annotations

from typing import Awaitable, Callable, Iterator

import numpy as np
from cocotb.triggers import Event, ReadOnly, RisingEdge

from pyref.config import QmacConfig
from tb.shared.packing import pack_lanes
from tb.shared.stimulus import Stimulus


def to_unsigned(values: np.ndarray, bits: int) -> list[int]:
    """Two's complement of each value in ``bits`` bits, as Python ints."""
    mask = (1 << bits) - 1
    return [int(v) & mask for v in np.asarray(values).tolist()]


class PackedBeats:
    """The port words of every beat of a stimulus (Python lists, one entry per beat)."""

    def __init__(self, stim: Stimulus):
        cfg: QmacConfig = stim.config
        s = stim.stream
        self.n = len(s)
        self.x = pack_lanes(s.x, cfg.in_bits)
        self.w = pack_lanes(s.w, cfg.w_bits)
        self.first = s.first.astype(bool).tolist()
        self.last = s.last.astype(bool).tolist()
        self.bias = to_unsigned(s.bias, cfg.bias_bits)
        self.mult = to_unsigned(s.mult, max(cfg.mult_bits, 1))
        self.shift = to_unsigned(s.shift, cfg.shift_bits)
        self.out_zp = to_unsigned(s.out_zp, cfg.out_bits)
        self.act_min = to_unsigned(s.act_min, cfg.out_bits)
        self.act_max = to_unsigned(s.act_max, cfg.out_bits)
        self.job = stim.stream.job_of_beat.tolist()
        starts = stim.job_starts
        self.job_start = starts.tolist()
        self.job_beats = stim.beats_per_job.tolist()


CutHook = Callable[[int], Awaitable[None]]

STALL_LIMIT = 20000
"""Cycles a presented beat may wait for ``in_ready_o`` before the run is declared dead-locked
(the slowest built-in back-pressure pattern stalls at most 60 cycles in a row)."""


class BeatDriver:
    """Drives the ``in_*`` ports. ``start(stim, idle)`` launches it; :attr:`done` is set when
    every beat has been accepted (or the run was stopped).

    ``cut_jobs``: jobs to cut with a reset after their first beat. Such a beat follows the
    previous job's last beat without an idle cycle; when it is accepted the driver lowers
    ``in_valid_i`` and awaits ``on_cut(job)`` (the testbench asserts the reset there). Then it
    carries on as an upstream that does not know about the reset: it plays the rest of the cut
    job (its orphan beats: ``in_first_i`` low, the last with ``in_last_i``; the DUT must take
    and drop them) and then the next job. ``on_job_sent(job, cycle)`` is called when a job's
    last beat is accepted, ``on_orphans_sent(job, cycle)`` when a cut job's last orphan beat
    is; ``should_stop()`` ends the run early.
    """

    def __init__(self, dut, cycle: Callable[[], int]):
        self.dut = dut
        self.clk = dut.clk_i
        self.cycle = cycle
        self.done = Event()
        self.beats_accepted = 0
        self.stats = {"back_to_back_jobs": 0, "in_stall": 0, "idle_gap": 0, "orphan_beats": 0}
        self._task = None
        self._stop = False
        self.error: Exception | None = None
        """Set when the run broke off (a deadlock, X on in_ready_o)."""
        self.idle()

    def idle(self) -> None:
        """Drive every input to a quiet value (valid low)."""
        d = self.dut
        d.in_valid_i.value = 0
        d.in_first_i.value = 0
        d.in_last_i.value = 0
        for name in (
            "in_x_i",
            "in_w_i",
            "in_bias_i",
            "in_mult_i",
            "in_shift_i",
            "in_out_zp_i",
            "in_act_min_i",
            "in_act_max_i",
        ):
            getattr(d, name).value = 0

    def start(
        self,
        stim: Stimulus,
        idle: Iterator[bool],
        *,
        cut_jobs=(),
        on_cut: CutHook | None = None,
        on_job_sent: Callable[[int, int], None] | None = None,
        on_orphans_sent: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        import cocotb

        if self._task is not None:
            raise RuntimeError("BeatDriver already started")
        self.beats = PackedBeats(stim)
        self._idle = idle
        self._cut = set(int(j) for j in cut_jobs)
        if self._cut and on_cut is None:
            raise ValueError("cut_jobs given without an on_cut hook")
        self._on_cut = on_cut
        self._on_job_sent = on_job_sent or (lambda job, cycle: None)
        self._on_orphans_sent = on_orphans_sent or (lambda job, cycle: None)
        self._should_stop = should_stop or (lambda: False)
        self._task = cocotb.start_soon(self._run())

    def stop(self) -> None:
        """End the run after the current cycle."""
        self._stop = True

    async def _run(self) -> None:
        try:
            await self._play()
        except Exception as exc:  # reported by the testbench, with the run's report
            self.error = exc
        finally:
            self.done.set()

    async def _play(self) -> None:
        d = self.dut
        b = self.beats
        valid_h, ready_h = d.in_valid_i, d.in_ready_o
        x_h, w_h, first_h, last_h = d.in_x_i, d.in_w_i, d.in_first_i, d.in_last_i
        job_h = (
            d.in_bias_i,
            d.in_mult_i,
            d.in_shift_i,
            d.in_out_zp_i,
            d.in_act_min_i,
            d.in_act_max_i,
        )
        job_v = (b.bias, b.mult, b.shift, b.out_zp, b.act_min, b.act_max)
        edge, read_only = RisingEdge(self.clk), ReadOnly()
        idle = self._idle
        cut = self._cut
        stats = self.stats
        i, n = 0, b.n
        presenting = False
        valid = False
        first_v = last_v = None
        last_sent_cycle = -10
        stalled = 0
        orphans_end = 0  # beats i < orphans_end are the orphans of a job cut by a reset
        while i < n and not self._stop:
            if self._should_stop():
                break
            if not presenting:
                # No idle gap right before a job that will be cut: the previous job is then
                # still in flight when the reset comes, which is the case worth testing.
                if next(idle) and not (b.first[i] and b.job[i] in cut):
                    if valid:
                        valid_h.value = 0
                        valid = False
                    stats["idle_gap"] += 1
                else:
                    x_h.value = b.x[i]
                    w_h.value = b.w[i]
                    f, l = b.first[i], b.last[i]
                    if f != first_v:
                        first_h.value = f
                        first_v = f
                    if l != last_v:
                        last_h.value = l
                        last_v = l
                    if f:
                        for h, v in zip(job_h, job_v):
                            h.value = v[i]
                    if not valid:
                        valid_h.value = 1
                        valid = True
                    presenting = True
            await read_only
            fire = False
            if presenting:
                r = str(ready_h.value)
                if r == "1":
                    fire = True
                    stalled = 0
                elif r != "0":
                    raise AssertionError(
                        f"in_ready_o is {r} while in_valid_i is high (cycle {self.cycle()})"
                    )
                else:
                    stats["in_stall"] += 1
                    stalled += 1
                    if stalled > STALL_LIMIT:
                        raise AssertionError(
                            f"in_ready_o low for {STALL_LIMIT} cycles with a beat waiting "
                            f"(beat {i}, job {b.job[i]}, cycle {self.cycle()}): deadlock"
                        )
            await edge
            if not fire:
                continue
            presenting = False
            self.beats_accepted += 1
            job = b.job[i]
            if b.first[i]:
                cyc = self.cycle()
                if cyc == last_sent_cycle + 1:
                    stats["back_to_back_jobs"] += 1
                if job in cut and b.job_beats[job] > 1:
                    valid_h.value = 0
                    valid = False
                    await self._on_cut(job)
                    orphans_end = b.job_start[job] + b.job_beats[job]
                    i += 1
                    continue
            if i < orphans_end:
                stats["orphan_beats"] += 1
                if b.last[i]:
                    last_sent_cycle = self.cycle()
                    self._on_orphans_sent(job, last_sent_cycle)
            elif b.last[i]:
                last_sent_cycle = self.cycle()
                self._on_job_sent(job, last_sent_cycle)
            i += 1
        if valid:
            valid_h.value = 0
