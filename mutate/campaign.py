"""A mutation campaign: verdicts reused from the cache, the schema built, the baseline, then
every other mutant (in parallel) through the quick regression and, where it survives, the
module tests, the parameter-range probe and the equivalence proof config by config.

The mutants the schema holds (:mod:`mutate.schema`) run their first config in simulator
sessions kept by each worker (:mod:`mutate.session_runs`: one build and one running simulator
per config for all of them); their later configs run on the schema's build, one simulator each;
the others, and every later stage, work on the mutant's own copy of the folder (the module tests
and the proofs always do)."""

from __future__ import annotations

import dataclasses
import shutil
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Callable

from .apply import apply_mutant
from .cache import Cache, context_digest, digest, keys, proof_key
from .equiv import (
    ERROR,
    NOT_PROVEN,
    PROVEN,
    TIMEOUT,
    Proof,
    parameterless_modules,
    prove,
    prove_first_rounds,
    prove_from_reset,
)
from .equiv_reset import MARGIN
from .generate import Mutant, source_files
from .module_tests import NAME as MODULE_TESTS
from .module_tests import first_module_failure, selection_for
from .param_probe import first_disagreement
from .regress import EQUIVALENT, KILLED, SURVIVED, RegressionSpec, Verdict, regress
from .report import Outcome
from .schema import Schema, build_schema, plusarg
from .session_runs import SessionRunner

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
    reset_proof: bool = True
    """Prove a mutant that survives a config's regression but is not proven by the
    pair-and-induct flow equivalent from reset (:mod:`mutate.equiv_reset`; RESET_PROOF=0
    skips it)."""
    schema: bool = True
    """Run the mutants a schema can hold on the schema's builds (SCHEMA=0: each on its own)."""
    cache: Cache | None = None
    """Where verdicts and proofs are kept (None: nothing reused, nothing kept)."""
    changed: bool = False
    """Reuse verdicts on their local key (:mod:`mutate.cache`): only the mutants of changed files
    are judged again."""
    probe_schema: bool = False
    """Set by :func:`baseline`: the schema elaborates exactly pyref's parameter sets, so the
    mutants it holds (run-time statements) need no probe of their own."""

    def options(self) -> dict:
        """What the verdicts depend on among the settings (part of the cache's context)."""
        return {
            "configs": [(n, c.to_dict()) for n, c in self.spec.configs],
            "sim": self.spec.sim,
            "seed": self.spec.seed,
            "n": self.spec.n,
            "timeout": self.spec.timeout,
            "equiv_timeout": self.equiv_timeout,
            "top": self.top,
            "probe_params": self.probe_params,
            "module_tests": self.module_tests,
            "reset_proof": self.reset_proof,
        }


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


def baseline(settings: Settings, schema: Schema | None = None, key: str = "") -> None:
    """Check that the unmutated RTL passes the quick regression of every config (with a schema:
    the schema with its selector at 0; if that fails where the plain copy passes, the schema is
    dropped and every mutant judged on its own copy, with a warning), the module
    tests (else the stage is switched off) and the parameter-range probe; raises
    :class:`BaselineFailed` unless it does. With a cache and ``key``, a baseline already passed
    is not run again."""
    cache = settings.cache if key else None
    found = cache.baseline(key) if cache else None
    if found is not None:
        settings.module_tests = found["module_tests"]
        settings.probe_schema = found["probe_schema"]
        if schema is not None and not found["schema"]:
            schema.left_out += list(schema.selectors)
            schema.selectors.clear()
        return
    work = settings.work / "baseline"
    rtl = apply_mutant(None, settings.rtl_dir, work / "rtl")
    use_schema = schema is not None and bool(schema.selectors)
    if use_schema:
        s = regress(
            schema.folder,
            settings.spec,
            work / "schema",
            plusargs=[plusarg(0)],
            build_root=settings.work / "build",
        )
    if not use_schema or s.status != SURVIVED:
        v = regress(rtl, settings.spec, work / "plain")
        if v.status != SURVIVED:
            raise BaselineFailed(
                f"the unmutated RTL of {settings.rtl_dir} fails the quick regression "
                f"({v.status} under {v.by}: {v.detail}); fix it before mutating "
                f"(log: {work})"
            )
        if use_schema:  # a simulator that does not take the schema: every mutant on its own
            print(
                f"qmac mutate: warning: the mutant schema with its selector at 0 fails the quick "
                f"regression ({s.status} under {s.by}: {s.detail}) where the RTL passes; every "
                f"mutant is judged on its own copy (log: {work / 'schema'})",
                file=sys.stderr,
                flush=True,
            )
            schema.left_out += list(schema.selectors)
            schema.selectors.clear()
            use_schema = False
    if settings.module_tests and first_module_failure(rtl, work / "modules"):
        settings.module_tests = False  # not qmac's modules: the stage says nothing here
    if settings.probe_params:
        wrong = first_disagreement(rtl, top=settings.top)
        if wrong:
            raise BaselineFailed(
                f"the unmutated RTL of {settings.rtl_dir} {wrong}; fix its "
                f"parameter checks, or mutate with PARAM_PROBE=0"
            )
        if use_schema:
            settings.probe_schema = not first_disagreement(schema.folder, top=settings.top)
    if cache:
        cache.store_baseline(
            key,
            {
                "module_tests": settings.module_tests,
                "probe_schema": settings.probe_schema,
                "schema": use_schema,
            },
        )


def _prove(
    settings: Settings, gold: Path, gate: Path, params: dict, top: str, proven: Proof | None = None
) -> Proof:
    """:func:`mutate.equiv.prove`, through the proof cache (``proven``: the config's proof
    already made by :func:`mutate.equiv.prove_first_rounds`)."""
    cache = settings.cache
    key = proof_key(gold, gate, params, top) if cache else ""
    if cache:
        hit = cache.proof(key)
        if hit is not None:
            return hit
    p = proven or prove(gold, gate, params, top=top, timeout=settings.equiv_timeout)
    if cache and p.status not in (TIMEOUT, ERROR):
        cache.store_proof(key, p)
    return p


def _prove_reset(
    settings: Settings, gold: Path, gate: Path, params: dict, depth: int, unproven: Proof
) -> Proof:
    """:func:`mutate.equiv.prove_from_reset`, through the proof cache."""
    cache = settings.cache
    key = proof_key(gold, gate, params, settings.top, reset_depth=depth) if cache else ""
    if cache:
        hit = cache.proof(key)
        if hit is not None:
            return hit
    p = prove_from_reset(
        gold, gate, params, unproven, depth=depth, top=settings.top, timeout=settings.equiv_timeout
    )
    if cache and p.status not in (TIMEOUT, ERROR):
        cache.store_proof(key, p)
    return p


def judge(
    m: Mutant,
    settings: Settings,
    work: Path,
    gold: Path,
    order: list[str],
    schema: Schema | None = None,
    first: Verdict | None = None,
    runner: SessionRunner | None = None,
) -> tuple[Verdict, dict]:
    """Regress one mutant: first the config most likely to kill it (``first``: that run's
    verdict when it was made in a batch); then the parameter-range probe, the module tests and,
    config by config, the Yosys proof, and the regression only where the proof fails (a config
    under which the mutant is proven equivalent cannot kill it). A mutant the ``schema`` holds
    runs its regressions there (in ``runner``'s simulator sessions when given). Returns the
    verdict and the proofs."""
    rtl = apply_mutant(m, settings.rtl_dir, work / "rtl")
    spec = settings.spec
    params = {n: c.rtl_parameters() for n, c in spec.configs}
    in_schema = schema is not None and schema.holds(m)

    def run(names: list[str], sub: str) -> Verdict:
        if in_schema:
            k = schema.selectors[m]
            if runner is not None:
                return runner.run(0, k, names, rtl)
            build = settings.work / "build"
            return regress(schema.folder, spec, work / sub, names, [plusarg(k)], rtl, build)
        if runner is not None:
            return runner.run_alone(0, rtl, names, work / sub)
        return regress(rtl, spec, work / sub, names)

    v = first if first is not None else run(order[:1], "r0")
    proofs: dict = {}
    if v.status != SURVIVED:
        return v, proofs
    probe = settings.probe_params and not (in_schema and settings.probe_schema)
    wrong = first_disagreement(rtl, top=settings.top) if probe else ""
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
        local = {f"module {mod}": _prove(settings, gold, rtl, {}, mod) for mod in modules}
        if all(p.status == PROVEN for p in local.values()):
            v.status = EQUIVALENT
            return v, local
    regressed, total = {order[0]}, v
    configs = dict(spec.configs)
    # The first round of every config's proof not in the cache, in one Yosys process.
    cache = settings.cache
    todo = {
        n: params[n]
        for n in order
        if not (cache and cache.proof(proof_key(gold, rtl, params[n], settings.top)))
    }
    first_rounds = prove_first_rounds(
        gold, rtl, todo, top=settings.top, timeout=settings.equiv_timeout
    )
    for i, name in enumerate(order):
        proofs[name] = _prove(
            settings, gold, rtl, params[name], settings.top, first_rounds.get(name)
        )
        if proofs[name].status == PROVEN:
            continue
        if name not in regressed:
            v = run([name], f"r{i}")
            regressed.add(name)
            total.configs_run += v.configs_run
            total.outputs_checked += v.outputs_checked
            total.seconds += v.seconds
            if v.status != SURVIVED:
                v.configs_run, v.outputs_checked = total.configs_run, total.outputs_checked
                return v, proofs
        # Survived this config's regression, not proven pair by pair: from reset (after the
        # regression, so that a mutant it kills never pays for the k-induction).
        if settings.reset_proof and proofs[name].status == NOT_PROVEN:
            depth = configs[name].rtl_latency() + MARGIN
            proofs[name] = _prove_reset(settings, gold, rtl, params[name], depth, proofs[name])
    if all(p.status == PROVEN for p in proofs.values()):
        total.status = EQUIVALENT
    return total, proofs


def _texts_of(folders: list[Path]) -> list[str]:
    out = []
    for folder in folders:
        out += [f"{p.name}\n{p.read_text()}" for p in source_files(folder)]
    return out


def cached_outcomes(
    mutants: list[Mutant], settings: Settings
) -> tuple[dict[int, Outcome], dict[int, tuple[str, str]], str]:
    """The outcomes the cache already holds (by index; full key, or local key when
    ``settings.changed``), the keys of every mutant and the context digest."""
    texts = {p.name: p.read_text() for p in source_files(settings.rtl_dir)}
    cache = settings.cache
    found: dict[int, Outcome] = {}
    all_keys: dict[int, tuple[str, str]] = {}
    if cache is None:
        return found, all_keys, ""
    from tb.api import simulator_version

    context = context_digest(settings.options(), simulator_version(settings.spec.sim))
    for i, m in enumerate(mutants):
        full, local = all_keys[i] = keys(m, texts, context)
        hit = cache.verdict(full) or (cache.verdict(local) if settings.changed else None)
        if hit is not None:
            v, proofs = hit
            found[i] = Outcome(m, v, m.diff(texts[m.file]), proofs, reused=True)
    return found, all_keys, context


def run_mutants(
    mutants: list[Mutant],
    settings: Settings,
    progress: Callable[[int, Outcome], None] | None = None,
) -> list[Outcome]:
    """Judge every mutant not in the cache (:func:`judge`), ``settings.jobs`` at a time."""
    texts = {m.file: (settings.rtl_dir / m.file).read_text() for m in mutants}
    outcomes, all_keys, context = cached_outcomes(mutants, settings)
    done = [0]
    lock = threading.Lock()

    def report(o: Outcome) -> None:
        if progress:
            with lock:
                done[0] += 1
                progress(done[0], o)

    for i in sorted(outcomes):
        report(outcomes[i])
    todo = [i for i in range(len(mutants)) if i not in outcomes]
    if not todo:
        return [outcomes[i] for i in range(len(mutants))]
    schema = None
    if settings.schema:
        params = [c.rtl_parameters() for _, c in settings.spec.configs]
        schema = build_schema(
            settings.rtl_dir,
            [mutants[i] for i in todo],
            settings.work / "schema",
            params,
            top=settings.top,
        )
    folders = [settings.rtl_dir] + ([schema.folder] if schema is not None else [])
    baseline(settings, schema, digest(["baseline", context, *_texts_of(folders)]))
    order = _ConfigOrder([n for n, _ in settings.spec.configs])
    gold = apply_mutant(None, settings.rtl_dir, settings.work / "gold")

    def finish(i: int, v: Verdict, proofs: dict, seconds: float) -> None:
        m = mutants[i]
        v.seconds = seconds
        if not settings.keep:
            shutil.rmtree(settings.work / f"m{i:04d}", ignore_errors=True)
        if settings.cache is not None:
            settings.cache.store_verdict(all_keys[i], v, proofs)
        o = Outcome(m, v, m.diff(texts[m.file]), proofs)
        outcomes[i] = o
        report(o)

    def one(i: int, first: Verdict | None, configs: list[str]) -> None:
        t0 = time.perf_counter()
        m = mutants[i]
        before = first.seconds if first is not None else 0.0  # its batch run
        work = settings.work / f"m{i:04d}"
        v, proofs = judge(m, settings, work, gold, configs, schema, first, runner())
        if first is None:
            order.book(m.file, configs[0], v)
        finish(i, v, proofs, before + time.perf_counter() - t0)

    local = threading.local()
    runners: list[SessionRunner] = []

    def runner() -> SessionRunner:
        """This worker's child of simulator sessions on the schema (and of the runs of the
        mutants it does not hold)."""
        r = getattr(local, "runner", None)
        if r is None:
            with lock:
                w = settings.work / "sessions" / f"w{len(runners)}"
                folder = schema.folder if schema is not None else settings.rtl_dir
                r = local.runner = SessionRunner(folder, settings.spec, w, settings.work / "build")
                runners.append(r)
        return r

    def first(i: int) -> list[tuple[int, Verdict, list[str]]]:
        """The first config of schema mutant ``i``, in this worker's simulator sessions."""
        t0 = time.perf_counter()
        m = mutants[i]
        configs = order.order(m.file)
        rtl = apply_mutant(m, settings.rtl_dir, settings.work / f"m{i:04d}" / "rtl")
        v = runner().run(i, schema.selectors[m], configs[:1], rtl)
        v.seconds = time.perf_counter() - t0
        order.book(m.file, configs[0], v)
        return [(i, v, configs)]

    held = [i for i in todo if schema is not None and schema.holds(mutants[i])]
    alone = [i for i in todo if i not in set(held)]
    try:
        with ThreadPoolExecutor(max_workers=max(1, settings.jobs)) as pool:
            pending = {pool.submit(first, i) for i in held}
            pending |= {pool.submit(one, i, None, order.order(mutants[i].file)) for i in alone}
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    result = f.result()
                    for i, v, configs in result or []:
                        if v.status == SURVIVED:
                            pending.add(pool.submit(one, i, v, configs))
                        else:
                            finish(i, v, {}, v.seconds)
    finally:
        for r in runners:
            r.close()
    return [outcomes[i] for i in range(len(mutants))]


def run_campaign(
    mutants: list[Mutant], settings: Settings, progress=None
) -> tuple[list[Outcome], float]:
    """Every mutant judged or taken from the cache; the outcomes and the wall time."""
    t0 = time.perf_counter()
    outcomes = run_mutants(mutants, settings, progress)
    return outcomes, time.perf_counter() - t0
