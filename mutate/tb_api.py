"""The one place ``mutate`` and ``soak`` call the testbench (``tb``): run one config on one
RTL folder through the batch transport and say what happened.

Everything else in these packages goes through :func:`run_config`, so when ``tb`` moves, only
this module follows it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pyref.config import QmacConfig
from tb.run.build import config_name
from tb.shared.job import SimJob
from tb.run.runner import run_sim
from tb.run.toolchain import simulator_missing

__all__ = ["RunOutcome", "BuildFailed", "run_config", "simulator_missing", "config_name"]


class BuildFailed(RuntimeError):
    """The simulator could not build the RTL (a mutant that does not compile)."""


@dataclasses.dataclass
class RunOutcome:
    """What one run of one config found."""

    passed: bool
    outputs_checked: int
    mismatches: int
    mismatch_counts: dict
    first_failure: str
    """The scoreboard's first mismatch message (or the run's error), "" when it passed."""
    coverage: dict
    """``{"summary": text, "holes": [...], "hits": {bin: n}, "required": [...]}`` of the
    functional coverage ({} when the run bins nothing)."""
    sim_seconds: float
    wall_seconds: float


def run_config(rtl_dir: Path, config: QmacConfig, *, sim: str, seed: int, n: int,
               build_root: Path, test_dir: Path, name: str | None = None,
               max_mismatches: int = 1, mode: str = "batch") -> RunOutcome:
    """Run ``config`` on the Verilog of ``rtl_dir`` with ``n`` random outputs (seed ``seed``).

    Raises :class:`BuildFailed` when the build fails, ``RuntimeError`` when the simulation dies
    without a report and :class:`tb.run.toolchain.SimulatorMissing` without the simulator.
    """
    job = SimJob(config=config.to_dict(), config_name=name or config_name(config), sim=sim,
                 seed=seed, n=n, mode=mode, idle="bursts", ready="mixed", resets=3,
                 max_mismatches=max_mismatches)
    try:
        result = run_sim(job, rtl_dir=Path(rtl_dir), build_root=Path(build_root),
                         test_dir=Path(test_dir))
    except RuntimeError as exc:
        if " build of " in str(exc) and " failed" in str(exc):
            raise BuildFailed(str(exc)) from None
        raise
    rep = result.report
    first = ""
    if not rep.passed:
        first = rep.details[0]["message"] if rep.details else (rep.error or "failed")
    cov = rep.coverage_report()
    coverage = {}
    if cov is not None:
        coverage = {"summary": cov.summary(), "holes": list(cov.holes),
                    "hits": dict(cov.hits), "required": list(cov.required)}
    return RunOutcome(rep.passed, rep.outputs_checked, rep.mismatches,
                      dict(rep.mismatch_counts), first, coverage, rep.sim_seconds,
                      result.wall_seconds)
