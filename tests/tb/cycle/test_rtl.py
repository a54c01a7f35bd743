"""The RTL regression: every named config on every simulator, checked output by output against
pyref, every reachable coverage bin hit; and Verilator's lint on every named config.

Each case prints its seed and the ``make sim`` command that reproduces it. The seeds are fixed
per case (set ``QMAC_SEED`` to run other ones); a simulator that is not installed is skipped
with a reason that says how to get it.
"""

from __future__ import annotations

import os
import zlib

import numpy as np
import pytest
from sim_skip import require_simulator

from pyref.config import NAMED_CONFIGS
from tb.cli.lint import lint
from tb.cli.report import format_summary
from tb.cli.sim import repro_command
from tb.run.runner import run_sim
from tb.run.toolchain import SIMULATORS
from tb.shared.job import SimJob

pytestmark = pytest.mark.rtl

REGRESSION_N = 700
"""Outputs per case: enough for every reachable coverage bin (the directed generators give each
at least 12 jobs), small enough that a case runs in seconds once built."""


def case_seed(sim: str, name: str) -> int:
    base = int(os.environ.get("QMAC_SEED", "2024"))
    return (zlib.crc32(f"{sim}/{name}".encode()) ^ base) & 0x7FFFFFFF


@pytest.mark.parametrize("name", list(NAMED_CONFIGS))
@pytest.mark.parametrize("sim", SIMULATORS)
def test_rtl_matches_pyref(sim, name, tmp_path):
    require_simulator(sim)
    cfg = NAMED_CONFIGS[name]
    job = SimJob(
        config=cfg.to_dict(),
        config_name=name,
        sim=sim,
        seed=case_seed(sim, name),
        n=REGRESSION_N,
        idle="mixed",
        ready="mixed",
        resets=2,
    )
    job.repro = repro_command(job, name, {})
    print(f"{sim}/{name}: seed {job.seed}; reproduce with: {job.repro}")
    result = run_sim(job, test_dir=tmp_path)
    summary = format_summary(result, job, show_bins=True)
    print(summary)
    rep = result.report
    assert rep.passed, summary
    assert rep.outputs_checked >= REGRESSION_N - 20, summary  # only a reset's few drop out
    holes = rep.coverage_report().holes
    assert not holes, f"coverage bins reachable for {name} but empty: {holes}\n{summary}"


@pytest.mark.parametrize("name", list(NAMED_CONFIGS))
def test_lint_clean(name):
    require_simulator("verilator")
    clean, text = lint(NAMED_CONFIGS[name])
    assert clean, f"verilator --lint-only -Wall with the {name} parameters:\n{text}"


def test_vector_file_replay(tmp_path):
    """VECTORS=: a layer saved with pyref's outputs replays clean; one wrong expected value in
    the file is reported on the job that computes it."""
    require_simulator("icarus")
    from pyref.layer import Layer
    from pyref.vectors import save_vectors

    cfg = NAMED_CONFIGS["tflite"]
    rng = np.random.default_rng(5)
    n, c, k = 6, 5, 37
    layer = Layer.build(
        cfg,
        rng.integers(-128, 128, (n, k)),
        rng.integers(-127, 128, (c, k)),
        bias=rng.integers(-5000, 5000, c),
        mult=rng.integers(1 << 30, 1 << 31, c),
        shift=rng.integers(-10, 0, c),
        out_zp=-3,
        act_min=-128,
        act_max=127,
    )
    good = save_vectors(tmp_path / "good.npz", cfg, layer, compute_expected=True)
    job = SimJob(
        config=cfg.to_dict(),
        config_name="vectors",
        sim="icarus",
        seed=1,
        n=n * c,
        mode="cycle",
        vectors=str(good),
    )
    rep = run_sim(job, test_dir=tmp_path / "good").report
    assert rep.passed and rep.outputs_checked == n * c and not rep.notes

    data = dict(np.load(good))
    y = data["y"].copy()
    y[2, 3] = y[2, 3] + 1 if y[2, 3] < 127 else y[2, 3] - 1
    data["y"] = y
    bad = tmp_path / "bad.npz"
    np.savez(bad, **data)
    rep = run_sim(SimJob(**{**job.__dict__, "vectors": str(bad)}), test_dir=tmp_path / "bad").report
    assert not rep.passed and rep.mismatch_counts == {"value": 1}
    assert rep.details[0]["job"] == 2 * c + 3
    assert "disagrees with pyref on 1 output" in rep.notes[0]
