"""Decode a batch's cycle trace and check it against the handshake and timing rules, vectorized
(the values are the scoreboard's job: :class:`tb.batch.checker.BatchChecker` feeds it).

The batch wrapper records one 32-bit word per cycle (``tb/batch/hdl/qmac_batch_tb.sv``):
``out_y`` at [15:0], ``out_sat`` at 16, ``out_ready`` 20, ``out_valid`` 21, ``in_ready`` 22,
``in_valid`` 23, ``rst`` 24. From it, every cycle is checked at once with numpy:

- no unknown (X/Z) handshake bit in any cycle (X/Z on ``out_y``/``out_sat`` of a transfer is
  passed on to the scoreboard);
- every beat is taken, in order (the orphan beats of a job cut by a reset too), and
  ``in_ready`` is low only in cycles where the output is back-pressured
  (``out_valid && !out_ready``), so jobs run back to back at one beat per clock;
- while ``out_valid && !out_ready``, the next cycle keeps ``out_valid`` and the same y and flag;
- each output becomes valid a fixed number of pipeline advances after its job's last beat is
  taken (its latency; an edge is an advance unless the output is back-pressured in that cycle),
  and never before it.

A failure names the job (its index in the whole run), the cycle and the simulation time.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pyref.beats import BeatStream
from pyref.config import QmacConfig

BIT_SAT = 16
BIT_OUT_READY = 20
BIT_OUT_VALID = 21
BIT_IN_READY = 22
BIT_IN_VALID = 23
BIT_RST = 24

CLOCK_PERIOD_NS = 10
FIRST_EDGE_NS = 5
"""The wrapper's clock: rising edges at 5, 15, 25 ... ns; global cycle g ends at edge g."""


def edge_time_ns(global_cycle: int) -> int:
    """Simulation time of the rising edge that ends ``global_cycle``."""
    return FIRST_EDGE_NS + CLOCK_PERIOD_NS * int(global_cycle)


@dataclasses.dataclass
class Failure:
    """One violation, with enough to find it in a waveform."""

    kind: str
    job: int | None
    cycle: int
    time_ns: int
    message: str

    def __str__(self) -> str:
        where = f"job {self.job}, " if self.job is not None else ""
        return f"{self.kind}: {where}cycle {self.cycle} (t = {self.time_ns} ns): {self.message}"


@dataclasses.dataclass
class TraceFields:
    """The per-cycle signals of a trace, as arrays of length ``n_cycles``."""

    y_raw: np.ndarray
    sat: np.ndarray
    out_ready: np.ndarray
    out_valid: np.ndarray
    in_ready: np.ndarray
    in_valid: np.ndarray
    rst: np.ndarray
    hs_unknown: np.ndarray
    data_unknown: np.ndarray


def decode(words: np.ndarray, unknown_digits: np.ndarray | None = None) -> TraceFields:
    """Split trace words into fields. ``unknown_digits`` ``(n, 8)`` marks X/Z hex digits (most
    significant first) from a 4-state simulator."""
    w = np.ascontiguousarray(words, dtype="<u4")
    # The bytes of each word, lowest first: one pass over a byte per flag instead of three
    # passes over a 32-bit word (about 3x faster).
    by = w.view(np.uint8).reshape(-1, 4)
    planes = {2: np.ascontiguousarray(by[:, 2]), 3: np.ascontiguousarray(by[:, 3])}

    def bit(b: int) -> np.ndarray:
        return ((planes[b // 8] >> np.uint8(b % 8)) & np.uint8(1)).view(bool)

    if unknown_digits is None:
        hs_x = np.zeros(len(w), dtype=bool)
        data_x = hs_x
    else:
        hs_x = unknown_digits[:, 1] | unknown_digits[:, 2]  # bits 20..27
        data_x = unknown_digits[:, 3:].any(axis=1)  # bits 0..19
    return TraceFields(
        y_raw=w.view("<u2")[0::2].astype(np.int64),
        sat=bit(BIT_SAT),
        out_ready=bit(BIT_OUT_READY),
        out_valid=bit(BIT_OUT_VALID),
        in_ready=bit(BIT_IN_READY),
        in_valid=bit(BIT_IN_VALID),
        rst=bit(BIT_RST),
        hs_unknown=hs_x,
        data_unknown=data_x,
    )


@dataclasses.dataclass
class BatchOutputs:
    """What one batch's trace says happened: when each beat was taken, and every output that
    was taken (``out_valid && out_ready``) with its cycle (trace index), in order."""

    accept: np.ndarray  # cycle each taken beat was accepted, in beat order
    fire: np.ndarray  # cycle of each output transfer
    start: np.ndarray  # first cycle each output was valid
    y: np.ndarray  # signed value of each output transfer
    sat: np.ndarray
    xz: np.ndarray  # X/Z on out_y/out_sat at the transfer


@dataclasses.dataclass
class HandshakeCheck:
    """The handshake and timing part of a batch's check."""

    failures: list[Failure]
    events: dict[str, int]
    """Handshake coverage events (names of :data:`tb.shared.coverage.EVENT_BINS`)."""
    stall_cycles: int


def extract(f: TraceFields, config: QmacConfig) -> BatchOutputs:
    """Beat acceptances and output transfers of a decoded trace (cycles with rst high carry no
    transfer, as the per-cycle monitor ignores outputs during a reset)."""
    n = len(f.y_raw)
    fired = f.out_valid & f.out_ready & ~f.rst
    stalled = f.out_valid & ~f.out_ready
    prev_stalled = np.concatenate([[False], stalled[:-1]]) if n else stalled
    fire = np.flatnonzero(fired)
    return BatchOutputs(
        accept=np.flatnonzero(f.in_valid & f.in_ready),
        fire=fire,
        start=np.flatnonzero(f.out_valid & ~prev_stalled & ~f.rst),
        y=_signed(f.y_raw[fire], config.out_bits),
        sat=f.sat[fire],
        xz=f.data_unknown[fire],
    )


def reset_starts(f: TraceFields) -> np.ndarray:
    """Cycles where a mid-batch reset begins (rst rises)."""
    prev = np.concatenate([[False], f.rst[:-1]]) if len(f.rst) else f.rst
    return np.flatnonzero(f.rst & ~prev)


def check_handshake(
    f: TraceFields,
    out: BatchOutputs,
    stream: BeatStream,
    *,
    job_offset: int = 0,
    cycle0: int = 0,
    max_failures: int = 10,
) -> HandshakeCheck:
    """The handshake rules of the module docstring (not the outputs' count, values or latency).

    ``stream`` holds the beats the wrapper played (whole jobs; the beats of a job cut by a
    reset after its first one are played after the reset), ``job_offset`` the index of its
    first job in the run, ``cycle0`` the global cycle of trace cycle 0. Cycles with rst high
    are exempt.
    """
    n = len(f.y_raw)
    n_beats = len(stream)
    fails: list[Failure] = []

    def fail(kind: str, job: int | None, cycle: int, msg: str) -> None:
        if len(fails) < max_failures:
            g = cycle0 + int(cycle)
            fails.append(
                Failure(
                    kind, None if job is None else job_offset + int(job), g, edge_time_ns(g), msg
                )
            )

    stalled = f.out_valid & ~f.out_ready & ~f.rst
    accept = out.accept  # cycles of the taken beats (in_valid && in_ready), ascending

    def beats_before(c):
        """Beats taken in the cycles before ``c`` (an index or an array of them)."""
        return np.searchsorted(accept, c)

    c = _first(f.hs_unknown)
    if c is not None:
        fail("X", None, c, "a handshake signal (in_valid/in_ready/out_valid/out_ready) is X or Z")

    # --- input side: all beats taken, in_ready low only under back-pressure -----------------
    c = _first(f.in_valid & ~f.in_ready & ~stalled & ~f.hs_unknown & ~f.rst)
    if c is not None:
        b = int(beats_before(c))
        job = _job_of(stream, b) if b < n_beats else None
        fail(
            "handshake",
            job,
            c,
            f"in_ready is low while the output is not back-pressured "
            f"(beat {b} offered): the input may stall only while out_valid && !out_ready",
        )
    if len(accept) != n_beats:
        b = len(accept)
        job = _job_of(stream, b) if b < n_beats else None
        fail(
            "timeout" if b < n_beats else "protocol",
            job,
            n - 1,
            f"{b} of {n_beats} beats were taken in {n} cycles",
        )

    # --- output holds while back-pressured ----------------------------------------------------
    if n > 1:
        s = stalled[:-1] & ~f.hs_unknown[:-1] & ~f.rst[1:]
        dropped = s & ~f.out_valid[1:]
        changed = s & f.out_valid[1:] & ((f.y_raw[1:] != f.y_raw[:-1]) | (f.sat[1:] != f.sat[:-1]))
        c = _first(dropped | changed)
        if c is not None:
            what = (
                "out_valid fell"
                if dropped[c]
                else (
                    f"out_y/out_sat changed from {int(f.y_raw[c]):#x}/{int(f.sat[c])} to "
                    f"{int(f.y_raw[c + 1]):#x}/{int(f.sat[c + 1])}"
                )
            )
            # out.fire: the cycles of the output transfers, so this counts those before c.
            outs_before = int(np.searchsorted(out.fire, c))
            fail(
                "handshake",
                None,
                c + 1,
                f"{what} while output {outs_before} of the "
                "batch was back-pressured in the cycle before",
            )

    # --- handshake coverage events ------------------------------------------------------------
    firsts = np.flatnonzero(stream.first[: len(accept)])
    firsts = firsts[firsts > 0]
    b_idle = beats_before(np.flatnonzero(~f.in_valid & ~f.rst))
    events = {
        "back_to_back_jobs": int(np.count_nonzero(accept[firsts] == accept[firsts - 1] + 1)),
        "back_to_back_outputs": int(np.count_nonzero(np.diff(out.fire) == 1)),
        "out_stall": int(np.count_nonzero(stalled)),
        "in_stall": int(np.count_nonzero(f.in_valid & ~f.in_ready & ~f.rst)),
        "idle_gap": int(
            np.count_nonzero(
                (b_idle > 0) & (b_idle < n_beats) & stream.first[np.minimum(b_idle, n_beats - 1)]
            )
        ),
    }
    return HandshakeCheck(fails, events, int(np.count_nonzero(stalled)))


def check_latency(
    f: TraceFields,
    out: BatchOutputs,
    fire_index: np.ndarray,
    accept_last: np.ndarray,
    jobs: np.ndarray,
    *,
    cycle0: int = 0,
    latency: int | None = None,
) -> tuple[int | None, Failure | None]:
    """Causality and a fixed latency for the outputs ``out.fire[fire_index]``, whose jobs
    (``jobs``, run indices) had their last beat taken in cycles ``accept_last`` (trace indices).

    Latency counts pipeline advances (edges without output back-pressure) from the edge that
    took the last beat to the first cycle the output is valid. ``latency=None`` takes the first
    output's; returns ``(latency, first failure or None)``.
    """
    if len(fire_index) == 0:
        return latency, None
    stalled = f.out_valid & ~f.out_ready & ~f.rst
    fire = out.fire[fire_index]
    # Each transfer's valid run began at the last valid start at or before it.
    v = out.start[np.searchsorted(out.start, fire, side="right") - 1]
    a = np.asarray(accept_last)

    def failure(j: int, msg: str) -> Failure:
        g = cycle0 + int(v[j])
        return Failure("timing", int(jobs[j]), g, edge_time_ns(g), msg)

    j = _first(v <= a)
    if j is not None:
        return latency, failure(
            j,
            f"output valid in cycle {cycle0 + int(v[j])}, before its last "
            f"beat was taken (cycle {cycle0 + int(a[j])})",
        )
    advance = np.cumsum(~stalled)  # advances in cycles 0..c
    lat = advance[v - 1] - advance[a] + 1  # edges from the accepting one to valid
    measured = int(lat[0]) if latency is None else latency
    j = _first(lat != measured)
    if j is not None:
        return measured, failure(
            j,
            f"output valid after {int(lat[j])} pipeline advances from its "
            f"last beat (cycle {cycle0 + int(a[j])}); "
            f"{'the first output took' if latency is None else 'expected'}"
            f" {measured}",
        )
    return measured, None


def _job_of(stream: BeatStream, b: int) -> int:
    """``stream.job_of_beat[b]`` without the whole array (only a failure needs it)."""
    return int(np.count_nonzero(stream.first[: b + 1])) - 1


def _first(mask: np.ndarray) -> int | None:
    idx = np.flatnonzero(mask)
    return int(idx[0]) if idx.size else None


def _signed(raw: np.ndarray, bits: int) -> np.ndarray:
    raw = np.asarray(raw, dtype=np.int64) & ((1 << bits) - 1)
    return np.where(raw >= (1 << (bits - 1)), raw - (1 << bits), raw)
