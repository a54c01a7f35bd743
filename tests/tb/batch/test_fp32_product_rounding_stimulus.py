"""make sim catches a wrong sticky bit in the fp32 product's rounding to 24 bits (``|`` read as
``&`` in qmac_fp32_round.v, so the sticky is 0): ``make sim CONFIG=fp32`` (the batch run, default
N) fails, with one value mismatch for each job of the ``fp32_prod_g1s1l0`` bin (guard 1, sticky 1,
LSB 0: the mutant sees a tie and keeps the even LSB, rounding down where the product rounds up,
and the bin counts only jobs where that changes the output; every other combination rounds the
same with sticky 0). The unmutated run hits every bin of tb/shared/fp32_product_rounding.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sim_skip import require_simulator

from tb.shared import fp32_product_rounding as fpr
from tb.shared.rtl_folder import RTL_DIR, edit_copy

pytestmark = pytest.mark.rtl

ROOT = Path(__file__).resolve().parents[3]
ORIGINAL = "wire        sticky = top ? (|prod_i[22:0]) : (|prod_i[21:0]);"
MUTANT = "wire        sticky = top ? (&prod_i[22:0]) : (&prod_i[21:0]);"


def _counts(out: str) -> tuple[int, dict[str, int]]:
    """The mismatches and the product-rounding bins' hits of a COVERAGE=1 run's summary."""
    hits, mismatches = {}, None
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in fpr.BINS:
            hits[parts[0]] = int(parts[1])
        if parts[:1] == ["outputs"]:
            mismatches = int(parts[parts.index("mismatches") - 1]) if "mismatches" in parts else 0
    assert mismatches is not None and set(hits) == set(fpr.BINS), out[-3000:]
    return mismatches, hits


def _sim(*opts: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "tb.cli.sim", "CONFIG=fp32", "SIM=icarus", "SEED=1", *opts]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800)


def _failing_run_of(tmp_path, original: str, mutant: str) -> str:
    """make sim CONFIG=fp32 on a copy of rtl/ with ``original`` (found once in qmac_fp32_round.v)
    replaced by ``mutant``; its output, after checking that it failed on a value mismatch."""
    require_simulator("icarus")
    assert (RTL_DIR / "qmac_fp32_round.v").read_text().count(original) == 1
    rtl = edit_copy(
        RTL_DIR, tmp_path / "rtl", "qmac_fp32_round.v", lambda t: t.replace(original, mutant)
    )
    p = _sim(f"RTL={rtl}", "MAX_MISMATCHES=100000", "COVERAGE=1")
    out = p.stdout + p.stderr
    assert p.returncode == 1 and "[value]" in out, out[-3000:]
    return out


def test_make_sim_kills_the_product_sticky_and_mutant(tmp_path):
    out = _failing_run_of(tmp_path, ORIGINAL, MUTANT)
    mismatches, hits = _counts(out)
    assert mismatches > 0 and mismatches == hits[fpr.bin_name(1, 1, 0)], out[-3000:]


def test_the_default_fp32_run_hits_every_product_rounding_bin():
    require_simulator("verilator")
    cmd = [sys.executable, "-m", "tb.cli.sim", "CONFIG=fp32", "SEED=1", "COVERAGE=1"]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-3000:]
    _, hits = _counts(out)
    assert all(v > 0 for v in hits.values()), hits


CARRY_ORIGINAL = "wire [26:0] mag   = {1'b0, r_mag_q};"
CARRY_MUTANT = "wire [26:0] mag   = {3'b0, r_mag_q[23:0]};"


def test_make_sim_catches_a_magnitude_cut_to_24_bits(tmp_path):
    """qmac_fp32_round with r_mag cut to its low 24 bits differs only where r_mag = 2^24: a
    product that rounds up to 2^24 at f >= 0 (the fp32_prod_carry_sat boundary jobs; r_mag[25] is
    never set, proven). It gives r = 0 there instead of the clamp, and make sim fails on it."""
    out = _failing_run_of(tmp_path, CARRY_ORIGINAL, CARRY_MUTANT)
    hits = [line.split() for line in out.splitlines() if line.split()[:1] == [fpr.CARRY_SAT_BIN]]
    assert len(hits) == 1 and int(hits[0][1]) > 0, out[-3000:]
