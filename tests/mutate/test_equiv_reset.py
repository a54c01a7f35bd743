"""Equivalence from reset (mutate/equiv_reset.py): the miter's text, the ports and failed
assertions read back, and on rtl/ two planted mutants worked by hand.

- *Late-masked*: the requantizer's saturated maximum one lower (``r_o`` = 2^(R_BITS-1) - 2
  where the saturation gives 2^(R_BITS-1) - 1). By hand, under ``int4_sat`` (OUT_BITS 4,
  R_BITS 6): r is 31 or 30, out_zp >= -8, so r + out_zp >= 22 > 7 >= act_max: the output
  clamp gives act_max and the flag in both, whatever the other values. The difference crosses
  ``s4_r_q`` and the output stage's two registers before the clamp masks it, so the
  pair-and-induct flow leaves it unproven; from reset, k-induction proves it.
- *Late difference*: the saturation flag also raised when the unclamped low bits are 5 and
  act_min is 3. By hand, under ``int4_sat`` a job with y = r + out_zp = 5 and act_min = 3,
  act_max = 7 has y inside the limits (flag 0 in the original, 1 in the mutant); no output
  differs before a job has gone through the pipeline: the reset in the first cycle, the last
  beat accepted at the earliest on the edge that ends the next one, then the latency (9
  edges), so the first step whose outputs can differ is 1 + 9 = 10.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mutate.equiv_reset import Ports, candidates, failed_asserts, failed_step, ports, wrapper

REPO = Path(__file__).resolve().parents[2]
RTL = REPO / "rtl"

RTLIL = """\
module \\qmac_gold
  wire width 8 input 1 \\in_x_i
  wire input 2 \\rst_i
  wire output 3 \\out_valid_o
  wire width 4 output 4 \\out_y_o
  wire width 9 output 5 \\acc_q
  wire width 2 output 6 \\u_ring.ring[1]
  wire width 3 \\internal
end
"""


def test_ports_split_outputs_from_exposed_registers():
    p = ports(RTLIL, {"out_valid_o", "out_y_o"})
    assert p.inputs == {"in_x_i": 8, "rst_i": 1}
    assert p.outputs == {"out_valid_o": 1, "out_y_o": 4}
    assert p.registers == {"acc_q": 9, "u_ring.ring[1]": 2}


def test_candidates_same_name_and_width_but_excluded():
    gold = Ports({}, {}, {"acc_q": 9, "wp": 1, "s4_r_q": 6, "u.ring[0]": 2, "u.ring[1]": 2})
    gate = Ports({}, {}, {"acc_q": 9, "wp": 2, "s4_r_q": 6, "u.ring[0]": 2, "u.ring[1]": 2})
    # wp changed width (not a candidate); s4_r_q released; a memory's words follow its name
    assert candidates(gold, gate, {"s4_r_q"}) == ["acc_q", "u.ring[0]", "u.ring[1]"]
    assert candidates(gold, gate, {"u.ring"}) == ["acc_q", "s4_r_q"]


def test_wrapper_compares_data_while_valid_and_assumes_reset():
    p = Ports(
        {"clk_i": 1, "rst_i": 1, "out_ready_i": 1},
        {"out_valid_o": 1, "in_ready_o": 1, "out_y_o": 4},
        {"acc_q": 9, "u.ring[0]": 2},
    )
    text = wrapper(p, p, ["acc_q"], "qmac_gold", "qmac_gate")
    lines = [ln.strip() for ln in text.splitlines()]
    # ports g_0.. in order: out_valid_o, in_ready_o, out_y_o, acc_q, u.ring[0]
    assert "if (started && g_0) out_out_y_o: assert (g_2 == m_2);" in lines
    assert "if (started) out_out_valid_o: assert (g_0 == m_0);" in lines
    assert "if (started) out_in_ready_o: assert (g_1 == m_1);" in lines
    assert "if ($initstate) assume (rst_i);" in lines
    assert "if ($initstate) assume (g_3 == m_3);" in lines  # same power-up value
    assert "cand_0: assert (g_3 == m_3);  // acc_q" in lines
    assert "wire [21:0] state = {g_3, g_4, m_3, m_4};" in lines  # 9 + 2 bits, both sides
    assert "if (!prev_rst) assume (state != prev_state);" in lines
    assert ".\\u.ring[0] (g_4)" in text  # an escaped identifier for a flattened name


def test_failed_asserts_read_from_the_logs(tmp_path):
    (tmp_path / "engine_0").mkdir()
    (tmp_path / "engine_0" / "logfile.txt").write_text(
        "##   0:00:01  Checking assertions in step 9..\n"
        "##   0:00:01  Checking assertions in step 10..\n"
        "##   0:00:01  BMC failed!\n"
        "##   0:00:01  Assert failed in qmac_equiv_reset: out_out_sat_o\n"
        "##   0:00:01  Assert failed in qmac_equiv_reset: cand_3\n"
    )
    assert failed_asserts(tmp_path) == {"out_out_sat_o", "cand_3"}
    assert failed_step(tmp_path) == 10


def _mutant(tmp_path: Path, name: str, file: str, old: str, new: str) -> Path:
    copy = tmp_path / name
    shutil.copytree(RTL, copy)
    text = (copy / file).read_text()
    assert text.count(old) == 1
    (copy / file).write_text(text.replace(old, new))
    return copy


LATE_OLD = """\
      qmac_sat #(
        .IN_W  (P_BITS),
        .OUT_W (R_BITS)
      ) u_sat (
        .v_i (r_full_q),
        .s_o (r_o)
      );"""
LATE_NEW = """\
      wire [R_BITS-1:0] r_s;
      qmac_sat #(
        .IN_W  (P_BITS),
        .OUT_W (R_BITS)
      ) u_sat (
        .v_i (r_full_q),
        .s_o (r_s)
      );
      assign r_o = (r_s == {1'b0, {(R_BITS-1){1'b1}}}) ? r_s - 1'b1 : r_s;"""


@pytest.mark.rtl
def test_late_masked_mutant_proven_from_reset(tmp_path):
    """Pair-and-induct leaves the late-masked mutant unproven (its output pairs); from reset
    k-induction proves it (see the module docstring for the hand check)."""
    from mutate.equiv import NOT_PROVEN, PROVEN, prove, prove_from_reset
    from pyref.config import NAMED_CONFIGS

    cfg = NAMED_CONFIGS["int4_sat"]
    assert (cfg.out_bits, cfg.rtl_latency()) == (4, 9)
    gold = tmp_path / "gold"
    shutil.copytree(RTL, gold)
    gate = _mutant(tmp_path, "late", "qmac_requant_round.v", LATE_OLD, LATE_NEW)
    params = cfg.rtl_parameters()
    first = prove(gold, gate, params, timeout=600)
    assert first.status == NOT_PROVEN and "out_y_o" in first.detail
    assert "s4_r_q" in first.released
    p = prove_from_reset(gold, gate, params, first, depth=cfg.rtl_latency() + 4, timeout=1200)
    assert p.status == PROVEN, p.detail
    assert "k-induction, depth 13" in p.detail


@pytest.mark.rtl
def test_late_difference_found_from_reset_not_proven(tmp_path):
    """The rare flag is a real difference: BMC from reset finds it in cycle 10 (the module
    docstring's count: the earliest a job's output can show), and the verdict is not
    "equivalent"."""
    from mutate.equiv import output_ports
    from mutate.equiv_reset import DIFFERENT, prove_from_reset
    from pyref.config import NAMED_CONFIGS

    cfg = NAMED_CONFIGS["int4_sat"]
    gold = tmp_path / "gold"
    shutil.copytree(RTL, gold)
    gate = _mutant(
        tmp_path,
        "rare",
        "qmac_out_stage.v",
        "assign sat_o = below_q | above_q;",
        "assign sat_o = below_q | above_q | (y_low_q == 5 && min_qq == 3);",
    )
    r = prove_from_reset(
        gold,
        gate,
        cfg.rtl_parameters(),
        depth=cfg.rtl_latency() + 4,
        top_outputs=output_ports(gold),
        timeout=1200,
        work=tmp_path / "tasks",
    )
    assert r.status == DIFFERENT, r.detail
    assert r.detail == "BMC: out_sat_o differs in cycle 10 after the reset"
    assert r.step == 1 + cfg.rtl_latency()
    assert r.trace is not None and r.trace.is_file()


@pytest.mark.rtl
def test_campaign_calls_the_proof_from_reset_after_the_regression(tmp_path, monkeypatch):
    """The campaign's wiring, with both proofs stubbed: a mutant the pair-and-induct proof leaves
    unproven goes to the proof from reset only once it has survived that config's regression,
    with depth = the config's latency + 4; its verdict decides "equivalent" or "survived". A
    mutant the regression kills never gets there."""
    from sim_skip import require_simulator

    from mutate import campaign
    from mutate.campaign import Settings, run_campaign
    from mutate.equiv import NOT_PROVEN, PROVEN, Proof
    from mutate.generate import planted
    from mutate.regress import EQUIVALENT, KILLED, SURVIVED, RegressionSpec
    from pyref.config import NAMED_CONFIGS

    require_simulator("icarus")
    calls = []
    monkeypatch.setattr(
        campaign, "prove", lambda *a, **k: Proof(NOT_PROVEN, "stub", released=["s4_r_q"])
    )

    def from_reset(gold, gate, params, unproven, *, depth, top, timeout):
        calls.append((gate.name, depth, unproven.released))
        status = PROVEN if "swapped" in (gate / "qmac_out_stage.v").read_text() else NOT_PROVEN
        return Proof(status, "stub from reset")

    monkeypatch.setattr(campaign, "prove_from_reset", from_reset)
    out_stage = (RTL / "qmac_out_stage.v").read_text()
    line = "assign sat_o = below_q | above_q;"
    same = planted(
        out_stage,
        "qmac_out_stage.v",
        line,
        "assign sat_o = above_q | below_q; // swapped",
        "swapped",
    )
    also = planted(
        out_stage, "qmac_out_stage.v", line, "assign sat_o = below_q | (above_q);", "paren"
    )
    kill = planted(out_stage, "qmac_out_stage.v", line, "assign sat_o = below_q & above_q;", "and")
    cfg = NAMED_CONFIGS["default"]
    spec = RegressionSpec((("default", cfg),), sim="icarus", seed=3, n=400)
    settings = Settings(
        rtl_dir=RTL, work=tmp_path / "work", spec=spec, jobs=1, module_tests=False, schema=False
    )
    outcomes, _ = run_campaign([same, also, kill], settings)
    status = {o.mutant.what: o.status for o in outcomes}
    assert status == {"swapped": EQUIVALENT, "paren": SURVIVED, "and": KILLED}
    assert sorted(c[1:] for c in calls) == [(9 + 4, ["s4_r_q"])] * 2  # not for "and"
