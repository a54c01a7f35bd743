"""Schema mutants' regressions played in one running simulator per config, not one per mutant.

A :class:`SessionRunner` (one per campaign worker) keeps a child process
(``python -m mutate.session_runs SPEC.json``) that holds a :class:`tb.api.JobSession` per config
on the schema's build: for each item it deposits the mutant's selector ``qmac_mutant_sel``,
resets the design and plays the same quick-regression job a run of its own plays (same
stimulus, seed, N, handshake patterns and mid-job resets, at most one mismatch), so a mutant
costs its simulation, not a simulator and Python start-up. Before each config's run the
mutant's own copy is elaborated, as in :mod:`mutate.regress`. The child reads items on stdin
and answers one JSON line per config run and a ``done`` line per item on stdout. The same child
also regresses the mutants the schema does not hold, each on its own copy and build as
:func:`mutate.regress.regress` does (:meth:`SessionRunner.run_alone`), sparing their Python
start-up.

A mutant that hangs the simulation runs past its time limit (:meth:`RegressionSpec.limit`):
the parent kills the child with its process group (the simulators with it), counts the mutant
killed by a hang, and the next item starts a new child.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

from pyref.config import QmacConfig

from .regress import RegressionSpec, Verdict, child_env, config_record, verdict_of
from .schema import SELECTOR


class SessionRunner:
    """Regress schema mutants (by selector) of the schema ``rtl_dir`` in one child process of
    long-lived simulator sessions, working in ``work``; models built under ``build_root``."""

    def __init__(self, rtl_dir: Path, spec: RegressionSpec, work: Path, build_root: Path):
        self.spec = spec
        self.work = Path(work).resolve()
        self.work.mkdir(parents=True, exist_ok=True)
        self.spec_file = self.work / "spec.json"
        self.spec_file.write_text(
            json.dumps(
                {
                    "rtl_dir": str(Path(rtl_dir).resolve()),
                    "build_root": str(Path(build_root).resolve()),
                    "sim": spec.sim,
                    "n": spec.n,
                    "configs": [(n, c.to_dict()) for n, c in spec.configs],
                    "seeds": {n: spec.seed_of(n) for n, _ in spec.configs},
                }
            )
        )
        self.proc: subprocess.Popen | None = None
        self.buffer = b""
        self.children = 0
        self.pgid = 0
        """The process group of the last child started (its simulators are in it)."""

    def _start(self) -> subprocess.Popen:
        if self.proc is None:
            self.children += 1
            log = open(self.work / f"child-{self.children}.log", "w")
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "mutate.session_runs", str(self.spec_file)],
                start_new_session=True,  # a hang is killed with every simulator it started
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=child_env(),
            )
            log.close()
            self.pgid = self.proc.pid
            self.buffer = b""
        return self.proc

    def _kill(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
            self.proc = None

    def _line(self, deadline: float) -> dict | None:
        """The child's next answer, None when ``deadline`` passed first; RuntimeError when the
        child ended."""
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            with selectors.DefaultSelector() as sel:
                sel.register(self.proc.stdout, selectors.EVENT_READ)
                if not sel.select(timeout=left):
                    return None
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                code = self.proc.wait()
                self.proc = None
                log = self.work / f"child-{self.children}.log"
                tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no log"]
                raise RuntimeError(f"the session child ended (exit {code}): {tail[0]} ({log})")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def run(self, index: int, selector: int, order: Sequence[str], check: str | Path) -> Verdict:
        """The verdict of mutant ``selector`` of the schema over the configs of ``order`` (stopping
        at the first that does not pass); ``check``: its own copy, elaborated before each run."""
        item = {"index": index, "selector": selector, "order": list(order), "check": str(check)}
        return self._regress(item)

    def run_alone(self, index: int, rtl_dir: Path, order: Sequence[str], work: Path) -> Verdict:
        """The verdict of the RTL folder ``rtl_dir`` (a mutant the schema does not hold) over the
        configs of ``order``, each its own build and simulator as :func:`mutate.regress.regress`
        runs them (built under ``work``), from this runner's child (no Python start-up of its
        own)."""
        work = Path(work).resolve()
        item = {"index": index, "rtl": str(Path(rtl_dir).resolve()), "order": list(order)}
        return self._regress({**item, "check": "", "work": str(work)})

    def _regress(self, item: dict) -> Verdict:
        t0 = time.perf_counter()
        order = item["order"]
        proc = self._start()
        try:
            proc.stdin.write((json.dumps(item) + "\n").encode())
            proc.stdin.flush()
        except BrokenPipeError:
            self._kill()
            raise RuntimeError(f"the session child is gone ({self.work})") from None
        limit = self.spec.limit(len(order))
        deadline = time.monotonic() + limit
        records: list[dict] = []
        try:
            while True:
                rec = self._line(deadline)
                if rec is None:  # hung: the child and its simulators go, a new one takes over
                    self._kill()
                    v = verdict_of(records, list(order), limit, True)
                    break
                if rec.get("done"):
                    v = verdict_of(records, list(order), 0.0, False)
                    break
                records.append(rec)
        except BaseException:
            self._kill()
            raise
        v.seconds = time.perf_counter() - t0
        return v

    def close(self) -> None:
        """End the child (its sessions end with it)."""
        if self.proc is not None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                pass
            self._kill()


def serve(spec_file: Path) -> None:
    """The child: one :class:`tb.api.JobSession` per config (started on first use), one item
    per stdin line, the records on stdout (anything else the child prints goes to stderr)."""
    from tb.api import JobSession, config_job, first_failure, run_config

    spec = json.loads(Path(spec_file).read_text())
    configs = dict(spec["configs"])
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # the simulators' and cocotb's output must not mix with the answers
    sessions: dict[str, JobSession] = {}
    try:
        for line in sys.stdin:
            item = json.loads(line)
            for name in item["order"]:
                config = QmacConfig.from_dict(configs[name])

                def alone(name=name, config=config, item=item) -> tuple[bool, str, int]:
                    res = run_config(
                        config,
                        rtl_dir=Path(item["rtl"]),
                        sim=spec["sim"],
                        seed=spec["seeds"][name],
                        n=spec["n"],
                        build_root=Path(item["work"]) / "build",
                        test_dir=Path(item["work"]) / "run" / name,
                        name=name,
                        max_mismatches=1,
                    )
                    return res.passed, res.first_failure, res.outputs_checked

                def play(name=name, config=config, item=item) -> tuple[bool, str, int]:
                    job = config_job(
                        config,
                        sim=spec["sim"],
                        seed=spec["seeds"][name],
                        n=spec["n"],
                        name=name,
                        max_mismatches=1,
                    )
                    session = sessions.get(name)
                    if session is None:
                        session = sessions[name] = JobSession(
                            config,
                            job.mode,
                            spec["sim"],
                            rtl_dir=Path(spec["rtl_dir"]),
                            build_root=Path(spec["build_root"]),
                        )
                    try:
                        rep = session.run_job(job, {SELECTOR: item["selector"]})
                    except RuntimeError:
                        sessions.pop(name).close()  # the next item starts a new one
                        raise
                    return rep.passed, first_failure(rep), rep.outputs_checked

                run = alone if item.get("rtl") else play
                rec = config_record(item["index"], name, item["check"], configs[name], run)
                answers.write(json.dumps(rec) + "\n")
                answers.flush()
                if rec["status"] != "pass":
                    break
            answers.write(json.dumps({"item": item["index"], "done": True}) + "\n")
            answers.flush()
    finally:
        for s in sessions.values():
            s.close()


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
