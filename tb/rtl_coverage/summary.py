"""Coverage figures: per module and kind, per source line, and port-bit toggles."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from .points import KINDS, Point


@dataclasses.dataclass
class Ratio:
    hit: int = 0
    total: int = 0

    def add(self, covered: bool) -> None:
        self.total += 1
        self.hit += int(covered)

    @property
    def percent(self) -> float | None:
        return None if self.total == 0 else 100.0 * self.hit / self.total

    def cell(self) -> str:
        if self.total == 0:
            return "-"
        return f"{self.percent:.1f} % ({self.hit}/{self.total})"


def by_module(counts: dict[Point, int]) -> dict[str, dict[str, Ratio]]:
    """``{module: {kind: Ratio}}`` plus a ``"total"`` row."""
    table: dict[str, dict[str, Ratio]] = {}
    for p, n in counts.items():
        for row in (p.module, "total"):
            table.setdefault(row, {k: Ratio() for k in KINDS})[p.kind].add(n > 0)
    total = table.pop("total", {k: Ratio() for k in KINDS})
    return {**dict(sorted(table.items())), "total": total}


def table_markdown(counts: dict[Point, int]) -> str:
    """The per-module table (line / branch / toggle / expression) as Markdown."""
    rows = ["| module | line | branch | toggle | expression |", "|---|---:|---:|---:|---:|"]
    for module, ratios in by_module(counts).items():
        name = f"**{module}**" if module == "total" else f"`{module}`"
        rows.append(f"| {name} | " + " | ".join(ratios[k].cell() for k in KINDS) + " |")
    return "\n".join(rows)


def line_hits(counts: dict[Point, int]) -> dict[str, dict[int, int]]:
    """``{file: {line: hits}}`` over the lines the line points' blocks span (the highest count
    of any block covering the line), as lcov's ``DA`` records want them."""
    out: dict[str, dict[int, int]] = {}
    for p, n in counts.items():
        if p.kind != "line":
            continue
        lines = out.setdefault(p.file, {})
        first, last = p.span
        for line in range(first, last + 1):
            lines[line] = max(lines.get(line, 0), n)
    return out


_PORT = re.compile(
    r"\b(input|output|inout)\b[^;,)]*?\b([A-Za-z_][A-Za-z0-9_]*)\s*(?=[,;)]|$)", re.M
)


def port_names(rtl_files: list[Path]) -> dict[str, set[str]]:
    """``{module: port names}`` read from the Verilog (ANSI port lists, one port a line)."""
    ports: dict[str, set[str]] = {}
    for path in rtl_files:
        text = re.sub(r"//[^\n]*|/\*.*?\*/", "", Path(path).read_text(), flags=re.S)
        text = re.sub(r"\[[^\]]*\]", "", text)  # widths may hold parentheses and commas
        for m in re.finditer(
            r"\bmodule\s+(\w+)\s*(?:#\s*\((?:[^()]|\([^()]*\))*\))?\s*\((.*?)\);", text, re.S
        ):
            names = {p.group(2) for p in _PORT.finditer(m.group(2))}
            ports[m.group(1)] = names
    return ports


def port_toggles(counts: dict[Point, int], ports: dict[str, set[str]]) -> dict[Point, int]:
    """The toggle points of module ports (``sig[3]:0->1`` of a port ``sig``)."""
    out = {}
    for p, n in counts.items():
        if p.kind == "toggle":
            signal = re.split(r"[\[:]", p.text, maxsplit=1)[0]
            if signal in ports.get(p.module, ()):
                out[p] = n
    return out
