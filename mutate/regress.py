"""The quick regression of one RTL folder: every named config, stopping at the first failure.

Each mutant runs in a child process (``python -m mutate.regress SPEC.json``) so that a mutant
that hangs the simulator is stopped by a timeout and counted as killed (the testbench would not
have passed it). The child writes one JSON line per config to the spec's ``out`` file.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from pyref.config import QmacConfig

from .proc import run_in_group

KILLED, SURVIVED, NO_BUILD, EQUIVALENT = "killed", "survived", "did-not-build", "equivalent"


@dataclasses.dataclass
class Verdict:
    """What the regression said about one RTL folder."""

    status: str
    """``killed``, ``survived`` or ``did-not-build``."""
    by: str = ""
    """The config that killed it (or failed to build it)."""
    detail: str = ""
    configs_run: int = 0
    outputs_checked: int = 0
    seconds: float = 0.0


@dataclasses.dataclass(frozen=True)
class RegressionSpec:
    """How to regress: the configs in order, simulator, seed, outputs per config."""

    configs: tuple[tuple[str, QmacConfig], ...]
    sim: str = "icarus"
    seed: int = 1
    n: int = 2000
    timeout: float = 0.0
    """Seconds for one regression of a folder (0: 40 s per config it runs + 30 s)."""

    def seed_of(self, name: str) -> int:
        # A config's seed does not depend on the order configs are tried in.
        return self.seed + sum(map(ord, name))

    def limit(self, configs: int) -> float:
        """The time limit of a regression of ``configs`` configs."""
        return self.timeout or 40.0 * configs + 30.0


def run_child(spec_file: Path) -> None:
    """The child process: run the spec's configs in order, one JSON line each, stop at the
    first that does not pass."""
    from tb.api import BuildFailed, run_config

    spec = json.loads(Path(spec_file).read_text())
    out = Path(spec["out"])
    with out.open("a") as fh:
        for name, cfg in spec["configs"]:
            t0 = time.perf_counter()
            rec = {"config": name}
            try:
                res = run_config(
                    QmacConfig.from_dict(cfg),
                    rtl_dir=Path(spec["rtl_dir"]),
                    sim=spec["sim"],
                    seed=spec["seeds"][name],
                    n=spec["n"],
                    build_root=Path(spec["work"]) / "build",
                    test_dir=Path(spec["work"]) / "run" / name,
                    name=name,
                    max_mismatches=1,
                )
                rec.update(
                    status="pass" if res.passed else "fail",
                    message=res.first_failure,
                    outputs=res.outputs_checked,
                )
            except BuildFailed as exc:
                refusal = re.search(r"qmac_bad_\w+", str(exc))
                if refusal:  # the RTL's own parameter check refuses this valid config
                    rec.update(status="refused", message=refusal.group(0))
                else:
                    rec.update(status="build", message=str(exc).splitlines()[0])
            except RuntimeError as exc:  # SimulationFailed, or the run broke otherwise
                rec.update(status="crash", message=str(exc).splitlines()[0])
            rec["seconds"] = time.perf_counter() - t0
            fh.write(json.dumps(rec) + "\n")
            fh.flush()
            if rec["status"] != "pass":
                break


def regress(
    rtl_dir: Path, spec: RegressionSpec, work: Path, order: list[str] | None = None
) -> Verdict:
    """Run the quick regression on ``rtl_dir`` (configs in ``order``, default the spec's)
    in a child process, working in ``work``."""
    work = Path(work).resolve()  # the simulator runs in another folder
    work.mkdir(parents=True, exist_ok=True)
    configs = dict(spec.configs)
    names = order or [n for n, _ in spec.configs]
    out = work / "results.jsonl"
    out.unlink(missing_ok=True)
    spec_file = work / "spec.json"
    spec_file.write_text(
        json.dumps(
            {
                "rtl_dir": str(Path(rtl_dir).resolve()),
                "work": str(work),
                "out": str(out),
                "sim": spec.sim,
                "n": spec.n,
                "configs": [(n, configs[n].to_dict()) for n in names],
                "seeds": {n: spec.seed_of(n) for n in names},
            }
        )
    )
    t0 = time.perf_counter()
    env = dict(os.environ)
    env.pop("COVERAGE", None)  # cocotb reads it as a request for Python coverage
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    limit = spec.limit(len(names))
    with open(work / "child.log", "w") as log:
        proc = run_in_group(
            [sys.executable, "-m", "mutate.regress", str(spec_file)],
            limit,
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=env,
        )
    timed_out = proc is None
    records = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    v = Verdict(
        SURVIVED,
        configs_run=len(records),
        seconds=time.perf_counter() - t0,
        outputs_checked=sum(r.get("outputs", 0) for r in records),
    )
    last = records[-1] if records else None
    if timed_out:
        running = names[len(records)] if len(records) < len(names) else "?"
        v.status, v.by = KILLED, running
        v.detail = f"the simulation hung (stopped after {limit:.0f} s)"
    elif last and last["status"] == "fail":
        v.status, v.by, v.detail = KILLED, last["config"], last["message"]
    elif last and last["status"] == "crash":
        v.status, v.by = KILLED, last["config"]
        v.detail = f"the simulation died: {last['message']}"
    elif last and last["status"] == "refused":
        v.status, v.by = KILLED, last["config"]
        v.detail = f"the RTL refuses this valid config ({last['message']})"
    elif last and last["status"] == "build":
        v.status, v.by, v.detail = NO_BUILD, last["config"], last["message"]
    elif len(records) < len(names):
        log = (work / "child.log").read_text(errors="replace").strip().splitlines()
        raise RuntimeError(
            f"the regression child stopped after {len(records)} of {len(names)} "
            f"configs (exit {proc.returncode}): {log[-1] if log else 'no log'}"
        )
    return v


if __name__ == "__main__":
    run_child(Path(sys.argv[1]))
