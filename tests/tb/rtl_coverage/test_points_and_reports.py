"""tb.rtl_coverage on hand-written Verilator coverage files: reading, merging, the per-module
table, lcov / Cobertura / HTML, the ranking and the waivers."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest

from tb.rtl_coverage import rank, waivers
from tb.rtl_coverage.points import merge, read_dat, write_dat
from tb.rtl_coverage.summary import by_module, line_hits, port_names, port_toggles
from tb.rtl_coverage.writers import write_cobertura, write_html, write_lcov


def _c(file, line, col, kind, module, text, count, span=None, h="tb.dut"):
    fields = [
        ("f", f"/any/where/{file}"),
        ("l", line),
        ("n", col),
        ("t", kind),
        ("page", f"v_{kind}/{module}"),
        ("o", text),
    ]
    if span:
        fields.append(("S", span))
    fields.append(("h", h))
    return "C '" + "".join(f"\x01{k}\x02{v}" for k, v in fields) + f"' {count}"


RUN_A = [
    _c("m.v", 10, 3, "line", "m", "block", 5, "10-12"),
    _c("m.v", 11, 5, "branch", "m", "if", 4, "11-11"),
    _c("m.v", 11, 6, "branch", "m", "else", 0),
    _c("m.v", 2, 20, "toggle", "m", "a_i:0->1", 3),
    _c("m.v", 2, 20, "toggle", "m", "a_i:1->0", 0),
    _c("m.v", 7, 9, "toggle", "m", "inner:0->1", 0),
    _c("tb.sv", 3, 1, "line", "tb", "block", 9),
]
RUN_B = [
    _c("m.v", 11, 6, "branch", "m__P8", "else", 2, h="tb.dut.u2"),
    _c("m.v", 20, 3, "expr", "m", "(x==1) => 1", 0),
]
VERILOG = """module m #(parameter W = 8) (
  input  wire [W-1:0] a_i,   // a port
  output wire         y_o
);
  wire inner;
endmodule
"""


@pytest.fixture
def dats(tmp_path):
    a, b = tmp_path / "a.dat", tmp_path / "b.dat"
    a.write_text("# SystemC::Coverage-3\n" + "\n".join(RUN_A) + "\n")
    b.write_text("# SystemC::Coverage-3\n" + "\n".join(RUN_B) + "\n")
    (tmp_path / "m.v").write_text(VERILOG + "\n" * 20)
    return a, b


def test_read_keeps_the_named_files_and_merge_adds_equal_points(dats):
    a, b = dats
    ra, rb = read_dat(a, ["m.v"]), read_dat(b, ["m.v"])
    assert len(ra) == 6 and all(p.file == "m.v" for p in ra)  # tb.sv dropped
    merged = merge([ra, rb])
    by_label = {p.label(): n for p, n in merged.items()}
    # the else branch of another instance (other parameters, other hierarchy) is the same point
    assert by_label["m.v:11:6 branch else"] == 2
    assert by_label["m.v:20:3 expr (x==1) => 1"] == 0
    assert len(merged) == 7


def test_per_module_table_and_line_hits(dats):
    merged = merge([read_dat(d, ["m.v"]) for d in dats])
    table = by_module(merged)
    assert (table["m"]["branch"].hit, table["m"]["branch"].total) == (2, 2)
    assert (table["m"]["toggle"].hit, table["m"]["toggle"].total) == (1, 3)
    assert (table["m"]["expr"].hit, table["m"]["expr"].total) == (0, 1)
    assert table["total"]["line"].cell() == "100.0 % (1/1)"
    assert line_hits(merged) == {"m.v": {10: 5, 11: 5, 12: 5}}


def test_ports_are_read_from_the_header(dats, tmp_path):
    assert port_names([tmp_path / "m.v"]) == {"m": {"a_i", "y_o"}}
    merged = merge([read_dat(d, ["m.v"]) for d in dats])
    ports = port_toggles(merged, {"m": {"a_i", "y_o"}})
    assert sorted(p.text for p in ports) == ["a_i:0->1", "a_i:1->0"]


def test_lcov_and_cobertura(dats, tmp_path):
    merged = merge([read_dat(d, ["m.v"]) for d in dats])
    write_lcov(tmp_path / "c.info", merged, tmp_path)
    info = (tmp_path / "c.info").read_text().splitlines()
    assert f"SF:{tmp_path.resolve() / 'm.v'}" in info
    assert "DA:10,5" in info and "DA:12,5" in info and "LF:3" in info and "LH:3" in info
    assert "BRDA:11,5,0,4" in info and "BRDA:11,6,1,2" in info and "BRH:2" in info
    assert info[-1] == "end_of_record"
    write_cobertura(tmp_path / "c.xml", merged, tmp_path)
    root = ET.parse(tmp_path / "c.xml").getroot()
    assert root.get("lines-valid") == "3" and root.get("branches-covered") == "2"
    line11 = root.find(".//class[@filename='m.v']/lines/line[@number='11']")
    assert line11.get("branch") == "true" and line11.get("condition-coverage") == "100% (2/2)"


def test_html_marks_lines_with_points_not_hit(dats, tmp_path):
    merged = merge([read_dat(dats[0], ["m.v"])])
    index = write_html(tmp_path / "html", merged, tmp_path, "t")
    page = (tmp_path / "html" / "m.v.html").read_text()
    assert index.is_file() and "m.v.html" in index.read_text()
    assert '<tr class="miss"><td class=n>11</td>' in page  # the else not hit
    assert "branch else not hit" in page
    assert '<tr class="hit"><td class=n>10</td><td class=n>5</td>' in page


def test_greedy_ranking_and_unique_points(dats):
    ra, rb = (read_dat(d, ["m.v"]) for d in dats)
    runs = {"a": ra, "b": rb, "c": {p: 1 for p in ra if p.kind == "line"}}
    assert rank.greedy_order(runs) == [("a", 3), ("b", 1)]
    assert {k: len(v) for k, v in rank.unique_hits(runs).items()} == {"a": 2, "b": 1, "c": 0}


def test_waivers_bar_and_stale(dats, tmp_path):
    merged = merge([read_dat(dats[0], ["m.v"])])
    (tmp_path / "coverage.toml").write_text(
        '[[waiver]]\npoint = "m.v:11:6 branch else"\nreason = "never taken here"\n'
        '[[waiver]]\npoint = "m.v:10:3 line block"\nreason = "was missed once"\n'
    )
    v = waivers.check(merged, waivers.load(tmp_path))
    assert v.passed and [p.label() for p in v.waived] == ["m.v:11:6 branch else"]
    assert v.stale == ["m.v:10:3 line block"]
    ports = port_toggles(merged, {"m": {"a_i"}})
    v = waivers.check(merged, waivers.load(tmp_path), also=set(ports))
    assert not v.passed and [p.label() for p in v.missed] == ["m.v:2:20 toggle a_i:1->0"]


def test_a_waiver_without_reason_is_refused(tmp_path):
    (tmp_path / "coverage.toml").write_text('[[waiver]]\npoint = "m.v:1:1 line block"\n')
    with pytest.raises(ValueError, match="waiver 0 needs a point and a reason"):
        waivers.load(tmp_path)


def test_merged_dat_reads_back(dats, tmp_path):
    merged = merge([read_dat(d, ["m.v"]) for d in dats])
    write_dat(tmp_path / "m.dat", merged)
    again = read_dat(tmp_path / "m.dat")
    assert {p.label(): n for p, n in again.items()} == {p.label(): n for p, n in merged.items()}


def test_a_file_with_no_points_is_an_error(tmp_path):
    (tmp_path / "x.dat").write_text("hello\n")
    with pytest.raises(ValueError, match="no coverage points"):
        read_dat(tmp_path / "x.dat")


def test_the_summary_shows_the_functional_bins_beside_the_code_points(dats, tmp_path):
    from tb.rtl_coverage.report import functional_merged, write_reports

    runs = {name: read_dat(d, ["m.v"]) for name, d in zip("ab", dats)}
    # x is required by a and hit there; y required by both, hit by neither; w required by b
    # only; z hit but required by no run (not counted): 1 of 3 required bins hit.
    functional = {
        "a": {"hits": {"x": 2, "y": 0, "z": 1}, "required": ["x", "y"]},
        "b": {"hits": {"y": 0}, "required": ["y", "w"]},
    }
    assert functional_merged(functional) == ({"x", "y", "w"}, {"x"})
    write_reports(runs, tmp_path, tmp_path / "out", title="t", full=False, functional=functional)
    text = (tmp_path / "out" / "summary.md").read_text()
    # the code totals of the merged runs (test_per_module_table_and_line_hits) beside the bins
    assert "| RTL branches | 100.0 % (2/2) |" in text
    assert "| RTL toggles | 33.3 % (1/3) |" in text
    assert "| RTL expressions | 0.0 % (0/1) |" in text
    assert "| functional bins (reachable in at least one run) | 33.3 % (1/3) |" in text
    assert "Functional bins no run hit: `w`, `y`" in text
    write_reports(runs, tmp_path, tmp_path / "code", title="t", full=False)
    assert "functional bins" not in (tmp_path / "code" / "summary.md").read_text()
