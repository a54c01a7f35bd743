"""``make coverage`` (``python -m tb.cli.coverage``): RTL code coverage over the named configs.

Each config runs once through the batch transport on a Verilator build with line, toggle and
expression coverage (its own cached build, ``build/sim/verilator/<config>-batch-coverage``), every
output checked as in ``make sim``, and writes its own ``coverage.dat``. The points are merged
here (:mod:`tb.rtl_coverage`) and written to ``OUT`` (default ``build/coverage/``):

- ``coverage.info`` (lcov), ``coverage.xml`` (Cobertura), ``merged.dat`` (Verilator's format),
- ``html/index.html``: the per-module table and each source file annotated,
- ``summary.md``: the code coverage totals beside the functional bins hit over the same runs,
  the per-module table, the ranking of configs, the points not hit with their reasons.

The bar: every line and branch point, and each toggle of every port bit, is hit or waived with
a reason in ``coverage.toml`` of the RTL folder (:mod:`tb.rtl_coverage.waivers`); otherwise
status 1, naming each point.

Variables: ``CONFIGS`` (comma-separated named configs; default all), ``N`` (outputs per config,
default 20 000), ``SEED``, ``RTL``, ``OUT``, ``JOBS`` (parallel runs, default the cores).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import os
import sys
import time
from pathlib import Path

from pyref.config import NAMED_CONFIGS
from tb.rtl_coverage import waivers
from tb.rtl_coverage.points import Point, read_dat
from tb.rtl_coverage.report import write_reports
from tb.run.build import BUILD_ROOT, RTL_DIR, WORK_ROOT, rtl_sources
from tb.run.runner import COVERAGE_FILE, run_sim
from tb.run.toolchain import SimulatorMissing
from tb.shared.job import SimJob

from .errors import (
    ArgumentParser,
    ToolFailure,
    UsageError,
    int_at_least,
    no_work,
    normalize_argv,
    run_main,
)

DEFAULT_N = 20_000


@dataclasses.dataclass
class ConfigRun:
    """One config's run: its points, and what the scoreboard said."""

    name: str
    counts: dict[Point, int]
    passed: bool
    summary: str
    seconds: float
    functional: dict = dataclasses.field(default_factory=dict)
    """The run's functional coverage: ``{"hits": {bin: n}, "required": [bin, ...]}``."""


def run_config(name: str, n: int, seed: int, rtl_dir: str, build_root: str) -> ConfigRun:
    """Run the named config ``name`` on the coverage build; its points (in a worker process)."""
    t0 = time.perf_counter()
    config = NAMED_CONFIGS[name]
    job = SimJob(
        config=config.to_dict(),
        config_name=name,
        sim="verilator",
        seed=seed,
        n=n,
        mode="batch-coverage",
        max_mismatches=10,
    )
    result = run_sim(job, rtl_dir=Path(rtl_dir), build_root=Path(build_root))
    dat = result.test_dir / COVERAGE_FILE
    if not dat.is_file():
        raise ToolFailure(
            f"the coverage run of {name} wrote no {COVERAGE_FILE} (log: {result.log_file})"
        )
    rep = result.report
    counts = read_dat(dat, [p.name for p in rtl_sources(Path(rtl_dir))])
    functional = rep.coverage_report()
    summary = (
        f"{rep.outputs_checked} outputs checked, {rep.mismatches} mismatches"
        + ("" if functional is None else f"; functional: {functional.summary()}")
        + ("" if rep.passed else f": {rep.details[0]['message'] if rep.details else ''}")
    )
    bins = (
        {}
        if functional is None
        else {"hits": dict(functional.hits), "required": list(functional.required)}
    )
    return ConfigRun(name, counts, rep.passed, summary, time.perf_counter() - t0, bins)


@dataclasses.dataclass
class CoverageResult:
    runs: list[ConfigRun]
    merged: dict[Point, int]
    verdict: waivers.Verdict
    out: Path
    seconds: float

    full: bool = True
    """Every named config ran: only then is the bar (waivers) applied."""

    @property
    def passed(self) -> bool:
        return (self.verdict.passed or not self.full) and all(r.passed for r in self.runs)


def collect(
    configs: list[str],
    *,
    n: int = DEFAULT_N,
    seed: int = 1,
    rtl_dir: Path = RTL_DIR,
    out: Path | None = None,
    jobs: int = 0,
    build_root: Path = BUILD_ROOT,
    log=print,
) -> CoverageResult:
    """Run ``configs`` with coverage, merge, write every report to ``out``; the result."""
    if not configs:
        raise no_work("CONFIGS", "", "no named config")
    t0 = time.perf_counter()
    out = Path(out or WORK_ROOT / "build" / "coverage")
    out.mkdir(parents=True, exist_ok=True)
    jobs = jobs or os.cpu_count() or 1
    runs: dict[str, ConfigRun] = {}
    with concurrent.futures.ProcessPoolExecutor(max_workers=min(jobs, len(configs))) as ex:
        futures = {
            ex.submit(run_config, c, n, seed, str(rtl_dir), str(build_root)): c for c in configs
        }
        for fut in concurrent.futures.as_completed(futures):
            run = fut.result()
            runs[run.name] = run
            log(
                f"  {run.name:<14} {len(run.counts):5d} points, "
                f"{sum(1 for v in run.counts.values() if v):5d} hit; {run.summary} "
                f"({run.seconds:.1f} s)"
            )
    ordered = [runs[c] for c in configs]
    full = set(configs) == set(NAMED_CONFIGS)
    merged, verdict = write_reports(
        {r.name: r.counts for r in ordered},
        rtl_dir,
        out,
        title=f"qmac RTL coverage: {', '.join(configs)}",
        full=full,
        functional={r.name: r.functional for r in ordered if r.functional},
    )
    return CoverageResult(ordered, merged, verdict, out, time.perf_counter() - t0, full=full)


def parser() -> argparse.ArgumentParser:
    """The options of ``make coverage`` (``KEY=VALUE`` words or ``--key value``)."""
    p = ArgumentParser(prog="make coverage", description="RTL code coverage over named configs")
    p.add_argument(
        "--configs",
        default=",".join(NAMED_CONFIGS),
        help="comma-separated named configs (default: all)",
    )
    p.add_argument("--n", type=int_at_least(1), default=DEFAULT_N, help="outputs per config")
    p.add_argument("--seed", type=int_at_least(0), default=1)
    p.add_argument("--rtl", default=str(RTL_DIR), help="the RTL folder")
    p.add_argument("--out", default="", help="report folder (default build/coverage)")
    p.add_argument("--jobs", type=int_at_least(0), default=0, help="parallel runs (0: cores)")
    return p


def parse(argv: list[str]) -> dict:
    """The options as :func:`collect`'s arguments; bad values are a :class:`UsageError`."""
    p = parser()
    a = p.parse_args(normalize_argv(argv, p))
    configs = [c.strip() for c in a.configs.split(",") if c.strip()]
    if not configs:
        raise no_work("CONFIGS", a.configs, "no named config")
    bad = [c for c in configs if c not in NAMED_CONFIGS]
    if bad:
        raise UsageError(
            f"CONFIGS: {bad[0]!r} is not a named config; named: {', '.join(NAMED_CONFIGS)}"
        )
    rtl = Path(a.rtl)
    if not rtl.is_dir() or not list(rtl.glob("*.v")):
        raise UsageError(f"RTL = {a.rtl!r}: not a folder of Verilog files (*.v)")
    return {
        "configs": configs,
        "n": a.n,
        "seed": a.seed,
        "jobs": a.jobs,
        "rtl_dir": rtl,
        "out": Path(a.out) if a.out else None,
    }


def main(argv: list[str] | None = None) -> int:
    """0 when every config passed and every line and branch point is hit or waived, else 1."""

    def body() -> int:
        opts = parse(list(sys.argv[1:] if argv is None else argv))
        print(
            f"coverage builds of {len(opts['configs'])} config(s), {opts['n']} outputs each, "
            f"Verilator (line, branch, toggle, expression):",
            flush=True,
        )
        try:
            result = collect(**opts)
        except SimulatorMissing as exc:
            raise ToolFailure(str(exc)) from None
        print((result.out / "summary.md").read_text().rstrip())
        print(
            f"\nreports in {result.out}/: coverage.info (lcov), coverage.xml (Cobertura), "
            f"html/index.html, summary.md ({result.seconds:.1f} s)"
        )
        failed = [r.name for r in result.runs if not r.passed]
        if failed:
            print(f"FAIL: mismatches in {', '.join(failed)}")
        if not result.full:
            print(
                "bar not applied: CONFIGS is a part of the named configs, whose points the "
                "others may reach"
            )
        elif not result.verdict.passed:
            print(
                f"FAIL: {len(result.verdict.missed)} line/branch/port point(s) not hit and not "
                f"waived in {Path(opts['rtl_dir']) / waivers.WAIVER_FILE}"
            )
        if result.passed and result.full:
            print("PASS: every line, branch and port-bit toggle point hit or waived with a reason")
        return 0 if result.passed else 1

    return run_main(body, prog="make coverage", tool_errors=(SimulatorMissing,))


if __name__ == "__main__":
    sys.exit(main())
