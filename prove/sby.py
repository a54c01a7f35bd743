"""Run one SymbiYosys task with a time limit and read its verdict.

Statuses: ``proven`` (sby PASS in prove mode, or a depth-1 BMC of a combinational miter, which
covers every input), ``bounded`` (BMC passed to its depth, or k-induction did not close: no
failure within that many cycles, nothing more), ``failed`` (a counterexample: the trace is in
the task folder), ``timeout`` (killed at the limit: never a pass) and ``error`` (the tools
failed; the last log line says why).
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import time
from pathlib import Path

from mutate.proc import run_in_group

from .tools import environment, sby_command

PROVEN, BOUNDED, FAILED, TIMEOUT, ERROR = "proven", "bounded", "failed", "timeout", "error"

_DONE = re.compile(r"DONE \((\w+), rc=\d+\)")


@dataclasses.dataclass
class Outcome:
    """The verdict of one task."""

    status: str
    seconds: float
    detail: str = ""
    workdir: Path | None = None


def sby_text(script: str, files: dict[str, Path], *, mode: str, depth: int, solver: str) -> str:
    """The .sby file: ``files`` maps a name in the task's src/ folder to its source."""
    lines = [
        "[options]",
        f"mode {mode}",
        f"depth {depth}",
        "",
        "[engines]",
        f"smtbmc {solver}",
        "",
        "[script]",
        script.strip(),
        "",
        "[files]",
    ]
    lines += [f"{dest} {Path(src).resolve()}" for dest, src in files.items()]
    return "\n".join(lines) + "\n"


def run(task: Path, text: str, *, timeout: float, complete: bool) -> Outcome:
    """Write ``task``.sby, run it, and read the verdict; ``complete``: a pass is a proof."""
    task = Path(task).resolve()
    if task.exists():
        shutil.rmtree(task)
    task.parent.mkdir(parents=True, exist_ok=True)
    sby_file = task.with_suffix(".sby")
    sby_file.write_text(text)
    t0 = time.perf_counter()
    proc = run_in_group(
        sby_command(sby_file),
        timeout,
        cwd=task.parent,
        env=environment(task.parent),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seconds = time.perf_counter() - t0
    if proc is None:
        return Outcome(TIMEOUT, seconds, f"no verdict within {timeout:.0f} s", task)
    m = _DONE.search(proc.stdout)
    verdict = m.group(1) if m else "ERROR"
    if verdict == "PASS":
        return Outcome(PROVEN if complete else BOUNDED, seconds, "", task)
    if verdict == "FAIL":
        return Outcome(FAILED, seconds, "counterexample", task)
    if verdict == "UNKNOWN":
        return Outcome(BOUNDED, seconds, "induction did not close", task)
    errors = [ln for ln in proc.stdout.splitlines() if "ERROR" in ln or "error" in ln]
    return Outcome(ERROR, seconds, (errors[-1] if errors else proc.stdout[-200:]).strip(), task)
