"""The overlapped batch loop (:mod:`tb.batch.pipeline`) without a simulator: the same outcome as
the serial loop, in the same order, whatever the timing; failures stop it where the serial loop
stops; exceptions are raised, never swallowed.

The "simulator" here is an asyncio sleep that releases the GIL, like the Verilator main loop
does while a batch plays; the checks record what they saw, as the scoreboard would.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time

import pytest

from tb.batch import pipeline


class Run:
    """A fake run: ``prepare`` draws from a seeded stream (like the handshake patterns),
    ``check`` folds every played batch into a running digest (like the scoreboard)."""

    def __init__(
        self,
        n: int,
        *,
        fail_at: int | None = None,
        raise_in: str | None = None,
        raise_at: int | None = None,
        jitter: float = 0.0,
        seed: int = 1,
    ):
        self.n = n
        self.fail_at, self.raise_in, self.raise_at = fail_at, raise_in, raise_at
        self.rng = random.Random(seed)
        self.jitter = random.Random(seed + 99)
        self.jitter_s = jitter
        self.digest = 0
        self.prepared: list[int] = []
        self.played: list[int] = []
        self.checked: list[int] = []
        self.settled: list[tuple] = []
        self.threads: set[str] = set()

    def _sleep(self):
        if self.jitter_s:
            time.sleep(self.jitter.random() * self.jitter_s)

    def prepare(self, i: int):
        self.threads.add(threading.current_thread().name)
        self._sleep()
        if self.raise_in == "prepare" and i == self.raise_at:
            raise ValueError(f"prepare {i} broke")
        self.prepared.append(i)
        return i, self.rng.getrandbits(32)

    async def play(self, i: int, prepared):
        assert prepared[0] == i
        if self.raise_in == "play" and i == self.raise_at:
            raise RuntimeError(f"play {i} broke")
        await asyncio.sleep(self.jitter.random() * self.jitter_s if self.jitter_s else 0)
        self.played.append(i)
        return i, prepared[1] ^ 0x5A5A

    def check(self, i: int, played):
        self.threads.add(threading.current_thread().name)
        self._sleep()
        if self.raise_in == "check" and i == self.raise_at:
            raise KeyError(f"check {i} broke")
        self.checked.append(i)
        self.digest = (self.digest * 1_000_003 + played[1]) % (1 << 61)
        return i, self.digest, i == self.fail_at

    @staticmethod
    def stops(checked) -> bool:
        return checked[2]

    def settle(self, checked) -> None:
        self.settled.append(checked)

    def go(self, overlap: bool, timers=None):
        asyncio.run(
            pipeline.run_batches(
                self.n,
                self.prepare,
                self.play,
                self.check,
                self.stops,
                self.settle,
                overlap=overlap,
                timers=timers,
            )
        )
        return self


@pytest.mark.parametrize("jitter", [0.0, 0.002])
def test_overlapped_equals_serial(jitter):
    serial = Run(12).go(overlap=False)
    for seed_jitter in range(3):
        ov = Run(12, jitter=jitter, seed=1)
        ov.jitter = random.Random(seed_jitter)
        ov.go(overlap=True)
        assert ov.settled == serial.settled
        assert ov.digest == serial.digest
        assert ov.prepared == list(range(12)) and ov.checked == list(range(12))
    assert [s[0] for s in serial.settled] == list(range(12))
    # Serially everything runs on the caller's thread; overlapped on the two workers.
    assert serial.threads == {threading.current_thread().name}
    ov = Run(4).go(overlap=True)
    assert {t.rsplit("_", 1)[0] for t in ov.threads} == {"qmac-pack", "qmac-check"}


def test_digest_is_order_sensitive():
    """The equality above means something: checking the batches in another order gives
    another digest."""
    a = Run(5).go(overlap=False)
    b = Run(5)
    played = []
    for i in range(5):
        played.append(asyncio.run(b.play(i, b.prepare(i))))
    for p in reversed(played):
        b.check(p[0], p)
    assert b.digest != a.digest


@pytest.mark.parametrize("overlap", [False, True])
def test_failure_stops_after_that_batch(overlap):
    run = Run(10, fail_at=3, jitter=0.001).go(overlap=overlap)
    assert [s[0] for s in run.settled] == [0, 1, 2, 3]
    assert run.settled[-1][2] is True
    # Nothing after the failing batch reaches the "scoreboard".
    assert run.checked == [0, 1, 2, 3]
    serial = Run(10, fail_at=3).go(overlap=False)
    assert run.settled == serial.settled
    # Serially nothing is played after it; overlapped at most what was in flight.
    assert serial.played == [0, 1, 2, 3]
    assert run.played[:4] == [0, 1, 2, 3] and len(run.played) <= 10


@pytest.mark.parametrize("overlap", [False, True])
@pytest.mark.parametrize(
    "where,exc", [("check", KeyError), ("prepare", ValueError), ("play", RuntimeError)]
)
def test_exceptions_are_raised(overlap, where, exc):
    run = Run(8, raise_in=where, raise_at=4, jitter=0.001)
    with pytest.raises(exc, match=f"{where} 4 broke"):
        run.go(overlap=overlap)
    # Batches before it were all booked, in order; none after it.
    assert [s[0] for s in run.settled] == [0, 1, 2, 3]


@pytest.mark.parametrize("overlap", [False, True])
def test_exception_after_a_stop_is_not_the_outcome(overlap):
    """A serial loop never plays batch 5 when batch 3 failed: its exception must not replace
    the failure (it is kept as text)."""
    timers = pipeline.Timers()
    run = Run(8, fail_at=3, raise_in="play", raise_at=5)
    run.go(overlap=overlap, timers=timers)
    assert [s[0] for s in run.settled] == [0, 1, 2, 3]
    assert all("play 5" in d for d in timers.dropped)


def test_timers_and_empty_run():
    timers = pipeline.Timers()
    Run(0).go(overlap=True, timers=timers)
    assert timers.play == 0.0
    Run(3).go(overlap=True, timers=timers)
    assert timers.play >= 0.0 and timers.wait >= 0.0 and timers.dropped == []
