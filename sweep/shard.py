"""Splitting a sweep over CI runners: ``SHARD=k/n`` picks a deterministic, cost-balanced subset.

Every shard computes the same split from the spec alone (no shared state, no clock): the points
are sorted by predicted cost (build + simulation + synthesis seconds, :func:`predicted_seconds`),
most expensive first, ties broken by key, and each goes to the shard with the least predicted
work so far (longest-processing-time-first). The union of the shards is the whole sweep and no
point is in two shards.
"""

from __future__ import annotations

import re

from tb.cli.errors import UsageError

from .points import Point

# Rough seconds on one core of the 2-core machine this was measured on (not a contract: a wrong
# guess only unbalances the shards). Icarus builds in well under a second; a Verilator build of
# the batch testbench takes 10-20 s.
BUILD_SECONDS = {"icarus": 0.5, "verilator": 15.0}
START_SECONDS = {"icarus": 1.5, "verilator": 2.0}
OUTPUTS_PER_SECOND = {"icarus": 4000.0, "verilator": 60000.0}


def predicted_seconds(p: Point) -> float:
    """Predicted build + run + synthesis time of ``p`` on one core."""
    cfg = p.config
    sim = (
        BUILD_SECONDS.get(p.sim, 15.0)
        + START_SECONDS.get(p.sim, 2.0)
        + p.n / OUTPUTS_PER_SECOND.get(p.sim, 4000.0)
    )
    synth = 0.8 + 0.1 * cfg.lanes * cfg.in_bits * cfg.w_bits / 64
    return sim + synth


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"2/4"`` -> ``(2, 4)``; None or "" -> None (the whole sweep)."""
    if not text:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not m:
        raise UsageError(f"SHARD = {text!r} must look like k/n (e.g. 1/4)")
    k, n = int(m.group(1)), int(m.group(2))
    if n < 1 or not 1 <= k <= n:
        raise UsageError(f"SHARD = {text!r} is out of range: allowed 1 <= k <= n, n >= 1")
    return k, n


def split(points: list[Point], n: int) -> list[list[Point]]:
    """The ``n`` shards of ``points`` (each in the order of ``points``)."""
    load = [0.0] * n
    member: dict[str, int] = {}
    for p in sorted(points, key=lambda p: (-predicted_seconds(p), p.key)):
        i = min(range(n), key=lambda j: (load[j], j))
        load[i] += predicted_seconds(p)
        member[p.key] = i
    return [[p for p in points if member[p.key] == i] for i in range(n)]


def select(points: list[Point], k: int, n: int) -> list[Point]:
    """The points of shard ``k`` of ``n`` (1-based)."""
    return split(points, n)[k - 1]
