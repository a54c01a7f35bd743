"""Running a :class:`~tb.shared.job.SimJob`: build (or reuse) the simulator model, start the
cocotb test through ``cocotb_tools.runner``, read back the :class:`~tb.shared.job.SimReport`.

Transports (:data:`TRANSPORTS`): ``cycle`` drives the ``qmac`` ports from Python every clock
cycle (:mod:`tb.cycle.cocotb_test`); ``batch`` plays whole batches through the wrapper
``tb/batch/hdl/qmac_batch_tb.sv`` (:mod:`tb.batch.cocotb_test`). Each names its cocotb test
module, its toplevel and extra HDL sources, and reads the same job / writes the same report.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Iterator

from tb.shared.job import ENV_VAR, SimJob, SimReport

from . import batch_harness, run_dirs
from .build import (
    BUILD_ROOT,
    CYCLE,
    RTL_DIR,
    Build,
    BuildSpec,
    Harness,
    build,
    build_profile,
    log_tail,
)

COVERAGE_FILE = "coverage.dat"
"""What a run of the ``batch-coverage`` transport leaves in its folder: Verilator's points."""


class SimulationFailed(RuntimeError):
    """The simulation ended without a report (it crashed or exited early); the message has the
    log's path and tail."""


@dataclasses.dataclass(frozen=True)
class Transport:
    """How a mode gets beats into the design: its cocotb test module and its build."""

    name: str
    test_module: str
    harness: Harness


TRANSPORTS: dict[str, Transport] = {
    "cycle": Transport("cycle", "tb.cycle.cocotb_test", CYCLE),
    "batch": Transport("batch", "tb.batch.cocotb_test", batch_harness.HARNESSES["fast"]),
    # The batch testbench on cocotb's own Verilator main loop with a --timing clock (make bench).
    "batch-timing": Transport(
        "batch-timing", "tb.batch.cocotb_test", batch_harness.HARNESSES["timing"]
    ),
    # The batch testbench built with Verilator's line, toggle and expression coverage
    # (make coverage): each run writes its points to coverage.dat in its own folder.
    "batch-coverage": Transport(
        "batch-coverage", "tb.batch.cocotb_test", batch_harness.HARNESSES["coverage"]
    ),
}
"""The transports by ``mode``."""


def get_transport(mode: str) -> Transport:
    """The transport for ``mode``."""
    try:
        return TRANSPORTS[mode]
    except KeyError:
        raise ValueError(f"no transport {mode!r}; available: {', '.join(TRANSPORTS)}") from None


@dataclasses.dataclass
class RunResult:
    """A report plus where things are and how long they took."""

    report: SimReport
    build_dir: Path
    test_dir: Path
    compiled: bool
    build_seconds: float
    wall_seconds: float
    log_file: Path
    waves_file: Path | None
    latency: int = 0
    """The batch checker's measured latency (``batch-result.json``; 0 when not measured)."""


@contextlib.contextmanager
def _env(**values: str) -> Iterator[None]:
    # The runner copies os.environ over its extra_env, so our variables go into os.environ.
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def _not_under_pytest() -> Iterator[None]:
    # Under pytest the runner turns a failing cocotb test into sys.exit(1); we want the report.
    saved = os.environ.pop("PYTEST_CURRENT_TEST", None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ["PYTEST_CURRENT_TEST"] = saved


def run_sim(
    job: SimJob,
    *,
    rtl_dir: Path = RTL_DIR,
    test_dir: Path | None = None,
    build_root: Path = BUILD_ROOT,
    plusargs: tuple[str, ...] = (),
) -> RunResult:
    """Build (or reuse) the model for ``job`` and run it; the report says whether it passed.

    ``plusargs`` go to the simulator as they are (a mutant schema's selector, mutate.schema).

    The run works in ``test_dir``, by default a new folder of its own under the build's
    ``runs/`` (:func:`tb.run.run_dirs.run_dir`: parallel runs of one build do not collide).

    Raises :class:`tb.run.toolchain.SimulatorMissing` when the simulator is not installed,
    :class:`tb.run.build.BuildFailed` when the build fails and :class:`SimulationFailed` when
    the simulation dies without a report.
    """
    t_wall = time.perf_counter()
    transport = get_transport(job.mode)
    spec = BuildSpec(
        sim=job.sim,
        config=job.qmac_config(),
        harness=transport.harness,
        rtl_dir=Path(rtl_dir),
        waves=job.waves,
        build_root=Path(build_root),
        profile=build_profile(job.n),
    )
    b = build(spec)
    with contextlib.ExitStack() as stack:
        stack_owns_dir = test_dir is None
        if stack_owns_dir:
            test_dir = stack.enter_context(run_dirs.run_dir(spec.build_dir))
        test_dir = Path(test_dir)
        test_dir.mkdir(parents=True, exist_ok=True)
        report, log_file, waves_file = _run_in(test_dir, job, transport, spec, b, plusargs)
        latency = _measured_latency(test_dir)
        if not report.passed and stack_owns_dir:
            run_dirs.mark_failed(test_dir, f"{report.mismatches} mismatches; {job.repro}")
    return RunResult(
        report,
        spec.build_dir,
        test_dir,
        b.compiled,
        b.seconds,
        time.perf_counter() - t_wall,
        log_file,
        waves_file,
        latency,
    )


def _measured_latency(test_dir: Path) -> int:
    """The latency the batch checker measured in ``test_dir`` (0 when it did not run)."""
    f = test_dir / "batch-result.json"
    if not f.is_file():
        return 0
    return int(json.loads(f.read_text()).get("latency") or 0)


def _run_in(
    test_dir: Path,
    job: SimJob,
    transport: Transport,
    spec: BuildSpec,
    b: Build,
    extra_plusargs: tuple[str, ...] = (),
) -> tuple[SimReport, Path, Path | None]:
    """Start the simulation of ``job`` in ``test_dir``; its report, log and waveform."""
    results = test_dir / "qmac-results.json"
    results.unlink(missing_ok=True)
    job = dataclasses.replace(job, results=str(results))
    log_file = test_dir / "sim.log"
    waves_file = None
    plusargs: list[str] = list(extra_plusargs)
    test_args: list[str] = []
    if transport.harness is batch_harness.HARNESSES["coverage"]:
        plusargs.append(f"+verilator+coverage+file+{test_dir / COVERAGE_FILE}")
    if job.waves:
        if job.sim == "icarus":
            waves_file = test_dir / f"{spec.toplevel}.fst"
            plusargs.append(f"+dumpfile_path={waves_file}")
        else:
            waves_file = test_dir / "dump.vcd"
            test_args += ["--trace-file", str(waves_file)]
    with _env(**{ENV_VAR: job.to_json()}), _not_under_pytest():
        os.environ.pop("COCOTB_RESOLVE_X", None)  # X must stay X for the checks
        try:
            b.runner.test(
                test_module=transport.test_module,
                hdl_toplevel=spec.toplevel,
                hdl_toplevel_lang="verilog",
                build_dir=str(spec.build_dir),
                test_dir=str(test_dir),
                seed=job.seed,
                waves=job.waves,
                plusargs=plusargs,
                test_args=test_args,
                log_file=str(log_file),
                results_xml=str(test_dir / "results.xml"),
            )
        except SystemExit as exc:
            if not results.exists():
                raise SimulationFailed(
                    f"the {job.sim} simulation exited ({exc.code}) without a "
                    f"report; log: {log_file}\n{log_tail(log_file, 40)}"
                ) from None
    if not results.exists():
        raise SimulationFailed(
            f"the {job.sim} simulation wrote no report; log: {log_file}\n{log_tail(log_file, 40)}"
        )
    return SimReport.load(results), log_file, waves_file
