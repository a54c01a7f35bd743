"""sweep/fpga_table.py: the before/after table of two `named` sweep runs, from their run.json."""

from __future__ import annotations

import json

import pytest

from pyref.config import NAMED_CONFIGS
from sweep import fpga_table
from tb.cli.errors import UsageError


def _run(folder, figures: dict):
    """A run.json with one placed-and-routed point per named config in ``figures``."""
    points = [
        {
            "key": f"icarus {name}",
            "config": NAMED_CONFIGS[name].to_dict(),
            "fpga": {
                "ok": True,
                "fmax_mhz": f,
                "dsps": d,
                "luts": lu,
                "ffs": ff,
                "critical_ns": 1000 / f,
                "critical_from": "s3_q",
                "critical_to": "s4_q",
            },
            "sim_result": {"latency": lat},
        }
        for name, (f, d, lu, ff, lat) in figures.items()
    ]
    points.append({"key": "other", "config": {"lanes": 3}, "fpga": {"ok": True}})
    folder.mkdir()
    (folder / "run.json").write_text(json.dumps({"points": points}))
    return folder


def test_rows_pair_the_figures_in_named_order(tmp_path):
    before = _run(
        tmp_path / "b", {"tflite": (54.9, 12, 1215, 322, 5), "default": (61.0, 8, 905, 256, 5)}
    )
    after = _run(
        tmp_path / "a", {"default": (157.5, 8, 765, 399, 9), "tflite": (134.2, 12, 1455, 642, 12)}
    )
    lines = fpga_table.table(fpga_table.load_points(before), fpga_table.load_points(after))
    assert lines[2] == "| default | 61.0 → 157.5 | 8 → 8 | 905 → 765 | 256 → 399 | 5 → 9 |"
    assert lines[3] == "| tflite | 54.9 → 134.2 | 12 → 12 | 1215 → 1455 | 322 → 642 | 5 → 12 |"
    assert len(lines) == 4
    rows = fpga_table.paths(fpga_table.load_points(before), fpga_table.load_points(after))
    assert rows[2] == "| default | 16.39 ns: `s3_q` → `s4_q` | 6.35 ns: `s3_q` → `s4_q` |"


def test_no_common_config_or_no_run_is_a_usage_error(tmp_path):
    a = _run(tmp_path / "a", {"default": (1.0, 1, 1, 1, 1)})
    b = _run(tmp_path / "b", {"fp32": (1.0, 1, 1, 1, 1)})
    with pytest.raises(UsageError, match="no placed-and-routed config in common"):
        fpga_table.table(fpga_table.load_points(a), fpga_table.load_points(b))
    with pytest.raises(UsageError, match="no run.json"):
        fpga_table.load_points(tmp_path / "missing")
