"""tb/api.py: one run of a config on an RTL folder, one outcome; a broken build is a typed
BuildFailed, whatever its message says."""

from __future__ import annotations

import pytest
from sim_skip import require_simulator

from pyref.config import named_config
from tb import api
from tb.shared.faults import apply_fault, fault_by_name

pytestmark = pytest.mark.rtl


def test_run_config_passes_the_rtl_and_reports_a_fault(tmp_path):
    require_simulator("icarus")
    cfg = named_config("default")
    good = api.run_config(cfg, sim="icarus", seed=3, n=400, build_root=tmp_path / "build")
    assert good.passed and good.mismatches == 0 and good.first_failure == ""
    assert 0 < good.outputs_checked <= 400 and good.coverage["summary"]
    rtl = apply_fault(fault_by_name("sat_flag"), tmp_path / "rtl")
    bad = api.run_config(
        cfg,
        sim="icarus",
        seed=3,
        n=400,
        rtl_dir=rtl,
        build_root=tmp_path / "build",
        max_mismatches=1,
    )
    assert not bad.passed and bad.mismatches >= 1
    assert bad.first_failure and bad.first_failure in bad.details[0]
    assert (
        api.repro(cfg, "icarus", 400, 3, rtl)
        == f"make sim CONFIG=default SEED=3 N=400 SIM=icarus RTL={rtl}"
    )


def test_a_build_that_fails_raises_build_failed(tmp_path):
    require_simulator("icarus")
    rtl = tmp_path / "rtl"
    rtl.mkdir()
    (rtl / "qmac.v").write_text("module qmac(input clk; endmodule\n")
    with pytest.raises(api.BuildFailed) as info:
        api.run_config(
            named_config("default"),
            sim="icarus",
            seed=1,
            n=10,
            rtl_dir=rtl,
            build_root=tmp_path / "build",
        )
    assert "icarus batch-fast build of default failed" in str(info.value)
