"""Measure the constants of :mod:`tb.run.cost`: build and run CPU seconds per simulator.

For ``lanes1``, ``default`` and ``lanes32`` on Verilator and Icarus, in a scratch build root
(``build/bench/cost/``) with the shared Verilator runtime already built: one build of the batch
harness (quick profile), then a short and a long run (the default ``make sim`` stimulus,
handshake patterns and resets). Prints the build CPU seconds, the fixed CPU seconds of a run
and the CPU seconds per output (a straight line through the two runs), with the load average.
``python -m tb.bench.cost_fit``; the figures go into ``tb/run/cost.py`` by hand.
"""

from __future__ import annotations

import os
import resource
import shutil
import time

from pyref.config import named_config
from tb.run.build import REPO_ROOT, BuildSpec, build, build_profile
from tb.run.runner import get_transport, run_sim
from tb.shared.job import SimJob

SCRATCH = REPO_ROOT / "build" / "bench" / "cost"
RUNS = {"verilator": (2_000, 40_000), "icarus": (1_000, 8_000)}


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main() -> int:
    shutil.rmtree(SCRATCH, ignore_errors=True)
    root = SCRATCH / "sim"
    for sim, (n1, n2) in RUNS.items():
        for name in ("default", "lanes1", "lanes32"):
            cfg = named_config(name)
            spec = BuildSpec(
                sim=sim,
                config=cfg,
                harness=get_transport("batch").harness,
                build_root=root,
                profile=build_profile(n1),
            )
            c0 = _cpu()
            b = build(spec)
            build_cpu = _cpu() - c0
            points = []
            for n in (n1, n2):
                job = SimJob(config=cfg.to_dict(), config_name=name, sim=sim, seed=1, n=n)
                load = os.getloadavg()[0]
                c0, t0 = _cpu(), time.perf_counter()
                res = run_sim(job, build_root=root)
                points.append(
                    (
                        n,
                        _cpu() - c0,
                        time.perf_counter() - t0,
                        load,
                        res.report.beats if hasattr(res.report, "beats") else 0,
                    )
                )
            (na, ca, *_), (nb, cb, *_) = points
            slope = (cb - ca) / (nb - na)
            print(
                f"{sim:9s} {name:8s} build {build_cpu:5.2f} s CPU ({b.seconds:.1f} s wall) | "
                f"run fixed {ca - slope * na:5.2f} s CPU, {slope * 1e6:6.1f} us CPU/output | "
                + " ".join(
                    f"N={n}: {c:.2f} s CPU {w:.1f} s wall load {ld:.1f} beats {bt}"
                    for n, c, w, ld, bt in points
                ),
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
