"""Joining the shards of a sweep into the run an unsharded sweep would have given.

Each shard leaves ``<out>/<spec>/shards/<label>/run.json``; :func:`merge` reads them all and
checks that together they hold every point of the spec exactly once (same spec text, same N),
then returns one run: the points in spec order, the skipped combinations, the tools, and the wall
time of the slowest shard (the shards ran side by side) next to the sum of all of them.
"""

from __future__ import annotations

import json
from pathlib import Path

from .spec import Spec, spec_digest


class MergeError(RuntimeError):
    """The shards do not add up to the sweep (missing, repeated or foreign points)."""


def shard_runs(spec_out: Path) -> list[tuple[Path, dict]]:
    """The shard runs found under ``spec_out/shards/`` at any depth (sorted by path): a shard
    folder copied there as it is, or as a CI artifact keeps it (actions/upload-artifact keeps
    the folders after the first wildcard of its path:
    ``shards/<artifact>/<spec>/shards/<sim>-<k>-of-<n>/run.json``)."""
    found = []
    for path in sorted(Path(spec_out).glob("shards/**/run.json")):
        try:
            found.append((path, json.loads(path.read_text())))
        except (OSError, ValueError) as exc:
            raise MergeError(f"cannot read shard results {path}: {exc}") from None
    return found


def shard_auto_sims(runs: list[tuple[Path, dict]]) -> tuple[str, ...] | None:
    """The simulators the shards' ``sim = "auto"`` points chose among (the merge expands the
    spec with them, not with what is installed where it runs); None when no shard says."""
    seen = {tuple(run["auto_sims"]): path for path, run in runs if "auto_sims" in run}
    if len(seen) > 1:
        text = "; ".join(f"{p.parent.name}: {', '.join(s) or 'none'}" for s, p in seen.items())
        raise MergeError(
            "the shards chose the simulators of sim = auto among different "
            f"installed simulators ({text}): install the same simulators on every "
            "runner and run them again"
        )
    return next(iter(seen)) if seen else None


def merge(spec: Spec, spec_out: Path) -> dict:
    """The merged run of the shards under ``spec_out`` (raises :class:`MergeError`)."""
    runs = shard_runs(spec_out)
    if not runs:
        raise MergeError(
            f"no shard results under {Path(spec_out) / 'shards'}: run "
            "`make sweep SHARD=k/n` for each k first (or copy the shards' folders "
            "there)"
        )
    digest = spec_digest(spec)
    n_override = {run.get("n_override") for _, run in runs}
    if len(n_override) != 1:
        raise MergeError(f"the shards ran with different N: {sorted(map(str, n_override))}")
    n_override = n_override.pop()
    auto_sims = shard_auto_sims(runs)
    points, skipped, _ = spec.expand(n_override, auto_sims=auto_sims)
    expected = [p.key for p in points]
    seen: dict[str, tuple[Path, dict]] = {}
    for path, run in runs:
        if run.get("spec_digest") != digest:
            raise MergeError(
                f"{path} is from another version of {spec.path} "
                f"(spec digest {run.get('spec_digest')}, now {digest})"
            )
        for rec in run["points"]:
            if rec["key"] in seen:
                raise MergeError(
                    f"point {rec['key']} is in two shards: {seen[rec['key']][0]} and {path}"
                )
            seen[rec["key"]] = (path, rec)
    missing = [k for k in expected if k not in seen]
    extra = sorted(set(seen) - set(expected))
    if missing:
        raise MergeError(
            f"{len(missing)} point(s) of the sweep are in no shard (first: "
            f"{missing[0]}); shards found: {', '.join(str(p.parent.name) for p, _ in runs)}"
        )
    if extra:
        raise MergeError(
            f"{len(extra)} point(s) in the shards are not in the sweep (first: {extra[0]})"
        )
    tools: dict = {}
    for _, run in runs:
        for k, v in run.get("facts", {}).get("tools", {}).items():
            tools.setdefault(k, set()).add(v)
    walls = [run.get("wall_seconds", 0.0) for _, run in runs]
    first = runs[0][1]
    return {
        "spec": spec.name,
        "spec_path": str(spec.path),
        "spec_digest": digest,
        "shard": None,
        "merged_from": [str(p.parent.name) for p, _ in runs],
        "n_override": n_override,
        "sim_filter": None,
        "auto_sims": list(auto_sims) if auto_sims is not None else [],
        "axes": spec.axes_by_origin(),
        "points": [seen[k][1] for k in expected],
        "skipped": [s.to_dict() for s in skipped],
        "impossible": first.get("impossible", []),
        "facts": {
            "tools": {k: " | ".join(sorted(v)) for k, v in tools.items()},
            "rtl_dir": first.get("facts", {}).get("rtl_dir", ""),
            "ran": sum(r.get("facts", {}).get("ran", 0) for _, r in runs),
            "reused": sum(r.get("facts", {}).get("reused", 0) for _, r in runs),
        },
        "wall_seconds": max(walls),
        "shard_seconds_total": sum(walls),
        "started": min(r.get("started", "") for _, r in runs),
    }
