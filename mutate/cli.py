"""``python -m mutate`` (``make mutate``): mutation testing of the RTL, with the table at the end.

Options, make-style (``JOBS=2 SEED=3``) or as ``--jobs 2 --seed 3``:

=============  ==================================================================================
RTL=dir        the Verilog folder to mutate (default ``rtl/``; top module ``qmac``)
PORTS          a ports.toml mapping qmac's names to RTL's (tb/shared/ports.py): RTL's files are
               mutated and regressed through the generated wrapper, which is not mutated
JOBS           mutants run in parallel (default 2)
SEED           seed of the quick regression's stimulus (default 1; the same for every mutant)
N              outputs checked per config and mutant (default 2000)
SIM            ``icarus`` (default: ~3 s per config and mutant) or ``verilator`` (~30 s builds)
FAMILIES       comma-separated operator families (default all: see mutate.generate.FAMILIES)
FILES          comma-separated file names to mutate (default every ``*.v`` / ``*.vh``)
LIMIT          run only every k-th mutant so that at most LIMIT run (default all)
KEEP=1         keep each mutant's folder under build/mutate/
MODULE_TESTS=0 skip the per-module tests (mutate.module_tests; off by itself for an RTL that
               does not pass them)
PARAM_PROBE=0  skip the parameter-range probe (mutate.param_probe: needs Icarus; for an RTL
               without qmac's parameter checks)
RESET_PROOF=0  skip the proof from reset (mutate.equiv_reset: k-induction with SymbiYosys and
               yices) of a surviving mutant the pair-and-induct proof leaves unproven
CHANGED        1: reuse the cached verdict of every mutant whose own file (and its includes) is
               unchanged, so only the changed files' mutants run (pull requests); 0: reuse a
               verdict only when nothing it depends on changed (the full campaign); default 1
               when build/mutate/cache holds verdicts, else 0 (mutate.cache)
SCHEMA=0       judge every mutant on its own copy and builds instead of the mutant schema
               (mutate.schema)
SWEEP          a sweep spec (``ci-min``, a name in sweeps/, or a path): the quick regression runs
               the configs of its points instead of the named configs, each with this SIM, N and
               SEED (mutate.configs); default: the named configs
=============  ==================================================================================

Exit status (:mod:`tb.cli.errors`): 0 every non-equivalent mutant killed, 1 survivors, 2 bad
options, options that leave no mutant to run (``FILES=nosuch.v``) or a failing baseline, 3 the
simulator missing, 4 a bug in qmac, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from pyref.config import NAMED_CONFIGS
from tb.api import PORTS_WRAPPER, RTL_DIR, WORK_ROOT, SimulatorMissing, simulator_missing, user_rtl
from tb.cli.errors import ArgumentParser, ToolFailure, UsageError, no_work, normalize_argv, run_main

from .cache import Cache
from .campaign import BaselineFailed, Settings, run_campaign
from .configs import SweepConfigsError, regression_configs
from .generate import FAMILIES, Mutant, mutants_of_dir, source_files
from .module_tests import module_tests_available
from .regress import SURVIVED, RegressionSpec
from .report import Outcome, kill_rate, save_json, survivor_text, table


def parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        prog="python -m mutate", description="Mutation testing of the RTL against the testbench."
    )
    p.add_argument("--rtl", default=str(RTL_DIR))
    p.add_argument("--ports")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--sim", default="icarus", choices=("icarus", "verilator"))
    p.add_argument("--families", default=",".join(FAMILIES))
    p.add_argument("--files", default="")
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--keep", default="0")
    p.add_argument("--param-probe", default="1")
    p.add_argument("--module-tests", default="1")
    p.add_argument("--reset-proof", default="1")
    p.add_argument("--changed", default="")
    p.add_argument("--schema", default="1")
    p.add_argument("--sweep", default="")
    p.add_argument("--work", default=str(WORK_ROOT / "build" / "mutate"))
    p.add_argument("--equiv-timeout", type=float, default=120.0)
    return p


def _check(args: argparse.Namespace) -> None:
    for name in ("jobs", "n"):
        if getattr(args, name) < 1:
            raise UsageError(
                f"{name.upper()} = {getattr(args, name)} is out of range: allowed 1 or more"
            )
    if args.limit < 0:
        raise UsageError(f"LIMIT = {args.limit} is out of range: allowed 0 (all) or more")
    if not Path(args.rtl).is_dir():
        raise UsageError(f"RTL = {args.rtl}: no such folder")
    if not any(Path(args.rtl).glob("*.v")):
        raise UsageError(f"RTL = {args.rtl}: no Verilog files (*.v) in it")
    for name in ("changed", "schema"):
        value = getattr(args, name)
        if value not in ("", "0", "1"):
            raise UsageError(f"{name.upper()} = {value} is out of range: allowed 0 or 1")
    bad = [f for f in args.families.split(",") if f not in FAMILIES]
    if bad:
        raise UsageError(f"FAMILIES: unknown {', '.join(bad)}; allowed: {', '.join(FAMILIES)}")


def select_mutants(args: argparse.Namespace, rtl: Path) -> list[Mutant]:
    """The mutants ``FAMILIES`` and ``FILES`` ask for; a :class:`UsageError` naming the option
    when they leave none (a campaign of zero mutants is not a pass)."""
    top_params = next(iter(NAMED_CONFIGS.values())).rtl_parameters().keys()
    mutants = mutants_of_dir(rtl, top_params, args.families.split(","))
    if args.files:
        keep = [f for f in args.files.split(",") if f]
        known = [p.name for p in source_files(rtl)]
        unknown = [f for f in keep if f not in known]
        if unknown or not keep:
            raise no_work(
                "FILES",
                args.files,
                f"no file {', '.join(unknown) or '(none)'} in "
                f"{rtl}; its Verilog files: {', '.join(known) or '(none)'}",
            )
        mutants = [m for m in mutants if m.file in keep]
        if not mutants:
            raise no_work(
                "FILES", args.files, f"no mutants of families {args.families} in these files"
            )
    if not mutants:
        raise no_work("FAMILIES", args.families, f"no mutants of these families in {rtl}")
    return mutants


def _no_mutants(args: argparse.Namespace) -> list[Mutant]:
    raise no_work("FILES", args.files, f"no mutants of {args.rtl} outside the PORTS wrapper")


def main(argv: list[str] | None = None) -> int:
    """``python -m mutate``: the exit status (module docstring)."""
    argv = sys.argv[1:] if argv is None else argv
    return run_main(
        lambda: _main(argv),
        prog="python -m mutate",
        usage_errors=(BaselineFailed, SweepConfigsError),
        tool_errors=(SimulatorMissing,),
    )


def _main(argv: list[str]) -> int:
    p = parser()
    args = p.parse_args(normalize_argv(argv, p))
    _check(args)
    configs = regression_configs(args.sweep)
    why = simulator_missing(args.sim)
    if why:
        raise ToolFailure(why)
    rtl = Path(args.rtl).resolve()
    if args.ports:
        rtl = user_rtl(args.rtl, args.ports).resolve()
    mutants = select_mutants(args, rtl)
    if args.ports:  # the generated wrapper is qmac's, not the user's: not mutated
        mutants = [m for m in mutants if m.file != PORTS_WRAPPER] or _no_mutants(args)
    total = len(mutants)
    if args.limit and total > args.limit:
        step = -(-total // args.limit)
        mutants = mutants[::step]
    spec = RegressionSpec(configs, sim=args.sim, seed=args.seed, n=args.n)
    cache = Cache(Path(args.work).resolve() / "cache")
    changed = cache.exists() if args.changed == "" else args.changed == "1"
    settings = Settings(
        rtl_dir=rtl,
        work=Path(args.work).resolve(),
        spec=spec,
        jobs=args.jobs,
        equiv_timeout=args.equiv_timeout,
        keep=args.keep not in ("0", ""),
        probe_params=args.param_probe not in ("0", ""),
        module_tests=(args.module_tests not in ("0", "") and module_tests_available()),
        schema=args.schema == "1",
        reset_proof=args.reset_proof not in ("0", ""),
        cache=cache,
        changed=changed,
    )
    print(
        f"qmac mutate: {len(mutants)} mutants of {rtl}"
        + (f" (every {step}th of {total})" if len(mutants) < total else "")
        + f"; quick regression: {len(spec.configs)} "
        + (f"configs of sweep {args.sweep}" if args.sweep else "named configs")
        + f" x {args.n} outputs on "
        f"{args.sim}, seed {args.seed}, batch transport, {args.jobs} in parallel; "
        + (
            "verdicts of unchanged files reused (CHANGED=1)"
            if changed
            else "verdicts reused only where nothing changed (CHANGED=0)"
        ),
        flush=True,
    )

    t0 = time.perf_counter()

    def progress(i: int, o: Outcome) -> None:
        v = o.verdict
        by = f" by {v.by}" if v.by else f" ({v.configs_run} configs)"
        took = "cached" if o.reused else f"{v.seconds:.1f} s"
        print(
            f"  [{i:4d}/{len(mutants)}] {v.status:13s}{by:16s} {o.mutant.file}:{o.mutant.line} "
            f"{o.mutant.what}  {took}",
            flush=True,
        )

    outcomes, wall = run_campaign(mutants, settings, progress)
    survivors = [o for o in outcomes if o.status == SURVIVED]
    print(
        "\nqmac mutate: results (a mutant surviving its first config also went through "
        f"{'the module tests, ' if settings.module_tests else ''}"
        f"{'the parameter-range probe, ' if settings.probe_params else ''}"
        "the Yosys proof and the other configs)"
    )
    print(table(outcomes, wall))
    reused = sum(o.reused for o in outcomes)
    print(f"  {len(outcomes) - reused} mutants judged in this campaign, {reused} verdicts reused")
    if survivors:
        print(
            f"\nsurvivors not proven equivalent ({len(survivors)}): holes in the testbench, "
            "or equivalent in a way the proof does not see"
        )
        for o in survivors:
            print(survivor_text(o))
    out = Path(args.work) / "report.json"
    save_json(
        out,
        outcomes,
        {
            "rtl": str(rtl),
            "sim": args.sim,
            "seed": args.seed,
            "n": args.n,
            "jobs": args.jobs,
            "wall_seconds": round(wall, 1),
            "changed": changed,
            "reused": sum(o.reused for o in outcomes),
            "sweep": args.sweep,
            "configs": [n for n, _ in spec.configs],
        },
    )
    rate = kill_rate(outcomes)
    print(
        f"\nkill rate over non-equivalent mutants: "
        f"{'n/a' if rate is None else f'{100 * rate:.1f} %'}; report: {out}; "
        f"wall {time.perf_counter() - t0:.0f} s"
    )
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
