"""Pairwise covering arrays: rows in which every pair of values of two axes appears at least once.

A greedy in the style of AETG: each new row starts from the first pair still uncovered and fills
the other axes one by one with the value that covers the most uncovered pairs (ties: the first
value in the axis's order). A ``valid`` predicate rejects rows that cannot be built (configs that
pyref refuses): an invalid row is repaired by changing up to three other axes (at most
:data:`MAX_TRIES` rows per pair); a pair for which that finds no valid row is reported as
impossible instead of covered (the report lists them).
Deterministic: the same axes give the same rows.
"""

from __future__ import annotations

import itertools
from typing import Callable, Mapping, Sequence

Row = dict
MAX_REPAIR = 3
"""Free axes changed at most at once to turn an invalid greedy row into a valid one."""
MAX_TRIES = 600
"""Rows tried per pair before it is given up as impossible (small specs never reach it)."""
Pair = tuple[tuple[str, object], tuple[str, object]]


def all_pairs(axes: Mapping[str, Sequence]) -> list[Pair]:
    """Every pair ``((axis_a, value), (axis_b, value))`` with axis_a before axis_b."""
    names = list(axes)
    return [
        ((a, va), (b, vb))
        for a, b in itertools.combinations(names, 2)
        for va in axes[a]
        for vb in axes[b]
    ]


def row_pairs(row: Mapping, names: Sequence[str]) -> set[Pair]:
    """The pairs a (complete) row covers."""
    return {((a, row[a]), (b, row[b])) for a, b in itertools.combinations(names, 2)}


def pairwise(
    axes: Mapping[str, Sequence],
    valid: Callable[[Row], bool] = lambda r: True,
) -> tuple[list[Row], list[Pair]]:
    """Rows covering every pair of axis values that some valid row can hold.

    Returns ``(rows, impossible)``: ``impossible`` lists the pairs no valid row contains (found by
    search, not assumed). With fewer than two axes the rows are the plain product.
    """
    names = list(axes)
    for name in names:
        if not axes[name]:
            raise ValueError(f"axis {name!r} has no values")
    if len(names) < 2:
        rows = [dict(zip(names, combo)) for combo in itertools.product(*axes.values())]
        return [r for r in rows if valid(r)], []
    order = all_pairs(axes)
    uncovered = set(order)
    impossible: list[Pair] = []
    rows: list[Row] = []
    while uncovered:
        seed_pair = next(p for p in order if p in uncovered)
        row = _fill(axes, names, seed_pair, uncovered, valid)
        if row is None:
            uncovered.discard(seed_pair)
            impossible.append(seed_pair)
            continue
        rows.append(row)
        uncovered -= row_pairs(row, names)
    return rows, impossible


def _fill(axes, names, seed_pair: Pair, uncovered: set, valid) -> Row | None:
    """A valid row holding ``seed_pair`` that covers many uncovered pairs, or None when the
    search finds no valid row with it."""
    (a, va), (b, vb) = seed_pair
    fixed = {a: va, b: vb}
    rest = [n for n in names if n not in fixed]

    def gain(row: Row, name: str, value) -> int:
        n = 0
        for other, ov in row.items():
            pair = (
                ((name, value), (other, ov))
                if names.index(name) < names.index(other)
                else ((other, ov), (name, value))
            )
            n += pair in uncovered
        return n

    # Greedy fill; when that row is invalid, repair it by changing one, then two, then three of
    # the free axes (values tried in order of gain): pyref's rules couple at most three fields.
    row = dict(fixed)
    for name in rest:
        row[name] = max(axes[name], key=lambda v: gain(row, name, v))  # first best on ties
    if valid(row):
        return {n: row[n] for n in names}
    ranked = {name: sorted(axes[name], key=lambda v: -gain(fixed, name, v)) for name in rest}
    tries = 0
    for k in range(1, min(MAX_REPAIR, len(rest)) + 1):
        for change in itertools.combinations(rest, k):
            for values in itertools.product(*(ranked[n] for n in change)):
                trial = {**row, **dict(zip(change, values))}
                if valid(trial):
                    return {n: trial[n] for n in names}
                tries += 1
                if tries >= MAX_TRIES:
                    return None
    return None
