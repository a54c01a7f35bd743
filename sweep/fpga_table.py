"""``python -m sweep.fpga_table BEFORE AFTER [--paths]``: the before/after table of two runs of
the ``named`` sweep (sweeps/named.toml; each folder a sweep report with ``run.json``), one row
per config placed and routed in both: Fmax, DSP blocks, LUTs, flip-flops and latency, as the
FPGA flow (tb/run/fpga.py) and the batch checker measured them. README's configuration table is
its output; ``--paths`` gives the critical paths instead (docs/rtl.md, "Timing")."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pyref.config import NAMED_CONFIGS
from tb.cli.errors import UsageError, run_main


def load_points(folder: Path) -> dict[str, dict]:
    """The placed-and-routed points of a sweep report folder that are named configs, by name."""
    f = Path(folder) / "run.json"
    if not f.is_file():
        raise UsageError(f"{folder}: no run.json (run `make sweep SWEEP=named OUT=...` first)")
    run = json.loads(f.read_text())
    names = {json.dumps(c.to_dict(), sort_keys=True): n for n, c in NAMED_CONFIGS.items()}
    points = {}
    for rec in run["points"]:
        name = names.get(json.dumps(rec["config"], sort_keys=True))
        if name and (rec.get("fpga") or {}).get("ok"):
            points[name] = rec
    return points


def _pair(a, b, fmt: str = "{}") -> str:
    return f"{fmt.format(a)} → {fmt.format(b)}"


def table(before: dict[str, dict], after: dict[str, dict]) -> list[str]:
    """Markdown rows: config | Fmax MHz | DSP | LUT | FF | latency, each "before → after"."""
    names = [n for n in NAMED_CONFIGS if n in before and n in after]
    if not names:
        raise UsageError("the two runs have no placed-and-routed config in common")
    lines = [
        "| config | Fmax (MHz) | DSP | LUT | FF | latency (edges) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for n in names:
        b, a = before[n], after[n]
        fb, fa = b["fpga"], a["fpga"]
        lb = (b.get("sim_result") or {}).get("latency") or "?"
        la = (a.get("sim_result") or {}).get("latency") or "?"
        lines.append(
            f"| {n} | {_pair(fb['fmax_mhz'], fa['fmax_mhz'], '{:.1f}')} | "
            f"{_pair(fb['dsps'], fa['dsps'])} | {_pair(fb['luts'], fa['luts'])} | "
            f"{_pair(fb['ffs'], fa['ffs'])} | {_pair(lb, la)} |"
        )
    return lines


def paths(before: dict[str, dict], after: dict[str, dict]) -> list[str]:
    """Markdown rows: config | critical path before | after (ns, start -> end register)."""
    names = [n for n in NAMED_CONFIGS if n in before and n in after]
    if not names:
        raise UsageError("the two runs have no placed-and-routed config in common")
    lines = ["| config | critical path before | after |", "|---|---|---|"]
    for n in names:
        cells = []
        for rec in (before[n], after[n]):
            f = rec["fpga"]
            ends = f"`{f.get('critical_from') or '?'}` → `{f.get('critical_to') or '?'}`"
            cells.append(f"{f['critical_ns']:.2f} ns: {ends}")
        lines.append(f"| {n} | {cells[0]} | {cells[1]} |")
    return lines


def main(argv: list[str]) -> int:
    args = [a for a in argv if a != "--paths"]
    if len(args) != 2:
        raise UsageError("usage: python -m sweep.fpga_table BEFORE_DIR AFTER_DIR [--paths]")
    before, after = load_points(Path(args[0])), load_points(Path(args[1]))
    print("\n".join((paths if "--paths" in argv else table)(before, after)))
    return 0


if __name__ == "__main__":
    sys.exit(run_main(lambda: main(sys.argv[1:]), prog="python -m sweep.fpga_table"))
