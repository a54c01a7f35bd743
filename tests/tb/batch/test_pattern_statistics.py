"""Both transports apply the same handshake statistics: for every named pattern, the cycles the
batch transport plays (``PatternSource.take`` in the block sizes its batches use) and the cycles
the per-cycle driver steps through (``make_pattern``) have the same pause fraction and the same
distributions of pause-run and go-run lengths.

The comparison is statistical and can fail: the pause fraction and the share of runs in each length
bin, per chunk of the sequence, compared by Welch's t-test on the chunk values (robust to the
correlation of runs and of mixed's segments). The last test shows that both statistics flag patterns
that differ by as little as mixed's batch copy once did (33 % against 47 % paused) and much less.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from tb.batch import plan
from tb.batch.patterns import PatternSource
from tb.batch.wrapper import ICARUS_DEPTHS
from tb.shared.patterns import PATTERNS, draw_mixed, draw_random, draw_runs, make_pattern

N = 1 << 20
"""Cycles compared per pattern and role."""

BINS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 17, 33, 65, 129)
"""Run-length histogram bins: [1], [2], ... [8], [9, 16], [17, 32], ... [129, inf)."""

CHUNKS = 64
"""Chunks each sequence is cut into for the spread of a statistic."""


def batch_block_sizes() -> dict[str, int]:
    """The pattern length one batch carries, per simulator, for a run with pauses (as
    ``tb/batch/cocotb_test.py`` computes it: Icarus batches are bounded by its memories)."""
    out = {}
    for sim, beats in (
        ("verilator", 65536),
        ("icarus", (ICARUS_DEPTHS["MAX_CYCLES"] - 1024) // 24),
    ):
        jobs = beats // 3
        budget = plan.cycle_budget(beats, jobs, False)
        span = min(budget, 4 * (beats + jobs))
        limit = ICARUS_DEPTHS["PAT_LEN"] if sim == "icarus" else None
        out[sim] = plan.pattern_length(span, limit)
    return out


def batch_pauses(name: str, role: str, block: int, seed: int) -> np.ndarray:
    """``N`` cycles as the batch transport plays them: ``take(block)`` after ``take(block)``
    (bit 0 = offer a beat, bit 1 = out_ready)."""
    src = PatternSource(name, name, np.random.default_rng(seed))
    words = np.concatenate([src.take(block) for _ in range(-(-N // block))])[:N]
    bit = 0 if role == "idle" else 1
    return ((words >> bit) & 1) == 0


def cycle_pauses(name: str, seed: int) -> np.ndarray:
    """``N`` cycles as the per-cycle driver and monitor step through them."""
    return np.fromiter(
        itertools.islice(make_pattern(name, np.random.default_rng(seed)), N), dtype=bool, count=N
    )


def run_lengths(p: np.ndarray, value: bool) -> np.ndarray:
    """Lengths of the maximal runs of ``value`` in ``p``."""
    edges = np.flatnonzero(np.diff(np.concatenate([[False], p == value, [False]]).astype(int)))
    return edges[1::2] - edges[0::2]


def welch_t(ma: np.ndarray, mb: np.ndarray) -> float:
    """Welch's t of two sets of chunk means (inf when they differ without any spread)."""
    se = math.sqrt(ma.var(ddof=1) / len(ma) + mb.var(ddof=1) / len(mb))
    if se == 0:
        return 0.0 if ma.mean() == mb.mean() else math.inf
    return abs(ma.mean() - mb.mean()) / se


def chunk_stats(p: np.ndarray, chunks: int = CHUNKS) -> dict[str, np.ndarray]:
    """Per chunk of ``p``: the pause fraction, and the share of its pause runs and of its go
    runs in each length bin of :data:`BINS` (runs cut at chunk edges, alike for both sides).
    Chunks rather than single cycles or runs, so that the correlation of a pattern's cycles
    (runs, mixed's segments) is in the spread and no test is too strict."""
    edges = np.array(BINS + (np.iinfo(np.int64).max,))
    out: dict[str, list] = {"pause fraction": []}
    for c in p[: len(p) // chunks * chunks].reshape(chunks, -1):
        out["pause fraction"].append(c.mean())
        for value, what in ((True, "pause"), (False, "go")):
            runs = run_lengths(c, value)
            h = np.histogram(runs, edges)[0] / max(len(runs), 1)
            for lo, share in zip(BINS, h):
                out.setdefault(f"{what} runs of {lo}+", []).append(share)
    return {k: np.array(v) for k, v in out.items()}


def same_distribution(a: np.ndarray, b: np.ndarray, limit: float = 6.0) -> list[str]:
    """What differs between two pause sequences (empty: nothing detectably): each statistic of
    :func:`chunk_stats` compared by Welch's t on chunk values, ``|t| > limit`` flagged."""
    sa, sb = chunk_stats(a), chunk_stats(b)
    bad = []
    for k in sa:
        t = welch_t(sa[k], sb[k])
        if t > limit:
            bad.append(f"{k}: {sa[k].mean():.4f} vs {sb[k].mean():.4f} (t = {t:.1f})")
    return bad


@pytest.mark.parametrize("sim", ["verilator", "icarus"])
@pytest.mark.parametrize("role", ["idle", "ready"])
@pytest.mark.parametrize("name", list(PATTERNS))
def test_transports_draw_the_same_distributions(name, role, sim):
    block = batch_block_sizes()[sim]
    a = batch_pauses(name, role, block, seed=1)
    b = cycle_pauses(name, seed=2)
    bad = same_distribution(a, b)
    assert not bad, f"{name} as {role} ({sim} batches of {block} cycles): {'; '.join(bad)}"


def test_the_statistics_can_fail():
    """Differences of the size the old batch copy of ``mixed`` had, and smaller, are flagged;
    two draws of one pattern are not."""
    rng = np.random.default_rng(5)
    base = draw_random(rng, N, 0.30)
    assert same_distribution(base, draw_random(rng, N, 0.30)) == []
    assert any("pause fraction" in s for s in same_distribution(base, draw_random(rng, N, 0.31)))
    # runs of 1-32 go / 1-8 pause against 1-32 / 1-9: the pause fraction barely moves
    runs = draw_runs(rng, N)
    assert any(
        "pause runs" in s for s in same_distribution(runs, draw_runs(rng, N, (1, 32), (1, 9)))
    )
    mixed = draw_mixed(rng, N)
    assert same_distribution(mixed, draw_mixed(rng, N)) == []
    # mixed with segments cut short (as drawing it in small blocks would): runs differ
    short = np.concatenate([draw_mixed(rng, 64) for _ in range(N // 64)])
    assert same_distribution(mixed, short)
    # the old batch copy: 33 % paused against 47 %
    assert same_distribution(draw_random(rng, N, 0.33), draw_random(rng, N, 0.47))


def test_block_sizes_are_what_a_run_uses():
    sizes = batch_block_sizes()
    assert sizes["icarus"] == 16384 and sizes["verilator"] == 1 << 19


def test_pattern_budget_covers_a_slow_short_pattern():
    """A batch of one job on a 4-cycle pattern that never offers a beat: the last cycle is
    opened on both sides, and the budget covers ceil(1/1) + ceil(1/1) + 1 = 3 periods twice,
    plus the 1024 margin: 2 * 3 * 4 + 1024 = 1048 (worked by hand)."""
    pattern = plan.open_both_sides(np.array([0, 0, 0, 2], dtype=np.uint8))
    assert pattern.tolist() == [0, 0, 0, 3]
    assert plan.pattern_budget(pattern, 1, 1, 100) == 1048
    # 16 cycles opening the input once and the output once: 10 beats and 5 jobs need
    # 10 + 5 + 1 = 16 periods, so 2 * 16 * 16 + 1024 = 1536 cycles.
    slow = np.zeros(16, dtype=np.uint8)
    slow[3], slow[9] = 1, 2
    assert plan.open_both_sides(slow) is slow
    assert plan.pattern_budget(slow, 10, 5, 1200) == 1536
    # A budget that already covers the pattern stays as it was.
    assert plan.pattern_budget(np.full(8, 3, dtype=np.uint8), 10, 5, 5000) == 5000
