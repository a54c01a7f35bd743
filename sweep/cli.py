"""``python -m sweep run|merge|minimize``: ``make sweep``, ``make sweep-merge`` and
``make sweep-minimize``.

Options are make-style (``SWEEP=ci SHARD=2/4``) or ``--sweep ci --shard 2/4``:

========  ======================================================================================
SWEEP     a spec in ``sweeps/`` (``ci``, the default; ``full``) or a path to a ``.toml``
SHARD     ``k/n``: run only shard k of n (cost-balanced, deterministic); merge them afterwards
SIM       run only the points of this simulator (a CI matrix over simulators)
JOBS      points at the same time (default: one per core)
N         outputs per point, for every point (default: the spec's)
FORCE=1   rerun points whose digest already passed
RTL       simulate and synthesize the Verilog files of another folder
PORTS     a ports.toml mapping qmac's port and parameter names to RTL's (tb/shared/ports.py)
OUT       output root (default ``build/sweep``); the report goes to ``OUT/<spec>/``
SYNTH=0   leave out synthesis (simulation only)
PNR       ``1``: place and route every point on the ECP5 FPGA (``tb/run/fpga.py``); without
          it only the points the spec marks ``pnr = true``
COVERAGE  ``1``: RTL code coverage of every Verilator point, merged (``OUT/<spec>/coverage/``)
        if q in (run, merge_p):
            q.add_argument("--plots", type=_bool)
========  ======================================================================================

``minimize`` reads the ``results.json`` of a finished ``make sweep COVERAGE=1`` and writes the
smallest spec found that reaches the same RTL code coverage and functional bins
(:mod:`sweep.minimize`). ``faults`` runs the fault table of ``tb/shared/faults.py`` against the
points of a spec (``SIM``, ``JOBS`` over faults, ``FAULTS`` a comma-separated subset, ``RTL``)
and writes ``OUT/<spec>/faults.md`` (:mod:`sweep.faults`); exit status 0 whatever it catches.

Exit status (:mod:`tb.cli.errors`): 0 every point passed, 1 some point failed or pyref refused a
point the spec does not expect (``allow_skip``), 2 bad options, spec or shards (also options
that leave no point to run), 3 a simulator the points name is missing, 4 a bug in qmac,
130 interrupted.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import sys
import time
from pathlib import Path

from tb import api as tb_api
from tb.api import SIMULATORS, WORK_ROOT, SimulatorMissing, simulator_missing, user_rtl
from tb.cli.errors import ArgumentParser, ToolFailure, UsageError, no_work, normalize_argv, run_main

from . import report, shard
from . import spec as spec_mod
from .merge import MergeError, merge
from .minimize import MinimizeError, minimize, spec_text
from .runner import RunOptions, code_coverage_reports, run_points
from .skips import summary_lines

DEFAULT_OUT = WORK_ROOT / "build" / "sweep"


def _bool(text: str) -> bool:
    t = str(text).strip().lower()
    if t in ("1", "true", "yes", "on"):
        return True
    if t in ("0", "false", "no", "off", ""):
        return False
    raise argparse.ArgumentTypeError(f"expected 0/1, got {text!r}")


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {v}")
    return v


def parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        prog="python -m sweep", description="Sweep qmac configs: simulate, synthesize, report."
    )
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a sweep (or one shard of it)")
    merge_p = sub.add_parser("merge", help="join the shards' results into one report")
    mini = sub.add_parser("minimize", help="write the smallest spec with the same coverage")
    mini.add_argument("--to")
    faults = sub.add_parser("faults", help="the fault table against the points of a spec")
    faults.add_argument("--sim", choices=SIMULATORS)
    faults.add_argument("--jobs", type=_positive, default=1)
    faults.add_argument("--faults", default="")
    faults.add_argument("--rtl")
    for q in (run, merge_p, mini, faults):
        q.add_argument("--sweep", default="ci")
        q.add_argument("--out", default=str(DEFAULT_OUT))
        if q in (run, merge_p):
            q.add_argument("--plots", type=_bool)
    run.add_argument("--shard")
    run.add_argument("--sim", choices=SIMULATORS)
    run.add_argument("--jobs", type=_positive)
    run.add_argument("--n", type=_positive)
    run.add_argument("--force", type=_bool, default=False)
    run.add_argument("--rtl")
    run.add_argument("--ports")
    run.add_argument("--synth", type=_bool, default=True)
    run.add_argument("--coverage", type=_bool, default=False)
    run.add_argument("--pnr", type=_bool, default=False)
    run.add_argument("--progress", type=_bool, default=True)
    return p


def shard_label(sim: str | None, k: int, n: int) -> str:
    return f"{sim + '-' if sim else ''}{k}-of-{n}"


def resolve_plots(plots: bool | None) -> bool:
    """PLOTS: given, it must be possible (1 needs matplotlib, the plots extra: status 3 before
    anything runs); not given, plots when matplotlib is installed, else a note."""
    import importlib.util

    have = importlib.util.find_spec("matplotlib") is not None
    if plots and not have:
        raise ToolFailure(
            "PLOTS=1 needs matplotlib: pip install 'qmac[plots]' (make sweep installs it), "
            "or PLOTS=0"
        )
    if plots is None and not have:
        print("  no plots: matplotlib is not installed (pip install 'qmac[plots]')", flush=True)
    return have if plots is None else plots


def cmd_run(args) -> int:
    t0 = time.perf_counter()
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    spec = spec_mod.load(args.sweep)
    args.plots = resolve_plots(args.plots)
    auto_sims = spec_mod.installed_for_auto() if spec.uses_auto() else ()
    if spec.uses_auto() and not auto_sims:
        raise ToolFailure(
            "sim = auto: no simulator installed ("
            + "; ".join(f"{s}: {simulator_missing(s)}" for s in SIMULATORS)
            + ")"
        )
    if args.coverage and spec.uses_auto():
        # RTL code coverage comes from Verilator's coverage build: auto points run there.
        auto_sims = tuple(s for s in auto_sims if s == "verilator")
        if not auto_sims:
            raise ToolFailure("COVERAGE=1 needs Verilator: " + str(simulator_missing("verilator")))
    points, skipped, impossible = spec.expand(args.n, auto_sims=auto_sims)
    if not points:
        raise no_work(
            "SWEEP",
            args.sweep,
            f"pyref refuses all {len(skipped)} combinations of "
            f"the spec (first: {skipped[0].reason})"
            if skipped
            else "the spec expands to no point",
        )
    if args.sim:
        all_points = points
        points = [p for p in points if p.sim == args.sim]
        skipped = [s for s in skipped if s.sim == args.sim]
        if not points:
            raise no_work(
                "SIM",
                args.sim,
                f"none of the {len(all_points)} points of "
                f"{spec.name} runs on it (they run on "
                f"{', '.join(sorted({p.sim for p in all_points})) or 'nothing'})",
            )
    part = shard.parse_shard(args.shard)
    if part:
        total = len(points)
        points = shard.select(points, *part)
        if not points:
            raise no_work(
                "SHARD",
                args.shard,
                f"shard {part[0]} of {part[1]} gets none of the "
                f"{total} points; use at most {total} shards",
            )
    rtl = user_rtl(args.rtl, args.ports).resolve() if (args.rtl or args.ports) else None
    for sim in sorted({p.sim for p in points}):
        why = simulator_missing(sim)
        if why:
            raise ToolFailure(why)
    spec_out = Path(args.out) / spec.name
    where = (
        spec_out
        if not (part or args.sim)
        else spec_out / "shards" / shard_label(args.sim, *(part or (1, 1)))
    )
    what = f"shard {args.shard}" if part else "all points"
    print(
        f"qmac sweep {spec.name}: {len(points)} points ({what}"
        f"{', ' + args.sim + ' only' if args.sim else ''}), {len(skipped)} skipped",
        flush=True,
    )
    refused = [s for s in skipped if not s.expected]
    if refused:
        print(
            f"  {len(refused)} point(s) pyref refuses that the spec does not expect "
            f"(allow_skip): the sweep will fail; first: {refused[0].reason}",
            flush=True,
        )
    if args.coverage:
        print(
            f"  RTL code coverage from the {sum(p.sim == 'verilator' for p in points)} "
            "Verilator point(s) (coverage builds; sim = auto picks Verilator)",
            flush=True,
        )
    elif spec.uses_auto():
        print(
            f"  sim = auto: the cheaper of {', '.join(auto_sims) or '(none installed)'} per "
            "point (tb/run/cost.py)",
            flush=True,
        )
    opts = RunOptions(
        jobs=args.jobs or 0,
        force=args.force,
        cache_root=Path(args.out) / "cache",
        synth=args.synth,
        progress=args.progress,
        coverage=args.coverage,
        pnr=args.pnr,
    )
    if rtl:
        opts.rtl_dir = rtl
    records, facts = run_points(points, opts)
    run = {
        "spec": spec.name,
        "spec_path": str(spec.path),
        "spec_digest": spec_mod.spec_digest(spec),
        "shard": args.shard,
        "sim_filter": args.sim,
        "n_override": args.n,
        "auto_sims": list(auto_sims),
        "axes": spec.axes_by_origin(),
        "points": records,
        "skipped": [s.to_dict() for s in skipped],
        "impossible": [[g, [list(a), list(b)]] for g, (a, b) in impossible],
        "facts": facts,
        "wall_seconds": time.perf_counter() - t0,
        "started": started,
    }
    where.mkdir(parents=True, exist_ok=True)
    if args.coverage:
        run["code_coverage"] = code_coverage_reports(records, opts.rtl_dir, where / "coverage")
    (where / "run.json").write_text(json.dumps(run, indent=1))
    files = report.write_all(run, where, plots=args.plots)
    return _finish(run, files)


def cmd_merge(args) -> int:
    spec = spec_mod.load(args.sweep)
    args.plots = resolve_plots(args.plots)
    spec_out = Path(args.out) / spec.name
    run = merge(spec, spec_out)
    (spec_out / "run.json").write_text(json.dumps(run, indent=1))
    files = report.write_all(run, spec_out, plots=args.plots)
    return _finish(run, files)


def cmd_minimize(args) -> int:
    spec = spec_mod.load(args.sweep)
    results = Path(args.out) / spec.name / "results.json"
    if not results.is_file():
        raise UsageError(
            f"SWEEP = {args.sweep}: no results in {results}; run make sweep SWEEP={args.sweep} "
            "COVERAGE=1 first"
        )
    run = json.loads(results.read_text())
    if run.get("spec_digest") != spec_mod.spec_digest(spec):
        raise UsageError(
            f"SWEEP = {args.sweep}: {results} is from another version of {spec.path}; run make "
            f"sweep SWEEP={args.sweep} COVERAGE=1 again"
        )
    rtl = Path(run.get("facts", {}).get("rtl_dir") or tb_api.RTL_DIR)
    files = [f.name for f in tb_api.rtl_files(rtl) if f.suffix == ".v"]
    chosen, sets = minimize(run, files)
    to = Path(args.to) if args.to else results.parent / f"{spec.name}-min.toml"
    command = f"make sweep-minimize SWEEP={args.sweep}" + (f" TO={args.to}" if args.to else "")
    to.parent.mkdir(parents=True, exist_ok=True)
    to.write_text(
        spec_text(
            f"{spec.name}-min", spec.seed, chosen, sets, source=_shown(spec.path), command=command
        )
    )
    universe = set().union(*sets.values())
    bins = sum(1 for e in universe if isinstance(e, tuple) and e[:1] == ("bin",))
    wall = {r["key"]: float(r.get("wall_seconds") or 0.0) for r in run["points"]}
    print(
        f"qmac sweep-minimize {spec.name}: {len(chosen)} of {len(run['points'])} points reach "
        f"the same {len(universe) - bins} code coverage points and {bins} functional bins "
        f"({len(sets)} points had code coverage)\n"
        f"  their runs took {sum(wall[r['key']] for r in chosen):.0f} s of the sweep's "
        f"{sum(wall.values()):.0f} s (one core each, as measured when they ran)\n"
        f"  spec    {to}\n  run it  make sweep SWEEP={to} COVERAGE=1"
    )
    return 0


def cmd_faults(args) -> int:
    import tempfile

    from .faults import catch_table, markdown

    spec = spec_mod.load(args.sweep)
    points, _, _ = spec.expand()
    if not points:
        raise no_work("SWEEP", args.sweep, "the spec expands to no point")
    names = [f.strip() for f in args.faults.split(",") if f.strip()] or [
        f.name for f in tb_api.FAULTS
    ]
    for name in names:
        try:
            tb_api.fault_by_name(name)
        except KeyError as exc:
            raise UsageError(f"FAULTS: {exc.args[0]}") from None
    rtl = Path(args.rtl).resolve() if args.rtl else tb_api.RTL_DIR
    if not rtl.is_dir():
        raise UsageError(f"RTL = {args.rtl} is not a folder")
    for sim in {args.sim} if args.sim else {p.sim for p in points}:
        why = simulator_missing(sim)
        if why:
            raise ToolFailure(why)
    out = Path(args.out) / spec.name
    out.mkdir(parents=True, exist_ok=True)
    print(
        f"qmac sweep faults {spec.name}: {len(names)} fault(s) against {len(points)} point(s)"
        + (f" on {args.sim}" if args.sim else ""),
        flush=True,
    )
    t0 = time.perf_counter()
    # absolute: the simulators run in folders of their own, where a relative path means nothing
    with tempfile.TemporaryDirectory(dir=out.resolve(), prefix="faults-") as work:
        try:
            table = catch_table(
                points, names, rtl_dir=rtl, sim=args.sim, work=Path(work), jobs=args.jobs
            )
        except RuntimeError as exc:
            raise ToolFailure(str(exc)) from None
    text = markdown(spec.name, len(points), args.sim, table)
    (out / "faults.md").write_text(text)
    (out / "faults.json").write_text(json.dumps([dataclasses.asdict(c) for c in table], indent=1))
    missed = [c.fault for c in table if not c.caught_by]
    print(
        f"qmac sweep faults {spec.name}: {len(table) - len(missed)} of {len(table)} caught"
        + (f"; missed: {', '.join(missed)}" if missed else "")
        + f" in {time.perf_counter() - t0:.0f} s\n  table   {out / 'faults.md'}"
    )
    return 0


def _shown(path: Path) -> str:
    """``sweeps/ci.toml`` for a spec in the repository, else the path as given."""
    try:
        return str(Path(path).resolve().relative_to(WORK_ROOT))
    except ValueError:
        return str(path)


def _finish(run: dict, files: dict) -> int:
    h = report.headline(run)
    for rec in run["points"]:
        if rec["verdict"] != "pass":
            lines = [
                ln.strip()
                for ln in rec["failure"].splitlines()
                if not ln.strip().startswith("reproduce:")
            ][:6]
            print(f"FAIL {rec['name']}\n  " + "\n  ".join(lines) + f"\n  reproduce: {rec['repro']}")
    verdict = report.verdict(run)
    print(
        f"qmac sweep {run['spec']}: {verdict}: {report.counts(h)} "
        f"({h['reused']} reused) in {h['wall_seconds']:.0f} s, "
        f"{h['points_per_minute']:.0f} points/min"
    )
    for line in summary_lines(run):
        print(f"  {line}")
    if run.get("code_coverage"):
        text = run["code_coverage"].splitlines()
        table = [l for l in text if l.startswith("| **total**")]
        bins = [l for l in text if l.startswith("| functional bins")]
        print(
            f"  RTL code coverage (line | branch | toggle | expression): "
            f"{table[0].split('|', 2)[2].strip(' |') if table else 'n/a'}"
            + (f"; functional bins: {bins[0].split('|')[2].strip()}" if bins else "")
        )
    print(f"  report  {files['md']}\n  junit   {files['junit']}\n  csv     {files['csv']}")
    return 0 if verdict == "PASS" else 1


def main(argv: list[str] | None = None) -> int:
    """``python -m sweep``: the exit status (module docstring)."""
    argv = sys.argv[1:] if argv is None else argv
    return run_main(
        lambda: _main(argv),
        prog="python -m sweep",
        usage_errors=(spec_mod.SpecError, MergeError, MinimizeError),
        tool_errors=(SimulatorMissing,),
    )


def _main(argv: list[str]) -> int:
    p = parser()
    args = p.parse_args(normalize_argv(argv, p))
    commands = {
        "run": cmd_run,
        "merge": cmd_merge,
        "minimize": cmd_minimize,
        "faults": cmd_faults,
    }
    return commands[args.command](args)
