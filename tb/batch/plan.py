"""Cutting a run into batches: whole jobs per batch, the cycle budget of a batch and the length
of the handshake pattern it carries."""

from __future__ import annotations

import dataclasses

import numpy as np

from pyref.beats import BeatStream

def split(stream: BeatStream, batch_beats: int, batch_jobs: int | None = None,
          cut: np.ndarray | None = None) -> list[tuple[int, int, int, int]]:
    """Batches of whole jobs of at most ``batch_beats`` beats (at least one job each):
    ``(first beat, end beat, first job, end job)``. A job cut by a reset (``cut`` marks its
    only beat) counts as a job of one beat."""
    if batch_beats < 1:
        raise ValueError(f"batch_beats = {batch_beats} must be at least 1")
    ends_mask = stream.last.astype(bool)
    if cut is not None:
        ends_mask = ends_mask | np.asarray(cut, dtype=bool)
    ends = np.flatnonzero(ends_mask) + 1   # beat index after each job
    out = []
    b0 = j0 = 0
    n_jobs = len(ends)
    while j0 < n_jobs:
        j1 = int(np.searchsorted(ends, b0 + batch_beats, side="right"))
        j1 = max(j1, j0 + 1)
        if batch_jobs:
            j1 = min(j1, j0 + batch_jobs)
        b1 = int(ends[j1 - 1])
        out.append((b0, b1, j0, j1))
        b0, j0 = b1, j1
    return out


def slice_stream(stream: BeatStream, b0: int, b1: int) -> BeatStream:
    """Beats ``b0:b1`` (whole jobs) as a stream of their own (views, no copy)."""
    return BeatStream(**{f.name: getattr(stream, f.name)[b0:b1]
                         for f in dataclasses.fields(BeatStream)})


def cycle_budget(n_beats: int, n_jobs: int, full_speed: bool) -> int:
    """Cycles after which a batch counts as hung: generous for any handshake pattern (the
    slowest named one, ``mostly_paused``, lets one cycle in ten through)."""
    if full_speed:
        return 2 * (n_beats + n_jobs) + 256
    return 12 * (n_beats + n_jobs) + 1024


def pattern_length(budget: int, limit: int | None = None) -> int:
    """Length of the pattern a batch carries: a power of two covering its cycle budget (the
    wrapper repeats it past ``limit``)."""
    n = 1 << max(int(budget), 1).bit_length()
    return min(n, limit) if limit else n
