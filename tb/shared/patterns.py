"""Handshake patterns: generators of ``True`` (pause this cycle) / ``False`` (go).

The same patterns serve as idle inserters on the input (``True``: present no beat this cycle)
and as back-pressure on the output (``True``: hold ``out_ready_i`` low). They are plain Python
generators, as in alexforencich's cocotbext-axi, so a test can pass any iterator of bools
(``itertools.cycle([False, False, True])``). Random ones draw from a numpy Generator in blocks so
that a cycle costs one ``next()``.

:data:`PATTERNS` names the built-in ones for the command line and records what each can produce,
which the coverage model uses to decide whether the handshake bins are reachable.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Callable, Iterator

import numpy as np

Pattern = Iterator[bool]


def never() -> Pattern:
    """Never pause: full speed (back-to-back input, output always ready)."""
    return itertools.repeat(False)


def random_pauses(rng: np.random.Generator, p: float = 0.3, block: int = 4096) -> Pattern:
    """Pause each cycle independently with probability ``p``."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"pause probability p = {p} is out of range: allowed 0 .. 1")
    while True:
        yield from (rng.random(block) < p).tolist()


def bursts(rng: np.random.Generator, go: tuple[int, int] = (1, 32),
           pause: tuple[int, int] = (1, 8)) -> Pattern:
    """Runs of ``go`` cycles without pause, then ``pause`` cycles of pause (lengths uniform)."""
    while True:
        yield from itertools.repeat(False, int(rng.integers(go[0], go[1] + 1)))
        yield from itertools.repeat(True, int(rng.integers(pause[0], pause[1] + 1)))


def alternate() -> Pattern:
    """Go, pause, go, pause ...: ready toggling every cycle, the classic worst case for a
    skid buffer or a stall signal computed one cycle late."""
    return itertools.cycle([False, True])


def mostly_paused(rng: np.random.Generator, p_go: float = 0.1) -> Pattern:
    """Worst case for holding: paused most cycles, free for single random cycles."""
    return random_pauses(rng, 1.0 - p_go)


def long_stalls(rng: np.random.Generator, stall: tuple[int, int] = (20, 60)) -> Pattern:
    """One free cycle, then a long stall (fills every pipeline stage behind it)."""
    while True:
        yield False
        yield from itertools.repeat(True, int(rng.integers(stall[0], stall[1] + 1)))


def mixed(rng: np.random.Generator, segment: tuple[int, int] = (50, 400)) -> Pattern:
    """Switches between all of the above every ``segment`` cycles (lengths uniform); the
    fast patterns come up more often than the slow worst cases."""
    makers = [
        (3, lambda: never()),
        (2, lambda: random_pauses(rng, 0.2)),
        (1, lambda: random_pauses(rng, 0.5)),
        (2, lambda: bursts(rng)),
        (1, lambda: alternate()),
        (1, lambda: mostly_paused(rng)),
        (1, lambda: long_stalls(rng)),
    ]
    weights = np.array([w for w, _ in makers], dtype=float)
    weights /= weights.sum()
    while True:
        maker = makers[int(rng.choice(len(makers), p=weights))][1]
        yield from itertools.islice(maker(), int(rng.integers(segment[0], segment[1] + 1)))


@dataclasses.dataclass(frozen=True)
class PatternInfo:
    """A named pattern and what it can produce."""

    make: Callable[[np.random.Generator], Pattern]
    pauses: bool
    """It pauses at least sometimes (so stalls / idle gaps can happen)."""
    runs: bool
    """It has at least two consecutive non-paused cycles (so back-to-back transfers can happen)."""
    help: str


PATTERNS: dict[str, PatternInfo] = {
    "none": PatternInfo(lambda rng: never(), False, True, "never pause (full speed)"),
    "random": PatternInfo(lambda rng: random_pauses(rng, 0.3), True, True,
                          "pause 30% of cycles at random"),
    "bursts": PatternInfo(lambda rng: bursts(rng), True, True, "runs of 1-32 go, 1-8 pause"),
    "alternate": PatternInfo(lambda rng: alternate(), True, False, "go/pause every other cycle"),
    "mostly_paused": PatternInfo(lambda rng: mostly_paused(rng), True, True,
                                 "pause 90% of cycles"),
    "long_stalls": PatternInfo(lambda rng: long_stalls(rng), True, False,
                               "one go, then 20-60 paused cycles"),
    "mixed": PatternInfo(lambda rng: mixed(rng), True, True,
                         "switch between all of these every 50-400 cycles"),
}
"""The named patterns (the command line's IDLE= and READY=)."""


def make_pattern(name: str, rng: np.random.Generator) -> Pattern:
    """The named pattern as a generator, drawing from ``rng``."""
    try:
        return PATTERNS[name].make(rng)
    except KeyError:
        raise ValueError(f"no handshake pattern {name!r}; choose one of "
                         f"{', '.join(PATTERNS)}") from None
