"""The committed list of points that are not hit, each with its reason, and the bar.

``coverage.toml`` in the RTL folder holds one ``[[waiver]]`` per point a regression does not
hit: ``point = "qmac_round_shift.v:57:5 branch else"`` (:meth:`~.points.Point.label`) and
``reason = "..."``. :func:`check` fails when a point is not hit and not waived (coverage fell,
or new RTL is not exercised), naming each such point; a waiver whose point is hit now, or that
names no point, is stale and listed too.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .points import Point

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

WAIVER_FILE = "coverage.toml"


@dataclasses.dataclass
class Verdict:
    missed: list[Point]
    """Points not hit and not waived: these fail the bar."""
    waived: dict[Point, str]
    """Points not hit, with their reasons."""
    stale: list[str]
    """Waivers that name a point now hit, or no point at all."""

    @property
    def passed(self) -> bool:
        return not self.missed


def load(rtl_dir: Path) -> dict[str, str]:
    """``{point label: reason}`` from ``rtl_dir/coverage.toml`` ({} when there is none)."""
    path = Path(rtl_dir) / WAIVER_FILE
    if not path.is_file():
        return {}
    data = tomllib.loads(path.read_text())
    out = {}
    for i, w in enumerate(data.get("waiver", [])):
        if not isinstance(w, dict) or not w.get("point") or not w.get("reason"):
            raise ValueError(f"{path}: waiver {i} needs a point and a reason, got {w!r}")
        out[str(w["point"])] = str(w["reason"])
    return out


def check(
    counts: dict[Point, int],
    waivers: dict[str, str],
    kinds: tuple[str, ...] = ("line", "branch"),
    also: set[Point] = frozenset(),
    full: bool = True,
) -> Verdict:
    """The bar over the points of ``kinds`` and the points ``also`` (port-bit toggles): every
    one hit or waived. ``full`` is False for a run over part of the configs, whose waivers
    need not all be met (no stale list then)."""
    labels = {p.label(): p for p in counts}
    missed, waived = [], {}
    for p, n in sorted(counts.items()):
        if (p.kind not in kinds and p not in also) or n:
            continue
        if p.label() in waivers:
            waived[p] = waivers[p.label()]
        else:
            missed.append(p)
    stale = (
        [label for label in waivers if label not in labels or counts[labels[label]] > 0]
        if full
        else []
    )
    return Verdict(missed, waived, stale)
