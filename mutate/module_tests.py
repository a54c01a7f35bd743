"""The RTL's per-module tests as a stage of a mutant's regression.

``tests/rtl/test_modules.py`` drives each module of ``rtl/`` on its own, exhaustively at small
widths or over chosen values, and compares every output port with pyref: a module whose outputs
break its documented form (a mantissa left unnormalized that the next module happens to
tolerate) fails there even when the datapath's outputs do not change for the stimulus a top-level
run gives. The tests read the folder of the modules from ``QMAC_MODULE_RTL``, so a mutated copy
can be tested without touching ``rtl/``. A team's regression runs them beside the named configs;
so does ``make mutate``, for the mutants that survive the first config.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from .generate import code_view
from .proc import run_in_group

REPO = Path(__file__).resolve().parent.parent
MODULE_TESTS = REPO / "tests" / "rtl" / "test_modules.py"
ENV = "QMAC_MODULE_RTL"
NAME = "module-tests"
"""The ``by`` of a mutant killed by this stage."""


def module_tests_available() -> bool:
    """Whether the project's module tests are present (a source checkout with ``tests/``)."""
    return MODULE_TESTS.is_file()


_MODULE = re.compile(r"\bmodule\s+(\w+)")
_INCLUDE = re.compile(r'^\s*`include\s+"([^"]+)"', re.M)


def affected_modules(rtl_dir: Path, file: str) -> set[str]:
    """The modules whose behaviour an edit of ``file`` (a ``.v`` or an included ``.vh`` of
    ``rtl_dir``) can change: those it declares or is included in, and every module that
    instantiates one of those, however deep."""
    texts = {p.name: p.read_text() for p in sorted(Path(rtl_dir).glob("*.v"))}
    declared = {f: _MODULE.findall(code_view(t)) for f, t in texts.items()}
    names = {m for mods in declared.values() for m in mods}
    uses = {
        f: set(re.findall(r"\b(\w+)\s+(?:#\s*\(|\w+\s*\()", code_view(t))) & names
        for f, t in texts.items()
    }
    hit = {
        m
        for f, mods in declared.items()
        if f == file or file in _INCLUDE.findall(texts[f])
        for m in mods
    }
    while True:
        more = {m for f, mods in declared.items() if uses[f] & hit for m in mods} - hit
        if not more:
            return hit
        hit |= more


def selection_for(rtl_dir: Path, file: str, top: str = "qmac") -> str:
    """The pytest ``-k`` of the module tests an edit of ``file`` can fail (the tests are named
    after their module, without its ``qmac_``); "" when none is concerned (the top module is
    the regression's to test)."""
    keys = sorted(m.removeprefix("qmac_") for m in affected_modules(rtl_dir, file) if m != top)
    return " or ".join(keys)


def first_module_failure(
    rtl_dir: Path, work: Path, timeout: float = 180.0, select: str = ""
) -> str:
    """Run the module tests against ``rtl_dir``; "" when they pass (or ``select`` matches
    none), else the first failing test and its message. The test that plants faults of its own
    in ``rtl/`` is left out (it says nothing about ``rtl_dir``); ``select`` narrows the tests
    further (a pytest ``-k``)."""
    work = Path(work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, ENV: str(Path(rtl_dir).resolve())}
    env.pop("COVERAGE", None)
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(MODULE_TESTS),
        "-x",
        "-q",
        "-rf",
        "-p",
        "no:cacheprovider",
        "--basetemp",
        str(work / "pytest"),
        "-k",
        "not boundary_faults" + (f" and ({select})" if select else ""),
    ]
    proc = run_in_group(
        cmd, timeout, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    if proc is None:
        return f"the module tests hung (stopped after {timeout:.0f} s)"
    if proc.returncode in (0, 5):  # 5: pytest collected no test (``select`` matched none)
        return ""
    lines = proc.stdout.splitlines()
    failed = [ln for ln in lines if ln.startswith("FAILED") or ln.startswith("ERROR")]
    return (failed[0] if failed else (lines[-1] if lines else proc.stderr.strip()[-300:]))[:300]
