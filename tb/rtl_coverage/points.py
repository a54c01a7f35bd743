"""Verilator's coverage points: read ``coverage.dat`` (``+verilator+coverage+file+``), merge.

A ``.dat`` file is text: a header line, then one ``C '<key>' <count>`` line per point, where the
key is a list of ``\\x01name\\x02value`` fields (``f`` file, ``l`` line, ``n`` column, ``t`` kind,
``page`` ``v_<kind>/<module>[__<parameter suffix>]``, ``o`` the point's text, ``S`` the lines a
block spans, ``h`` the instance). Verilator's own ``verilator_coverage`` merges such files by
adding the counts of equal keys; qmac does the same here, so nothing beyond the simulator is
needed. A point is identified by file, line, column, kind, module and text: instances of one
module (with other parameters) add up, as Verilator's non-per-instance coverage does.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Iterable

KINDS = ("line", "branch", "toggle", "expr")
"""The kinds of point, in the order the reports show them."""

_LINE = re.compile(r"^C '(?P<key>[^']*)' (?P<count>\d+)\s*$")


@dataclasses.dataclass(frozen=True, order=True)
class Point:
    """One coverage point, independent of the run and the instance."""

    file: str  # the source file's name (no folder: the same RTL in any copy)
    line: int
    column: int
    kind: str  # one of KINDS
    module: str
    text: str  # "if", "else", "s2_valid_q:0->1", "(below==1) => 1", "block" ...
    span: tuple[int, int] = (0, 0)
    """First and last line of the block a line point counts (its own line when not given)."""

    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def label(self) -> str:
        """``qmac.v:113:14 branch if`` and the like: how reports and waivers name a point."""
        return f"{self.file}:{self.line}:{self.column} {self.kind} {self.text}"


def _fields(key: str) -> dict[str, str]:
    out = {}
    for part in key.split("\x01"):
        if "\x02" in part:
            name, _, value = part.partition("\x02")
            out[name] = value
    return out


def _span(text: str | None, line: int) -> tuple[int, int]:
    if not text:
        return (line, line)
    first = int(text.split(",")[0].split("-")[0])
    last = max(int(p.split("-")[-1]) for p in text.split(",") if p)
    return (min(first, line), max(last, line))


def read_dat(path: Path, files: Iterable[str] | None = None) -> dict[Point, int]:
    """The points of one ``coverage.dat`` with their counts (equal points added up), keeping
    only the source files named in ``files`` (their base names) when given."""
    keep = None if files is None else {Path(f).name for f in files}
    counts: dict[Point, int] = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            m = _LINE.match(raw)
            if m is None:
                continue
            fields = _fields(m["key"])
            name = Path(fields.get("f", "")).name
            if keep is not None and name not in keep:
                continue
            kind = fields.get("t", "") or fields.get("page", "v_?/").split("/")[0][2:]
            if kind not in KINDS:
                continue
            line = int(fields.get("l", 0))
            module = fields.get("page", "/?").split("/", 1)[1].split("__")[0]
            point = Point(
                name,
                line,
                int(fields.get("n", 0)),
                kind,
                module,
                fields.get("o", ""),
                _span(fields.get("S"), line),
            )
            counts[point] = counts.get(point, 0) + int(m["count"])
    if not counts and files is None:
        raise ValueError(f"{path}: no coverage points (not a Verilator coverage file?)")
    return counts


def merge(runs: Iterable[dict[Point, int]]) -> dict[Point, int]:
    """Counts of every point of any run, added over the runs (a point some run did not build,
    such as a generate branch another config elaborates, keeps the counts of the others)."""
    total: dict[Point, int] = {}
    for run in runs:
        for point, n in run.items():
            total[point] = total.get(point, 0) + n
    return total


def write_dat(path: Path, counts: dict[Point, int]) -> None:
    """Write merged counts in Verilator's format (readable by ``verilator_coverage`` too)."""
    lines = ["# SystemC::Coverage-3"]
    for p in sorted(counts):
        key = "".join(
            f"\x01{k}\x02{v}"
            for k, v in (
                ("f", p.file),
                ("l", p.line),
                ("n", p.column),
                ("t", p.kind),
                ("page", f"v_{p.kind}/{p.module}"),
                ("o", p.text),
                ("S", f"{p.span[0]}-{p.span[1]}"),
            )
        )
        lines.append(f"C '{key}' {counts[p]}")
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
