"""Predicted build + run seconds per simulator (tb/run/cost.py), against the documented
constants worked by hand."""

from __future__ import annotations

import dataclasses

import pytest

from pyref.config import QmacConfig, named_config
from tb.run import cost


def test_icarus_default_by_hand():
    # build 0.05 + start-up 1.15 + 10 000 outputs x 82.5 us = 2.025 s
    c = cost.predict(QmacConfig(), 10_000, "icarus")
    assert (c.build_s, c.run_s, c.total_s) == (0.05, 1.975, 2.025)


def test_verilator_profiles_and_cold_runtime_by_hand():
    # quick profile (N <= 50 000): build 1.6; speed profile: 1.6 + 0.5; cold runtime: + 16.6
    assert cost.predict(QmacConfig(), 50_000, "verilator").build_s == 1.6
    assert cost.predict(QmacConfig(), 50_001, "verilator").build_s == 2.1
    assert cost.predict(QmacConfig(), 1_000, "verilator", runtime_built=False).build_s == 18.2
    assert cost.predict(QmacConfig(), 1_000, "verilator", built=True).build_s == 0.0
    # run: 1.16 + 100 000 x 16.2 us = 2.78
    assert cost.predict(QmacConfig(), 100_000, "verilator").run_s == 2.78


def test_lanes_between_measured_points_interpolate():
    # 20 lanes: halfway between 8 (16.2 us) and 32 (42.1 us) per output: 29.15 us
    cfg = dataclasses.replace(QmacConfig(), lanes=20)
    run = cost.predict(cfg, 100_000, "verilator").run_s
    fixed = 1.16 + (1.15 - 1.16) * 12 / 24
    assert run == pytest.approx(fixed + 100_000 * 29.15e-6, abs=1e-3)


def test_cheapest_simulator_short_runs_icarus_long_runs_verilator():
    for name in ("lanes1", "default", "lanes32"):
        cfg = named_config(name)
        assert cost.cheapest_simulator(cfg, 1_000) == "icarus"
        assert cost.cheapest_simulator(cfg, 100_000) == "verilator"
        # an already built Verilator model costs only its run: cheaper than Icarus even short
        assert cost.cheapest_simulator(cfg, 2_000, built=("verilator",)) == "verilator"


def test_bad_arguments_named():
    with pytest.raises(ValueError, match="sim = 'questa'"):
        cost.predict(QmacConfig(), 10, "questa")
    with pytest.raises(ValueError, match="n = -1"):
        cost.predict(QmacConfig(), -1, "icarus")
