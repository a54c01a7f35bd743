"""The ``qmac`` command (qmac/): the same commands, options and statuses as the make targets,
from one table, and ``qmac test`` regressing an RTL folder named otherwise."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from qmac.cli import main
from qmac.commands import COMMANDS, VARIABLES, make_variables

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "tb" / "shared"))


def _make_takes(target: str) -> set[str]:
    """What ``make <target>`` says it takes, refusing an unknown variable (a dry run)."""
    r = subprocess.run(
        ["make", "-n", "--no-print-directory", target, "NO_SUCH_VARIABLE=1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2, r.stdout + r.stderr
    m = re.search(rf"make {re.escape(target)} takes: ([A-Z_ ]*)\.  Stop\.", r.stderr)
    assert m, r.stderr
    return set(m.group(1).split())


def test_make_takes_the_variables_of_the_qmac_command():
    for name, c in COMMANDS.items():
        expected = set(c.variables if name != "test" else ("RTL", "PORTS")) | {"PYTHON"}
        assert _make_takes(name) == expected, name
    assert _make_takes("clean") == {"PYTHON"}
    assert set(COMMANDS["test"].variables) > {"RTL", "PORTS"}  # qmac test takes N, SIMS, ...
    for name, variables in VARIABLES.items():
        assert COMMANDS[name].variables == variables


def test_the_errors_page_lists_each_targets_variables():
    text = (ROOT / "docs" / "errors.md").read_text()
    for name in set(COMMANDS) - {"sim", "bench"}:
        row = re.search(rf"^\| `{re.escape(name)}` \| `([A-Z_ ]+)`", text, re.M)
        assert row and set(row.group(1).split()) == set(make_variables(name)), name


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
