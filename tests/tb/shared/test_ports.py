"""PORTS=ports.toml (tb/shared/ports.py): a DUT whose ports and parameters are named otherwise,
with an active-low reset, runs under qmac's testbench through the generated wrapper."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from renamed_rtl import renamed_rtl

from tb.shared.ports import PARAMETERS, PORTS, PortsError, adapt_rtl, load
from tb.shared.rtl_folder import RTL_DIR

ROOT = Path(__file__).resolve().parents[3]


def test_the_interface_table_is_qmacs_own():
    """PORTS and PARAMETERS (the wrapper's template) equal rtl/qmac.v's header."""
    text = re.sub(r"//[^\n]*", "", (RTL_DIR / "qmac.v").read_text())
    head = text[text.index("module qmac") :].split(");", 1)[0]
    params = re.findall(r"parameter integer (\w+)\s*=\s*(\d+)", head)
    assert [(p, int(d)) for p, d in params] == list(PARAMETERS)
    body = head.split(") (", 1)[1]
    ports = re.findall(r"(input|output)\s+wire\s*(\[[^\]]*\])?\s*(\w+)", body)
    assert [(n, d, w) for d, w, n in ports] == list(PORTS)


def test_the_renamed_copy_no_longer_has_qmacs_names(tmp_path):
    rtl, _ = renamed_rtl(tmp_path / "rtl")
    text = (rtl / "my_mac.v").read_text()
    assert "module qmac " not in text and "in_valid_i" not in text and "P_LANES" in text
    assert not (rtl / "qmac.v").exists()


def test_bad_ports_files_name_the_key(tmp_path):
    p = tmp_path / "p.toml"
    p.write_text('top = "x"\n[ports]\nclk = "c"\n')
    with pytest.raises(PortsError, match=r"\[ports\] clk is not one of qmac's ports"):
        load(p)
    p.write_text('top = "x"\n[parameters]\nLANES = 3\n')
    with pytest.raises(PortsError, match=r"\[parameters\] LANES = 3 must be a Verilog name"):
        load(p)
    p.write_text('top = "qmac"\n')
    with pytest.raises(PortsError, match="needs no mapping"):
        load(p)
    rtl, ports = renamed_rtl(tmp_path / "rtl")
    p.write_text('top = "nosuch"\n')
    with pytest.raises(PortsError, match="'nosuch' is not a module of"):
        adapt_rtl(rtl, p, tmp_path / "out")


@pytest.mark.rtl
@pytest.mark.parametrize("sim", ["verilator", "icarus"])
def test_make_sim_runs_the_renamed_rtl_through_the_wrapper(tmp_path, sim):
    from sim_skip import require_simulator

    require_simulator(sim)
    rtl, ports = renamed_rtl(tmp_path / "rtl")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "tb.sim",
            f"RTL={rtl}",
            f"PORTS={ports}",
            f"SIM={sim}",
            "N=3000",
            "SEED=4",
            "CONFIG=tflite",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert " 0 mismatches" in r.stdout and "mid-job resets" in r.stdout
    assert f"PORTS={ports}" not in r.stdout or "reproduce" not in r.stdout
    # without the mapping the same folder has no qmac: refused or failed, never a pass
    bad = subprocess.run(
        [sys.executable, "-m", "tb.sim", f"RTL={rtl}", f"SIM={sim}", "N=100"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert bad.returncode != 0


@pytest.mark.rtl
def test_make_lint_takes_the_mapping(tmp_path):
    from sim_skip import require_simulator

    require_simulator("verilator")
    rtl, ports = renamed_rtl(tmp_path / "rtl")
    r = subprocess.run(
        [sys.executable, "-m", "tb.cli.lint", f"RTL={rtl}", f"PORTS={ports}", "CONFIG=default"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "lint default" in r.stdout, r.stdout + r.stderr
