"""The RTL code coverage bar of ``make test`` (tb.cli.coverage): a short merged coverage run of
rtl/ over the configs that reach every line and branch point, every such point hit or waived
with a reason in rtl/coverage.toml; and the bar failing on an RTL copy with a branch no run can
take."""

from __future__ import annotations

import shutil

import pytest
from sim_skip import require_simulator

from tb.cli.coverage import collect
from tb.rtl_coverage import waivers
from tb.run.build import RTL_DIR

pytestmark = pytest.mark.rtl

BAR_CONFIGS = ["fp32", "tflite", "int16x8", "lanes1", "default", "lanes32", "unsigned_in"]
"""Together they reach every line and branch point the named configs reach (make coverage's
ranking over line and branch points); the other named configs add none."""
BAR_N = 3000


def test_every_line_and_branch_point_is_hit_or_waived(tmp_path):
    require_simulator("verilator")
    result = collect(BAR_CONFIGS, n=BAR_N, seed=1, out=tmp_path, log=lambda s: None)
    text = (tmp_path / "summary.md").read_text()
    print(text)
    assert all(r.passed for r in result.runs), text
    v = waivers.check(result.merged, waivers.load(RTL_DIR), full=False)
    assert v.passed, "points not hit and not waived:\n" + "\n".join(p.label() for p in v.missed)
    kinds = {p.kind for p in result.merged}
    assert {"line", "branch", "toggle", "expr"} <= kinds
    lines = [p for p in result.merged if p.kind in ("line", "branch")]
    assert len(lines) >= 80  # the bar looks at real points, not an empty run
    for name in ("coverage.info", "coverage.xml", "merged.dat", "html/index.html"):
        assert (tmp_path / name).is_file()


def test_the_bar_fails_on_a_branch_no_run_takes(tmp_path):
    """``sat_o = (below_q & above_q) ? 1 : (below_q | above_q)`` computes the same (no value is both
    below act_min and above act_max >= act_min), but its first arm is never taken: the bar
    names that point, and it is the only point the edit leaves unhit."""
    require_simulator("verilator")
    rtl = tmp_path / "rtl"
    shutil.copytree(RTL_DIR, rtl)
    src = rtl / "qmac_out_stage.v"
    text = src.read_text()
    old = "assign sat_o = below_q | above_q;"
    assert old in text
    src.write_text(
        text.replace(old, "assign sat_o = (below_q & above_q) ? 1'b1 : (below_q | above_q);")
    )
    missed = {}
    for where, folder in (("copy", rtl), ("rtl", RTL_DIR)):
        result = collect(
            ["default"], n=1000, seed=1, rtl_dir=folder, out=tmp_path / where, log=lambda s: None
        )
        assert all(r.passed for r in result.runs)  # the design still computes right
        v = waivers.check(result.merged, waivers.load(folder), full=False)
        missed[where] = {p.label() for p in v.missed}
    assert missed["copy"] - missed["rtl"] == {"qmac_out_stage.v:67:40 branch cond_then"}
