"""``qmac test RTL=<folder>``: the RTL regression on any RTL folder (``make test`` runs it on
qmac's own as part of its pytest suite): every named config the RTL accepts, both transports
(batch with every reachable coverage bin required, per-cycle), every installed simulator of
``SIMS``. A config whose build the RTL refuses (its parameter checks) is reported as not
accepted; a regression in which the RTL accepts no config at all is an error.

Variables: ``RTL`` (default qmac's rtl/), ``PORTS`` (a ports.toml for a DUT named otherwise),
``N`` (outputs per batch run, default 4000; per-cycle runs take a tenth), ``SEED`` (default 1),
``SIMS`` (default ``verilator,icarus``), ``JOBS`` (parallel runs, default the cores),
``CONFIGS`` (comma-separated named configs, default all).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import time
from pathlib import Path

from pyref.config import NAMED_CONFIGS
from tb import api as tb_api
from tb.cli.errors import (
    ArgumentParser,
    UsageError,
    int_at_least,
    no_work,
    normalize_argv,
    run_main,
)

CYCLE_SHARE = 10
"""Per-cycle runs check N / CYCLE_SHARE outputs (they drive every cycle from Python)."""


def parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="qmac test", description=__doc__)
    p.add_argument("--rtl", default=str(tb_api.RTL_DIR))
    p.add_argument("--ports")
    p.add_argument("--n", type=int_at_least(CYCLE_SHARE), default=4000)
    p.add_argument("--seed", type=int_at_least(0), default=1)
    p.add_argument("--sims", default="verilator,icarus")
    p.add_argument("--jobs", type=int_at_least(0), default=0)
    p.add_argument("--configs", default=",".join(NAMED_CONFIGS))
    return p


def _one(name: str, sim: str, mode: str, n: int, seed: int, rtl: str) -> dict:
    """One run (in a worker): its verdict and one line."""
    t0 = time.perf_counter()
    try:
        out = tb_api.run_config(
            NAMED_CONFIGS[name],
            sim=sim,
            seed=seed,
            n=n,
            rtl_dir=Path(rtl),
            name=name,
            mode=mode,
            require_coverage=(mode == "batch"),
        )
    except tb_api.BuildFailed as exc:
        text = str(exc)
        refused = "qmac_bad_" in text or "refuse" in text.lower()
        return {
            "verdict": "not accepted" if refused else "FAIL",
            "line": text.splitlines()[0][:160],
            "seconds": time.perf_counter() - t0,
        }
    except (tb_api.SimulationFailed, RuntimeError) as exc:
        return {
            "verdict": "FAIL",
            "line": str(exc).splitlines()[0][:160],
            "seconds": time.perf_counter() - t0,
        }
    line = out.summary if out.passed else "; ".join([out.summary, *out.details[:2]])
    return {
        "verdict": "pass" if out.passed else "FAIL",
        "line": line,
        "seconds": time.perf_counter() - t0,
        "repro": tb_api.repro(NAMED_CONFIGS[name], sim, n, seed, Path(rtl)),
    }


def main(argv: list[str] | None = None) -> int:
    """0 every accepted config passed everywhere, 1 a failure, 2 bad options or nothing to run,
    3 no simulator."""

    def body() -> int:
        p = parser()
        a = p.parse_args(normalize_argv(list(argv or []), p))
        rtl = Path(a.rtl)
        if not rtl.is_dir() or not list(rtl.glob("*.v")):
            raise UsageError(f"RTL = {a.rtl!r}: not a folder of Verilog files (*.v)")
        if a.ports:
            from tb.shared.ports import PortsError, adapted_folder

            try:
                rtl = adapted_folder(rtl, Path(a.ports), tb_api.BUILD_ROOT.parent)
            except PortsError as exc:
                raise UsageError(str(exc)) from None
        sims = [s.strip() for s in a.sims.split(",") if s.strip()]
        bad = [s for s in sims if s not in tb_api.SIMULATORS]
        if bad or not sims:
            raise UsageError(f"SIMS = {a.sims!r}: allowed {', '.join(tb_api.SIMULATORS)}")
        missing = {s: tb_api.simulator_missing(s) for s in sims}
        sims = [s for s in sims if not missing[s]]
        for s, why in missing.items():
            if why:
                print(f"note: {s} is not installed, its runs are left out: {why}")
        if not sims:
            raise no_work("SIMS", a.sims, "no simulator of it is installed")
        configs = [c.strip() for c in a.configs.split(",") if c.strip()]
        unknown = [c for c in configs if c not in NAMED_CONFIGS]
        if unknown or not configs:
            raise UsageError(
                f"CONFIGS = {a.configs!r}: named configs are {', '.join(NAMED_CONFIGS)}"
            )
        runs = [(c, s, m) for c in configs for s in sims for m in ("batch", "cycle")]
        print(
            f"qmac test: {len(runs)} runs of {rtl} ({len(configs)} named configs x "
            f"{'/'.join(sims)} x batch/cycle), N = {a.n} (cycle {a.n // CYCLE_SHARE})",
            flush=True,
        )
        jobs = a.jobs or os.cpu_count() or 1
        results = {}
        with concurrent.futures.ProcessPoolExecutor(max_workers=jobs) as ex:
            futs = {
                ex.submit(
                    _one, c, s, m, a.n if m == "batch" else a.n // CYCLE_SHARE, a.seed, str(rtl)
                ): (c, s, m)
                for c, s, m in runs
            }
            for fut in concurrent.futures.as_completed(futs):
                results[futs[fut]] = fut.result()
        width = max(len(c) for c in NAMED_CONFIGS)
        for key in runs:
            r = results[key]
            print(
                f"  {key[0]:<{width}} {key[1]:<9} {key[2]:<5} {r['verdict']:<12} "
                f"{r['seconds']:5.1f} s  {r['line']}"
            )
            if r["verdict"] == "FAIL" and r.get("repro"):
                print(f"  {'':<{width}} reproduce: {r['repro']}")
        verdicts = [r["verdict"] for r in results.values()]
        accepted = [v for v in verdicts if v != "not accepted"]
        if not accepted:
            raise no_work("RTL", str(a.rtl), "it accepts none of the named configs")
        failed = verdicts.count("FAIL")
        print(
            f"qmac test: {'PASS' if not failed else 'FAIL'}: {verdicts.count('pass')} passed, "
            f"{failed} failed, {verdicts.count('not accepted')} not accepted by the RTL"
        )
        return 1 if failed else 0

    return run_main(body, prog="qmac test", tool_errors=(tb_api.SimulatorMissing,))
