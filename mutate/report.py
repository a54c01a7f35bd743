"""The mutation report: the table, the survivors with file, line and diff, and a JSON copy."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path

from .generate import FAMILIES, Mutant
from .regress import EQUIVALENT, KILLED, NO_BUILD, SURVIVED, Verdict

STATUSES = (KILLED, SURVIVED, EQUIVALENT, NO_BUILD)


@dataclasses.dataclass
class Outcome:
    """One mutant and what became of it."""

    mutant: Mutant
    verdict: Verdict
    diff: str
    proofs: dict = dataclasses.field(default_factory=dict)
    """Config name -> :class:`mutate.equiv.Proof`, for survivors."""
    reused: bool = False
    """The verdict came from the cache (:mod:`mutate.cache`), not from this campaign."""

    @property
    def status(self) -> str:
        return self.verdict.status


def kill_rate(outcomes: list[Outcome]) -> float | None:
    """Killed over killed + survived (equivalent and did-not-build left out); None if none."""
    c = Counter(o.status for o in outcomes)
    den = c[KILLED] + c[SURVIVED]
    return c[KILLED] / den if den else None


def table(outcomes: list[Outcome], wall: float) -> str:
    """The summary table, then one line per file and per family."""

    def row(label: str, group: list[Outcome]) -> str:
        c = Counter(o.status for o in group)
        rate = kill_rate(group)
        rate_s = "    -" if rate is None else f"{100 * rate:5.1f}"
        return (
            f"  {label:24s}{len(group):8d}{c[KILLED]:8d}{c[SURVIVED]:10d}"
            f"{c[EQUIVALENT]:12d}{c[NO_BUILD]:15d}{rate_s:>11s} %"
        )

    head = (
        f"  {'':24s}{'mutants':>8s}{'killed':>8s}{'survived':>10s}{'equivalent':>12s}"
        f"{'did-not-build':>15s}{'kill rate':>13s}"
    )
    lines = [head, row("all", outcomes)]
    files = sorted({o.mutant.file for o in outcomes})
    if len(files) > 1:
        lines.append("  by file:")
        lines += [row(f, [o for o in outcomes if o.mutant.file == f]) for f in files]
    fams = [f for f in (*FAMILIES, "planted") if any(o.mutant.family == f for o in outcomes)]
    if len(fams) > 1:
        lines.append("  by operator family:")
        lines += [row(f, [o for o in outcomes if o.mutant.family == f]) for f in fams]
    lines.append(
        f"  kill rate = killed / (killed + survived), over the non-equivalent mutants "
        f"that build; wall time {wall:.0f} s"
    )
    return "\n".join(lines)


def survivor_text(o: Outcome) -> str:
    """A surviving mutant: where, what, the diff, and what the proof said."""
    m = o.mutant
    lines = [f"  {m.file}:{m.line}  [{m.family}] {m.what}"]
    lines += [f"      {d}" for d in o.diff.splitlines()]
    for name, p in o.proofs.items():
        if p.status != "equivalent":
            lines.append(
                f"      not proven equivalent under {name}: {p.status}"
                + (f" ({p.detail})" if p.detail else "")
            )
    return "\n".join(lines)


def save_json(path: Path, outcomes: list[Outcome], meta: dict) -> None:
    """The whole run as JSON (one record per mutant)."""
    recs = []
    for o in outcomes:
        recs.append(
            {
                "id": o.mutant.id,
                "file": o.mutant.file,
                "line": o.mutant.line,
                "family": o.mutant.family,
                "what": o.mutant.what,
                "diff": o.diff,
                "status": o.status,
                "by": o.verdict.by,
                "detail": o.verdict.detail,
                "configs_run": o.verdict.configs_run,
                "seconds": round(o.verdict.seconds, 2),
                "reused": o.reused,
                "proofs": {k: dataclasses.asdict(p) for k, p in o.proofs.items()},
            }
        )
    c = Counter(o.status for o in outcomes)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(
        json.dumps(
            {
                **meta,
                "counts": {s: c[s] for s in STATUSES},
                "kill_rate": kill_rate(outcomes),
                "mutants": recs,
            },
            indent=1,
        )
    )
