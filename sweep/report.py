"""The files a sweep leaves in ``build/sweep/<spec>/``: ``results.json``, ``results.csv``,
``junit.xml`` (one testcase per point, named by its config) and ``report.md`` (headline, pass
matrices for pairs of axes, area, slowest points). The plots are :mod:`sweep.plots`.
"""

from __future__ import annotations

import csv
import json
import statistics
import xml.etree.ElementTree as ET
from pathlib import Path

from .skips import summary_lines, unexpected

MATRIX_AXES = (
    "in_bits",
    "w_bits",
    "out_bits",
    "acc_bits",
    "lanes",
    "rounding",
    "acc_mode",
    "mult_bits",
    "in_signed",
    "sim",
)
"""Axes the pass matrices may use."""
MATRIX_PAIRS = (
    ("in_bits", "w_bits"),
    ("rounding", "mult_bits"),
    ("rounding", "acc_mode"),
    ("lanes", "sim"),
    ("out_bits", "in_signed"),
    ("in_bits", "out_bits"),
)
"""Pairs of axes shown as pass matrices, in this order of preference (both must vary)."""
MAX_MATRICES = 3
CSV_FIELDS = (
    "key",
    "verdict",
    "sim",
    "n",
    "seed",
    "lanes",
    "in_bits",
    "in_signed",
    "w_bits",
    "acc_bits",
    "acc_mode",
    "bias_bits",
    "mult_bits",
    "shift_bits",
    "rounding",
    "out_bits",
    "outputs_checked",
    "cells",
    "ffs",
    "multipliers",
    "depth",
    "build_seconds",
    "sim_seconds",
    "synth_seconds",
    "wall_seconds",
    "beats_per_s",
    "cached",
    "repro",
    "failure",
)


def axis_value(rec: dict, axis: str):
    """The value of ``axis`` (a config field or ``sim``/``n``) for a point record."""
    return rec[axis] if axis in ("sim", "n") else rec["config"][axis]


def headline(run: dict) -> dict:
    """Counts and speed of a run."""
    pts = run["points"]
    passed = sum(r["verdict"] == "pass" for r in pts)
    wall = float(run.get("wall_seconds") or 0.0)
    return {
        "points": len(pts),
        "passed": passed,
        "failed": len(pts) - passed,
        "skipped": len(run.get("skipped", [])),
        "unexpected": len(unexpected(run)),
        "wall_seconds": wall,
        "points_per_minute": len(pts) / wall * 60 if wall else 0.0,
        "reused": sum(bool(r.get("cached")) for r in pts),
    }


def verdict(run: dict) -> str:
    """``PASS`` when some point ran, every point passed and every skip was expected."""
    h = headline(run)
    return "PASS" if h["points"] and not h["failed"] and not h["unexpected"] else "FAIL"


def counts(h: dict) -> str:
    """``3 passed, 1 failed, 2 skipped`` (and how many skips the spec did not allow)."""
    bad = f" ({h['unexpected']} not allowed by the spec)" if h["unexpected"] else ""
    return f"{h['passed']} passed, {h['failed']} failed, {h['skipped']} skipped{bad}"


def write_all(run: dict, out: Path, *, plots: bool = True) -> dict[str, Path]:
    """Write every report file of ``run`` into ``out``; their paths by kind."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "json": out / "results.json",
        "csv": out / "results.csv",
        "junit": out / "junit.xml",
        "md": out / "report.md",
    }
    files["json"].write_text(json.dumps(run, indent=1))
    write_csv(run, files["csv"])
    write_junit(run, files["junit"])
    if any(rec.get("fpga") for rec in run["points"]):
        files["fpga_csv"] = out / "fpga.csv"
        write_fpga_csv(run, files["fpga_csv"])
    images = {}
    if plots:
        from .plots import write_plots

        images = write_plots(run, out / "plots")
        files.update({f"plot:{k}": v for k, v in images.items()})
    files["md"].write_text(markdown(run, images={k: v.relative_to(out) for k, v in images.items()}))
    return files


def _row(rec: dict) -> dict:
    syn = rec.get("synth") or {}
    sim = rec.get("sim_result") or {}
    return {
        "key": rec["key"],
        "verdict": rec["verdict"],
        "sim": rec["sim"],
        "n": rec["n"],
        "seed": rec["seed"],
        **rec["config"],
        "outputs_checked": sim.get("outputs_checked", 0),
        "cells": syn.get("cells", ""),
        "ffs": syn.get("ffs", ""),
        "multipliers": syn.get("multipliers", ""),
        "depth": syn.get("depth", ""),
        "build_seconds": round(sim.get("build_seconds", 0.0), 3),
        "sim_seconds": round(sim.get("sim_seconds", 0.0), 3),
        "synth_seconds": round(syn.get("seconds", 0.0), 3),
        "wall_seconds": round(rec.get("wall_seconds", 0.0), 3),
        "beats_per_s": round(rec.get("beats_per_s", 0.0)),
        "cached": int(bool(rec.get("cached"))),
        "repro": rec["repro"],
        "failure": rec["failure"],
    }


FPGA_FIELDS = [
    "key",
    "part",
    "luts",
    "ffs",
    "dsps",
    "brams",
    "fmax_mhz",
    "target_mhz",
    "critical_ns",
    "critical_from",
    "critical_to",
    "seconds",
    "ok",
    "error",
]


def fpga_rows(run: dict) -> list[dict]:
    """One row per point placed and routed (config key and the figures), in run order."""
    rows = []
    for rec in run["points"]:
        f = rec.get("fpga")
        if f:
            rows.append({"key": rec["key"], **{k: f.get(k, "") for k in FPGA_FIELDS[1:]}})
    return rows


def write_fpga_csv(run: dict, path: Path) -> None:
    """``fpga.csv``: every placed-and-routed point, sortable."""
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FPGA_FIELDS)
        w.writeheader()
        for row in fpga_rows(run):
            w.writerow(row)


def fpga_table(run: dict) -> list[str]:
    """The FPGA table of report.md (every point placed and routed), or no lines."""
    rows = fpga_rows(run)
    if not rows:
        return []
    tools = next(
        (r["fpga"].get("tools") for r in run["points"] if (r.get("fpga") or {}).get("tools")), {}
    )
    lines = [
        "",
        "## FPGA implementation (ECP5, Yosys synth_ecp5 + nextpnr out of context)",
        "",
        "Tools: " + "; ".join(f"{k} {v}" for k, v in sorted(tools.items())),
        "",
        "| point | part | LUT | FF | DSP | BRAM | Fmax MHz | critical path ns | from -> to |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        if r["ok"]:
            lines.append(
                f"| {r['key']} | {r['part']} | {r['luts']} | {r['ffs']} | {r['dsps']} | "
                f"{r['brams']} | {r['fmax_mhz']:.1f} | {r['critical_ns']:.2f} | "
                f"{r['critical_from'] or '?'} -> {r['critical_to'] or '?'} |"
            )
        else:
            lines.append(f"| {r['key']} | failed: {r['error'][:60]} | | | | | | | |")
    lines += ["", "(all of them in `fpga.csv`)"]
    return lines


def write_csv(run: dict, path: Path) -> None:
    """One row per point: verdict, config, figures, times, the repro command."""
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        w.writeheader()
        for rec in run["points"]:
            w.writerow(_row(rec))


def write_junit(run: dict, path: Path) -> None:
    """JUnit XML: one testcase per point (named by its config); a failure's text is the mismatch
    summary and the ``make sim ...`` that reproduces it; skipped combinations are skipped cases
    when the spec expects them, failures when it does not."""
    h = headline(run)
    suite = ET.Element(
        "testsuite",
        name=f"sweep.{run['spec']}",
        tests=str(h["points"] + h["skipped"]),
        failures=str(h["failed"] + h["unexpected"]),
        skipped=str(h["skipped"] - h["unexpected"]),
        errors="0",
        time=f"{h['wall_seconds']:.3f}",
    )
    for rec in run["points"]:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"sweep.{run['spec']}.{rec['sim']}",
            name=rec["name"],
            time=f"{rec.get('wall_seconds', 0.0):.3f}",
        )
        if rec["verdict"] != "pass":
            first = rec["failure"].splitlines()[0] if rec["failure"] else "failed"
            fail = ET.SubElement(case, "failure", message=first, type="SweepFailure")
            fail.text = rec["failure"]
    for s in run.get("skipped", []):
        fields = " ".join(f"{k}={v}" for k, v in s["fields"].items())
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"sweep.{run['spec']}.{s['sim']}",
            name=f"{s['sim']} {fields}",
            time="0",
        )
        if s.get("expected"):
            ET.SubElement(case, "skipped", message=s["reason"])
        else:
            fail = ET.SubElement(
                case, "failure", message=f"pyref refuses it: {s['reason']}", type="UnexpectedSkip"
            )
            fail.text = (
                f"pyref refuses this config ({s['reason']}) and the spec does not "
                "expect it: fix the spec, or add allow_skip (docs/sweep.md)"
            )
    ET.indent(suite)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def varied_axes(points: list[dict]) -> list[str]:
    """The axes of :data:`MATRIX_AXES` that take more than one value among ``points``."""
    return [a for a in MATRIX_AXES if len({axis_value(r, a) for r in points}) > 1]


def pass_matrix(points: list[dict], a: str, b: str) -> list[str]:
    """A Markdown table: rows the values of ``a``, columns those of ``b``, cells passed/total."""
    va = sorted({axis_value(r, a) for r in points}, key=_order)
    vb = sorted({axis_value(r, b) for r in points}, key=_order)
    lines = [f"| {a} \\ {b} | " + " | ".join(str(v) for v in vb) + " |", "|---|" + "---|" * len(vb)]
    for x in va:
        cells = []
        for y in vb:
            sel = [r for r in points if axis_value(r, a) == x and axis_value(r, b) == y]
            ok = sum(r["verdict"] == "pass" for r in sel)
            cells.append(
                "" if not sel else f"{ok}/{len(sel)}" + (" **FAIL**" if ok < len(sel) else "")
            )
        lines.append(f"| {x} | " + " | ".join(cells) + " |")
    return lines


def _order(v):
    return (0, v, "") if isinstance(v, (int, float)) else (1, 0, str(v))


def markdown(run: dict, *, images: dict | None = None) -> str:
    """``report.md``: what a reviewer reads first."""
    h = headline(run)
    pts = run["points"]
    lines = [
        f"# Sweep `{run['spec']}`: {verdict(run)}",
        "",
        f"**{counts(h)}** "
        f"({h['points']} points, {h['reused']} reused from earlier passes) in "
        f"{h['wall_seconds']:.0f} s wall: {h['points_per_minute']:.0f} points/min",
    ]
    skips = summary_lines(run)
    if skips:
        lines += ["", f"**{skips[0]}**", "", *(f"- {ln.strip()}" for ln in skips[1:])]
    if run.get("merged_from"):
        lines.append(
            f"(merged from {len(run['merged_from'])} shards: "
            f"{', '.join(run['merged_from'])}; shard time total "
            f"{run.get('shard_seconds_total', 0):.0f} s)"
        )
    tools = run.get("facts", {}).get("tools", {})
    if tools:
        lines.append("")
        lines.append("Tools: " + "; ".join(f"{k} {v}" for k, v in sorted(tools.items())))
    failed = [r for r in pts if r["verdict"] != "pass"]
    if failed:
        lines += ["", "## Failed points", ""]
        for r in failed[:30]:
            lines.append(f"- `{r['name']}`")
            lines += [
                f"  {ln}" if ln.startswith(" ") else f"  - {ln}"
                for ln in r["failure"].splitlines()[:8]
                if not ln.strip().startswith("reproduce:")
            ]
            lines.append(f"  - reproduce: `{r['repro']}`")
        if len(failed) > 30:
            lines.append(f"- ... and {len(failed) - 30} more (results.csv)")
    lines += fpga_table(run)
    if run.get("code_coverage"):
        body = run["code_coverage"].splitlines()
        lines += [
            "",
            "## RTL code coverage and functional coverage (merged over the Verilator points)",
            "",
            *body,
            "",
            "(lcov, Cobertura and HTML in `coverage/`; besides the merged bins above, every "
            "bin reachable at a point is required there)",
        ]
    axes = set(varied_axes(pts))
    pairs = [(a, b) for a, b in MATRIX_PAIRS if a in axes and b in axes][:MAX_MATRICES]
    if pairs:
        lines += ["", "## Pass matrices (passed/total)"]
        for a, b in pairs:
            lines += ["", *pass_matrix(pts, a, b)]
    area = [r for r in pts if (r.get("synth") or {}).get("ok")]
    if area:
        cells = [r["synth"]["cells"] for r in area]
        lines += [
            "",
            "## Area (Yosys generic gates, no ABC)",
            "",
            f"cells: min {min(cells)}, median {statistics.median(cells):.0f}, "
            f"max {max(cells)} over {len(area)} synthesized points",
            "",
            "| config | cells | flip-flops | multipliers | depth |",
            "|---|---|---|---|---|",
        ]
        seen = set()
        for r in sorted(area, key=lambda r: -r["synth"]["cells"]):
            c = json.dumps(r["config"], sort_keys=True)
            if c in seen:
                continue
            seen.add(c)
            s = r["synth"]
            lines.append(
                f"| {r['key'].split('/')[1]} | {s['cells']} | {s['ffs']} | "
                f"{s['multipliers']} | {s['depth']} |"
            )
            if len(seen) == 5:
                break
    ran = [r for r in pts if not r.get("cached")]
    if ran:
        lines += [
            "",
            "## Slowest points",
            "",
            "| point | wall s | build s | sim s | synth s |",
            "|---|---|---|---|---|",
        ]
        for r in sorted(ran, key=lambda r: -r.get("wall_seconds", 0.0))[:5]:
            sim, syn = r.get("sim_result") or {}, r.get("synth") or {}
            lines.append(
                f"| {r['key']} | {r.get('wall_seconds', 0):.1f} | "
                f"{sim.get('build_seconds', 0):.1f} | {sim.get('sim_seconds', 0):.1f} | "
                f"{syn.get('seconds', 0):.1f} |"
            )
    impossible = run.get("impossible", [])
    if impossible:
        lines += [
            "",
            f"Pairwise: {len(impossible)} pair(s) of axis values no valid config can "
            "hold (e.g. "
            + ", ".join(f"{a[0]}={a[1]} with {b[0]}={b[1]}" for _, (a, b) in impossible[:2])
            + "); listed in results.json.",
        ]
    skipped = run.get("skipped", [])
    if skipped:
        lines += ["", f"## Skipped ({len(skipped)}: pyref refuses these configs)", ""]
        reasons: dict[str, int] = {}
        for s in skipped:
            reasons[s["reason"]] = reasons.get(s["reason"], 0) + 1
        for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1])[:10]:
            lines.append(f"- {count} x {reason}")
    if images:
        lines += ["", "## Plots", ""]
        lines += [f"![{k}]({v})" for k, v in images.items()]
    return "\n".join(lines) + "\n"
