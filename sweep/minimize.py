"""The smallest sweep that reaches what a whole sweep reaches (``make sweep-minimize``).

From a finished ``make sweep COVERAGE=1``: each passing point's set is the RTL code coverage
points it hit (line, branch, toggle, expression; its ``coverage.dat``) and the functional bins
it hit. :func:`cover` picks few points whose sets together equal the union over every point
(greedy set cover, then every point the others make redundant dropped), and
:func:`spec_text` writes them as a spec of ``[[include]]`` rows. Each row names every config
field, the simulator and N, and the spec keeps the full spec's seed, so a point gets the same
key, seed and stimulus as in the full sweep and so the same sets.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Hashable, Iterable, Mapping

from pyref.config import QmacConfig
from tb import api as tb_api

from .points import Point
from .shard import predicted_seconds


class MinimizeError(ValueError):
    """The run cannot be minimized (no coverage, failed points, nothing hit); the message says
    which and what to run."""


def cover(sets: Mapping[str, set[Hashable]], cost: Mapping[str, float] | None = None) -> list[str]:
    """Names whose sets together hold every element of any set: greedy (the one adding the most
    elements not held yet; ties the cheaper, then the first name in sorted order), then each
    chosen name the others make redundant dropped, the costliest first. In pick order."""
    cost = cost or {}
    universe: set = set().union(*sets.values()) if sets else set()
    chosen: list[str] = []
    held: set = set()
    left = sorted(sets)
    while held != universe:
        best = min(left, key=lambda n: (-len(sets[n] - held), cost.get(n, 0.0), n))
        chosen.append(best)
        left.remove(best)
        held |= sets[best]
    for name in sorted(chosen, key=lambda n: (-cost.get(n, 0.0), n)):
        rest = [m for m in chosen if m != name]
        if set().union(*(sets[m] for m in rest)) == universe:
            chosen = rest
    return chosen


def point_sets(records: Iterable[dict], rtl_files: list[str]) -> dict[str, set]:
    """``{point key: its code coverage points hit and ("bin", name) of its functional bins
    hit}`` over the records that carry code coverage (``coverage_dat``)."""
    out: dict[str, set] = {}
    for rec in records:
        dat = rec.get("coverage_dat")
        if not dat:
            continue
        if not Path(dat).is_file():
            raise MinimizeError(
                f"point {rec['key']}: its coverage file {dat} is gone; run the sweep again"
            )
        hits = {p for p, n in tb_api.read_code_coverage(Path(dat), rtl_files).items() if n}
        bins = ((rec.get("sim_result") or {}).get("coverage") or {}).get("hits", {})
        out[rec["key"]] = hits | {("bin", b) for b, n in bins.items() if n}
    return out


def minimize(run: dict, rtl_files: list[str]) -> tuple[list[dict], dict[str, set]]:
    """The records of ``run`` (a sweep's ``results.json``) the minimal spec keeps, in pick
    order, and every point's set. :class:`MinimizeError` when the run has a failed point, no
    code coverage or nothing hit."""
    records = run.get("points", [])
    failed = [r["key"] for r in records if r.get("verdict") != "pass"]
    if failed:
        raise MinimizeError(
            f"{len(failed)} point(s) of sweep {run.get('spec')} failed (first: {failed[0]}): "
            "minimize a sweep that passes"
        )
    sets = point_sets(records, rtl_files)
    if not sets:
        raise MinimizeError(
            f"sweep {run.get('spec')}: none of its {len(records)} points has RTL code coverage; "
            f"run make sweep SWEEP={run.get('spec')} COVERAGE=1 first"
        )
    if not set().union(*sets.values()):
        raise MinimizeError(
            f"sweep {run.get('spec')}: its points hit no coverage point and no bin: nothing to keep"
        )
    by_key = {r["key"]: r for r in records}
    cost = {k: predicted_seconds(Point.from_dict(by_key[k])) for k in sets}
    return [by_key[k] for k in cover(sets, cost)], sets


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return json.dumps(str(v))


def spec_text(
    name: str,
    seed: int,
    chosen: list[dict],
    sets: Mapping[str, set],
    *,
    source: str,
    command: str,
) -> str:
    """A sweep spec (TOML) of the ``chosen`` records as ``[[include]]`` rows, with the full
    spec's ``seed``; each row's comment says what it adds."""
    universe = set().union(*sets.values())
    code = sum(1 for e in universe if not (isinstance(e, tuple) and e[:1] == ("bin",)))
    held: set = set()
    lines = [
        f"# The smallest sweep found that reaches the same RTL code coverage ({code} line, "
        f"branch, toggle and expression points)",
        f"# and the same functional bins ({len(universe) - code}) as the {len(sets)} points "
        f"of {source} with COVERAGE=1.",
        f"# Written by `{command}` (greedy set cover, docs/coverage.md); regenerate it, do not "
        "edit it by hand.",
        f"# Every point keeps {source}'s seed and its N and simulator, so it runs the same "
        "stimulus as there.",
        f'name = "{name}"',
        f'description = "The fewest points of {Path(source).stem} that reach all its code '
        'coverage and functional bins"',
        f"seed = {seed}",
        'sim = "verilator"',
        'base = "default"',
    ]
    fields = list(QmacConfig.__dataclass_fields__)
    reached_by = Counter(e for s in sets.values() for e in s)
    for i, rec in enumerate(chosen, start=1):
        mine = sets[rec["key"]]
        only = {e for e in mine if reached_by[e] == 1}
        lines += [
            "",
            f"# {i}. {rec['key']} (from {rec.get('origin') or '?'}): +{len(mine - held)} "
            f"new, {len(only)} that no other point reaches",
            "[[include]]",
            'config = "default"',
            *(f"{f} = {_toml_value(rec['config'][f])}" for f in fields),
            f'sim = "{rec["sim"]}"',
            f"n = {int(rec['n'])}",
        ]
        held |= mine
    return "\n".join(lines) + "\n"
