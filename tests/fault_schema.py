"""The fault table (tb.shared.faults) as one mutant schema (mutate.schema), for the fault tests.

Every fault whose substitutions a run-time selector can guard is compiled into one copy of
rtl/ (``(qmac_mutant_sel == K) ? faulty : original`` at its site), so one build per config and
transport serves all of them, and one simulator of that build plays them one after the other
(:class:`tb.stream.job_session.JobSession`), the selector ``qmac_mutant_sel`` deposited before each
job (0: the original design). The others (a parameter, a localparam, a port connection, a generate
loop, a declaration's initial value) cannot take a selector and run on their own faulted copy,
as every fault did before. The schema is made once per content of rtl/, the fault table and the
schema code, in ``build/faults/`` under the build cache's lock (:func:`tb.run.build.cached`), so
parallel workers and later runs share it.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import shutil
from pathlib import Path

from mutate.generate import Mutant
from mutate.schema import SELECTOR, build_schema
from tb.run import toolchain
from tb.run.build import RTL_DIR, WORK_ROOT, cached, content_digest
from tb.run.runner import run_sim
from tb.shared import faults as fault_table
from tb.shared.faults import FAULTS, Fault, apply_fault
from tb.shared.job import SimJob, SimReport
from tb.shared.rtl_folder import rtl_files
from tb.stream.job_session import JobSession
from tb.stream.session import RtlRunError

SCHEMA_ROOT = WORK_ROOT / "build" / "faults"
SELECTORS = "selectors.json"


def fault_mutant(fault: Fault, rtl_dir: Path = RTL_DIR) -> Mutant:
    """``fault`` as a mutant of ``rtl_dir / fault.file``: one edit per substitution, trimmed to
    the characters that change (so that it lies inside the one statement it breaks, which is
    where the schema puts its selector)."""
    text = (Path(rtl_dir) / fault.file).read_text()
    edits = []
    for find, replace in fault.subs:
        if text.count(find) != 1:
            raise fault_table.FaultNotApplicable(
                f"fault {fault.name}: {find!r} occurs {text.count(find)} times in {fault.file}"
            )
        at = text.index(find)
        head = 0
        while head < min(len(find), len(replace)) and find[head] == replace[head]:
            head += 1
        tail = 0
        while tail < min(len(find), len(replace)) - head and find[-1 - tail] == replace[-1 - tail]:
            tail += 1
        edits.append((at + head, at + len(find) - tail, replace[head : len(replace) - tail]))
    line = text.count("\n", 0, edits[0][0]) + 1
    return Mutant(fault.file, "fault", fault.name, tuple(edits), line)


@dataclasses.dataclass(frozen=True)
class FaultSchema:
    """The schema folder and the selector of each fault it holds (by fault name)."""

    rtl_dir: Path
    selectors: dict[str, int]

    def holds(self, fault: Fault) -> bool:
        return fault.name in self.selectors


def _digest() -> str:
    import mutate.generate
    import mutate.schema

    code = [Path(m.__file__) for m in (fault_table, mutate.schema, mutate.generate)]
    return content_digest(
        [*rtl_files(RTL_DIR), *code, Path(__file__)],
        {"iverilog": toolchain.simulator_version("icarus") if shutil.which("iverilog") else ""},
    )


@functools.cache
def fault_schema() -> FaultSchema:
    """The schema of :data:`tb.shared.faults.FAULTS` (made on first use, then reused), elaborated
    under every config the table names."""
    folder = SCHEMA_ROOT / "schema"

    def make(log: Path) -> None:
        mutants = [fault_mutant(f) for f in FAULTS]
        configs = {f.qmac_config() for f in FAULTS}
        params = [c.rtl_parameters() for c in sorted(configs, key=lambda c: c.to_json())]
        schema = build_schema(RTL_DIR, mutants, folder / "rtl", params)
        held = {m.what: k for m, k in schema.selectors.items()}
        (folder / SELECTORS).write_text(json.dumps(held, indent=1))
        log.write_text(f"held: {sorted(held)}\nleft out: {[m.what for m in schema.left_out]}\n")

    cached(folder, _digest(), SELECTORS, make, what="the fault schema")
    return FaultSchema(folder / "rtl", json.loads((folder / SELECTORS).read_text()))


class FaultRuns:
    """Runs a fault's job: a fault the schema holds (and None, the original) on the schema, in
    one simulator session per (config, transport) of this process (:class:`JobSession`, on
    Icarus), any other fault on its own faulted copy with its own build and run, as before."""

    def __init__(self) -> None:
        self.sessions: dict[tuple[str, str], JobSession] = {}

    def on_schema(self, fault: Fault | None, job: SimJob) -> bool:
        """Whether ``fault``'s ``job`` runs on the schema."""
        return job.sim == "icarus" and (fault is None or fault_schema().holds(fault))

    def run(self, fault: Fault | None, job: SimJob, work: Path) -> SimReport:
        """The report of ``job`` on the RTL with ``fault`` (None: without), working in
        ``work``."""
        work = Path(work)
        if not self.on_schema(fault, job):
            rtl = apply_fault(fault, work / "rtl")
            return run_sim(
                job, rtl_dir=rtl, build_root=work / "build", test_dir=work / "run"
            ).report
        schema = fault_schema()
        key = (job.qmac_config().to_json(), job.mode)
        session = self.sessions.get(key)
        if session is None:
            session = JobSession(job.qmac_config(), job.mode, rtl_dir=schema.rtl_dir)
            self.sessions[key] = session
        sel = 0 if fault is None else schema.selectors[fault.name]
        work.mkdir(parents=True, exist_ok=True)
        job = dataclasses.replace(job, results=str(work / "qmac-results.json"))
        try:
            return session.run_job(job, {SELECTOR: sel})
        except RtlRunError:
            self.sessions.pop(key).close()  # the next job starts a new one
            raise

    def close(self) -> None:
        for s in self.sessions.values():
            s.close()
        self.sessions.clear()
