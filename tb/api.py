"""The testbench as a library, for the packages built on it (``sweep``, ``mutate``, ``soak``,
``hil``).

One way in: :func:`run_config` runs a config on an RTL folder (simulator, seed, N, transport)
exactly as ``make sim`` does, and returns one :class:`RunOutcome`; :func:`repro` is the
``make sim ...`` that repeats it. A build that fails raises :class:`BuildFailed` (raised by the
build code itself), a simulation that dies without a report :class:`SimulationFailed`, a
missing simulator :class:`SimulatorMissing`. Also here: the simulators (installed, versions,
the cheaper one for a run), Yosys, the RTL folder helpers (its files, edited copies) and the
fault table (faults planted in a copy of the RTL).

It sits on top of ``tb``'s layers (docs/testbench.md): nothing in ``tb`` imports it.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

from pyref.config import NAMED_CONFIGS, QmacConfig
from tb.cli.sim import repro_command
from tb.rtl_coverage.points import read_dat as read_code_coverage
from tb.rtl_coverage.report import write_reports as write_code_coverage
from tb.run import fpga as _fpga
from tb.run.build import BUILD_ROOT, BuildFailed, config_name
from tb.run.cost import cheapest_simulator
from tb.run.fpga import FpgaResult
from tb.run.fpga import implement as implement_fpga
from tb.run.runner import COVERAGE_FILE, SimulationFailed, run_sim
from tb.run.toolchain import (
    SIMULATORS,
    SimulatorMissing,
    check_simulator,
    simulator_missing,
    simulator_version,
)
from tb.run.yosys import YosysUnavailable, yosys_command, yosys_version
from tb.shared.defaults import RUN_DEFAULTS
from tb.shared.faults import FAULTS, apply_fault, fault_by_name
from tb.shared.job import SimJob
from tb.shared.ports import WRAPPER as PORTS_WRAPPER
from tb.shared.rtl_folder import (
    DATA_DIR,
    REPO_ROOT,
    RTL_DIR,
    SOURCE_CHECKOUT,
    WORK_ROOT,
    copy_rtl,
    edit_copy,
    rtl_files,
)
from tb.shared.scoreboard import format_mismatch
from tb.stream.job_session import JobSession
from tb.stream.session import RtlRunError, RtlSession

__all__ = [
    "BUILD_ROOT",
    "FAULTS",
    "apply_fault",
    "fault_by_name",
    "JobSession",
    "RtlRunError",
    "RtlSession",
    "check_simulator",
    "format_mismatch",
    "RTL_DIR",
    "DATA_DIR",
    "REPO_ROOT",
    "SOURCE_CHECKOUT",
    "WORK_ROOT",
    "SIMULATORS",
    "BuildFailed",
    "RunOutcome",
    "SimulationFailed",
    "SimulatorMissing",
    "YosysUnavailable",
    "cheapest_simulator",
    "config_job",
    "config_name",
    "first_failure",
    "copy_rtl",
    "edit_copy",
    "installed_simulators",
    "read_code_coverage",
    "repro",
    "write_code_coverage",
    "FpgaResult",
    "implement_fpga",
    "fpga_flow_digest",
    "rtl_files",
    "run_config",
    "user_rtl",
    "PORTS_WRAPPER",
    "simulator_missing",
    "simulator_version",
    "testbench_files",
    "yosys_command",
    "yosys_version",
]

TB_DIR = Path(__file__).resolve().parent
TB_SUFFIXES = {".py", ".sv", ".v", ".c", ".cpp", ".h"}


@dataclasses.dataclass
class RunOutcome:
    """What one run of one config found."""

    passed: bool
    """Every output right (and, when coverage was required, every reachable bin hit)."""
    summary: str
    """One line: outputs checked, mismatches, coverage (and the run's error, if any)."""
    details: list[str]
    """The first mismatches, the coverage holes (when required), the run's error, as text."""
    first_failure: str = ""
    """The scoreboard's first mismatch message (or the run's error); "" when it passed."""
    outputs_checked: int = 0
    mismatches: int = 0
    mismatch_counts: dict = dataclasses.field(default_factory=dict)
    coverage: dict = dataclasses.field(default_factory=dict)
    """``{"summary": text, "holes": [...], "hits": {bin: n}, "required": [...]}`` ({} when the
    run bins nothing)."""
    beats: int = 0
    sim_seconds: float = 0.0
    build_seconds: float = 0.0
    compiled: bool = False
    wall_seconds: float = 0.0
    log_file: str = ""
    latency: int = 0
    """Rising edges from the one that takes a job's last beat to the one that makes its output
    valid, both counted, as the batch transport's checker measured it (the same for every job,
    or the run fails); 0 when not measured (the per-cycle transport)."""


def user_rtl(rtl: str | Path | None, ports: str | Path | None = None) -> Path:
    """The RTL folder of a target's ``RTL=`` (default qmac's rtl/) and ``PORTS=`` (a ports.toml:
    the generated wrapper around it, :mod:`tb.shared.ports`); a ``UsageError`` naming RTL or
    PORTS when either cannot be used."""
    from tb.cli.errors import UsageError
    from tb.shared.ports import PortsError, resolve_rtl

    try:
        return resolve_rtl(rtl, ports, BUILD_ROOT.parent, RTL_DIR)
    except PortsError as exc:
        raise UsageError(str(exc)) from None


def installed_simulators() -> tuple[str, ...]:
    """The simulators that can run here, in the order of :data:`SIMULATORS`."""
    return tuple(sim for sim in SIMULATORS if simulator_missing(sim) is None)


def testbench_files() -> list[Path]:
    """Every source file of the testbench (Python, harness HDL and C), sorted."""
    return sorted(
        p
        for p in TB_DIR.rglob("*")
        if p.is_file() and p.suffix in TB_SUFFIXES and "__pycache__" not in p.parts
    )


def _job(config: QmacConfig, sim: str, n: int, seed: int, name: str, **run) -> SimJob:
    # Transport, handshake patterns and resets not given: make sim's (RUN_DEFAULTS).
    given = {k: v for k, v in run.items() if v is not None}
    return SimJob(config=config.to_dict(), config_name=name, sim=sim, seed=seed, n=n, **given)


def config_job(
    config: QmacConfig,
    *,
    sim: str,
    seed: int,
    n: int,
    name: str | None = None,
    mode: str | None = None,
    max_mismatches: int | None = None,
) -> SimJob:
    """The job :func:`run_config` plays (make sim's transport, patterns and resets unless
    given), e.g. to play it in a :class:`JobSession` instead of a simulator of its own."""
    return _job(
        config, sim, n, seed, name or config_name(config), mode=mode, max_mismatches=max_mismatches
    )


def first_failure(report) -> str:
    """A failed report's first mismatch message (or its error); "" when it passed. The
    ``first_failure`` of :func:`run_config`'s outcome."""
    if report.passed:
        return ""
    return report.details[0]["message"] if report.details else (report.error or "failed")


def _overrides(config: QmacConfig) -> dict:
    base = NAMED_CONFIGS[RUN_DEFAULTS["config"]]
    return {
        f.name: getattr(config, f.name)
        for f in dataclasses.fields(QmacConfig)
        if getattr(config, f.name) != getattr(base, f.name)
    }


def repro(
    config: QmacConfig,
    sim: str,
    n: int,
    seed: int,
    rtl_dir: Path | None = None,
    mode: str | None = None,
) -> str:
    """The exact ``make sim ...`` command that repeats :func:`run_config` with these values."""
    job = _job(config, sim, n, seed, "repro", mode=mode)
    rtl = None
    if rtl_dir is not None and Path(rtl_dir).resolve() != RTL_DIR.resolve():
        rtl = str(rtl_dir)
    return repro_command(job, RUN_DEFAULTS["config"], _overrides(config), rtl)


def run_config(
    config: QmacConfig,
    *,
    sim: str,
    seed: int,
    n: int,
    rtl_dir: Path = RTL_DIR,
    build_root: Path = BUILD_ROOT,
    test_dir: Path | None = None,
    name: str | None = None,
    mode: str | None = None,
    max_mismatches: int | None = None,
    require_coverage: bool = False,
    code_coverage: Path | None = None,
    plusargs: tuple[str, ...] = (),
) -> RunOutcome:
    """Build (or reuse ``make sim``'s build of) ``config`` on ``sim`` from the Verilog of
    ``rtl_dir`` and check ``n`` random outputs (seed ``seed``), with make sim's transport,
    handshake patterns and resets unless given. ``require_coverage``: a reachable coverage bin
    left empty fails the run.

    ``plusargs``: extra simulator plusargs (the selector of a mutant schema, :mod:`mutate`).

    ``code_coverage``: run on the Verilator coverage build (:mod:`tb.rtl_coverage`) and copy
    the run's RTL code coverage points (Verilator's ``coverage.dat``) to that file.

    Raises :class:`BuildFailed`, :class:`SimulationFailed` or :class:`SimulatorMissing`.
    """
    os.environ.pop("COVERAGE", None)  # cocotb reads it as a request for Python coverage
    if code_coverage is not None:
        if sim != "verilator":
            raise ValueError(f"RTL code coverage needs Verilator, not {sim}")
        mode = "batch-coverage"
    job = config_job(
        config, sim=sim, seed=seed, n=n, name=name, mode=mode, max_mismatches=max_mismatches
    )
    result = run_sim(
        job,
        rtl_dir=Path(rtl_dir),
        build_root=Path(build_root),
        test_dir=None if test_dir is None else Path(test_dir),
        plusargs=tuple(plusargs),
    )
    if code_coverage is not None:
        dat = result.test_dir / COVERAGE_FILE
        if not dat.is_file():
            raise SimulationFailed(
                f"the coverage run wrote no {COVERAGE_FILE} in {result.test_dir}"
            )
        Path(code_coverage).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(dat, code_coverage)
    rep = result.report
    cov = rep.coverage_report()
    holes = list(cov.holes) if cov is not None else []
    details = [f"error: {rep.error}"] if rep.error else []
    details += [f"[{m.get('kind')}] {m.get('message')}" for m in rep.details[:5]]
    passed = bool(rep.passed) and not (require_coverage and holes)
    if require_coverage and rep.passed and holes:
        details.append(f"coverage holes (reachable bins never hit): {', '.join(holes)}")
    cov_text = (
        "n/a" if cov is None else (cov.summary() if rep.passed else cov.summary().split(";")[0])
    )
    summary = (
        (
            f"stopped ({rep.stopped}): {rep.outputs_checked} of {n} outputs checked"
            if rep.stopped
            else f"{rep.outputs_checked} outputs checked"
        )
        + f", {rep.mismatches} mismatches"
        + (f" {rep.mismatch_counts}" if rep.mismatch_counts else "")
        + f"; coverage {cov_text}"
    )
    if rep.error:
        summary = f"error: {rep.error}; " + summary
    first = first_failure(rep)
    coverage = (
        {}
        if cov is None
        else {
            "summary": cov.summary(),
            "holes": holes,
            "hits": dict(cov.hits),
            "required": list(cov.required),
        }
    )
    return RunOutcome(
        passed,
        summary,
        details,
        first,
        rep.outputs_checked,
        rep.mismatches,
        dict(rep.mismatch_counts),
        coverage,
        rep.beats,
        rep.sim_seconds or 0.0,
        result.build_seconds,
        result.compiled,
        result.wall_seconds,
        str(result.log_file),
        result.latency,
    )


def fpga_flow_digest() -> str:
    """A hash of the FPGA flow (its code and tool versions): a cached result of another flow is
    not reused."""
    import hashlib

    text = Path(_fpga.__file__).read_text() + _fpga.PACKAGE + str(_fpga.TARGET_MHZ)
    try:
        text += yosys_version() + _fpga._nextpnr_version()
    except (YosysUnavailable, RuntimeError):
        pass
    return hashlib.sha256(text.encode()).hexdigest()
