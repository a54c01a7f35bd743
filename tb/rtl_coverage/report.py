"""The reports of a set of runs: merged points, the bar, lcov, Cobertura, HTML, summary.md.

Used by ``make coverage`` (one run per named config) and ``make sweep COVERAGE=1`` (one run per
sweep point).
"""

from __future__ import annotations

from pathlib import Path

from . import rank, waivers
from .points import Point, merge, write_dat
from .summary import port_names, port_toggles, table_markdown
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
) -> tuple[dict[Point, int], waivers.Verdict]:
    """Merge ``runs`` (``{name: points}``), check the bar (``full``: every config the waivers
    speak of ran) and write ``merged.dat``, ``coverage.info``, ``coverage.xml``, ``html/`` and
    ``summary.md`` to ``out``; the merged points and the bar's verdict."""
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
        summary_text(runs, merged, verdict, rtl_dir, what=what) + "\n", encoding="utf-8"
    )
    return merged, verdict


def summary_text(
    runs: dict[str, dict[Point, int]],
    merged: dict[Point, int],
    verdict: waivers.Verdict,
    rtl_dir: Path,
    *,
    what: str = "config",
) -> str:
    """The per-module table, port toggles, the ranking and the points not hit, as Markdown."""
    lines = [
        f"RTL code coverage over {len(runs)} {what}(s): {', '.join(runs)} ({Path(rtl_dir)})",
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
