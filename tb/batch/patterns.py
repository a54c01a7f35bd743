"""The named handshake patterns of :mod:`tb.shared.patterns`, drawn with numpy for the batch transport.

The per-cycle driver steps a Python generator once per cycle; at millions of cycles per second
that would cost more than the simulation. These twins draw the same shapes (same probabilities,
same run lengths) for a whole batch in a few numpy calls. Patterns without a twin fall back to
stepping their generator.
"""

from __future__ import annotations

import itertools

import numpy as np

from tb.shared import patterns


def _runs(rng: np.random.Generator, n: int, go: tuple[int, int], pause: tuple[int, int]
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
    return np.concatenate(out)[:n]


def _mixed(rng: np.random.Generator, n: int) -> np.ndarray:
    """Segments of 50-400 cycles, each from one of the other patterns (each pattern's cycles
    drawn in one go and scattered over its segments)."""
    makers = ("none", "random20", "random50", "bursts", "alternate", "mostly_paused",
              "long_stalls")
    k = n // 225 + 8
    lengths = rng.integers(50, 401, k)
    while lengths.sum() < n:
        lengths = np.concatenate([lengths, rng.integers(50, 401, k)])
    which = rng.integers(len(makers), size=len(lengths))
    starts = np.cumsum(lengths) - lengths
    out = np.empty(int(lengths.sum()), dtype=bool)
    for m, name in enumerate(makers):
        sel = which == m
        if not sel.any():
            continue
        lens, st = lengths[sel], starts[sel]
        total = int(lens.sum())
        pos = np.repeat(st - (np.cumsum(lens) - lens), lens) + np.arange(total)
        out[pos] = pauses(name, rng, total)
    return out[:n]


def pauses(name: str, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` cycles of the named handshake pattern of :mod:`tb.shared.patterns` (True = pause), drawn
    with numpy in one go: the same distributions as the generators the per-cycle driver steps
    through, at a few nanoseconds a cycle instead of a generator step each."""
    if name == "none":
        return np.zeros(n, dtype=bool)
    if name in ("random", "random20", "random50", "mostly_paused"):
        p = {"random": 0.3, "random20": 0.2, "random50": 0.5, "mostly_paused": 0.9}[name]
        return rng.random(n) < p
    if name == "bursts":
        return _runs(rng, n, (1, 32), (1, 8))
    if name == "alternate":
        return np.tile(np.array([False, True]), n // 2 + 1)[:n]
    if name == "long_stalls":
        return _runs(rng, n, (1, 1), (20, 60))
    if name == "mixed":
        return _mixed(rng, n)
    # A pattern without a vectorized twin: step its generator.
    return np.fromiter(itertools.islice(patterns.make_pattern(name, rng), n), dtype=bool, count=n)


class PatternSource:
    """Per-cycle pattern bytes for the wrapper from the named handshake patterns of
    :mod:`tb.shared.patterns` (the names the per-cycle driver takes): bit 0 = offer a beat (the idle
    pattern says go), bit 1 = out_ready (the back-pressure pattern says go)."""

    def __init__(self, idle: str, ready: str, rng: np.random.Generator):
        for name in (idle, ready):
            if name not in patterns.PATTERNS:
                raise ValueError(f"no handshake pattern {name!r}; choose one of "
                                 f"{', '.join(patterns.PATTERNS)}")
        self.idle_name, self.ready_name = idle, ready
        self.full_speed = idle == "none" and ready == "none"
        self.rng = rng

    def take(self, n: int) -> np.ndarray:
        """The next ``n`` cycles."""
        if self.full_speed:
            return np.full(n, 3, dtype=np.uint8)
        pause_in = pauses(self.idle_name, self.rng, n)
        pause_out = pauses(self.ready_name, self.rng, n)
        return ((~pause_in).astype(np.uint8) | ((~pause_out).astype(np.uint8) << 1))
