"""The reports: lcov ``.info`` and Cobertura XML (what CI systems and code review tools show),
and an HTML page per source file made here (no genhtml needed)."""

from __future__ import annotations

import html
import time
from pathlib import Path
from xml.etree import ElementTree as ET

from .points import KINDS, Point
from .summary import by_module, line_hits


def write_lcov(path: Path, counts: dict[Point, int], source_dir: Path) -> None:
    """lcov tracefile: ``DA`` per line of every block, ``BRDA`` per branch point."""
    out = ["TN:qmac"]
    lines = line_hits(counts)
    files = sorted({p.file for p in counts})
    for name in files:
        out.append(f"SF:{Path(source_dir).resolve() / name}")
        branches = sorted(
            (p, n) for p, n in counts.items() if p.file == name and p.kind == "branch"
        )
        for i, (p, n) in enumerate(branches):
            out.append(f"BRDA:{p.line},{p.column},{i},{n}")
        if branches:
            out.append(f"BRF:{len(branches)}")
            out.append(f"BRH:{sum(1 for _, n in branches if n)}")
        da = lines.get(name, {})
        for line in sorted(da):
            out.append(f"DA:{line},{da[line]}")
        out.append(f"LF:{len(da)}")
        out.append(f"LH:{sum(1 for n in da.values() if n)}")
        out.append("end_of_record")
    Path(path).write_text("\n".join(out) + "\n", encoding="utf-8")


def write_cobertura(path: Path, counts: dict[Point, int], source_dir: Path) -> None:
    """Cobertura XML: one class per source file, its lines with hits and branch conditions."""
    lines = line_hits(counts)
    all_lines = [n for d in lines.values() for n in d.values()]
    branches = [n for p, n in counts.items() if p.kind == "branch"]

    def rate(values):
        return f"{(sum(1 for v in values if v) / len(values)) if values else 1.0:.4f}"

    root = ET.Element(
        "coverage",
        {
            "line-rate": rate(all_lines),
            "branch-rate": rate(branches),
            "lines-covered": str(sum(1 for v in all_lines if v)),
            "lines-valid": str(len(all_lines)),
            "branches-covered": str(sum(1 for v in branches if v)),
            "branches-valid": str(len(branches)),
            "complexity": "0",
            "version": "qmac",
            "timestamp": str(int(time.time())),
        },
    )
    ET.SubElement(ET.SubElement(root, "sources"), "source").text = str(Path(source_dir).resolve())
    package = ET.SubElement(
        ET.SubElement(root, "packages"),
        "package",
        {
            "name": "rtl",
            "line-rate": rate(all_lines),
            "branch-rate": rate(branches),
            "complexity": "0",
        },
    )
    classes = ET.SubElement(package, "classes")
    for name in sorted({p.file for p in counts}):
        da = lines.get(name, {})
        br = {}
        for p, n in counts.items():
            if p.file == name and p.kind == "branch":
                br.setdefault(p.line, []).append(n)
        file_br = [n for v in br.values() for n in v]
        cls = ET.SubElement(
            classes,
            "class",
            {
                "name": Path(name).stem,
                "filename": name,
                "line-rate": rate(list(da.values())),
                "branch-rate": rate(file_br),
                "complexity": "0",
            },
        )
        ET.SubElement(cls, "methods")
        xml_lines = ET.SubElement(cls, "lines")
        for line in sorted(set(da) | set(br)):
            attrs = {"number": str(line), "hits": str(da.get(line, max(br.get(line, [0]))))}
            if line in br:
                hit = sum(1 for n in br[line] if n)
                attrs.update(
                    {
                        "branch": "true",
                        "condition-coverage": f"{100 * hit // len(br[line])}% "
                        f"({hit}/{len(br[line])})",
                    }
                )
            else:
                attrs["branch"] = "false"
            ET.SubElement(xml_lines, "line", attrs)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


_STYLE = """body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}
td,th{border:1px solid #bbb;padding:2px 8px;text-align:right}td:first-child,th:first-child{
text-align:left}pre{margin:0}.src td{border:none;padding:0 6px;font-family:monospace;
text-align:left;white-space:pre}.hit{background:#dff5dd}.miss{background:#fbd3d3}
.n{color:#666;text-align:right!important}.pts{color:#555;font-size:85%}"""


def write_html(
    folder: Path,
    counts: dict[Point, int],
    source_dir: Path,
    title: str,
    notes: dict[Point, str] | None = None,
) -> Path:
    """``index.html`` (the per-module table, a link per file) and one annotated page per source
    file: each line with its hit count, lines with a point not hit in red, the points of the
    line (branches, expressions, toggles not hit) beside it. Returns the index's path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    notes = notes or {}
    rows = "".join(
        f"<tr><td>{html.escape(m)}</td>"
        + "".join(f"<td>{html.escape(r[k].cell())}</td>" for k in KINDS)
        + "</tr>"
        for m, r in by_module(counts).items()
    )
    files = sorted({p.file for p in counts})
    links = "".join(f'<li><a href="{f}.html">{f}</a></li>' for f in files)
    (folder / "index.html").write_text(
        f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style><h1>{html.escape(title)}</h1><table><tr><th>module</th>"
        + "".join(f"<th>{k}</th>" for k in KINDS)
        + f"</tr>{rows}</table><ul>{links}</ul>",
        encoding="utf-8",
    )
    lines = line_hits(counts)
    for name in files:
        src = Path(source_dir) / name
        text = src.read_text(errors="replace").splitlines() if src.is_file() else []
        by_line: dict[int, list[tuple[Point, int]]] = {}
        for p, n in counts.items():
            if p.file == name:
                by_line.setdefault(p.line, []).append((p, n))
        body = []
        for i, code in enumerate(text, start=1):
            pts = by_line.get(i, [])
            missed = [(p, n) for p, n in pts if n == 0]
            hits = lines.get(name, {}).get(i)
            cls = "miss" if missed or hits == 0 else ("hit" if pts or hits else "")
            shown = "" if hits is None else str(hits)
            extra = "; ".join(
                f"{p.kind} {p.text} not hit" + (f" ({notes[p]})" if p in notes else "")
                for p, _ in missed[:6]
            )
            if len(missed) > 6:
                extra += f"; and {len(missed) - 6} more"
            body.append(
                f'<tr class="{cls}"><td class=n>{i}</td><td class=n>{shown}</td>'
                f"<td>{html.escape(code)}</td><td class=pts>{html.escape(extra)}"
                "</td></tr>"
            )
        (folder / f"{name}.html").write_text(
            f"<!doctype html><meta charset=utf-8><title>{html.escape(name)}</title>"
            f"<style>{_STYLE}</style><h1>{html.escape(name)}</h1><p><a href=index.html>"
            f"all files</a></p><table class=src>{''.join(body)}</table>",
            encoding="utf-8",
        )
    return folder / "index.html"
