"""A repository that holds only a renamed-port copy of rtl/ and its ports.toml: ``pip install``
of qmac into a fresh venv there (no -e: qmac's own rtl/ and sweeps/ come as data files), then
``qmac test``, ``qmac sweep``, ``qmac mutate`` and ``qmac ci-init`` on that RTL, writing build/
in that repository. Slow (a venv and pip install from pip's cache, about 2 minutes before the
runs): ``pytest -m slow tests/qmac/test_scratch_repo.py``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "tb" / "shared"))
GIT = "qmac @ git+https://example.org/qmac.git@0123abc"


@pytest.mark.slow
@pytest.mark.rtl
def test_a_scratch_repository_runs_qmac_on_its_own_rtl(tmp_path):
    from renamed_rtl import renamed_rtl
    from sim_skip import require_simulator

    require_simulator("icarus")
    repo = tmp_path / "repo"
    renamed_rtl(repo / "rtl")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", f"{ROOT}[synth]"],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert pip.returncode == 0, pip.stdout + pip.stderr
    qmac = str(venv / "bin" / "qmac")

    def run(*words: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [qmac, *words], cwd=repo, capture_output=True, text=True, timeout=3600
        )

    r = run("test", "RTL=rtl", "PORTS=ports.toml", "SIMS=icarus", "CONFIGS=default,tflite", "N=600")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "qmac test: PASS: 4 passed, 0 failed" in r.stdout
    r = run("sweep", "SWEEP=tiny", "RTL=rtl", "PORTS=ports.toml", "PLOTS=0")
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"qmac sweep tiny: PASS: 4 passed, 0 failed", r.stdout), r.stdout
    assert (repo / "build" / "sweep" / "tiny" / "report.md").is_file()
    r = run(
        *("mutate", "RTL=rtl", "PORTS=ports.toml", "FILES=qmac_sat.v", "LIMIT=2", "SIM=icarus"),
        *("N=300", "JOBS=1", "MODULE_TESTS=0", "PARAM_PROBE=0"),
    )
    assert r.returncode in (0, 1), r.stdout + r.stderr
    assert "killed" in r.stdout and (repo / "build" / "mutate" / "report.json").is_file()
    # installed from a folder, qmac cannot tell the runners where to get it: QMAC= says
    r = run("ci-init", "RTL=rtl", "PORTS=ports.toml", "SWEEP=tiny", "SIMS=icarus")
    assert r.returncode == 2 and "which a CI runner cannot reach; give QMAC=" in r.stderr
    r = run("ci-init", "RTL=rtl", "PORTS=ports.toml", "SWEEP=tiny", "SIMS=icarus", f"QMAC={GIT}")
    assert r.returncode == 0, r.stdout + r.stderr
    text = (repo / ".github" / "workflows" / "qmac.yml").read_text()
    assert "qmac test RTL=rtl PORTS=ports.toml SIMS=icarus" in text
    assert not list((venv / "lib").glob("python*/site-packages/build"))  # build/ is the repo's
