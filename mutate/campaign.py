"""A mutation campaign: the baseline, then every mutant (in parallel) through the quick
regression and, where it survives, the equivalence proof config by config."""

from __future__ import annotations

import dataclasses
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from .apply import apply_mutant
from .equiv import PROVEN, parameterless_modules, prove
from .generate import Mutant
from .module_tests import NAME as MODULE_TESTS
from .module_tests import first_module_failure, selection_for
from .param_probe import first_disagreement
from .regress import EQUIVALENT, KILLED, SURVIVED, RegressionSpec, Verdict, regress
from .report import Outcome

PARAM_PROBE = "param-ranges"
"""The ``by`` of a mutant killed by the parameter-range probe rather than a config's run."""


class BaselineFailed(RuntimeError):
    """The unmutated RTL does not pass the quick regression: mutants would say nothing."""


@dataclasses.dataclass
class Settings:
    rtl_dir: Path
    work: Path
    spec: RegressionSpec
    jobs: int = 2
    equiv_timeout: float = 120.0
    top: str = "qmac"
    keep: bool = False
    """Keep each mutant's folder (RTL copy, build, logs) after its run."""
    probe_params: bool = True
    """Check a surviving mutant's parameter ranges against pyref (:mod:`mutate.param_probe`)."""
    module_tests: bool = True
    """Run the per-module tests on a surviving mutant (:mod:`mutate.module_tests`); switched
    off by :func:`baseline` when the unmutated RTL does not pass them (another datapath)."""


class _ConfigOrder:
    """Configs that killed mutants of a file go first for that file's next mutants, and a
    config tried first that did not kill goes back (a mutant stops at the first failing config,
    so this saves most of the runs: the fp32 files' mutants soon start with an fp32 config)."""

    def __init__(self, names: list[str]):
        self.names = names
        self.kills: dict[str, dict[str, int]] = {}
        self.misses: dict[str, dict[str, int]] = {}
        self.lock = threading.Lock()

    def order(self, file: str) -> list[str]:
        with self.lock:
            k, m = self.kills.get(file, {}), self.misses.get(file, {})
            return sorted(
                self.names, key=lambda n: (-k.get(n, 0), m.get(n, 0), self.names.index(n))
            )

    def book(self, file: str, first: str, v: Verdict) -> None:
        """Book the verdict of a mutant of ``file`` whose regression began with ``first``."""
        with self.lock:
            if v.status == KILLED and v.by in self.names:
                k = self.kills.setdefault(file, {})
                k[v.by] = k.get(v.by, 0) + 1
            if v.by != first:
                m = self.misses.setdefault(file, {})
                m[first] = m.get(first, 0) + 1


def baseline(settings: Settings) -> Verdict:
    """Run the unmutated copy through every config; raises :class:`BaselineFailed` unless it
    passes."""
    work = settings.work / "baseline"
    rtl = apply_mutant(None, settings.rtl_dir, work / "rtl")
    v = regress(rtl, settings.spec, work)
    if v.status != SURVIVED:
        raise BaselineFailed(
            f"the unmutated RTL of {settings.rtl_dir} fails the quick regression "
            f"({v.status} under {v.by}: {v.detail}); fix it before mutating "
            f"(log: {work})"
        )
    if settings.module_tests and first_module_failure(rtl, work / "modules"):
        settings.module_tests = False  # not qmac's modules: the stage says nothing here
    if settings.probe_params:
        wrong = first_disagreement(rtl, top=settings.top)
        if wrong:
            raise BaselineFailed(
                f"the unmutated RTL of {settings.rtl_dir} {wrong}; fix its "
                f"parameter checks, or mutate with PARAM_PROBE=0"
            )
    return v


def judge(
    m: Mutant, settings: Settings, work: Path, gold: Path, order: list[str]
) -> tuple[Verdict, dict]:
    """Regress one mutant: first the config most likely to kill it; then, config by config,
    the Yosys proof, and the regression only where the proof fails (a config under which the
    mutant is proven equivalent cannot kill it). Returns the verdict and the proofs."""
    rtl = apply_mutant(m, settings.rtl_dir, work / "rtl")
    spec = settings.spec
    params = {n: c.rtl_parameters() for n, c in spec.configs}
    v = regress(rtl, spec, work / "r0", order[:1])
    proofs: dict = {}
    if v.status != SURVIVED:
        return v, proofs
    wrong = first_disagreement(rtl, top=settings.top) if settings.probe_params else ""
    if wrong:
        return Verdict(
            KILLED,
            by=PARAM_PROBE,
            detail=f"the RTL {wrong}",
            configs_run=v.configs_run,
            outputs_checked=v.outputs_checked,
        ), proofs
    select = selection_for(rtl, m.file, settings.top) if settings.module_tests else ""
    failed = first_module_failure(rtl, work / "modules", select=select) if select else ""
    if failed:
        return Verdict(
            KILLED,
            by=MODULE_TESTS,
            detail=failed,
            configs_run=v.configs_run,
            outputs_checked=v.outputs_checked,
        ), proofs
    # A file of parameterless modules: prove each module on its own ports first (the rest of
    # the design is the same text, so that settles every config at once, and it keeps the
    # proof away from the multipliers downstream).
    gate_file = rtl / m.file
    modules = parameterless_modules(gate_file.read_text()) if gate_file.suffix == ".v" else []
    if modules:
        local = {
            f"module {mod}": prove(gold, rtl, {}, top=mod, timeout=settings.equiv_timeout)
            for mod in modules
        }
        if all(p.status == PROVEN for p in local.values()):
            v.status = EQUIVALENT
            return v, local
    regressed, total = {order[0]}, v
    for i, name in enumerate(order):
        proofs[name] = prove(
            gold, rtl, params[name], top=settings.top, timeout=settings.equiv_timeout
        )
        if proofs[name].status == PROVEN or name in regressed:
            continue
        v = regress(rtl, spec, work / f"r{i}", [name])
        regressed.add(name)
        total.configs_run += v.configs_run
        total.outputs_checked += v.outputs_checked
        total.seconds += v.seconds
        if v.status != SURVIVED:
            v.configs_run, v.outputs_checked = total.configs_run, total.outputs_checked
            return v, proofs
    if all(p.status == PROVEN for p in proofs.values()):
        total.status = EQUIVALENT
    return total, proofs


def run_mutants(
    mutants: list[Mutant],
    settings: Settings,
    progress: Callable[[int, Outcome], None] | None = None,
) -> list[Outcome]:
    """Judge every mutant (:func:`judge`), ``settings.jobs`` at a time."""
    texts = {m.file: (settings.rtl_dir / m.file).read_text() for m in mutants}
    order = _ConfigOrder([n for n, _ in settings.spec.configs])
    gold = apply_mutant(None, settings.rtl_dir, settings.work / "gold")
    done = [0]
    lock = threading.Lock()

    def one(i: int, m: Mutant) -> Outcome:
        t0 = time.perf_counter()
        work = settings.work / f"m{i:04d}"
        configs = order.order(m.file)
        v, proofs = judge(m, settings, work, gold, configs)
        v.seconds = time.perf_counter() - t0
        order.book(m.file, configs[0], v)
        if not settings.keep:
            shutil.rmtree(work, ignore_errors=True)
        o = Outcome(m, v, m.diff(texts[m.file]), proofs)
        if progress:
            with lock:
                done[0] += 1
                progress(done[0], o)
        return o

    with ThreadPoolExecutor(max_workers=max(1, settings.jobs)) as pool:
        return list(pool.map(lambda a: one(*a), enumerate(mutants)))


def run_campaign(
    mutants: list[Mutant], settings: Settings, progress=None
) -> tuple[list[Outcome], float]:
    """The baseline, then every mutant judged; the outcomes and the wall time."""
    t0 = time.perf_counter()
    baseline(settings)
    outcomes = run_mutants(mutants, settings, progress)
    return outcomes, time.perf_counter() - t0
