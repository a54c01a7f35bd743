"""tb/shared/bins.py declares every coverage bin once: the counting code, the reachability
rules and the docs table all follow it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pyref.config import NAMED_CONFIGS
from tb.shared import coverage
from tb.shared.bins import BIN_TABLE, BINS, EVENT_BINS, REACHABLE, SOURCES, docs_tables
from tb.shared.boundaries import VARIANTS

ROOT = Path(__file__).resolve().parents[3]


def test_each_bin_is_declared_once_with_a_source_and_a_group():
    names = [b.name for b in BIN_TABLE]
    assert len(names) == len(set(names)) == len(BINS) >= 60
    assert all(b.source in SOURCES and b.group in REACHABLE and b.description for b in BIN_TABLE)
    assert set(REACHABLE) == {b.group for b in BIN_TABLE}  # no group without a bin


def test_the_sources_match_the_code_that_counts():
    assert {b.name for b in BIN_TABLE if b.source == "boundary"} == {n for n, _ in VARIANTS}
    assert set(EVENT_BINS) == {b.name for b in BIN_TABLE if b.source == "event"}
    from tb.shared.job import SimJob
    from tb.shared.prepare import prepare

    job = SimJob(
        config=NAMED_CONFIGS["default"].to_dict(),
        config_name="default",
        sim="verilator",
        seed=1,
        n=2000,
    )
    s = prepare(job)
    features = coverage.job_features(s.stim, s.expected)
    job_bins = {b.name for b in BIN_TABLE if b.source != "event"}
    assert job_bins <= set(features), sorted(job_bins - set(features))
    assert all(isinstance(v, np.ndarray) for v in features.values())


def test_reachable_speaks_of_every_declared_bin_for_every_named_config():
    for cfg in NAMED_CONFIGS.values():
        assert set(coverage.reachable(cfg)) == set(BINS)


def test_the_docs_tables_are_the_declared_ones():
    page = (ROOT / "docs" / "testbench.md").read_text()
    assert docs_tables() in page
