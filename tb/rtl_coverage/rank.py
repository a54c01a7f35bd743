"""Which runs add coverage no other run adds, and the fewest runs that reach it all."""

from __future__ import annotations

from collections import Counter

from .points import Point


def hit_sets(runs: dict[str, dict[Point, int]]) -> dict[str, set[Point]]:
    return {name: {p for p, n in counts.items() if n > 0} for name, counts in runs.items()}


def unique_hits(runs: dict[str, dict[Point, int]]) -> dict[str, set[Point]]:
    """``{run: points only that run hits}``."""
    hits = hit_sets(runs)
    runs_hitting = Counter(p for mine in hits.values() for p in mine)  # linear in the runs
    return {name: {p for p in mine if runs_hitting[p] == 1} for name, mine in hits.items()}


def greedy_order(runs: dict[str, dict[Point, int]]) -> list[tuple[str, int]]:
    """Runs in the order a greedy set cover picks them (each the one adding the most points
    not hit yet; ties by name), with how many points each adds; runs that add nothing are
    left out. The prefix is the smallest set the greedy rule finds reaching every point any
    run hits."""
    hits = hit_sets(runs)
    covered: set[Point] = set()
    order = []
    left = dict(hits)
    while left:
        name = max(sorted(left), key=lambda n: len(left[n] - covered))
        gain = len(left.pop(name) - covered)
        if gain == 0:
            break
        covered |= hits[name]
        order.append((name, gain))
    return order
