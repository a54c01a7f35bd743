"""make sim alone catches a wrong sticky bit in the fp32 accumulator's rounding: the hidden
mutant of issue 24 (``sticky = |norm[6:0]`` read as ``&norm[6:0]`` in qmac_fp32_normalize.v,
which passed 100 000 outputs on three seeds before the guard / sticky / LSB boundary jobs)
fails ``make sim CONFIG=fp32`` (the batch run, default N) with value mismatches on those jobs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sim_skip import require_simulator

from tb.shared.rtl_folder import RTL_DIR, edit_copy

pytestmark = pytest.mark.rtl

ROOT = Path(__file__).resolve().parents[3]
ORIGINAL = "sticky = |norm[6:0];"


def test_make_sim_kills_the_sticky_and_mutant(tmp_path):
    require_simulator("icarus")
    assert (RTL_DIR / "qmac_fp32_normalize.v").read_text().count(ORIGINAL) == 1
    rtl = edit_copy(
        RTL_DIR,
        tmp_path / "rtl",
        "qmac_fp32_normalize.v",
        lambda t: t.replace(ORIGINAL, "sticky = &norm[6:0];"),
    )
    cmd = [sys.executable, "-m", "tb.cli.sim", "CONFIG=fp32", "SIM=icarus", "SEED=1", f"RTL={rtl}"]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    out = p.stdout + p.stderr
    assert p.returncode == 1, out[-3000:]
    assert "[value]" in out and "boundaries job" in out, out[-3000:]
