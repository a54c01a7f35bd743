"""``make bench``: how fast outputs get checked, per transport and simulator, next to ceilings.

For the default config (8 lanes) and ``lanes32`` it measures, in one run:

- the per-cycle transport (Python on every clock edge) and the batch transport, on Verilator and
  on Icarus: checked beats per second and outputs per second, timed inside the simulation from
  the first beat to the last check (stimulus generation and the reference model are left out:
  they are the same for every path);
- the ceilings: the same RTL and the same vectors checked by a small native Verilator C++
  harness and by a plain Verilog testbench under Icarus (:mod:`tb.bench.native`);
- the ratio ceiling / batch path per simulator;
- on Verilator at 8 lanes, the batch path on cocotb's own main loop with a ``--timing`` clock,
  serial and with its packing and checking overlapped with the simulation (worker threads,
  :mod:`tb.batch.pipeline`), and a sweep of the batch size, to show what the design choices buy;
- where each batch row's time went (simulation, hand-back, packing, checking, waiting for the
  workers: the run's ``batch-result.json``);
- the wall time of a warm ``make sim``;
- the Verilator build seconds: cold, with the shared runtime warm, after a one-line RTL edit
  (:mod:`tb.bench.build_time`; ``--no-build-time`` skips them).

Full-rate handshake (no idle gaps, no back-pressure, no resets) so the figures are throughput.
Results go to ``build/bench.json`` and ``build/bench.txt`` as well as the screen.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import time

from pyref.config import named_config
from tb.batch.cocotb_test import BATCH_BEATS_ENV, OVERLAP_ENV
from tb.run.build import PROFILE_ENV, REPO_ROOT
from tb.run.runner import run_sim
from tb.run.toolchain import simulator_missing
from tb.shared.job import SimJob
from tb.shared.prepare import prepare

from . import build_time
from . import native as bench_native

OUT_DIR = REPO_ROOT / "build"

# Outputs per run, sized so each measurement takes a second or more but the whole bench stays
# within a few minutes on a shared 2-core machine.
SIZES = {
    ("batch", "verilator"): 100_000,
    ("batch", "icarus"): 30_000,
    ("cycle", "verilator"): 10_000,
    ("cycle", "icarus"): 5_000,
}


@dataclasses.dataclass
class Row(bench_native.Throughput):
    """One line of the `make bench` table: a transport (or ceiling) on one simulator."""

    config: str
    lanes: int
    path: str
    sim: str
    beats: int
    outputs: int
    seconds: float
    note: str = ""
    detail: dict = dataclasses.field(default_factory=dict)
    """The batch path's ``batch-result.json`` of the best run (where its time went)."""


def _job(config_name: str, sim: str, mode: str, n: int, seed: int) -> SimJob:
    cfg = named_config(config_name)
    return SimJob(
        config=cfg.to_dict(),
        config_name=config_name,
        sim=sim,
        seed=seed,
        n=n,
        mode=mode,
        idle="none",
        ready="none",
        resets=0,
    )


def _env(**values):
    class _Ctx:
        def __enter__(self):
            self.old = {k: os.environ.get(k) for k in values}
            os.environ.update({k: str(v) for k, v in values.items()})

        def __exit__(self, *exc):
            for k, v in self.old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    return _Ctx()


def measure_sim(
    config_name: str,
    sim: str,
    mode: str,
    n: int,
    seed: int,
    note: str = "",
    batch_beats: int | None = None,
    repeats: int = 1,
    overlap: str | None = None,
) -> Row:
    """Simulator runs; the time is the report's (first beat to last check), the best of
    ``repeats`` runs (other jobs on the machine only ever make a run slower). ``overlap``
    sets ``QMAC_BATCH_OVERLAP`` (default: the run's own choice)."""
    job = _job(config_name, sim, mode, n, seed)
    best = None
    detail: dict = {}
    compiled = False
    env = {
        **({BATCH_BEATS_ENV: batch_beats} if batch_beats else {}),
        **({OVERLAP_ENV: overlap} if overlap is not None else {}),
    }
    for _ in range(repeats):
        with _env(**env):
            res = run_sim(job, test_dir=OUT_DIR / "bench" / f"run-{mode}-{sim}")
        rep = res.report
        compiled |= res.compiled
        if not rep.passed:
            raise RuntimeError(f"{mode}/{sim}/{config_name} failed: {rep.error or rep.details[:1]}")
        if best is None or rep.sim_seconds < best.sim_seconds:
            best = rep
            found = res.test_dir / "batch-result.json"
            detail = json.loads(found.read_text()) if found.is_file() else {}
    label = mode if mode != "batch-timing" else "batch (cocotb main, --timing clock)"
    tag = f"(best of {repeats})" if repeats > 1 else ""
    return Row(
        config_name,
        job.qmac_config().lanes,
        label,
        sim,
        best.beats,
        best.outputs_checked,
        best.sim_seconds,
        " ".join(t for t in (note, tag, "(built this run)" if compiled else "") if t),
        detail,
    )


def format_breakdown(rows: list[Row]) -> str:
    """Where each batch row's time went (milliseconds, from its ``batch-result.json``)."""
    keys = (
        ("t_run", "total"),
        ("t_sim_only", "simulation"),
        ("t_handback", "hand-back"),
        ("t_pack", "pack*"),
        ("t_check", "check*"),
        ("t_wait", "wait for workers"),
    )
    head = f"{'config':9s} {'sim':9s} {'overlap':8s}" + "".join(f" {t:>11s}" for _, t in keys)
    lines = [head, "-" * len(head)]
    for r in rows:
        if not r.detail:
            continue
        d = r.detail
        cells = "".join(f" {d[k] * 1000:11.1f}" if k in d else f" {'-':>11s}" for k, _ in keys)
        lines.append(
            f"{r.config:9s} {r.sim:9s} {str(d.get('overlap', '-')):8s}{cells} {r.path} {r.note}"
        )
    lines.append(
        "* on the worker threads when overlap is on (then they run while the simulator "
        "plays; total = what the cocotb side waited)"
    )
    return "\n".join(lines)


def measure_ceiling(config_name: str, sim: str, n: int, seed: int, repeats: int = 1) -> Row:
    """The same RTL and the same vectors as the batch run of ``sim``, without Python."""
    cfg = named_config(config_name)
    session = prepare(_job(config_name, sim, "batch", n, seed))  # the batch run's stimulus
    run = bench_native.run_native if sim == "verilator" else bench_native.run_icarus
    r = min(
        (run(cfg, session.stim.stream, session.expected) for _ in range(repeats)),
        key=lambda x: x.seconds,
    )
    if r.errors:
        raise RuntimeError(f"ceiling {sim}/{config_name}: {r.errors} output(s) wrong")
    what = "native C++ harness" if sim == "verilator" else "plain Verilog testbench"
    return Row(
        config_name,
        cfg.lanes,
        f"ceiling ({what})",
        sim,
        r.beats,
        r.outputs,
        r.seconds,
        f"(best of {repeats})" if repeats > 1 else "",
    )


def warm_make_sim() -> float:
    """Wall time of ``make sim`` (its defaults) once its build exists."""
    cmd = [sys.executable, "-m", "tb.cli.sim", "SEED=1"]
    subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True)  # make sure it is warm
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if res.returncode:
        raise RuntimeError(f"make sim failed:\n{res.stdout[-2000:]}{res.stderr[-2000:]}")
    return wall


def format_table(rows: list[Row]) -> str:
    """The rows as the fixed-width table ``make bench`` prints."""
    head = (
        f"{'config':9s} {'lanes':>5s}  {'sim':9s} {'path':42s} {'beats':>8s} {'outputs':>8s} "
        f"{'seconds':>8s} {'beats/s':>12s} {'outputs/s':>11s}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r.config:9s} {r.lanes:5d}  {r.sim:9s} {r.path:42s} {r.beats:8d} "
            f"{r.outputs:8d} {r.seconds:8.3f} {r.beats_per_s:12,.0f} "
            f"{r.outputs_per_s:11,.0f} {r.note}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tb.bench", description=__doc__.split("\n")[0])
    p.add_argument("--configs", default="default,lanes32")
    p.add_argument("--sims", default="verilator,icarus")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="a tenth of the sizes")
    p.add_argument(
        "--no-build-time",
        action="store_true",
        help="skip the Verilator build timings (cold, warm runtime, RTL edit)",
    )
    args = p.parse_args(argv)
    os.environ[PROFILE_ENV] = "speed"  # throughput of the fast model, even in short runs
    sims = [s for s in args.sims.split(",") if not simulator_missing(s)]
    scale = 0.1 if args.quick else 1.0
    load0 = os.getloadavg()
    t_start = time.perf_counter()
    print(
        f"qmac bench: {platform.node()}, {os.cpu_count()} cores, load average "
        f"{load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f} (other jobs share these cores)",
        flush=True,
    )
    rows: list[Row] = []
    ratios: list[str] = []
    for cfg in args.configs.split(","):
        for sim in sims:
            # Icarus's time per cycle grows with the lanes: keep its runs to similar lengths.
            shrink = 8 / named_config(cfg).lanes if sim == "icarus" else 1.0
            n_b = max(int(SIZES[("batch", sim)] * scale * shrink), 100)
            n_c = max(int(SIZES[("cycle", sim)] * scale * shrink), 100)
            reps = 3 if sim == "verilator" else 1
            for label, fn in (
                ("cycle", lambda: measure_sim(cfg, sim, "cycle", n_c, args.seed)),
                ("batch", lambda: measure_sim(cfg, sim, "batch", n_b, args.seed, repeats=reps)),
                ("ceiling", lambda: measure_ceiling(cfg, sim, n_b, args.seed, repeats=reps)),
            ):
                print(f"  {cfg} / {sim} / {label} ...", flush=True)
                rows.append(fn())
            batch_row, ceil_row = rows[-2], rows[-1]
            ratios.append(
                f"{cfg:9s} {sim:9s} ceiling / batch = "
                f"{ceil_row.beats_per_s / batch_row.beats_per_s:6.2f}x  "
                f"(batch / per-cycle = "
                f"{batch_row.beats_per_s / rows[-3].beats_per_s:6.1f}x; worker "
                f"threads {'on' if batch_row.detail.get('overlap') else 'off'})"
            )
    extra: list[Row] = []
    if "verilator" in sims and "default" in args.configs.split(","):
        n = max(int(SIZES[("batch", "verilator")] * scale), 100)
        print("  default / verilator / batch on cocotb's main loop ...", flush=True)
        extra.append(measure_sim("default", "verilator", "batch-timing", n, args.seed, repeats=3))
        for label, value in (
            ("serial: no worker threads", "0"),
            ("overlapped: worker threads forced on", "1"),
        ):
            print(f"  default / verilator / batch, {label} ...", flush=True)
            extra.append(
                measure_sim(
                    "default",
                    "verilator",
                    "batch",
                    n,
                    args.seed,
                    note=f"({label})",
                    overlap=value,
                    repeats=3,
                )
            )
        for size in (512, 4096, 16384):
            print(f"  default / verilator / batch of {size} beats ...", flush=True)
            extra.append(
                measure_sim(
                    "default",
                    "verilator",
                    "batch",
                    n,
                    args.seed,
                    note=f"(batches of {size} beats)",
                    batch_beats=size,
                    repeats=2,
                )
            )
    print("  warm make sim ...", flush=True)
    make_sim_wall = warm_make_sim()
    build_text = "  (not measured)"
    build_rows: list = []
    if "verilator" in sims and not args.no_build_time:
        print("  Verilator build timings ...", flush=True)
        build_rows = build_time.measure()
        build_text = build_time.report(build_rows, "quick")
    load1 = os.getloadavg()
    text = "\n".join(
        [
            f"qmac bench ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, load average "
            f"{load0[0]:.2f} before, {load1[0]:.2f} after; full-rate handshake, seed {args.seed})",
            "",
            format_table(rows),
            "",
            "ratios (checked beats per second):",
            *["  " + r for r in ratios],
            "",
            "what the batch design choices buy (Verilator, 8 lanes):",
            format_table(extra) if extra else "  (not measured)",
            "",
            "where the batch path's time goes (best run of each; milliseconds):",
            format_breakdown([r for r in rows + extra if r.path.startswith("batch")]),
            "",
            f"warm `make sim` (100000 outputs, Verilator, batch, default patterns and resets): "
            f"{make_sim_wall:.1f} s wall",
            "",
            build_text,
            f"bench total: {time.perf_counter() - t_start:.0f} s",
        ]
    )
    print()
    print(text)
    OUT_DIR.mkdir(exist_ok=True)
    (OUT_DIR / "bench.txt").write_text(text + "\n")
    (OUT_DIR / "bench.json").write_text(
        json.dumps(
            {
                "rows": [
                    dict(
                        dataclasses.asdict(r),
                        beats_per_s=r.beats_per_s,
                        outputs_per_s=r.outputs_per_s,
                    )
                    for r in rows + extra
                ],
                "ratios": ratios,
                "make_sim_wall_s": make_sim_wall,
                "builds": [dataclasses.asdict(b) for b in build_rows],
                "load_before": load0,
                "load_after": load1,
                "cores": os.cpu_count(),
            },
            indent=1,
        )
    )
    print(f"\nwritten: {OUT_DIR / 'bench.txt'}, {OUT_DIR / 'bench.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
