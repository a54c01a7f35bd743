"""The table ``make prove`` prints and its JUnit file."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

from pyref.config import NAMED_CONFIGS

from .plan import MODULE, MULTIPLIER
from .run import Result
from .sby import BOUNDED, FAILED, PROVEN


def _configs(r: Result) -> str:
    if r.check.kind == MODULE:
        every = set(r.check.configs) == set(NAMED_CONFIGS)
        return "all named" if every else ",".join(r.check.configs)
    return "-" if r.check.kind == MULTIPLIER else "qmac_protocol.v"


def table(results: list[Result]) -> str:
    """One row per check: what, configs, verdict, time, solver."""
    rows = [("check", "configs", "verdict", "time", "solver")]
    for r in results:
        what = r.check.label if r.check.kind != "protocol" else _property(r)
        rows.append(
            (f"[{r.check.kind}] {what}", _configs(r), r.verdict, f"{r.seconds:.1f} s", r.solver)
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"  {r.check.label}: {r.detail}" for r in results if r.status == BOUNDED and r.detail]
    return "\n".join(lines + (["", "bounded, why:", *notes] if notes else []))


def _property(r: Result) -> str:
    """``qmac: latency = 5 advances``, ``qmac: in_ready``."""
    latency = dict(r.check.params).get("LATENCY")
    extra = f" = {latency} advances" if r.check.module == "latency" and latency else ""
    return f"qmac: {r.check.module}{extra}"


def summary(results: list[Result]) -> str:
    """``41 proven, 3 bounded, 0 failed, 0 timeout, 0 error``."""
    count = {
        s: sum(r.status == s for r in results)
        for s in (PROVEN, BOUNDED, FAILED, "timeout", "error")
    }
    return ", ".join(f"{n} {s}" for s, n in count.items())


def write_junit(path: Path, results: list[Result]) -> Path:
    """One testcase per check: a failure for a counterexample, an error for a timeout or a
    tool error (never a pass), a pass with the depth in its name for a bounded check."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    bad = sum(r.status == FAILED for r in results)
    err = sum(r.status not in (PROVEN, BOUNDED, FAILED) for r in results)
    cases = []
    for r in results:
        name = quoteattr(f"{r.check.label} [{r.verdict}, {r.solver}]")
        head = f'  <testcase classname="prove.{r.check.kind}" name={name} time="{r.seconds:.2f}"'
        body = ""
        if r.status == FAILED:
            msg = f"counterexample in {r.workdir}" + (f"; replay: {r.replay}" if r.replay else "")
            body = f"<failure message={quoteattr(msg)}/>"
        elif r.status not in (PROVEN, BOUNDED):
            body = f"<error message={quoteattr(r.status + ': ' + r.detail)}/>"
        cases.append(f"{head}>{body}</testcase>" if body else f"{head}/>")
    total = sum(r.seconds for r in results)
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<testsuite name="prove" tests="{len(results)}" failures="{bad}" '
        f'errors="{err}" time="{total:.2f}">\n' + "\n".join(cases) + "\n</testsuite>\n"
    )
    return path
