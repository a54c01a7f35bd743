"""The one place the sweep calls into the testbench (``tb/``): build + run a point through the
batch transport, the repro command, the simulator versions and the testbench's source files.

Everything else in ``sweep/`` talks to this module only, so when ``tb/`` is reorganized this is
the file to re-point. The functions used are the ones ``make sim`` uses (``python -m tb.sim``):
:class:`tb.shared.job.SimJob` (with the run defaults of :mod:`tb.shared.defaults`),
:func:`tb.run.runner.run_sim`, :func:`tb.cli.sim.repro_command`,
:func:`tb.run.toolchain.simulator_version` / :func:`tb.run.toolchain.simulator_missing` and
:func:`tb.run.build.copy_rtl` / :data:`tb.run.build.RTL_DIR`, and
:func:`tb.run.cost.cheapest_simulator` for ``sim = "auto"``.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from pyref.config import NAMED_CONFIGS, QmacConfig

import tb
from tb.cli.sim import repro_command
from tb.run.build import BUILD_ROOT, RTL_DIR, copy_rtl, rtl_headers, rtl_sources
from tb.run.cost import cheapest_simulator
from tb.run.runner import run_sim
from tb.run.toolchain import SIMULATORS, SimulatorMissing, simulator_missing, simulator_version
from tb.shared.job import SimJob

__all__ = ["BUILD_ROOT", "RTL_DIR", "SIMULATORS", "SimOutcome", "cheapest_simulator",
           "copy_rtl", "installed_simulators", "rtl_files", "run_point_sim", "simulator_missing",
           "simulator_version", "testbench_files", "repro"]

TB_DIR = Path(tb.__file__).resolve().parent
TB_SUFFIXES = {".py", ".sv", ".v", ".c", ".cpp", ".h"}


@dataclasses.dataclass
class SimOutcome:
    """What the simulation of one point found."""

    passed: bool
    summary: str
    """One line: outputs checked, mismatches, coverage; or why it failed."""
    details: list[str]
    """The first mismatches / coverage holes / the error, as text."""
    outputs_checked: int = 0
    beats: int = 0
    sim_seconds: float = 0.0
    build_seconds: float = 0.0
    compiled: bool = False
    wall_seconds: float = 0.0
    log_file: str = ""


def installed_simulators() -> tuple[str, ...]:
    """The simulators that can run here, in the order of :data:`SIMULATORS`."""
    return tuple(sim for sim in SIMULATORS if simulator_missing(sim) is None)


def rtl_files(rtl_dir: Path = RTL_DIR) -> list[Path]:
    """The datapath's Verilog sources and include files (``*.v``, ``*.vh``), sorted."""
    return rtl_sources(rtl_dir) + rtl_headers(rtl_dir)


def testbench_files() -> list[Path]:
    """Every source file of the testbench (Python, harness HDL and C), sorted: part of a point's
    digest, so any change in ``tb/`` reruns the sweep."""
    return sorted(p for p in TB_DIR.rglob("*")
                  if p.is_file() and p.suffix in TB_SUFFIXES and "__pycache__" not in p.parts)


def _overrides(config: QmacConfig) -> dict:
    base = NAMED_CONFIGS["default"]
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(QmacConfig)
            if getattr(config, f.name) != getattr(base, f.name)}


def _job(config: QmacConfig, sim: str, n: int, seed: int, name: str) -> SimJob:
    # Transport, handshake patterns and resets: make sim's (tb.shared.defaults.RUN_DEFAULTS).
    return SimJob(config=config.to_dict(), config_name=name, sim=sim, seed=seed, n=n)


def repro(config: QmacConfig, sim: str, n: int, seed: int, rtl_dir: Path | None = None) -> str:
    """The exact ``make sim ...`` command that repeats the simulation of a point."""
    job = _job(config, sim, n, seed, "sweep")
    rtl = None
    if rtl_dir is not None and Path(rtl_dir).resolve() != RTL_DIR.resolve():
        rtl = str(rtl_dir)
    return repro_command(job, "default", _overrides(config), rtl)


def run_point_sim(config: QmacConfig, sim: str, n: int, seed: int, *,
                  rtl_dir: Path | None = None, build_root: Path | None = None) -> SimOutcome:
    """Build (or reuse ``make sim``'s build of) ``config`` on ``sim`` and run ``n`` outputs through
    the batch transport; it passes when every output is right and every coverage bin the config
    can reach was hit."""
    os.environ.pop("COVERAGE", None)  # cocotb reads it as a request for Python coverage
    job = _job(config, sim, n, seed, "sweep")
    kwargs = {}
    if rtl_dir is not None:
        kwargs["rtl_dir"] = Path(rtl_dir)
    if build_root is not None:
        kwargs["build_root"] = Path(build_root)
    try:
        result = run_sim(job, **kwargs)
    except (SimulatorMissing, RuntimeError, ValueError, OSError) as exc:
        text = str(exc)
        first = text.splitlines()[0] if text else type(exc).__name__
        return SimOutcome(False, f"error: {first}", text.splitlines()[:40])
    rep = result.report
    cov = rep.coverage_report()
    holes = list(cov.holes) if cov is not None else []
    details: list[str] = []
    if rep.error:
        details.append(f"error: {rep.error}")
    for m in rep.details[:5]:
        details.append(f"[{m.get('kind')}] {m.get('message')}")
    passed = bool(rep.passed) and not holes
    if rep.passed and holes:
        details.append(f"coverage holes (reachable bins never hit): {', '.join(holes)}")
    cov_text = "n/a" if cov is None else cov.summary()
    summary = (f"{rep.outputs_checked} outputs checked, {rep.mismatches} mismatches"
               + (f" {rep.mismatch_counts}" if rep.mismatch_counts else "")
               + f"; coverage {cov_text}")
    if rep.error:
        summary = f"error: {rep.error}; " + summary
    return SimOutcome(passed, summary, details, outputs_checked=rep.outputs_checked,
                      beats=rep.beats, sim_seconds=rep.sim_seconds or 0.0,
                      build_seconds=result.build_seconds, compiled=result.compiled,
                      wall_seconds=result.wall_seconds, log_file=str(result.log_file))
