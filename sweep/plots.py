"""PNG plots of a sweep: pass/fail heatmaps (in_bits x w_bits for each rounding mode), cells
against lanes and against the multiplier width, checked beats per second per point."""

from __future__ import annotations

from pathlib import Path


def write_plots(run: dict, out: Path) -> dict[str, Path]:
    """Write the plots of ``run`` into ``out``; their paths by name (none for an empty run)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pts = run["points"]
    files: dict[str, Path] = {}
    if not pts:
        return files

    # Pass fraction per (in_bits, w_bits), one panel per rounding mode.
    modes = sorted({r["config"]["rounding"] for r in pts})
    ins = sorted({r["config"]["in_bits"] for r in pts})
    ws = sorted({r["config"]["w_bits"] for r in pts})
    cols = min(4, len(modes))
    rows = (len(modes) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.0 * rows), squeeze=False)
    for ax, mode in zip(axes.flat, modes):
        grid = np.full((len(ins), len(ws)), np.nan)
        for i, a in enumerate(ins):
            for j, b in enumerate(ws):
                sel = [r for r in pts if r["config"]["rounding"] == mode
                       and r["config"]["in_bits"] == a and r["config"]["w_bits"] == b]
                if sel:
                    grid[i, j] = sum(r["verdict"] == "pass" for r in sel) / len(sel)
        ax.imshow(grid, origin="lower", cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(ws)), [str(w) for w in ws], fontsize=7)
        ax.set_yticks(range(len(ins)), [str(a) for a in ins], fontsize=7)
        ax.set_title(mode, fontsize=9)
        ax.set_xlabel("w_bits", fontsize=8)
        ax.set_ylabel("in_bits", fontsize=8)
    for ax in list(axes.flat)[len(modes):]:
        ax.axis("off")
    fig.suptitle(f"{run['spec']}: pass fraction (green = all pass, grey = not swept)")
    fig.tight_layout()
    files["pass_heatmap"] = out / "pass_heatmap.png"
    fig.savefig(files["pass_heatmap"], dpi=90)
    plt.close(fig)

    area = [r for r in pts if (r.get("synth") or {}).get("ok")]
    if area:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
        lanes = [r["config"]["lanes"] for r in area]
        cells = [r["synth"]["cells"] for r in area]
        prod = [r["config"]["in_bits"] * r["config"]["w_bits"] for r in area]
        sc = a1.scatter(lanes, cells, c=prod, cmap="viridis", s=14)
        a1.set_xscale("log", base=2)
        a1.set_yscale("log")
        a1.set_xlabel("lanes")
        a1.set_ylabel("cells (generic gates)")
        fig.colorbar(sc, ax=a1, label="in_bits x w_bits")
        a2.scatter([p * l for p, l in zip(prod, lanes)], cells, s=14,
                   c=["tab:green" if r["verdict"] == "pass" else "tab:red" for r in area])
        a2.set_xscale("log")
        a2.set_yscale("log")
        a2.set_xlabel("lanes x in_bits x w_bits")
        a2.set_ylabel("cells")
        fig.suptitle(f"{run['spec']}: area against widths and lanes")
        fig.tight_layout()
        files["cells"] = out / "cells.png"
        fig.savefig(files["cells"], dpi=90)
        plt.close(fig)

    speed = [r for r in pts if r.get("beats_per_s")]
    if speed:
        speed.sort(key=lambda r: r["beats_per_s"])
        fig, ax = plt.subplots(figsize=(10, 3.5))
        ax.bar(range(len(speed)), [r["beats_per_s"] for r in speed],
               color=["tab:blue" if r["sim"] == "verilator" else "tab:orange" for r in speed])
        ax.set_yscale("log")
        ax.set_xlabel("point (sorted; blue = Verilator, orange = Icarus)")
        ax.set_ylabel("checked beats/s")
        ax.set_title(f"{run['spec']}: simulation speed per point")
        fig.tight_layout()
        files["speed"] = out / "speed.png"
        fig.savefig(files["speed"], dpi=90)
        plt.close(fig)
    return files
