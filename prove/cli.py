"""``python -m prove`` (``make prove``): the RTL's datapath modules proven equal to the HDL
specification (prove/spec/) for every named config's parameters, the multipliers at the widths
the solver can do, and qmac's protocol properties; a table and build/prove/junit.xml.

Options, make-style (``CONFIG=tflite JOBS=2``):

==========  =====================================================================================
CONFIG      named configs, comma-separated (default: all of pyref.config.NAMED_CONFIGS)
RTL=dir     the Verilog folder to prove (default rtl/; modules named as qmac's)
SOLVER      yices, boolector or z3 (default: auto, each kind of proof with the fastest
            measured: z3 for modules and multipliers, boolector for the protocol)
JOBS        proofs run in parallel (default 2)
TIMEOUT     seconds per proof (default 300); a proof past it is ``timeout``, never a pass
CHECKS      modules, multipliers, protocol, or module / property names, comma-separated
            (default: all)
DEPTH       cycles of the protocol properties' BMC and induction (default 12)
OUT         the output folder (default build/prove)
==========  =====================================================================================

Exit status: 0 every check proven (or bounded, as the table says), 1 a check failed (a
counterexample), 2 bad options, 3 a timeout or a tool error and nothing failed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from pyref.config import NAMED_CONFIGS
from tb.cli.errors import ArgumentParser, ToolFailure, UsageError, int_at_least, run_main
from tb.run.yosys import YosysUnavailable, yosys_version

from . import cex, plan, protocol, protocol_replay, report
from .params import ElaborationError
from .run import Result, run_all
from .sby import BOUNDED, FAILED, PROVEN
from .tools import SOLVERS, solver_available, warm_up

REPO = Path(__file__).resolve().parent.parent
KEYS = ("CONFIG", "RTL", "SOLVER", "JOBS", "TIMEOUT", "CHECKS", "DEPTH", "OUT")
GROUPS = ("modules", "multipliers", "protocol")

BEST_SOLVER = {plan.MODULE: "z3", plan.MULTIPLIER: "z3", plan.PROTOCOL: "yices"}
"""SOLVER=auto: the solver per kind of check, by measurement (docs/prove.md, "Solvers"). The
protocol properties moved from boolector to yices with the re-pipelined RTL (its LUT-RAM rings
and 9-edge latency): boolector's BMC of `no_output_without_job` ran past 900 s at depth 16 and
600 s at depth 12, yices settles all seven at depth 16 in 75 s."""


def parser() -> ArgumentParser:
    p = ArgumentParser(prog="python -m prove", description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default=",".join(NAMED_CONFIGS))
    p.add_argument("--rtl", default=str(REPO / "rtl"))
    p.add_argument("--solver", default="auto", choices=("auto", *SOLVERS))
    p.add_argument("--jobs", type=int_at_least(1), default=2)
    p.add_argument("--timeout", type=int_at_least(1), default=300)
    p.add_argument("--checks", default="")
    p.add_argument("--depth", type=int_at_least(2), default=protocol.DEPTH)
    p.add_argument("--out", default=str(REPO / "build" / "prove"))
    return p


def normalize_argv(argv: list[str]) -> list[str]:
    """``KEY=VALUE`` words become ``--key=VALUE``; an unknown key is a usage error."""
    out = []
    for t in argv:
        if "=" in t and not t.startswith("-"):
            key, _, value = t.partition("=")
            if key.upper() not in KEYS or key != key.upper():
                from tb.cli.errors import unknown_variable

                raise unknown_variable(t, KEYS, "python -m prove")
            t = f"--{key.lower()}={value}"
        out.append(t)
    return out


def _configs(text: str) -> dict:
    names = [n for n in text.split(",") if n]
    bad = [n for n in names if n not in NAMED_CONFIGS]
    if bad or not names:
        raise UsageError(
            f"CONFIG = {text!r}: no named config {', '.join(bad) or '(empty)'}; "
            f"choose from {', '.join(NAMED_CONFIGS)}"
        )
    return {n: NAMED_CONFIGS[n] for n in names}


def _select(wanted: set[str], checks: list, ladders: list, props: list):
    if not wanted:
        return checks, ladders, props
    known = {c.module for c in checks} | {c.module for c in props} | set(GROUPS)
    bad = sorted(wanted - known)
    if bad:
        raise UsageError(
            f"CHECKS: unknown {', '.join(bad)}; allowed: "
            f"{', '.join(GROUPS)} or one of {', '.join(sorted(known - set(GROUPS)))}"
        )
    keep = lambda c, group: group in wanted or c.module in wanted  # noqa: E731
    return (
        [c for c in checks if keep(c, "modules")],
        [lad for lad in ladders if keep(lad[0], "multipliers")],
        [c for c in props if keep(c, "protocol")],
    )


def _main(argv: list[str]) -> int:
    args = parser().parse_args(normalize_argv(argv))
    configs = _configs(args.config)
    rtl = Path(args.rtl).resolve()
    if not rtl.is_dir() or not list(rtl.glob("*.v")):
        raise UsageError(f"RTL = {args.rtl}: not a folder of Verilog sources (*.v)")
    out = Path(args.out).resolve()
    work = out / "tasks"
    work.mkdir(parents=True, exist_ok=True)
    solvers = [args.solver] if args.solver != "auto" else sorted(set(BEST_SOLVER.values()))
    for s in solvers:
        if not solver_available(s, work):
            raise UsageError(
                f"SOLVER = {s}: its executable is not installed (make prove "
                "installs the formal extra: pip install -e '.[formal]')"
            )
        warm_up(s, work)
    try:
        yosys_version()
        checks = plan.module_checks(rtl, configs)
    except (YosysUnavailable, ElaborationError) as exc:
        raise ToolFailure(str(exc)) from None
    unspecified = sorted({c.module for c in checks if not plan.has_spec(c.module)})
    checks = [c for c in checks if plan.has_spec(c.module)]
    ladders = plan.multiplier_checks({c.module for c in checks if c.shared})
    wanted = {w for w in args.checks.split(",") if w}
    props = [plan.Check(plan.PROTOCOL, name) for name in protocol.PROPERTIES.values()]
    checks, ladders, props = _select(wanted, checks, ladders, props)
    if props:
        solver_p = args.solver if args.solver != "auto" else BEST_SOLVER[plan.PROTOCOL]
        try:
            latency = protocol.measure_latency(rtl, work, solver_p)
        except protocol.LatencyUnknown as exc:
            raise ToolFailure(str(exc)) from None
        print(f"qmac prove: the RTL's latency, measured: {latency} pipeline advances", flush=True)
        keep = {c.module for c in props}
        props = [c for c in protocol.protocol_checks(latency, args.depth) if c.module in keep]

    def solver(check) -> str:
        return args.solver if args.solver != "auto" else BEST_SOLVER[check.kind]

    def progress(r: Result) -> None:
        print(f"  {r.verdict:20s} {r.seconds:6.1f} s  {r.solver:9s} {r.check.label}", flush=True)

    n = len(checks) + sum(len(lad) for lad in ladders) + len(props)
    print(
        f"qmac prove: {rtl} against prove/spec/, {len(configs)} configs, {n} proofs, "
        f"{args.jobs} at a time, {args.timeout} s each",
        flush=True,
    )
    t0 = time.perf_counter()
    results = run_all(
        [*checks, *props],
        ladders,
        rtl,
        work,
        solver=solver,
        timeout=args.timeout,
        jobs=args.jobs,
        progress=progress,
    )
    rtl_arg = None if rtl == REPO / "rtl" else rtl
    for r in results:
        if r.status == FAILED and r.check.kind in (plan.MODULE, plan.MULTIPLIER):
            r.replay = cex.replay_command(r, configs, out / "cex", rtl_arg, rtl)
        elif r.status == FAILED and r.check.kind == plan.PROTOCOL and r.workdir:
            r.replay = protocol_replay.replay_command(r, out / "cex", rtl_arg)
    print()
    print(report.table(results))
    junit = report.write_junit(out / "junit.xml", results)
    print(f"\n{report.summary(results)}; wall {time.perf_counter() - t0:.0f} s; JUnit: {junit}")
    if unspecified:
        print(f"not proven (no spec in prove/spec/): {', '.join(unspecified)}")
    for r in results:
        if r.status == FAILED:
            print(f"FAILED {r.check.label}: trace {r.workdir}/engine_0/trace.vcd")
            if r.replay:
                print(f"  replay on the simulator: {r.replay}")
    if any(r.status == FAILED for r in results):
        return 1
    if any(r.status not in (PROVEN, BOUNDED) for r in results):
        return 3
    return 0


def main(argv: list[str] | None = None) -> int:
    """The command line; the exit status (module docstring)."""
    argv = sys.argv[1:] if argv is None else argv
    return run_main(lambda: _main(argv), prog="python -m prove")
