"""The sweep's plots (sweep/plots.py) carry what a design review needs: titles, axis labels with
units, legends, counts in the pass matrix, a colour bar, and the named configs labelled."""

from __future__ import annotations

import pytest

pytest.importorskip("matplotlib", reason="pip install -e '.[plots]'")

from pyref.config import NAMED_CONFIGS  # noqa: E402
from sweep import plots  # noqa: E402


def _rec(cfg, verdict="pass", cells=100, fpga=None, sim="verilator", bps=1e5, key=None):
    d = cfg.to_dict() if hasattr(cfg, "to_dict") else dict(cfg)
    return {
        "config": d,
        "verdict": verdict,
        "synth": {"ok": True, "cells": cells},
        "fpga": fpga,
        "sim": sim,
        "n": 1000,
        "beats_per_s": bps,
        "key": key or f"{sim}/k{cells}/n1000",
    }


@pytest.fixture
def run():
    d = NAMED_CONFIGS["default"]
    recs = [
        _rec(
            d,
            cells=900,
            fpga={"ok": True, "luts": 905, "dsps": 8, "fmax_mhz": 61.0, "part": "LFE5U-25F"},
        ),
        _rec(
            NAMED_CONFIGS["tflite"],
            cells=1500,
            fpga={"ok": True, "luts": 1200, "dsps": 12, "fmax_mhz": 55.0, "part": "LFE5U-25F"},
        ),
        _rec(d.replace(in_bits=4, w_bits=4, out_bits=4), cells=300, sim="icarus", bps=5e4),
        _rec(d.replace(in_bits=4, w_bits=8), verdict="fail", cells=500),
        _rec(d.replace(in_bits=4, w_bits=8, rounding="floor"), cells=480),
    ]
    return {"spec": "t", "points": recs}


def _texts(fig) -> list[str]:
    out = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        out += [t.get_text() for t in ax.texts]
        out += [t.get_text() for t in ax.get_yticklabels()]
        leg = ax.get_legend()
        if leg is not None:
            out += [t.get_text() for t in leg.get_texts()] + [leg.get_title().get_text()]
    return out


def test_pass_matrix_has_counts_and_a_colour_bar(run):
    fig = plots.pass_matrix_fig(run)
    t = _texts(fig)
    assert "Sweep t: points passed / swept (blank: not swept)" in t
    assert "rounding = half_up" in t and "rounding = floor" in t
    assert "w_bits (bits)" in t and "in_bits (bits)" in t
    # in=4, w=8 half_up: one point, failed -> 0/1; in=8, w=8: default and... -> counts
    assert "0/1" in t and "1/1" in t
    assert any(ax.get_ylabel() == "points passed (fraction)" for ax in fig.axes)  # colour bar


def test_area_and_pareto_name_families_and_configs(run):
    t = _texts(plots.area_fig(run))
    assert {"shift", "gemmlowp", "rounding family"} <= set(t)
    assert "default" in t and "tflite" in t
    assert "Yosys generic cells (log)" in t
    pt = _texts(plots.pareto_fig(run))
    assert "Pareto front" in pt and "output bits (out_bits)" in pt
    front = plots.pareto_front([r for r in run["points"] if r["verdict"] == "pass"])
    # 8 output bits: the floor point (480 cells) beats default (900) and tflite (1500); at 4
    # bits 300 cells is fewer still, so it is on the front too
    assert [r["synth"]["cells"] for r in front] == [480, 300]


def test_fpga_and_speed_plots_are_labelled(run):
    t = _texts(plots.fpga_fig(run))
    assert "Fmax (MHz)" in t and "LUT4 (TRELLIS_COMB)" in t and "DSP blocks (MULT18X18D)" in t
    assert "default" in t and "tflite" in t
    s = _texts(plots.speed_fig(run))
    assert "checked beats per second (log)" in s and {"Verilator", "Icarus"} <= set(s)
    assert any(x.startswith("default (verilator") for x in s)


def test_write_plots_writes_every_plot(run, tmp_path):
    files = plots.write_plots(run, tmp_path)
    assert set(files) == {"pass_matrix", "area", "pareto", "fpga", "speed"}
    assert all(p.stat().st_size > 5000 for p in files.values())


def test_plots_without_matplotlib_are_left_out_or_refused_before_anything_runs(monkeypatch, capsys):
    import importlib.util

    from sweep import cli

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name)
    )
    assert cli.resolve_plots(None) is False
    assert "no plots: matplotlib is not installed" in capsys.readouterr().out
    assert cli.resolve_plots(False) is False
    assert cli.main(["run", "SWEEP=tiny", "PLOTS=1"]) == 3
    err = capsys.readouterr().err
    assert "PLOTS=1 needs matplotlib: pip install 'qmac[plots]'" in err
    assert "qmac sweep tiny:" not in capsys.readouterr().out  # nothing ran
    monkeypatch.setattr(importlib.util, "find_spec", real)
    assert cli.resolve_plots(None) is True
