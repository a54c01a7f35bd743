"""Run the checks of a plan (``JOBS`` at a time) and collect one result per check."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from . import miter, protocol, sby
from .plan import PROTOCOL, Check


@dataclasses.dataclass
class Result:
    """The verdict of one check, with the solver and the time it took."""

    check: Check
    status: str
    seconds: float
    solver: str
    depth: int = 1
    detail: str = ""
    workdir: Path | None = None
    replay: str = ""
    """The ``make sim VECTORS=...`` command that replays a counterexample, when there is one."""

    @property
    def verdict(self) -> str:
        """``proven``, ``bounded to depth 12``, ``failed``, ``timeout`` or ``error``."""
        if self.status == sby.BOUNDED:
            return f"bounded to depth {self.depth}"
        return self.status


def run_check(check: Check, rtl_dir: Path, work: Path, solver: str, timeout: float) -> Result:
    """Prove one check; its task folder is ``work``/<check.slug>."""
    if check.kind == PROTOCOL:
        return run_protocol(check, rtl_dir, work, solver, timeout)
    text = miter.task_text(check, rtl_dir, solver)  # combinational miter: depth 1
    out = sby.run(Path(work) / check.slug, text, timeout=timeout, complete=True)
    return Result(check, out.status, out.seconds, solver, 1, out.detail, out.workdir)


def run_protocol(check: Check, rtl_dir: Path, work: Path, solver: str, timeout: float) -> Result:
    """BMC and k-induction of a protocol property with the checker's invariants. A
    counterexample to an invariant rather than to the property (an RTL whose stages the
    invariants do not describe) runs the property again without the stage invariants."""
    text, depth, why = protocol.task_text(check, rtl_dir, solver)
    out = sby.run(Path(work) / check.slug, text, timeout=timeout, complete=True)
    seconds = out.seconds
    if out.status == sby.FAILED and not why:
        line = protocol.failed_assertion(out.workdir)
        if line and not protocol.is_property_line(line):
            text, depth, _ = protocol.task_text(check, rtl_dir, solver, invariants=False)
            why = f"no stage invariants: {line.strip()} fails on this RTL"
            out = sby.run(
                Path(work) / (check.slug + "_plain"), text, timeout=timeout, complete=True
            )
            seconds += out.seconds
    detail = "; ".join(d for d in (out.detail, why) if d)
    return Result(check, out.status, seconds, solver, depth, detail, out.workdir)


def run_ladder(
    ladder: list[Check], rtl_dir: Path, work: Path, solver: str, timeout: float
) -> list[Result]:
    """The checks of a multiplier ladder, smallest first, up to the first that is not proven."""
    out = []
    for check in ladder:
        out.append(run_check(check, rtl_dir, work, solver, timeout))
        if out[-1].status != sby.PROVEN:
            break
    return out


def run_all(
    checks: list[Check],
    ladders: list[list[Check]],
    rtl_dir: Path,
    work: Path,
    *,
    solver: Callable[[Check], str],
    timeout: float,
    jobs: int,
    progress: Callable[[Result], None] = lambda r: None,
) -> list[Result]:
    """Every check and ladder, ``jobs`` at a time, in the order given."""

    def one(item):
        if isinstance(item, list):
            res = run_ladder(item, rtl_dir, work, solver(item[0]), timeout)
        else:
            res = [run_check(item, rtl_dir, work, solver(item), timeout)]
        for r in res:
            progress(r)
        return res

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return [r for rs in pool.map(one, [*checks, *ladders]) for r in rs]
