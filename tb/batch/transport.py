"""Carry a batch across the Python/simulator boundary in one go and play it (inside cocotb).

Two transports feed ``tb/batch/hdl/qmac_batch_tb.sv``:

- :class:`DpiTransport` (Verilator): the wrapper's DPI-C functions read beats, jobs and the
  pattern from, and write the trace to, C pointers that point straight at numpy arrays
  (``ctypes``, zero copy);
- :class:`MemhTransport` (Icarus, or any simulator without DPI): beats, jobs and the pattern go
  out as ``$readmemh`` files written with vectorized hex formatting; the trace comes back as a
  ``$writememh`` file.

:class:`BatchPlayer` writes the batch's few control values, bumps ``cmd_seq`` and sleeps until the
wrapper acknowledges: one wake-up per batch.
"""

from __future__ import annotations

import ctypes
import dataclasses
import time
from pathlib import Path

import numpy as np

from . import pack


class _QbBuffers(ctypes.Structure):
    _fields_ = [
        ("beats", ctypes.c_void_p),
        ("jobs", ctypes.c_void_p),
        ("pattern", ctypes.c_void_p),
        ("trace", ctypes.c_void_p),
        ("n_beats", ctypes.c_uint32),
        ("beat_words", ctypes.c_uint32),
        ("n_jobs", ctypes.c_uint32),
        ("job_words", ctypes.c_uint32),
        ("pat_mask", ctypes.c_uint32),
        ("trace_cap", ctypes.c_uint32),
        ("errors", ctypes.c_uint32),
        ("running", ctypes.c_uint32),
        ("release_gil", ctypes.c_uint32),
        ("finish_ns", ctypes.c_uint64),
    ]


@dataclasses.dataclass
class Trace:
    """The cycles of one played batch."""

    words: np.ndarray  # uint32 per cycle
    unknown_digits: np.ndarray | None  # (n, 8) bool per hex digit, 4-state simulators only
    cycle0: int  # global cycle number of trace cycle 0
    sim_seconds: float | None = None
    """From handing the batch over to the wrapper's last cycle (DPI transport only)."""
    handback_seconds: float | None = None
    """From the wrapper's last cycle to Python running again (DPI transport only): the rest of
    the simulator's time step, the wait for the GIL, cocotb's wake-up."""


class DpiTransport:
    """Shared C buffers of ``libqmac_batch_dpi.so``, already loaded into the simulator process."""

    name = "dpi"
    max_cycles = 1 << 30

    def __init__(self, lib_path: Path | str | None = None):
        # The simulator is linked against the library, so its symbols are already in the
        # process: CDLL(None) finds them without a path.
        self.lib = ctypes.CDLL(None if lib_path is None else str(lib_path))
        self.buf = _QbBuffers.in_dll(self.lib, "qb_buffers")
        self._keep: tuple = ()
        self._trace = np.zeros(0, dtype=np.uint32)

    def load(
        self,
        beats: np.ndarray,
        beat_bits: int,
        jobs: np.ndarray,
        job_bits: int,
        pattern: np.ndarray,
        trace_cap: int,
    ) -> None:
        beats = np.ascontiguousarray(beats, dtype=np.uint32)
        jobs = np.ascontiguousarray(jobs, dtype=np.uint32)
        pattern = np.ascontiguousarray(pattern, dtype=np.uint8)
        if len(self._trace) < trace_cap:
            self._trace = np.zeros(trace_cap, dtype=np.uint32)
        self._keep = (beats, jobs, pattern)
        b = self.buf
        b.beats, b.jobs = beats.ctypes.data, jobs.ctypes.data
        b.pattern, b.trace = pattern.ctypes.data, self._trace.ctypes.data
        b.n_beats, b.beat_words = beats.shape[0], beats.shape[1]
        b.n_jobs, b.job_words = jobs.shape[0], jobs.shape[1]
        b.pat_mask, b.trace_cap = len(pattern) - 1, trace_cap
        b.errors = 0

    def arm(self) -> None:
        """The batch is handed over: the main loop's fast path may run until the wrapper calls
        qb_finish()."""
        self.buf.running = 1

    def finished_ns(self) -> int:
        """``CLOCK_MONOTONIC`` nanoseconds when the wrapper finished the last batch."""
        return int(self.buf.finish_ns)

    def release_gil(self, on: bool) -> None:
        """Let the main loop release Python's GIL while a batch plays (``qmac_batch_main.cpp``),
        so that a Python thread runs meanwhile."""
        self.buf.release_gil = int(bool(on))

    def read_trace(self, n_cycles: int) -> tuple[np.ndarray, None]:
        if self.buf.errors:
            raise RuntimeError(f"batch wrapper made {self.buf.errors} out-of-range DPI request(s)")
        return self._trace[:n_cycles].copy(), None


class MemhTransport:
    """``$readmemh`` / ``$writememh`` files in the simulator's working directory."""

    name = "memh"

    def __init__(self, workdir: Path | str, depths: dict):
        self.dir = Path(workdir)
        self.depths = depths
        self.max_cycles = depths["MAX_CYCLES"]

    def load(
        self,
        beats: np.ndarray,
        beat_bits: int,
        jobs: np.ndarray,
        job_bits: int,
        pattern: np.ndarray,
        trace_cap: int,
    ) -> None:
        if len(beats) > self.depths["MAX_BEATS"] or len(jobs) > self.depths["MAX_JOBS"]:
            raise ValueError(
                f"batch of {len(beats)} beats / {len(jobs)} jobs exceeds the memories "
                f"({self.depths['MAX_BEATS']} / {self.depths['MAX_JOBS']})"
            )
        if len(pattern) > self.depths["PAT_LEN"]:
            raise ValueError(
                f"pattern of {len(pattern)} cycles exceeds PAT_LEN = {self.depths['PAT_LEN']}"
            )
        (self.dir / "qb_beats.hex").write_bytes(pack.to_hex_lines(beats, beat_bits))
        (self.dir / "qb_jobs.hex").write_bytes(pack.to_hex_lines(jobs, job_bits))
        pat = np.asarray(pattern, dtype=np.uint32).reshape(-1, 1)
        (self.dir / "qb_pattern.hex").write_bytes(pack.to_hex_lines(pat, 2))
        trace = self.dir / "qb_trace.hex"
        if trace.exists():
            trace.unlink()

    def arm(self) -> None:
        """Nothing to do: Icarus runs its own schedule."""

    def read_trace(self, n_cycles: int) -> tuple[np.ndarray, np.ndarray]:
        data = (self.dir / "qb_trace.hex").read_bytes()
        return pack.parse_hex_words(data, n_cycles)


class BatchPlayer:
    """Plays batches through the wrapper ``dut`` (a ``qmac_batch_tb`` handle)."""

    def __init__(self, dut, transport, drain_cycles: int = 16, cut_cycles: int = 3):
        self.dut = dut
        self.transport = transport
        self.drain_cycles = drain_cycles
        self.cut_cycles = cut_cycles
        # Continue from the wrapper's count: a later player in the same simulation (several
        # runs in one process, tb.stream.session) must not reuse a number the wrapper already acked.
        self.seq = int(dut.ack_seq.value)

    async def play(
        self,
        beats: np.ndarray,
        beat_bits: int,
        jobs: np.ndarray,
        job_bits: int,
        pattern: np.ndarray,
        max_cycles: int,
        reset_cycles: int = 0,
    ) -> Trace:
        """Play one batch; return its trace once the wrapper is done."""
        pattern = np.asarray(pattern, dtype=np.uint8)
        if len(pattern) & (len(pattern) - 1):
            raise ValueError(f"pattern length {len(pattern)} is not a power of two")
        max_cycles = min(max_cycles, self.transport.max_cycles)
        self.transport.load(beats, beat_bits, jobs, job_bits, pattern, max_cycles)
        d = self.dut
        d.n_beats.value = len(beats)
        d.n_jobs.value = len(jobs)
        d.max_cycles.value = max_cycles
        d.drain_cycles.value = self.drain_cycles
        d.reset_cycles.value = reset_cycles
        d.cut_cycles.value = self.cut_cycles
        d.pat_mask.value = len(pattern) - 1
        self.seq = (self.seq + 1) & 0xFFFFFFFF
        d.cmd_seq.value = self.seq
        t_arm = time.monotonic_ns()
        self.transport.arm()
        while int(d.ack_seq.value) != self.seq:
            await d.ack_seq.value_change
        t_back = time.monotonic_ns()
        n_cycles = int(d.n_cycles.value)
        words, unknown = self.transport.read_trace(n_cycles)
        trace = Trace(words=words, unknown_digits=unknown, cycle0=int(d.cycle0.value))
        if hasattr(self.transport, "finished_ns"):
            t_fin = self.transport.finished_ns()
            trace.sim_seconds = (t_fin - t_arm) * 1e-9
            trace.handback_seconds = (t_back - t_fin) * 1e-9
        return trace
