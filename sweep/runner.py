"""Running the points of a sweep: simulate (batch transport, every reachable coverage bin
required) and synthesize each one, in parallel over the cores, skipping points whose digest
already passed.

A point passes when the simulation found no mismatch and no coverage hole *and* the synthesis
finished with no latch. Its record (a plain dict, the row of ``results.json``) says what failed
and carries the ``make sim ...`` command that reproduces the simulation.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import os
import sys
import time
from pathlib import Path

from pyref.config import QmacConfig
from tb import api as tb_api

from . import synth
from .points import Point, context_digest, point_digest, tree_digest

CACHE_ROOT = tb_api.WORK_ROOT / "build" / "sweep" / "cache"


def default_jobs() -> int:
    """The cores this process may use."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # pragma: no cover
        return os.cpu_count() or 1


@dataclasses.dataclass
class RunOptions:
    jobs: int = 0
    """Points run at the same time (0: one per core)."""
    force: bool = False
    """Run every point even when its digest already passed."""
    rtl_dir: Path = tb_api.RTL_DIR
    build_root: Path | None = None
    """Where the simulator builds go (default: make sim's ``build/sim``, shared with it)."""
    cache_root: Path = CACHE_ROOT
    synth: bool = True
    progress: bool = True
    coverage: bool = False
    """Collect RTL code coverage from every Verilator point (``make sweep COVERAGE=1``)."""
    pnr: bool = False
    """Place and route every point on the FPGA (``PNR=1``), not only those the spec marks."""


def tool_versions(sims: set[str], with_synth: bool) -> dict:
    """Versions of the tools a verdict depends on (part of every digest)."""
    import cocotb

    tools = {"cocotb": cocotb.__version__, "python": sys.version.split()[0]}
    for sim in sorted(sims):
        tools[sim] = tb_api.simulator_version(sim)
    if with_synth:
        tools["yosys"] = synth.yosys_version()
    return tools


def run_points(points: list[Point], opts: RunOptions) -> tuple[list[dict], dict]:
    """Run ``points`` (reusing passed ones); returns the records in the order of ``points`` and
    facts about the run (tool versions, wall time, how many were run / reused)."""
    t0 = time.perf_counter()
    rtl_dir = Path(opts.rtl_dir)
    rtl_files = tb_api.rtl_files(rtl_dir)
    tools = tool_versions({p.sim for p in points}, opts.synth) if points else {}
    context = context_digest(
        rtl_files,
        tb_api.testbench_files(),
        {**tools, "synth": opts.synth, "coverage": opts.coverage, "pnr": opts.pnr},
    )
    passed_dir = Path(opts.cache_root) / "passed"
    records: dict[str, dict] = {}
    todo: list[tuple[Point, str]] = []
    for p in points:
        digest = point_digest(p, context)
        cached = None if opts.force else _read_json(passed_dir / f"{digest}.json")
        dat = cached and cached.get("coverage_dat")
        if dat and not Path(dat).is_file():
            cached = None  # its coverage points are gone: run it again
        if cached is not None and cached.get("verdict") == "pass" and cached.get("key") == p.key:
            cached.update(cached=True, origin=p.origin)
            records[p.key] = cached
        else:
            todo.append((p, digest))
    rtl_digest = tree_digest(rtl_files)
    jobs = opts.jobs or default_jobs()
    args = [
        (
            p.to_dict(),
            digest,
            str(rtl_dir),
            None if opts.build_root is None else str(opts.build_root),
            str(opts.cache_root),
            opts.synth,
            rtl_digest,
            tools.get("yosys", ""),
            opts.coverage,
            opts.pnr or p.pnr,
        )
        for p, digest in todo
    ]
    if args:
        # Expensive points first, so the last ones to finish are short.
        from .shard import predicted_seconds

        args.sort(key=lambda a: -predicted_seconds(Point.from_dict(a[0])))
        bar = _progress(len(args), opts.progress)
        if jobs == 1 or len(args) == 1:
            for a in args:
                rec = run_one(*a)
                records[rec["key"]] = rec
                bar(rec)
        else:
            with concurrent.futures.ProcessPoolExecutor(max_workers=min(jobs, len(args))) as ex:
                futures = [ex.submit(run_one, *a) for a in args]
                for fut in concurrent.futures.as_completed(futures):
                    rec = fut.result()
                    records[rec["key"]] = rec
                    bar(rec)
        bar(None)
    passed_dir.mkdir(parents=True, exist_ok=True)
    for rec in records.values():
        if rec["verdict"] == "pass" and not rec.get("cached"):
            _write_json(passed_dir / f"{rec['digest']}.json", rec)
    facts = {
        "tools": tools,
        "wall_seconds": time.perf_counter() - t0,
        "jobs": jobs,
        "ran": len(todo),
        "reused": len(points) - len(todo),
        "rtl_dir": str(rtl_dir),
        "rtl_digest": rtl_digest[:16],
    }
    return [records[p.key] for p in points], facts


def code_coverage_reports(records: list[dict], rtl_dir: Path, out: Path) -> str | None:
    """Merge the RTL code coverage of every point that has it and write the reports to
    ``out`` (:func:`tb.api.write_code_coverage`); the summary's Markdown (None: no point
    has coverage)."""
    files = [f.name for f in tb_api.rtl_files(rtl_dir) if f.suffix == ".v"]
    runs = {
        r["name"]: tb_api.read_code_coverage(r["coverage_dat"], files)
        for r in records
        if r.get("coverage_dat")
    }
    if not runs:
        return None
    tb_api.write_code_coverage(
        runs,
        rtl_dir,
        out,
        title=f"RTL coverage over {len(runs)} sweep points",
        full=False,
        what="point",
        functional={
            r["name"]: (r.get("sim_result") or {}).get("coverage") or {}
            for r in records
            if r.get("coverage_dat")
        },
    )
    return (Path(out) / "summary.md").read_text()


def _progress(total: int, enabled: bool):
    """A progress callback: a tqdm bar on stderr (or nothing)."""
    if not enabled:
        return lambda rec: None
    from tqdm import tqdm

    bar = tqdm(
        total=total, unit="point", file=sys.stderr, dynamic_ncols=True, desc="sweep", smoothing=0.1
    )
    failed = [0]

    def step(rec):
        if rec is None:
            bar.close()
            return
        failed[0] += rec["verdict"] != "pass"
        bar.set_postfix_str(f"failed {failed[0]}")
        bar.update(1)  # failed points are printed once, at the end (cli._finish)

    return step


def run_one(
    point: dict,
    digest: str,
    rtl_dir: str,
    build_root: str | None,
    cache_root: str,
    with_synth: bool,
    rtl_digest: str,
    yosys: str,
    coverage: bool = False,
    pnr: bool = False,
) -> dict:
    """Simulate and synthesize one point; its record (never raises for a failing point).
    With ``coverage``, a Verilator point also leaves its RTL code coverage points in
    ``<cache_root>/coverage/<digest>.dat`` (the record's ``coverage_dat``)."""
    t0 = time.perf_counter()
    p = Point.from_dict(point)
    rtl = Path(rtl_dir)
    dat = (
        Path(cache_root) / "coverage" / f"{digest}.dat"
        if coverage and p.sim == "verilator"
        else None
    )
    sim = _simulate(p, rtl, build_root, dat)
    syn = _synth_cached(p.config, rtl, Path(cache_root), rtl_digest, yosys) if with_synth else None
    fpga = _fpga_cached(p.config, rtl, Path(cache_root), rtl_digest) if pnr else None
    repro = tb_api.repro(p.config, p.sim, p.n, p.seed, rtl)
    failures = []
    if not sim.passed:
        failures.append(f"simulation: {sim.summary}")
        failures += [f"  {d}" for d in sim.details]
        failures.append(f"  reproduce: {repro}")
    if syn is not None and not syn.ok:
        failures.append(f"synthesis: {syn.error}")
    if fpga is not None and not fpga.ok:
        failures.append(f"FPGA implementation: {fpga.error}")
    rec = {
        **p.to_dict(),
        "digest": digest,
        "verdict": "fail" if failures else "pass",
        "failure": "\n".join(failures),
        "repro": repro,
        "sim_result": dataclasses.asdict(sim),
        "synth": syn.to_dict() if syn is not None else None,
        "fpga": fpga.to_dict() if fpga is not None else None,
        "wall_seconds": time.perf_counter() - t0,
        "cached": False,
        "coverage_dat": str(dat) if dat is not None and dat.is_file() else "",
    }
    rec["beats_per_s"] = sim.beats / sim.sim_seconds if sim.sim_seconds else 0.0
    return rec


def _simulate(
    p: Point, rtl: Path, build_root: str | None, code_coverage: Path | None = None
) -> tb_api.RunOutcome:
    """The point's simulation, every reachable coverage bin required (and its RTL code coverage
    points written to ``code_coverage``); a build, simulator or tool failure is a failed
    outcome with the error."""
    root = {} if build_root is None else {"build_root": Path(build_root)}
    try:
        return tb_api.run_config(
            p.config,
            sim=p.sim,
            seed=p.seed,
            n=p.n,
            rtl_dir=rtl,
            require_coverage=True,
            code_coverage=code_coverage,
            **root,
        )
    except (tb_api.SimulatorMissing, RuntimeError, ValueError, OSError) as exc:
        text = str(exc)
        first = text.splitlines()[0] if text else type(exc).__name__
        return tb_api.RunOutcome(
            False, f"error: {first}", text.splitlines()[:40], first_failure=first
        )


def _cached_result(folder: Path, key: dict, make, result_type):
    """``make()``, or an earlier successful result stored under the hash of ``key`` in
    ``folder`` (a result whose ``ok`` is false is never stored)."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    path = Path(folder) / f"{digest}.json"
    hit = _read_json(path)
    if hit is not None and hit.get("ok"):
        return result_type(**hit)
    res = make()
    if res.ok:
        _write_json(path, res.to_dict())
    return res


def _synth_cached(
    config: QmacConfig, rtl: Path, cache_root: Path, rtl_digest: str, yosys: str
) -> synth.SynthResult:
    """Synthesis of ``config``, reusing an earlier successful one of the same RTL, parameters,
    script and Yosys."""
    key = {
        "rtl": rtl_digest,
        "params": config.rtl_parameters(),
        "yosys": yosys,
        "script": synth.SCRIPT_VERSION,
        "code": Path(synth.__file__).read_text(),
    }
    return _cached_result(
        cache_root / "synth",
        key,
        lambda: synth.synthesize(tb_api.rtl_files(rtl), config),
        synth.SynthResult,
    )


def _fpga_cached(
    config: QmacConfig, rtl: Path, cache_root: Path, rtl_digest: str
) -> tb_api.FpgaResult:
    """The FPGA implementation of ``config``, reusing an earlier successful one of the same RTL,
    parameters, flow and tools."""
    key = {"rtl": rtl_digest, "params": config.rtl_parameters(), "flow": tb_api.fpga_flow_digest()}
    return _cached_result(
        cache_root / "fpga",
        key,
        lambda: tb_api.implement_fpga(tb_api.rtl_files(rtl), config),
        tb_api.FpgaResult,
    )


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def _write_json(path: Path, data) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)
