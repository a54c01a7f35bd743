"""Cutting a run into batches: whole jobs per batch, the cycle budget of a batch and the length
of the handshake pattern it carries."""

from __future__ import annotations

import dataclasses

import numpy as np

from pyref.beats import BeatStream


def split(
    stream: BeatStream, batch_beats: int, batch_jobs: int | None = None
) -> list[tuple[int, int, int, int]]:
    """Batches of whole jobs of at most ``batch_beats`` beats (at least one job each):
    ``(first beat, end beat, first job, end job)``. A job cut by a reset stays whole: its
    orphan beats (:func:`orphan_beats`) are played after the reset in the same batch."""
    if batch_beats < 1:
        raise ValueError(f"batch_beats = {batch_beats} must be at least 1")
    ends = np.flatnonzero(stream.last) + 1  # beat index after each job
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


def cut_beats(stream: BeatStream, cut_jobs) -> np.ndarray:
    """Per beat: True on the first beat of each job of ``cut_jobs`` that has more than one
    beat (the wrapper resets the DUT once that beat is taken; a one-beat job is not cut)."""
    cut = np.zeros(len(stream), dtype=bool)
    starts, ends = stream.job_starts, stream.job_ends
    for j in np.asarray(cut_jobs, dtype=np.int64).reshape(-1):
        if not 0 <= j < len(starts):
            raise ValueError(f"cut_jobs holds job {int(j)}, outside 0 .. {len(starts) - 1}")
        if ends[j] > starts[j]:
            cut[starts[j]] = True
    return cut


def orphan_beats(stream: BeatStream, cut: np.ndarray) -> np.ndarray:
    """Per beat: True on the beats of a job cut by a reset that come after its cut beat (marked
    in ``cut``). They are played after the reset outside any job, as an upstream that does not
    know about the reset sends them; the DUT must take them and produce nothing for them."""
    cut = np.asarray(cut, dtype=bool)
    if len(cut) != len(stream):
        raise ValueError(f"cut has {len(cut)} entries for a stream of {len(stream)} beats")
    job = stream.job_of_beat
    cut_job = np.zeros(stream.n_jobs, dtype=bool)
    cut_job[job[cut]] = True
    return cut_job[job] & ~stream.first.astype(bool)


def slice_stream(stream: BeatStream, b0: int, b1: int) -> BeatStream:
    """Beats ``b0:b1`` (whole jobs) as a stream of their own (views, no copy)."""
    return BeatStream(
        **{f.name: getattr(stream, f.name)[b0:b1] for f in dataclasses.fields(BeatStream)}
    )


def cycle_budget(n_beats: int, n_jobs: int, full_speed: bool) -> int:
    """Cycles after which a batch counts as hung: generous for any handshake pattern (the
    slowest named one, ``mostly_paused``, lets one cycle in ten through)."""
    if full_speed:
        return 2 * (n_beats + n_jobs) + 256
    return 12 * (n_beats + n_jobs) + 1024


def pattern_budget(pattern: np.ndarray, n_beats: int, n_jobs: int, budget: int) -> int:
    """``budget`` stretched to cover the handshake ``pattern`` a batch plays (bit 0: the input
    side offers a beat, bit 1: out_ready; the wrapper repeats it): a short pattern cut from a
    slow stretch of ``mixed`` opens the output a few times per period only, and a batch of one
    job could then outlast :func:`cycle_budget` and be reported hung. ``pattern`` must open
    both sides at least once (:func:`open_both_sides`)."""
    period = len(pattern)
    ins = int(np.count_nonzero(pattern & 1))
    outs = int(np.count_nonzero(pattern & 2))
    periods = -(-n_beats // ins) + -(-n_jobs // outs) + 1
    return max(budget, 2 * periods * period + 1024)


def open_both_sides(pattern: np.ndarray) -> np.ndarray:
    """``pattern`` with its last cycle opened on a side it never opens (a pattern repeated
    with no input or no output cycle would never finish the batch)."""
    if not np.any(pattern & 1) or not np.any(pattern & 2):
        pattern = pattern.copy()
        pattern[-1] = 3
    return pattern


def pattern_length(budget: int, limit: int | None = None) -> int:
    """Length of the pattern a batch carries: a power of two covering its cycle budget (the
    wrapper repeats it past ``limit``)."""
    n = 1 << max(int(budget), 1).bit_length()
    return min(n, limit) if limit else n
