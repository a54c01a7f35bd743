"""``python -m soak`` (``make soak``): a long run over random valid configs on both simulators.

Options, make-style (``N=2000000 SEED=3``) or as ``--n 2000000 --seed 3``:

==============  =================================================================================
N               outputs to check in all (default 10 000 000)
SEED            seed of the configs and the runs (default: a fresh one, printed)
SIMS            simulators, comma-separated (default ``verilator,icarus``)
ICARUS_SHARE    share of the outputs run on Icarus (default 0.03: it is ~50x slower)
PER_RUN         outputs per run on Verilator (default 1 000 000; Icarus runs get a 20th)
JOBS            runs in parallel (default 2)
RTL             the Verilog folder to run (default qmac's rtl/)
PORTS           a ports.toml mapping qmac's port and parameter names to RTL's (tb/shared/ports.py)
==============  =================================================================================

Each run is a fresh random config (:mod:`soak.random_config`) through the batch transport,
every output checked against pyref. Exit status (:mod:`tb.cli.errors`): 0 every run passed,
1 a mismatch (with the config, seed and first failure of each failing run), 2 bad options or
options that leave a simulator no run, 3 a simulator missing, 4 a bug, 130 interrupted.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from pyref.config import QmacConfig
from tb.api import SIMULATORS, WORK_ROOT, SimulatorMissing, simulator_missing, user_rtl
from tb.cli.errors import ArgumentParser, ToolFailure, UsageError, no_work, normalize_argv, run_main

from .random_config import random_config


def plan(
    n: int, seed: int, sims: list[str], icarus_share: float, per_run: int
) -> list[tuple[str, QmacConfig, int, int]]:
    """The runs: ``(simulator, config, outputs, seed)``, Verilator's and Icarus's interleaved."""
    rng = np.random.default_rng(seed)
    shares = {
        "icarus": icarus_share if "verilator" in sims else 1.0,
        "verilator": 1.0 - icarus_share if "icarus" in sims else 1.0,
    }
    sizes = {"verilator": per_run, "icarus": max(1, per_run // 20)}
    runs = []
    for sim in sims:
        left = int(round(n * shares[sim]))
        while left > 0:
            k = min(left, sizes[sim])
            runs.append((sim, random_config(rng), k, int(rng.integers(2**31))))
            left -= k
    order = rng.permutation(len(runs))
    return [runs[i] for i in order]


def _run(args: tuple) -> dict:
    from tb.api import run_config

    i, sim, cfg, n, seed, root, rtl = args
    t0 = time.perf_counter()
    try:
        res = run_config(
            cfg,
            sim=sim,
            seed=seed,
            n=n,
            rtl_dir=Path(rtl),
            build_root=Path(root) / "sim",
            test_dir=Path(root) / "runs" / str(i),
            max_mismatches=5,
        )
    except Exception as exc:  # a build or simulator failure is a failed run, reported
        return {
            "i": i,
            "error": f"{type(exc).__name__}: {str(exc).splitlines()[0]}",
            "wall": time.perf_counter() - t0,
        }
    return {
        "i": i,
        "passed": res.passed,
        "checked": res.outputs_checked,
        "mismatches": res.mismatches,
        "first": res.first_failure,
        "coverage": res.coverage,
        "wall": time.perf_counter() - t0,
        "sim_seconds": res.sim_seconds,
    }


def parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="python -m soak", description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10_000_000)
    p.add_argument("--seed", type=int)
    p.add_argument("--sims", default="verilator,icarus")
    p.add_argument("--icarus-share", type=float, default=0.03)
    p.add_argument("--per-run", type=int, default=1_000_000)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--rtl")
    p.add_argument("--ports")
    p.add_argument("--work", default=str(WORK_ROOT / "build" / "soak"))
    return p


def _check(a: argparse.Namespace) -> list[str]:
    sims = [s for s in a.sims.split(",") if s]
    bad = [s for s in sims if s not in SIMULATORS]
    if bad or not sims:
        raise UsageError(f"SIMS = {a.sims!r}: allowed verilator, icarus (comma-separated)")
    for name in ("n", "per_run", "jobs"):
        if getattr(a, name) < 1:
            raise UsageError(
                f"{name.upper()} = {getattr(a, name)} is out of range: allowed 1 or more"
            )
    if not 0.0 <= a.icarus_share <= 1.0:
        raise UsageError(f"ICARUS_SHARE = {a.icarus_share} is out of range: allowed 0 .. 1")
    return sims


def check_plan(runs: list, sims: list[str], a: argparse.Namespace) -> None:
    """A :class:`UsageError` when a simulator of ``SIMS`` gets no run (a soak that checks
    nothing on it is not a pass)."""
    for sim in sims:
        if not any(r[0] == sim for r in runs):
            raise no_work(
                "ICARUS_SHARE" if len(sims) > 1 else "N",
                a.icarus_share if len(sims) > 1 else a.n,
                f"{sim} (in SIMS = {a.sims}) gets no outputs of N = {a.n}",
            )


def main(argv: list[str] | None = None) -> int:
    """``python -m soak``: the exit status (module docstring)."""
    argv = sys.argv[1:] if argv is None else argv
    return run_main(lambda: _main(argv), prog="python -m soak", tool_errors=(SimulatorMissing,))


def _main(argv: list[str]) -> int:
    p = parser()
    a = p.parse_args(normalize_argv(argv, p))
    sims = _check(a)
    rtl = user_rtl(a.rtl, a.ports).resolve()
    for sim in sims:
        why = simulator_missing(sim)
        if why:
            raise ToolFailure(why)
    seed = a.seed if a.seed is not None else secrets.randbelow(2**31)
    runs = plan(a.n, seed, sims, a.icarus_share, a.per_run)
    check_plan(runs, sims, a)
    root = Path(a.work).resolve()
    print(
        f"qmac soak: {a.n} outputs over {len(runs)} random configs on {', '.join(sims)}, "
        f"seed {seed}, {a.jobs} in parallel"
        + (f", RTL {a.rtl}" if a.rtl else "")
        + (f" through PORTS {a.ports}" if a.ports else ""),
        flush=True,
    )
    t0 = time.perf_counter()
    totals = {s: [0, 0, 0] for s in sims}  # checked, mismatches, runs
    hits: dict[str, int] = {}
    required: set[str] = set()
    failures = []
    jobs = [(i, sim, cfg, n, s, str(root), str(rtl)) for i, (sim, cfg, n, s) in enumerate(runs)]
    with ProcessPoolExecutor(max_workers=a.jobs) as pool:
        for k, r in enumerate(pool.map(_run, jobs), 1):
            sim, cfg, _, s = runs[r["i"]]
            totals[sim][2] += 1
            if "error" in r:
                failures.append((sim, cfg, s, r["error"]))
                print(f"  [{k:3d}/{len(runs)}] {sim:9s} ERROR {r['error']}", flush=True)
                continue
            totals[sim][0] += r["checked"]
            totals[sim][1] += r["mismatches"]
            cov = r["coverage"]
            for b, h in cov.get("hits", {}).items():
                hits[b] = hits.get(b, 0) + h
            required |= set(cov.get("required", []))
            if not r["passed"]:
                failures.append((sim, cfg, s, r["first"]))
            print(
                f"  [{k:3d}/{len(runs)}] {sim:9s} {r['checked']:8d} outputs "
                f"{r['mismatches']:3d} mismatches  {cov.get('summary', 'no coverage')}  "
                f"{r['wall']:5.1f} s  {cfg.describe()}",
                flush=True,
            )
    wall = time.perf_counter() - t0
    checked = sum(t[0] for t in totals.values())
    mismatches = sum(t[1] for t in totals.values())
    holes = sorted(b for b in required if not hits.get(b))
    print("\nqmac soak: " + ("PASS" if not failures else "FAIL"))
    for sim, (c, m, nr) in totals.items():
        print(f"  {sim:10s} {c:10d} outputs checked, {m} mismatches, {nr} configs")
    print(
        f"  total      {checked:10d} outputs checked, {mismatches} mismatches, {len(runs)} configs"
    )
    print(
        f"  coverage   {len(required) - len(holes)}/{len(required)} bins required by some "
        f"config hit" + (f"; never hit: {', '.join(holes)}" if holes else "")
    )
    print(f"  wall       {wall:.0f} s ({checked / wall:.0f} checked outputs/s)")
    for sim, cfg, s, why in failures:
        print(f"  failed     {sim} seed {s} config {cfg.to_json()}: {why}")
    return 1 if failures else 0
