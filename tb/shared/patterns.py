"""Handshake patterns: ``True`` = pause this cycle, ``False`` = go; one table for both transports.

The same patterns serve as idle inserters on the input (``True``: present no beat this cycle)
and as back-pressure on the output (``True``: hold ``out_ready_i`` low). Each named pattern is
one numpy drawing function, ``draw(rng, n)`` -> ``n`` cycles as a bool array (:data:`PATTERNS`).
Both transports draw through a :class:`PatternStream` (fixed chunks, so runs are cut at the same
places whatever block sizes are asked): the batch transport takes whole blocks of it; the per-cycle
driver steps through it as a generator (:func:`make_pattern`), as in alexforencich's cocotbext-axi,
so a test can also pass any iterator of bools (``itertools.cycle([False, False, True])``). Both
transports therefore draw the same distributions.

:data:`PATTERNS` also records what each pattern can produce, which the coverage model uses to
decide whether the handshake bins are reachable.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Callable, Iterator

import numpy as np

Pattern = Iterator[bool]
Draw = Callable[[np.random.Generator, int], np.ndarray]

BLOCK = 4096
"""Cycles drawn at a time when a pattern is stepped as a generator (even: ``alternate`` keeps its
phase across blocks)."""


# -- drawing functions: n cycles at once -----------------------------------------------------------


def draw_never(rng: np.random.Generator, n: int) -> np.ndarray:
    """Never pause: full speed."""
    return np.zeros(n, dtype=bool)


def draw_random(rng: np.random.Generator, n: int, p: float = 0.3) -> np.ndarray:
    """Pause each cycle independently with probability ``p``."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"pause probability p = {p} is out of range: allowed 0 .. 1")
    return rng.random(n) < p


def draw_runs(
    rng: np.random.Generator, n: int, go: tuple[int, int] = (1, 32), pause: tuple[int, int] = (1, 8)
) -> np.ndarray:
    """Alternating runs: ``go`` cycles without pause, then ``pause`` paused (lengths uniform)."""
    mean = (go[0] + go[1] + pause[0] + pause[1]) / 2
    out: list[np.ndarray] = []
    have = 0
    while have < n:
        k = int((n - have) / mean) + 8
        lengths = np.empty(2 * k, dtype=np.int64)
        lengths[0::2] = rng.integers(go[0], go[1] + 1, k)
        lengths[1::2] = rng.integers(pause[0], pause[1] + 1, k)
        chunk = np.repeat(np.tile([False, True], k), lengths)
        out.append(chunk)
        have += len(chunk)
    return np.concatenate(out)[:n] if out else np.zeros(0, dtype=bool)


def draw_alternate(rng: np.random.Generator, n: int) -> np.ndarray:
    """Go, pause, go, pause ...: the classic worst case for a skid buffer or a stall signal
    computed one cycle late."""
    return np.tile(np.array([False, True]), n // 2 + 1)[:n]


def draw_long_stalls(
    rng: np.random.Generator, n: int, stall: tuple[int, int] = (20, 60)
) -> np.ndarray:
    """One free cycle, then a long stall (fills every pipeline stage behind it)."""
    return draw_runs(rng, n, (1, 1), stall)


MIXED_SHARES: dict[str, int] = {
    "none": 3,
    "random20": 2,
    "random50": 1,
    "bursts": 2,
    "alternate": 1,
    "mostly_paused": 1,
    "long_stalls": 1,
}
"""What ``mixed`` switches between, and how often: the fast patterns come up more often than
the slow worst cases."""


def draw_mixed(
    rng: np.random.Generator, n: int, segment: tuple[int, int] = (50, 400)
) -> np.ndarray:
    """Segments of ``segment`` cycles (lengths uniform), each from one of :data:`MIXED_SHARES`
    (weighted); each pattern's cycles are drawn in one go and scattered over its segments."""
    names = list(MIXED_SHARES)
    weights = np.array([MIXED_SHARES[k] for k in names], dtype=float)
    weights /= weights.sum()
    k = n // ((segment[0] + segment[1]) // 2) + 8
    lengths = rng.integers(segment[0], segment[1] + 1, k)
    while lengths.sum() < n:
        lengths = np.concatenate([lengths, rng.integers(segment[0], segment[1] + 1, k)])
    which = rng.choice(len(names), size=len(lengths), p=weights)
    starts = np.cumsum(lengths) - lengths
    out = np.empty(int(lengths.sum()), dtype=bool)
    for m, name in enumerate(names):
        sel = which == m
        if not sel.any():
            continue
        lens, st = lengths[sel], starts[sel]
        total = int(lens.sum())
        pos = np.repeat(st - (np.cumsum(lens) - lens), lens) + np.arange(total)
        out[pos] = _MIXED_PARTS[name](rng, total)
    return out[:n]


_MIXED_PARTS: dict[str, Draw] = {
    "none": draw_never,
    "random20": lambda rng, n: draw_random(rng, n, 0.2),
    "random50": lambda rng, n: draw_random(rng, n, 0.5),
    "bursts": draw_runs,
    "alternate": draw_alternate,
    "mostly_paused": lambda rng, n: draw_random(rng, n, 0.9),
    "long_stalls": draw_long_stalls,
}


# -- the table -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PatternInfo:
    """A named pattern and what it can produce."""

    draw: Draw
    pauses: bool
    """It pauses at least sometimes (so stalls / idle gaps can happen)."""
    runs: bool
    """It has at least two consecutive non-paused cycles (so back-to-back transfers can happen)."""
    help: str


PATTERNS: dict[str, PatternInfo] = {
    "none": PatternInfo(draw_never, False, True, "never pause (full speed)"),
    "random": PatternInfo(draw_random, True, True, "pause 30% of cycles at random"),
    "bursts": PatternInfo(draw_runs, True, True, "runs of 1-32 go, 1-8 pause"),
    "alternate": PatternInfo(draw_alternate, True, False, "go/pause every other cycle"),
    "mostly_paused": PatternInfo(
        lambda rng, n: draw_random(rng, n, 0.9), True, True, "pause 90% of cycles"
    ),
    "long_stalls": PatternInfo(draw_long_stalls, True, False, "one go, then 20-60 paused cycles"),
    "mixed": PatternInfo(draw_mixed, True, True, "switch between all of these every 50-400 cycles"),
}
"""The named patterns (the command line's IDLE= and READY=)."""


def pattern_info(name: str) -> PatternInfo:
    """The table entry of ``name``, or an error listing the names."""
    try:
        return PATTERNS[name]
    except KeyError:
        raise ValueError(
            f"no handshake pattern {name!r}; choose one of {', '.join(PATTERNS)}"
        ) from None


def pauses(name: str, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` cycles of the named pattern (True = pause), drawn in one go (the batch transport)."""
    return pattern_info(name).draw(rng, n)


# -- generators: the same draws, a cycle per next() ------------------------------------------------


def blocks(draw: Callable[[int], np.ndarray], block: int = BLOCK) -> Pattern:
    """Step through ``draw(block)``, block after block."""
    while True:
        yield from draw(block).tolist()


CHUNK = 1 << 16
"""Cycles a :class:`PatternStream` draws at a time (even, like :data:`BLOCK`)."""


class PatternStream:
    """A named pattern as one continuous stream of cycles, drawn :data:`CHUNK` cycles at a time
    whatever sizes are asked for. A drawing function starts its runs afresh at each call, so
    blocks of different sizes would cut runs at different places; through this stream both
    transports (the batch's blocks of up to 2^19 cycles, the per-cycle driver's blocks of
    :data:`BLOCK`) cut them at the same places and draw the same distributions."""

    def __init__(self, name: str, rng: np.random.Generator, chunk: int = CHUNK):
        self.draw = pattern_info(name).draw
        self.rng = rng
        self.chunk = chunk
        self.buf = np.zeros(0, dtype=bool)

    def take(self, n: int) -> np.ndarray:
        """The next ``n`` cycles (True = pause)."""
        parts = []
        while n > 0:
            if not len(self.buf):
                self.buf = self.draw(self.rng, self.chunk)
            k = min(n, len(self.buf))
            parts.append(self.buf[:k])
            self.buf = self.buf[k:]
            n -= k
        return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


def make_pattern(name: str, rng: np.random.Generator) -> Pattern:
    """The named pattern as a generator drawing from ``rng`` (the per-cycle driver), through a
    :class:`PatternStream` as the batch transport draws it."""
    return blocks(PatternStream(name, rng).take)


def never() -> Pattern:
    """Never pause: full speed (back-to-back input, output always ready)."""
    return itertools.repeat(False)


def random_pauses(rng: np.random.Generator, p: float = 0.3) -> Pattern:
    """Pause each cycle independently with probability ``p``."""
    draw_random(rng, 0, p)  # check p now, not at the first next()
    return blocks(lambda n: draw_random(rng, n, p))


def bursts(
    rng: np.random.Generator, go: tuple[int, int] = (1, 32), pause: tuple[int, int] = (1, 8)
) -> Pattern:
    """Runs of ``go`` cycles without pause, then ``pause`` cycles of pause (lengths uniform)."""
    return blocks(lambda n: draw_runs(rng, n, go, pause))


def alternate() -> Pattern:
    """Go, pause, go, pause ...: ready toggling every cycle."""
    return itertools.cycle([False, True])


def mostly_paused(rng: np.random.Generator, p_go: float = 0.1) -> Pattern:
    """Worst case for holding: paused most cycles, free for single random cycles."""
    return random_pauses(rng, 1.0 - p_go)


def long_stalls(rng: np.random.Generator, stall: tuple[int, int] = (20, 60)) -> Pattern:
    """One free cycle, then a long stall (fills every pipeline stage behind it)."""
    return blocks(lambda n: draw_long_stalls(rng, n, stall))


def mixed(rng: np.random.Generator) -> Pattern:
    """Switches between all of the above every 50-400 cycles (:data:`MIXED_SHARES`)."""
    return blocks(lambda n: draw_mixed(rng, n))
