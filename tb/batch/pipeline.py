"""The batch loop as a pipeline: packing later batches and checking earlier ones runs while the
simulator plays the current one.

:func:`run_batches` plays ``n`` batches in order. Two workers (threads, or
:class:`InlineWorker` for a serial run) do the Python work: one *prepares* batches (packs
their words and draws their handshake patterns), up to :data:`LOOKAHEAD` batches ahead of the
one playing; the other *checks* each played batch (decodes its trace and feeds the
scoreboard). The caller's coroutine only hands batches to the simulator and books the checked
ones, in order. That only overlaps when the simulator lets go of Python's GIL while it runs
(``tb/batch/hdl/qmac_batch_main.cpp`` does on Verilator).

Why the results are the same bit for bit, overlapped or not: each worker runs its tasks one at
a time in submission order, and the two touch disjoint state (the patterns' random stream and
the packer; the checker and the scoreboard), so every prepare and every check sees what a
serial loop would. Checks are booked in batch order; the first one that says stop (a failure,
a job that never came out, the scoreboard's mismatch limit) ends the run, and the check worker
skips every later batch without touching the scoreboard. Overlapped, some later batches may
already have been played by then: their traces are dropped unchecked, and the report counts
checked batches only. What a serial loop would never have run cannot change the outcome: an
exception from it (a later prepare, a play after the stop) is kept in :attr:`Timers.dropped`,
not raised. Any other exception, from a worker or from a play, is raised by
:func:`run_batches`, in batch order.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import os
import threading
import time
from typing import Any, Awaitable, Callable

LOOKAHEAD = 2
"""Batches prepared ahead of the one playing (memory: that many packed batches)."""


class InlineWorker:
    """Runs each task the moment it is submitted: the workers' order, serially."""

    def submit(self, fn, *args) -> concurrent.futures.Future:
        fut: concurrent.futures.Future = concurrent.futures.Future()
        try:
            fut.set_result(fn(*args))
        except Exception as exc:  # raised by whoever takes the result, as from a thread
            fut.set_exception(exc)
        return fut

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


WORKER_NICE = 10
"""How much lower the workers' scheduling priority is than the simulator's (Linux nice)."""


def _lower_priority() -> None:
    """Runs in each worker thread: below the simulator's thread, so on a busy machine the
    workers use what the simulation leaves over instead of slowing it down."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + WORKER_NICE)
    except (AttributeError, OSError):  # not Linux, or not allowed: run at the same priority
        pass


def make_worker(overlap: bool, name: str):
    """A one-thread worker when ``overlap``, else an :class:`InlineWorker`."""
    if overlap:
        return concurrent.futures.ThreadPoolExecutor(
            1,
            thread_name_prefix=f"qmac-{name}",
            initializer=_lower_priority if WORKER_NICE else None,
        )
    return InlineWorker()


@dataclasses.dataclass
class Timers:
    """Where the caller's time went (seconds), and what was dropped."""

    play: float = 0.0
    """Handing batches over and waiting for the simulator."""
    wait: float = 0.0
    """Waiting for a worker (a prepared batch, a check to book)."""
    dropped: list[str] = dataclasses.field(default_factory=list)
    """Exceptions of work a serial loop would not have done (after a stop), as text."""


async def run_batches(
    n: int,
    prepare: Callable[[int], Any],
    play: Callable[[int, Any], Awaitable[Any]],
    check: Callable[[int, Any], Any],
    stops: Callable[[Any], bool],
    settle: Callable[[Any], None],
    *,
    overlap: bool,
    timers: Timers | None = None,
) -> None:
    """Play batches ``0 .. n-1``.

    ``prepare(i)`` and ``check(i, played)`` run on the workers; ``play(i, prepared)`` (awaited)
    and ``settle(checked)`` (book a checked batch) on the caller. ``stops(checked)`` says whether
    the run ends after that batch; it must depend on ``checked`` only.
    """
    timers = timers if timers is not None else Timers()
    if n <= 0:
        return
    preparer, checker = make_worker(overlap, "pack"), make_worker(overlap, "check")
    stopped = False  # set by the check worker: later checks are skipped

    def guarded_check(i: int, played) -> Any:
        nonlocal stopped
        if stopped:
            return None
        try:
            checked = check(i, played)
        except BaseException:
            stopped = True
            raise
        stopped = stops(checked)
        return checked

    def take(fut: concurrent.futures.Future):
        t0 = time.perf_counter()
        try:
            return fut.result()
        finally:
            timers.wait += time.perf_counter() - t0

    ahead = collections.deque(preparer.submit(prepare, j) for j in range(min(n, LOOKAHEAD)))
    checks: collections.deque = collections.deque()

    def book(block: bool) -> bool:
        """Settle the checks that are done (all of them if ``block``), in batch order; True
        when one of them ends the run."""
        while checks and (block or checks[0].done()):
            checked = take(checks.popleft())
            settle(checked)
            if stops(checked):
                return True
        return False

    def drop(futures) -> None:
        for fut in futures:
            if fut.cancel():
                continue
            exc = fut.exception()  # waits for it
            if exc is not None:
                timers.dropped.append(f"{type(exc).__name__}: {exc}")

    try:
        for i in range(n):
            if book(block=False):  # always books the last batch when serial
                return
            try:
                prepared = take(ahead.popleft())
                if i + LOOKAHEAD < n:
                    ahead.append(preparer.submit(prepare, i + LOOKAHEAD))
                t0 = time.perf_counter()
                try:
                    played = await play(i, prepared)
                finally:
                    timers.play += time.perf_counter() - t0
            except Exception as exc:
                # A serial loop would have booked the earlier batches before getting here.
                if book(block=True):
                    timers.dropped.append(f"{type(exc).__name__}: {exc}")
                    return
                raise
            checks.append(checker.submit(guarded_check, i, played))
        book(block=True)
    finally:
        drop(ahead)
        drop(checks)  # only after a stop or an exception: skipped checks
        preparer.shutdown(wait=True, cancel_futures=True)
        checker.shutdown(wait=True, cancel_futures=True)
