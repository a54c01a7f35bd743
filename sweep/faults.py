"""What a sweep catches: the planted faults of the fault table (``tb/shared/faults.py``) against
the points of a spec (``python -m sweep faults``).

Each fault is applied alone to a copy of the RTL; the spec's points run on it one after another
(each with its own seed and N, so the same stimulus as in the sweep) until one fails: the fault
is caught by that point, or missed by all of them. A point that catches a fault is checked to
pass on the unchanged RTL, so a point that fails anyway cannot count as a catch. ``SIM`` runs
every point on one simulator (the stimulus depends on the config, seed and N, not on the
simulator), e.g. Icarus, whose builds take about a second against Verilator's 10-20 s.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import time
from pathlib import Path

from tb import api as tb_api

from .points import Point


@dataclasses.dataclass
class Catch:
    """One fault against the points: the point that caught it (None: missed) and how."""

    fault: str
    caught_by: str | None
    kinds: dict
    """The mismatch kinds of the catching run (``{"value": 3}``), or ``{"error": 1}``."""
    message: str
    runs: int
    """Points run until the catch (all of them when missed)."""
    seconds: float


def catch_one(
    fault_name: str, points: list[dict], rtl_dir: str, sim: str | None, work: str
) -> Catch:
    """Run ``points`` on the RTL with fault ``fault_name`` until one fails (a worker process)."""
    t0 = time.perf_counter()
    fault = tb_api.fault_by_name(fault_name)
    where = Path(work) / fault_name
    rtl = tb_api.apply_fault(fault, where / "rtl", Path(rtl_dir))
    for i, d in enumerate(points, start=1):
        p = Point.from_dict(d)
        try:
            out = tb_api.run_config(
                p.config,
                sim=sim or p.sim,
                seed=p.seed,
                n=p.n,
                rtl_dir=rtl,
                build_root=where / "build",
                test_dir=where / "run",
                max_mismatches=3,
            )
        except (tb_api.BuildFailed, tb_api.SimulationFailed, RuntimeError) as exc:
            first = (str(exc).splitlines() or [type(exc).__name__])[0]
            return Catch(fault_name, p.key, {"error": 1}, first, i, time.perf_counter() - t0)
        if not out.passed:
            kinds = dict(out.mismatch_counts) or {"error": 1}
            return Catch(fault_name, p.key, kinds, out.first_failure, i, time.perf_counter() - t0)
    return Catch(fault_name, None, {}, "", len(points), time.perf_counter() - t0)


def passes_unchanged(point: dict, rtl_dir: str, sim: str | None, work: str) -> bool:
    """Whether ``point`` passes on the unchanged RTL (with the same simulator as the catches)."""
    p = Point.from_dict(point)
    out = tb_api.run_config(
        p.config,
        sim=sim or p.sim,
        seed=p.seed,
        n=p.n,
        rtl_dir=Path(rtl_dir),
        build_root=Path(work) / "unchanged" / "build",
        test_dir=Path(work) / "unchanged" / "run",
        max_mismatches=3,
    )
    return out.passed


def catch_table(
    points: list[Point],
    faults: list[str],
    *,
    rtl_dir: Path,
    sim: str | None,
    work: Path,
    jobs: int = 1,
    log=print,
) -> list[Catch]:
    """Every fault of ``faults`` against ``points`` (in the order of ``faults``); raises
    ``RuntimeError`` when a catching point fails on the unchanged RTL too."""
    dicts = [p.to_dict() for p in points]
    found: dict[str, Catch] = {}
    with concurrent.futures.ProcessPoolExecutor(max_workers=max(1, min(jobs, len(faults)))) as ex:
        futures = [ex.submit(catch_one, f, dicts, str(rtl_dir), sim, str(work)) for f in faults]
        for fut in concurrent.futures.as_completed(futures):
            c = fut.result()
            found[c.fault] = c
            log(
                f"  {c.fault:<28} "
                + (
                    f"caught by {c.caught_by} {c.kinds} (point {c.runs} of {len(points)})"
                    if c.caught_by
                    else f"MISSED by all {len(points)} points"
                )
                + f" ({c.seconds:.0f} s)"
            )
    by_key = {d["key"]: d for d in dicts}
    for key in sorted({c.caught_by for c in found.values() if c.caught_by}):
        if not passes_unchanged(by_key[key], str(rtl_dir), sim, str(work)):
            raise RuntimeError(
                f"point {key} fails on the unchanged RTL too: its catches mean nothing"
            )
    return [found[f] for f in faults]


def markdown(spec_name: str, n_points: int, sim: str | None, table: list[Catch]) -> str:
    """The catch table as Markdown."""
    caught = [c for c in table if c.caught_by]
    lines = [
        f"Fault table (tb/shared/faults.py) against the {n_points} points of `{spec_name}`"
        + (f" (run on {sim})" if sim else "")
        + f": {len(caught)} of {len(table)} caught",
        "",
        "| fault | caught by | how | points run | s |",
        "|---|---|---|---:|---:|",
    ]
    for c in table:
        how = ", ".join(f"{k} {v}" for k, v in c.kinds.items())
        lines.append(
            f"| `{c.fault}` | {f'`{c.caught_by}`' if c.caught_by else '**missed**'} | {how} | "
            f"{c.runs} | {c.seconds:.0f} |"
        )
    return "\n".join(lines) + "\n"
