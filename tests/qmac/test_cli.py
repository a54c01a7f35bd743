"""The ``qmac`` command (qmac/): the same commands, options and statuses as the make targets,
from one table, and ``qmac test`` regressing an RTL folder named otherwise."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from qmac.cli import main
from qmac.commands import COMMANDS, VARIABLES

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "tb" / "shared"))


def _makefile_vars() -> dict[str, set[str]]:
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    return {
        m.group(1): set(m.group(2).split())
        for m in re.finditer(r"^VARS_([\w-]+)\s*:=(.*)$", text, re.M)
    }


def test_the_make_variables_are_the_commands_options():
    make = _makefile_vars()
    assert make.pop("test") == {"RTL", "PORTS"} <= set(COMMANDS["test"].variables)
    assert set(make) == set(VARIABLES)
    for name, variables in VARIABLES.items():
        assert make[name] == set(variables), name
        assert COMMANDS[name].variables == variables


def test_every_make_target_with_options_is_a_command():
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))
    assert set(VARIABLES) <= targets and set(COMMANDS) - {"test"} <= targets


def test_unknown_command_and_option(capsys):
    assert main(["simm"]) == 2
    assert "unknown command 'simm' (did you mean sim?)" in capsys.readouterr().err
    assert main(["lint", "CONFG=default"]) == 2
    assert "did you mean CONFIG?" in capsys.readouterr().err
    assert main(["test", "SIMS=modelsim"]) == 2
    assert "SIMS = 'modelsim'" in capsys.readouterr().err


@pytest.mark.rtl
def test_qmac_sim_is_make_sim(tmp_path):
    from sim_skip import require_simulator

    require_simulator("icarus")
    r = subprocess.run(
        [sys.executable, "-m", "qmac", "sim", "SIM=icarus", "N=300", "SEED=2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "qmac sim: PASS" in r.stdout


@pytest.mark.rtl
def test_qmac_test_regresses_a_renamed_rtl_and_catches_a_fault(tmp_path, capsys):
    from renamed_rtl import renamed_rtl
    from sim_skip import require_simulator

    require_simulator("icarus")
    rtl, ports = renamed_rtl(tmp_path / "rtl")
    args = [f"RTL={rtl}", f"PORTS={ports}", "SIMS=icarus", "N=600", "CONFIGS=default,tflite"]
    assert main(["test", *args]) == 0
    out = capsys.readouterr().out
    assert "qmac test: PASS: 4 passed, 0 failed" in out
    # the same RTL with half_up's rounding constant one off fails, with its reproduce line
    src = rtl / "qmac_round_shift.v"
    text = src.read_text()
    assert "RND_HALF_UP:   inc = ge_half;" in text
    src.write_text(
        text.replace("RND_HALF_UP:   inc = ge_half;", "RND_HALF_UP:   inc = ge_half & below_nz;")
    )
    assert main(["test", *args]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "reproduce: make sim" in out
