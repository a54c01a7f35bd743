"""The reports of a set of runs: merged points, the bar, lcov, Cobertura, HTML, summary.md.

Used by ``make coverage`` (one run per named config) and ``make sweep COVERAGE=1`` (one run per
sweep point).
"""

from __future__ import annotations

from pathlib import Path

from . import rank, waivers
from .points import Point, merge, write_dat
from .summary import by_module, port_names, port_toggles, table_markdown
from .writers import write_cobertura, write_html, write_lcov


def rtl_files(rtl_dir: Path) -> list[Path]:
    return sorted(Path(rtl_dir).glob("*.v"))


def write_reports(
    runs: dict[str, dict[Point, int]],
    rtl_dir: Path,
    out: Path,
    *,
    title: str,
    full: bool = True,
    what: str = "config",
    functional: dict[str, dict] | None = None,
) -> tuple[dict[Point, int], waivers.Verdict]:
    """Merge ``runs`` (``{name: points}``), check the bar (``full``: every config the waivers
    speak of ran) and write ``merged.dat``, ``coverage.info``, ``coverage.xml``, ``html/`` and
    ``summary.md`` to ``out``; the merged points and the bar's verdict. ``functional``: each
    run's functional coverage (``{name: {"hits": {bin: n}, "required": [bin, ...]}}``), shown
    beside the code coverage."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    merged = merge(runs.values())
    ports = port_toggles(merged, port_names(rtl_files(rtl_dir)))
    verdict = waivers.check(merged, waivers.load(rtl_dir), also=set(ports), full=full)
    write_dat(out / "merged.dat", merged)
    write_lcov(out / "coverage.info", merged, rtl_dir)
    write_cobertura(out / "coverage.xml", merged, rtl_dir)
    write_html(out / "html", merged, rtl_dir, title, notes=verdict.waived)
    (out / "summary.md").write_text(
        summary_text(runs, merged, verdict, rtl_dir, what=what, functional=functional) + "\n",
        encoding="utf-8",
    )
    return merged, verdict


def summary_text(
    runs: dict[str, dict[Point, int]],
    merged: dict[Point, int],
    verdict: waivers.Verdict,
    rtl_dir: Path,
    *,
    what: str = "config",
    functional: dict[str, dict] | None = None,
) -> str:
    """The code and functional coverage side by side, the per-module table, port toggles, the
    ranking and the points not hit, as Markdown."""
    shown = ", ".join(list(runs)[:12]) + (f" and {len(runs) - 12} more" if len(runs) > 12 else "")
    lines = [
        f"RTL code coverage over {len(runs)} {what}(s): {shown} ({Path(rtl_dir)})",
        "",
        *totals_markdown(merged, functional),
        "",
        table_markdown(merged),
        "",
    ]
    ports = port_toggles(merged, port_names(rtl_files(rtl_dir)))
    quiet = sorted(p for p, n in ports.items() if n == 0)
    lines.append(
        f"port-bit toggles: {len(ports) - len(quiet)} of {len(ports)} hit"
        + (
            ""
            if not quiet
            else ": not toggled "
            + ", ".join(f"{p.module}.{p.text}" for p in quiet[:12])
            + (f" and {len(quiet) - 12} more" if len(quiet) > 12 else "")
        )
    )
    lines += [
        "",
        f"{what.capitalize()}s in the order that reaches every hit point soonest "
        "(points each adds):",
    ]
    order = rank.greedy_order(runs)
    unique = rank.unique_hits(runs)
    lines += [f"- `{name}`: +{gain} ({len(unique[name])} only it hits)" for name, gain in order]
    rest = [n for n in runs if n not in dict(order)]
    if rest:
        lines.append(
            "- add nothing beyond those: "
            + ", ".join(f"`{n}`" for n in rest[:40])
            + (f" and {len(rest) - 40} more" if len(rest) > 40 else "")
        )
    v = verdict
    lines += [
        "",
        f"Line, branch and port-bit toggle points not hit: "
        f"{len(v.missed) + len(v.waived)} ({len(v.waived)} waived with a reason, "
        f"{len(v.missed)} not)",
    ]
    lines += [f"- `{p.label()}`: {reason}" for p, reason in v.waived.items()]
    lines += [f"- `{p.label()}`: NOT WAIVED (no reason in {waivers.WAIVER_FILE})" for p in v.missed]
    if v.stale:
        lines += ["", "Stale waivers (the point is hit now, or there is no such point):"]
        lines += [f"- `{label}`" for label in v.stale]
    return "\n".join(lines)


def functional_merged(functional: dict[str, dict]) -> tuple[set[str], set[str]]:
    """The bins some run must reach (reachable for its config and run) and, of those, the bins
    some run hit: ``(required, hit)`` over every run's ``{"hits": ..., "required": ...}``."""
    required = {b for f in functional.values() for b in f.get("required", ())}
    hit = {b for f in functional.values() for b, n in f.get("hits", {}).items() if n}
    return required, hit & required


def totals_markdown(merged: dict[Point, int], functional: dict[str, dict] | None) -> list[str]:
    """The totals of each kind of code point and the functional bins, one table."""
    total = by_module(merged)["total"]
    rows = [
        "| coverage | hit |",
        "|---|---:|",
        *(f"| {name} | {total[kind].cell()} |" for kind, name in _KIND_NAMES.items()),
    ]
    if functional:
        required, hit = functional_merged(functional)
        cell = f"{100.0 * len(hit) / len(required):.1f} % ({len(hit)}/{len(required)})"
        rows.append(
            "| functional bins (reachable in at least one run) | "
            + (cell if required else "-")
            + " |"
        )
        holes = sorted(required - hit)
        if holes:
            rows += ["", "Functional bins no run hit: " + ", ".join(f"`{b}`" for b in holes)]
    return rows


_KIND_NAMES = {
    "line": "RTL lines",
    "branch": "RTL branches",
    "toggle": "RTL toggles",
    "expr": "RTL expressions",
}
