"""The named handshake patterns (tb/shared/patterns.py): drawn in one go for the batch
transport, stepped as generators by the per-cycle driver, from the same drawing functions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tb.batch.patterns import PatternSource
from tb.shared import patterns as bs
from tb.shared.patterns import PATTERNS, alternate, make_pattern, random_pauses

N = 20000


def runs(a: np.ndarray, value: bool) -> np.ndarray:
    """Lengths of the maximal runs of ``value`` in ``a`` (the first and last cut off)."""
    edges = np.flatnonzero(np.diff(a.astype(np.int8))) + 1
    pieces = np.split(a, edges)[1:-1]
    return np.array([len(p) for p in pieces if p[0] == value])


def test_every_named_pattern_draws_bools():
    rng = np.random.default_rng(0)
    for name in PATTERNS:
        a = bs.pauses(name, rng, 1000)
        assert a.dtype == bool and a.shape == (1000,)


@pytest.mark.parametrize("name", list(PATTERNS))
def test_both_transports_draw_the_same_cycles(name):
    """The per-cycle generator and a PatternStream taken in blocks of any sizes, from equal
    seeds, give the same cycles (runs are cut at the stream's chunks, not at the blocks)."""
    n = 3 * bs.CHUNK // 2
    stepped = list(itertools.islice(bs.make_pattern(name, np.random.default_rng(9)), n))
    stream = bs.PatternStream(name, np.random.default_rng(9))
    sizes = [1000, 4096, 1, 70000, n]
    taken = []
    while sum(map(len, taken)) < n:
        taken.append(stream.take(sizes[len(taken) % len(sizes)]))
    drawn = np.concatenate(taken)[:n]
    assert stepped == drawn.tolist()
    one = bs.pauses(name, np.random.default_rng(9), bs.CHUNK)
    assert drawn[: bs.CHUNK].tolist() == one.tolist()


def test_none_and_alternate_exact():
    rng = np.random.default_rng(0)
    assert not bs.pauses("none", rng, N).any()
    alt = bs.pauses("alternate", rng, 7)
    assert alt.tolist() == [False, True, False, True, False, True, False]


@pytest.mark.parametrize("name,p", [("random", 0.3), ("mostly_paused", 0.9)])
def test_random_rates(name, p):
    a = bs.pauses(name, np.random.default_rng(1), N)
    # Binomial(20000, p): 5 standard deviations is under 0.011.
    assert abs(a.mean() - p) < 0.011


def test_bursts_run_lengths():
    a = bs.pauses("bursts", np.random.default_rng(2), N)
    go, stop = runs(a, False), runs(a, True)
    assert go.min() >= 1 and go.max() <= 32 and stop.min() >= 1 and stop.max() <= 8
    assert abs(go.mean() - 16.5) < 1.5 and abs(stop.mean() - 4.5) < 0.5


def test_long_stalls_shape():
    a = bs.pauses("long_stalls", np.random.default_rng(3), N)
    go, stop = runs(a, False), runs(a, True)
    assert set(go.tolist()) == {1}
    assert stop.min() >= 20 and stop.max() <= 60


def test_mixed_switches_between_shapes():
    a = bs.pauses("mixed", np.random.default_rng(4), N)
    assert 0.2 < a.mean() < 0.8
    assert runs(a, True).max() >= 20  # long stalls occur
    assert runs(a, False).max() >= 50  # so do stretches of full speed


def test_pattern_source_bits():
    src = PatternSource("alternate", "none", np.random.default_rng(0))
    # bit 0: offer (idle pattern says go), bit 1: out_ready (never paused).
    assert src.take(4).tolist() == [3, 2, 3, 2]
    assert PatternSource("none", "none", np.random.default_rng(0)).take(3).tolist() == [3] * 3
    with pytest.raises(ValueError, match="no handshake pattern 'sometimes'"):
        PatternSource("sometimes", "none", np.random.default_rng(0))


@pytest.mark.parametrize("name", list(PATTERNS))
def test_pattern_properties_are_true(name):
    info = PATTERNS[name]
    seq = list(itertools.islice(make_pattern(name, np.random.default_rng(0)), 20000))
    assert any(seq) == info.pauses
    has_run = any(not a and not b for a, b in zip(seq, seq[1:]))
    assert has_run == info.runs


def test_basic_patterns():
    assert list(itertools.islice(alternate(), 4)) == [False, True, False, True]
    assert not any(itertools.islice(random_pauses(np.random.default_rng(0), 0.0), 1000))
    assert all(itertools.islice(random_pauses(np.random.default_rng(0), 1.0), 1000))
    with pytest.raises(ValueError, match="p = 2"):
        next(random_pauses(np.random.default_rng(0), 2.0))
