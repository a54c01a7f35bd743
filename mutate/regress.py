"""The quick regression of one RTL folder: every named config, stopping at the first failure.

The regressions run in a child process (``python -m mutate.regress SPEC.json``) so that a mutant
that hangs the simulator is stopped by a timeout and counted as killed (the testbench would not
have passed it). One child can regress several *items* in turn (mutants of one schema build,
each its own plusargs: :func:`regress_items`), which saves a Python start-up per mutant; it
writes one JSON line per item and config to the spec's ``out`` file, and when an item runs past
its time limit the parent stops the child, counts that item killed, and starts a new child for
the items after it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

from pyref.config import QmacConfig

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
    """The child process: for each item, run its configs in order, one JSON line each, and stop
    the item at the first config that does not pass."""
    from tb.api import run_config

    spec = json.loads(Path(spec_file).read_text())
    out = Path(spec["out"])
    configs = dict(spec["configs"])
    with out.open("a") as fh:
        for item in spec["items"]:
            for name in item["order"]:

                def play(name=name, item=item) -> tuple[bool, str, int]:
                    res = run_config(
                        QmacConfig.from_dict(configs[name]),
                        rtl_dir=Path(spec["rtl_dir"]),
                        sim=spec["sim"],
                        seed=spec["seeds"][name],
                        n=spec["n"],
                        build_root=Path(spec["build_root"]),
                        test_dir=Path(item["work"]) / "run" / name,
                        name=name,
                        max_mismatches=1,
                        plusargs=tuple(item["plusargs"]),
                    )
                    return res.passed, res.first_failure, res.outputs_checked

                rec = config_record(item["index"], name, item.get("check", ""), configs[name], play)
                fh.write(json.dumps(rec) + "\n")
                fh.flush()
                if rec["status"] != "pass":
                    break
            fh.write(json.dumps({"item": item["index"], "done": True}) + "\n")
            fh.flush()


def config_record(index: int, name: str, check: str, config: dict, play) -> dict:
    """The record of item ``index``'s run of config ``name``: ``check`` (the mutant's own copy,
    or "") elaborated first, then ``play()`` -> (passed, first failure, outputs checked); its
    ``status`` is ``pass``, ``fail``, ``refused`` (the RTL's own parameter check refuses the
    valid config), ``build`` or ``crash`` (the simulation died or broke)."""
    from tb.api import BuildFailed

    t0 = time.perf_counter()
    rec: dict = {"item": index, "config": name}
    refused = _standalone_build(check, config)
    try:
        if refused:
            raise BuildFailed(refused)
        passed, message, outputs = play()
        rec.update(status="pass" if passed else "fail", message=message, outputs=outputs)
    except BuildFailed as exc:
        refusal = re.search(r"qmac_bad_\w+", str(exc))
        if refusal:  # the RTL's own parameter check refuses this valid config
            rec.update(status="refused", message=refusal.group(0))
        else:
            rec.update(status="build", message=str(exc).splitlines()[0])
    except RuntimeError as exc:  # SimulationFailed, RtlRunError, or the run broke otherwise
        rec.update(status="crash", message=str(exc).splitlines()[0])
    rec["seconds"] = time.perf_counter() - t0
    return rec


def _standalone_build(folder: str, config: dict) -> str:
    """Elaborate the mutant's own copy ``folder`` (a schema run's stand-alone twin) for
    ``config`` with Icarus: "" when it builds, else the errors. A mutant that does not build on
    its own must not run in the schema, where its statement builds among the others."""
    if not folder:
        return ""
    from .schema import elaborate

    errors = elaborate(Path(folder), QmacConfig.from_dict(config).rtl_parameters(), "qmac")
    return f"the mutant alone does not elaborate: {errors}" if errors else ""


def verdict_of(records: list[dict], names: list[str], limit: float, hung: bool) -> Verdict:
    """The verdict of one item from its records (``hung``: stopped past ``limit``)."""
    runs = [r for r in records if "config" in r]
    v = Verdict(
        SURVIVED,
        configs_run=len(runs),
        seconds=sum(r.get("seconds", 0.0) for r in runs),
        outputs_checked=sum(r.get("outputs", 0) for r in runs),
    )
    last = runs[-1] if runs else None
    if hung:
        running = names[len(runs)] if len(runs) < len(names) else "?"
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
    return v


def child_env() -> dict:
    env = dict(os.environ)
    env.pop("COVERAGE", None)  # cocotb reads it as a request for Python coverage
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _read(out: Path) -> list[dict]:
    if not out.exists():
        return []
    lines = out.read_text().splitlines()
    recs = []
    for line in lines:
        try:
            recs.append(json.loads(line))
        except json.JSONDecodeError:  # a line being written
            break
    return recs


def regress_items(
    rtl_dir: Path,
    spec: RegressionSpec,
    work: Path,
    items: Sequence[tuple[Sequence[str], Sequence[str], str]],
    build_root: Path | None = None,
) -> list[Verdict]:
    """Regress ``rtl_dir`` once per item ``(plusargs, config order, check)`` in one child
    process (a new one after an item that hangs); the verdicts in the order of ``items``.
    ``check``: "" or the mutant's stand-alone copy, elaborated before each config's run (a
    mutant that does not build alone does not build). ``build_root``: where the models are built
    (default ``work/build``; a schema's runs share one)."""
    work = Path(work).resolve()  # the simulator runs in another folder
    work.mkdir(parents=True, exist_ok=True)
    configs = dict(spec.configs)
    names = sorted({n for _, order, _ in items for n in order})
    verdicts: dict[int, Verdict] = {}
    todo = list(range(len(items)))
    attempt = 0
    while todo:
        attempt += 1
        out = work / f"results-{attempt}.jsonl"
        out.unlink(missing_ok=True)
        spec_file = work / f"spec-{attempt}.json"
        spec_file.write_text(
            json.dumps(
                {
                    "rtl_dir": str(Path(rtl_dir).resolve()),
                    "work": str(work),
                    "build_root": str(Path(build_root or work / "build").resolve()),
                    "out": str(out),
                    "sim": spec.sim,
                    "n": spec.n,
                    "configs": [(n, configs[n].to_dict()) for n in names],
                    "seeds": {n: spec.seed_of(n) for n in names},
                    "items": [
                        {
                            "index": i,
                            "plusargs": list(items[i][0]),
                            "order": list(items[i][1]),
                            "check": str(items[i][2]),
                            "work": str(work / f"i{i:04d}"),
                        }
                        for i in todo
                    ],
                }
            )
        )
        hung, code, log = _watch(spec_file, out, work, todo, items, spec)
        recs = _read(out)
        done = {r["item"] for r in recs if r.get("done")}
        for i in todo:
            if i in done:
                mine = [r for r in recs if r["item"] == i]
                verdicts[i] = verdict_of(mine, list(items[i][1]), 0.0, False)
        if hung is not None:
            mine = [r for r in recs if r["item"] == hung]
            limit = spec.limit(len(items[hung][1]))
            verdicts[hung] = verdict_of(mine, list(items[hung][1]), limit, True)
        left = [i for i in todo if i not in verdicts]
        if hung is None and left:
            raise RuntimeError(
                f"the regression child stopped after {len(todo) - len(left)} of {len(todo)} "
                f"items (exit {code}): {log}"
            )
        todo = left
    return [verdicts[i] for i in range(len(items))]


def _watch(spec_file, out, work, todo, items, spec) -> tuple[int | None, int | None, str]:
    """Run the child; (the item that hung or None, exit code, last log line)."""
    log_path = work / "child.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mutate.regress", str(spec_file)],
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=child_env(),
        )
        current, since = None, time.monotonic()
        try:
            while proc.poll() is None:
                time.sleep(0.2)
                done = {r["item"] for r in _read(out) if r.get("done")}
                running = next((i for i in todo if i not in done), None)
                if running != current:
                    current, since = running, time.monotonic()
                elif current is not None and time.monotonic() - since > spec.limit(
                    len(items[current][1])
                ):
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    return current, proc.returncode, ""
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
    lines = log_path.read_text(errors="replace").strip().splitlines()
    return None, proc.returncode, lines[-1] if lines else "no log"


def regress(
    rtl_dir: Path,
    spec: RegressionSpec,
    work: Path,
    order: list[str] | None = None,
    plusargs: Sequence[str] = (),
    check: str | Path = "",
    build_root: Path | None = None,
) -> Verdict:
    """Run the quick regression on ``rtl_dir`` (configs in ``order``, default the spec's;
    ``plusargs`` to the simulator; ``check``, ``build_root``: see :func:`regress_items`) in a
    child process, working in ``work``."""
    t0 = time.perf_counter()
    names = order or [n for n, _ in spec.configs]
    (v,) = regress_items(rtl_dir, spec, work, [(tuple(plusargs), names, str(check))], build_root)
    v.seconds = time.perf_counter() - t0
    return v


if __name__ == "__main__":
    run_child(Path(sys.argv[1]))
