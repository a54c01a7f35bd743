"""What a sweep skipped: the combinations pyref refuses, counted per axis value, and whether the
spec expects them (``allow_skip``: an unexpected one fails the sweep)."""

from __future__ import annotations

from collections import Counter, defaultdict

MAX_LINES = 12
"""Axis values shown in the summary (the rest are counted on one line)."""


def unexpected(run: dict) -> list[dict]:
    """The skipped combinations the spec does not expect."""
    return [s for s in run.get("skipped", []) if not s.get("expected")]


def _point_value(rec: dict, axis: str):
    return rec[axis] if axis in ("sim", "n") else rec["config"].get(axis)


def _skip_value(skip: dict, axis: str):
    return skip["sim"] if axis == "sim" else skip["fields"].get(axis)


def by_axis_value(run: dict) -> list[dict]:
    """Per value of a spec axis that lost points: ``axis``, ``value``, ``skipped``, ``of`` (the
    points and skips with that value), ``unexpected`` and ``reasons`` (reason -> count), the
    values with unexpected skips first, then by the share skipped."""
    axes = run.get("axes", {})
    total: Counter = Counter()
    for rec in run["points"]:
        for a in axes.get(rec.get("origin", ""), []):
            total[(a, _point_value(rec, a))] += 1
    skipped: Counter = Counter()
    bad: Counter = Counter()
    reasons: dict = defaultdict(Counter)
    for s in run.get("skipped", []):
        for a in axes.get(s.get("origin", ""), []):
            key = (a, _skip_value(s, a))
            if key[1] is None:
                continue
            total[key] += 1
            skipped[key] += 1
            bad[key] += not s.get("expected")
            reasons[key][s["reason"]] += 1
    rows = [
        {
            "axis": a,
            "value": v,
            "skipped": n,
            "of": total[(a, v)],
            "unexpected": bad[(a, v)],
            "reasons": dict(reasons[(a, v)].most_common()),
        }
        for (a, v), n in skipped.items()
    ]
    return sorted(
        rows,
        key=lambda r: (
            -r["unexpected"],
            -r["skipped"] / r["of"],
            -r["skipped"],
            r["axis"],
            str(r["value"]),
        ),
    )


def _shown(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def summary_lines(run: dict) -> list[str]:
    """The skip summary: counts, then one line per axis value with its first reason ([] when
    nothing was skipped)."""
    skipped = run.get("skipped", [])
    if not skipped:
        return []
    bad = unexpected(run)
    head = f"skipped {len(skipped)} combination(s) pyref refuses: " + (
        f"{len(bad)} not allowed by the spec (allow_skip): the sweep fails"
        if bad
        else "all allowed by the spec (allow_skip)"
    )
    lines = [head]
    rows = by_axis_value(run)
    for r in rows[:MAX_LINES]:
        reason, *others = r["reasons"]
        more = f" (+{len(others)} other reason(s))" if others else ""
        flag = f", {r['unexpected']} not allowed" if r["unexpected"] else ""
        lines.append(
            f"  {r['axis']} = {_shown(r['value'])}: {r['skipped']} of {r['of']} "
            f"skipped{flag}: {reason}{more}"
        )
    if len(rows) > MAX_LINES:
        lines.append(f"  ... and {len(rows) - MAX_LINES} more axis value(s) (results.json)")
    return lines
