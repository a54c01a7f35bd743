"""PNG plots of a sweep, each readable at its native size, with titles, axis labels, legends and
units: the pass matrix (passed/total in every cell, a colour bar), area against widths and lanes
(one marker per rounding family, the named configs labelled), the FPGA figures (Fmax against
LUTs and DSP blocks), the Pareto front of area against output bits, and checked beats per second
per point, named.

Each plot is a function returning its figure (the tests read its text objects); :func:`write_plots`
saves them.
"""

from __future__ import annotations

from pathlib import Path

DPI = 110
FAMILIES = {
    "shift": ("o", "tab:blue"),
    "shift+mult": ("s", "tab:green"),
    "gemmlowp": ("^", "tab:orange"),
    "fp32": ("D", "tab:red"),
}
"""Rounding families: a shift-only requantizer, a multiplier and a shift, TFLite's gemmlowp, the
binary32 scale; the marker and colour of each."""


def family(cfg: dict) -> str:
    """The rounding family of a config dict (:data:`FAMILIES`)."""
    if cfg["rounding"] in ("gemmlowp", "fp32"):
        return cfg["rounding"]
    return "shift+mult" if cfg.get("mult_bits", 0) else "shift"


def named(cfg: dict) -> str | None:
    """The named config equal to ``cfg``, if any."""
    from pyref.config import NAMED_CONFIGS

    for name, c in NAMED_CONFIGS.items():
        if c.to_dict() == cfg:
            return name
    return None


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def pass_matrix_fig(run: dict):
    """Passed/total points per (in_bits, w_bits), one panel per rounding mode, with a colour
    bar of the pass fraction."""
    import numpy as np

    plt = _plt()
    pts = run["points"]
    modes = sorted({r["config"]["rounding"] for r in pts})
    ins = sorted({r["config"]["in_bits"] for r in pts})
    ws = sorted({r["config"]["w_bits"] for r in pts})
    cols = min(3, len(modes))
    rows = (len(modes) + cols - 1) // cols
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(1.0 + 0.55 * len(ws) * cols, 1.4 + 0.5 * len(ins) * rows),
        squeeze=False,
        layout="constrained",
    )
    image = None
    for ax, mode in zip(axes.flat, modes):
        grid = np.full((len(ins), len(ws)), np.nan)
        for i, a in enumerate(ins):
            for j, b in enumerate(ws):
                sel = [
                    r
                    for r in pts
                    if r["config"]["rounding"] == mode
                    and r["config"]["in_bits"] == a
                    and r["config"]["w_bits"] == b
                ]
                if sel:
                    ok = sum(r["verdict"] == "pass" for r in sel)
                    grid[i, j] = ok / len(sel)
                    ax.text(j, i, f"{ok}/{len(sel)}", ha="center", va="center", fontsize=7)
        image = ax.imshow(grid, origin="lower", cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(ws)), [str(w) for w in ws], fontsize=8)
        ax.set_yticks(range(len(ins)), [str(a) for a in ins], fontsize=8)
        ax.set_title(f"rounding = {mode}", fontsize=9)
        ax.set_xlabel("w_bits (bits)", fontsize=8)
        ax.set_ylabel("in_bits (bits)", fontsize=8)
    for ax in list(axes.flat)[len(modes) :]:
        ax.axis("off")
    if image is not None:
        fig.colorbar(image, ax=axes, label="points passed (fraction)", shrink=0.8)
    fig.suptitle(f"Sweep {run['spec']}: points passed / swept (blank: not swept)")
    return fig


def _scatter_families(ax, recs: list[dict], x, y) -> None:
    for fam, (marker, colour) in FAMILIES.items():
        sel = [r for r in recs if family(r["config"]) == fam]
        if sel:
            ax.scatter(
                [x(r) for r in sel],
                [y(r) for r in sel],
                marker=marker,
                c=colour,
                s=22,
                alpha=0.8,
                label=fam,
                edgecolors="none",
            )
    for r in recs:
        name = named(r["config"])
        if name:
            ax.annotate(name, (x(r), y(r)), fontsize=7, xytext=(3, 3), textcoords="offset points")


def area_fig(run: dict):
    """Generic cells against lanes x in_bits x w_bits, one marker per rounding family."""
    plt = _plt()
    recs = [r for r in run["points"] if (r.get("synth") or {}).get("ok")]
    fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    _scatter_families(
        ax,
        _unique(recs),
        lambda r: r["config"]["lanes"] * r["config"]["in_bits"] * r["config"]["w_bits"],
        lambda r: r["synth"]["cells"],
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("lanes x in_bits x w_bits (multiplier bits, log)")
    ax.set_ylabel("Yosys generic cells (log)")
    ax.legend(title="rounding family", fontsize=8)
    ax.set_title(f"Sweep {run['spec']}: area against widths and lanes")
    return fig


def fpga_fig(run: dict):
    """Fmax, LUTs and DSP blocks against lanes x in_bits x w_bits, for the points placed and
    routed; one marker per rounding family, the named configs labelled."""
    plt = _plt()
    recs = [r for r in run["points"] if (r.get("fpga") or {}).get("ok")]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), layout="constrained")

    def width(r):
        c = r["config"]
        return c["lanes"] * c["in_bits"] * c["w_bits"]

    for ax, (key, label) in zip(
        axes,
        (
            ("fmax_mhz", "Fmax (MHz)"),
            ("luts", "LUT4 (TRELLIS_COMB)"),
            ("dsps", "DSP blocks (MULT18X18D)"),
        ),
    ):
        _scatter_families(ax, recs, width, lambda r, k=key: r["fpga"][k])
        ax.set_xscale("log")
        ax.set_xlabel("lanes x in_bits x w_bits (multiplier bits, log)")
        ax.set_ylabel(label)
        ax.set_title(f"{label.split(' (')[0]} against widths and lanes")
    axes[0].legend(title="rounding family", fontsize=8)
    part = recs[0]["fpga"]["part"] if recs else "ECP5"
    fig.suptitle(f"Sweep {run['spec']}: ECP5 place and route ({part}, out of context)")
    return fig


def pareto_front(recs: list[dict]) -> list[dict]:
    """The points no other point beats: at least as many output bits for fewer cells."""
    best = []
    for r in sorted(recs, key=lambda r: (-r["config"]["out_bits"], r["synth"]["cells"])):
        if not best or r["synth"]["cells"] < best[-1]["synth"]["cells"]:
            best.append(r)
    return best


def pareto_fig(run: dict):
    """Cells against output bits, the Pareto front drawn and its points named."""
    plt = _plt()
    recs = _unique(
        [r for r in run["points"] if (r.get("synth") or {}).get("ok") and r["verdict"] == "pass"]
    )
    fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    _scatter_families(ax, recs, lambda r: r["config"]["out_bits"], lambda r: r["synth"]["cells"])
    front = pareto_front(recs)
    if front:
        # the fewest cells that reach at least x output bits: constant on (x[i-1], x[i]]
        ordered = sorted(front, key=lambda r: r["config"]["out_bits"])
        xs = [r["config"]["out_bits"] for r in ordered]
        ys = [r["synth"]["cells"] for r in ordered]
        ax.step(xs, ys, where="pre", color="black", lw=1, label="Pareto front")
        for r in front:
            c = r["config"]
            ax.annotate(
                f"{c['lanes']}x{c['in_bits']}x{c['w_bits']} {c['rounding']}",
                (c["out_bits"], r["synth"]["cells"]),
                fontsize=7,
                xytext=(3, -9),
                textcoords="offset points",
            )
    ax.set_yscale("log")
    ax.set_xlabel("output bits (out_bits)")
    ax.set_ylabel("Yosys generic cells (log)")
    ax.legend(fontsize=8)
    ax.set_title(f"Sweep {run['spec']}: area against output precision, passing points")
    return fig


def speed_fig(run: dict, limit: int = 40):
    """Checked beats per second per point, named (the ``limit`` slowest when there are more)."""
    plt = _plt()
    recs = sorted(
        [r for r in run["points"] if r.get("beats_per_s")], key=lambda r: r["beats_per_s"]
    )
    shown = recs[:limit]
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.22 * len(shown)), layout="constrained")
    colours = ["tab:blue" if r["sim"] == "verilator" else "tab:orange" for r in shown]
    labels = [named(r["config"]) or r["key"].split("/")[1] for r in shown]
    ax.barh(range(len(shown)), [r["beats_per_s"] for r in shown], color=colours)
    ax.set_yticks(
        range(len(shown)),
        [f"{lab} ({r['sim']}, N={r['n']})" for lab, r in zip(labels, shown)],
        fontsize=7,
    )
    ax.set_xscale("log")
    ax.set_xlabel("checked beats per second (log)")
    from matplotlib.patches import Patch

    ax.legend(
        handles=[
            Patch(color="tab:blue", label="Verilator"),
            Patch(color="tab:orange", label="Icarus"),
        ],
        fontsize=8,
    )
    more = f", the {limit} slowest of {len(recs)}" if len(recs) > limit else ""
    ax.set_title(f"Sweep {run['spec']}: simulation speed per point{more}")
    return fig


def _unique(recs: list[dict]) -> list[dict]:
    """One record per config (synthesis does not depend on the simulator or N)."""
    import json

    seen, out = set(), []
    for r in recs:
        key = json.dumps(r["config"], sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def write_plots(run: dict, out: Path) -> dict[str, Path]:
    """Write the plots of ``run`` into ``out``; their paths by name (none for an empty run)."""
    plt = _plt()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pts = run["points"]
    files: dict[str, Path] = {}
    if not pts:
        return files
    makers = {"pass_matrix": pass_matrix_fig}
    if any((r.get("synth") or {}).get("ok") for r in pts):
        makers.update(area=area_fig, pareto=pareto_fig)
    if any((r.get("fpga") or {}).get("ok") for r in pts):
        makers["fpga"] = fpga_fig
    if any(r.get("beats_per_s") for r in pts):
        makers["speed"] = speed_fig
    for name, make in makers.items():
        fig = make(run)
        files[name] = out / f"{name}.png"
        fig.savefig(files[name], dpi=DPI)
        plt.close(fig)
    return files
