"""The replay of a cycle trace (``make sim TRACE=file.npz``, tb/shared/cycle_trace.py): every input
port driven cycle by cycle as the file gives it, then idle cycles with ``out_ready_i`` high until
the pipeline drains, each cycle checked against docs/interface.md's protocol.

The check keeps the jobs the design takes (a beat moves on ``in_valid_i && in_ready_o``; a job
runs from ``in_first_i`` to ``in_last_i``; beats outside a job, and everything before a reset,
are dropped) and pyref's output of each finished job, in order. In every cycle out of reset
``in_ready_o`` must be ``!out_valid_o || out_ready_i`` (kind ``in_ready``); each output taken
must be the oldest pending job's (``value``; ``extra`` when none is pending); after the drain a
job still pending is ``missing``.
"""

from __future__ import annotations

import collections
import dataclasses
import time

import numpy as np
from cocotb.triggers import ReadOnly, RisingEdge

from pyref.beats import BeatStream, predict_jobs
from pyref.config import QmacConfig
from tb.shared.cycle_trace import load_trace
from tb.shared.job import SimJob, SimReport
from tb.shared.packing import pack_lanes
from tb.shared.scoreboard import Mismatch

from .driver import to_unsigned

DRAIN_EXTRA = 16
"""Idle cycles after the trace beyond the config's latency, to see every pending output."""


class TraceChecker:
    """The protocol's model of the jobs, fed one cycle at a time."""

    def __init__(self, cfg: QmacConfig, max_mismatches: int):
        self.cfg = cfg
        self.max_mismatches = max_mismatches
        self.pending: collections.deque = collections.deque()
        self.beats: list[int] = []
        self.in_job = False
        self.checked = 0
        self.jobs = 0
        self.mismatches: list[Mismatch] = []
        self.counts: collections.Counter = collections.Counter()

    def _fail(self, kind: str, cycle: int, message: str, expected=None, actual=None) -> None:
        self.counts[kind] += 1
        if len(self.mismatches) < self.max_mismatches:
            self.mismatches.append(Mismatch(kind, None, cycle, expected, actual, message))

    def _expect(self, rows: dict[str, np.ndarray], beats: list[int]) -> dict:
        """pyref's output of the job of ``beats`` (the job values of its first beat)."""
        n, b0 = len(beats), beats[0]
        job_values = ("bias", "mult", "shift", "out_zp", "act_min", "act_max")
        stream = BeatStream(
            x=rows["x"][beats],
            w=rows["w"][beats],
            first=[1] + [0] * (n - 1),
            last=[0] * (n - 1) + [1],
            **{k: [int(rows[k][b0])] * n for k in job_values},
        )
        r = predict_jobs(stream, self.cfg)
        return {"y": int(r.y[0]), "sat": bool(r.saturated[0]), "acc": int(r.acc[0])}

    def cycle(self, c: int, rows, i: int | None, ready: int, valid_o: int, y, sat) -> None:
        """Cycle ``c``: trace row ``i`` (None: an idle drain cycle) driven, ``in_ready_o``,
        ``out_valid_o`` (-1: X or Z) and the output sampled before the edge."""
        rst = int(rows["rst"][i]) if i is not None else 0
        out_ready = int(rows["out_ready"][i]) if i is not None else 1
        want = int(not rst and (not valid_o or out_ready))
        if ready != want:
            self._fail(
                "in_ready",
                c,
                f"in_ready_o = {'X' if ready < 0 else ready} with rst_i = {rst}, out_valid_o = "
                f"{'X' if valid_o < 0 else valid_o}, out_ready_i = {out_ready}: expected {want}",
            )
        if rst:
            self.pending.clear()
            self.in_job, self.beats = False, []
            return
        if valid_o and out_ready:
            actual = {"y": y, "sat": sat}
            if not self.pending:
                self._fail("extra", c, f"out_y_o = {y} taken with no job pending", None, actual)
            else:
                exp = self.pending.popleft()
                self.checked += 1
                if (y, sat) != (exp["y"], int(exp["sat"])):
                    msg = f"out_y_o = {y}, expected {exp['y']}"
                    self._fail("value", c, msg, exp, actual)
        if i is None or not (rows["valid"][i] and ready):
            return
        first, last = int(rows["first"][i]), int(rows["last"][i])
        if not (first or self.in_job):
            return
        self.beats = [i] if first else self.beats + [i]
        self.in_job = not last
        if last:
            self.pending.append(self._expect(rows, self.beats))
            self.jobs += 1

    def finish(self, c: int) -> None:
        """After the drain: every job still pending is missing."""
        for exp in self.pending:
            self._fail("missing", c, f"no output for a job (expected y = {exp['y']})", exp)
        self.pending.clear()


async def replay_trace(tb, job: SimJob) -> SimReport:
    """Drive ``job.trace`` through ``tb`` (clock running, reset done) and check every cycle."""
    dut = tb.dut
    t0 = time.perf_counter()
    cfg, rows = load_trace(job.trace)
    n = len(rows["rst"])
    words = {
        "x": pack_lanes(rows["x"], cfg.in_bits),
        "w": pack_lanes(rows["w"], cfg.w_bits),
        "bias": to_unsigned(rows["bias"], cfg.bias_bits),
        "mult": to_unsigned(rows["mult"], max(cfg.mult_bits, 1)),
        "shift": to_unsigned(rows["shift"], cfg.shift_bits),
        **{k: to_unsigned(rows[k], cfg.out_bits) for k in ("out_zp", "act_min", "act_max")},
    }
    ports = {k: getattr(dut, f"in_{k}_i") for k in words}
    checker = TraceChecker(cfg, job.max_mismatches)
    edge, read_only = RisingEdge(dut.clk_i), ReadOnly()
    prep = time.perf_counter() - t0
    c0 = tb.cycle()
    beats = 0
    for c in range(n + cfg.rtl_latency() + DRAIN_EXTRA):
        i = c if c < n else None
        if i is not None:
            dut.rst_i.value = int(rows["rst"][i])
            dut.in_valid_i.value = int(rows["valid"][i])
            dut.in_first_i.value = int(rows["first"][i])
            dut.in_last_i.value = int(rows["last"][i])
            dut.out_ready_i.value = int(rows["out_ready"][i])
            for k, h in ports.items():
                h.value = words[k][i]
        else:
            dut.rst_i.value = 0
            dut.in_valid_i.value = 0
            dut.out_ready_i.value = 1
        await read_only
        ready, valid_o = str(dut.in_ready_o.value), str(dut.out_valid_o.value)
        y = sat = None
        if valid_o == "1":
            yv, sv = dut.out_y_o.value, str(dut.out_sat_o.value)
            y = yv.to_signed() if yv.is_resolvable else None
            sat = int(sv) if sv in ("0", "1") else None
        ready_i = int(ready) if ready in ("0", "1") else -1
        valid_i = int(valid_o) if valid_o in ("0", "1") else -1
        if i is not None and rows["valid"][i] and ready_i == 1:
            beats += 1
        checker.cycle(tb.cycle(), rows, i, ready_i, valid_i, y, sat)
        await edge
    checker.finish(tb.cycle())
    return SimReport(
        passed=not checker.counts,
        job=dataclasses.asdict(job),
        outputs_checked=checker.checked,
        mismatches=sum(checker.counts.values()),
        mismatch_counts=dict(checker.counts),
        details=[m.to_dict() for m in checker.mismatches],
        jobs=checker.jobs,
        jobs_sent=checker.jobs,
        beats=beats,
        cycles=tb.cycle() - c0,
        sim_seconds=time.perf_counter() - t0 - prep,
        prepare_seconds=prep,
        notes=[f"cycle trace {job.trace}: {n} cycles driven as given, then the drain"],
    )
