"""Run a Python snippet as on an x86 CPU with AVX2 and no VNNI (an AMD EPYC of the Zen 2 kind):
QEMU's user-mode emulator with its ``Haswell`` CPU model, so that ONNX Runtime's kernels take
the path they take on such machines whatever CPU runs the tests."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
QEMU = "qemu-x86_64"


def require_qemu() -> str:
    """The emulator's path, or skip with how to get it."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("the AVX2-only CPU model is for x86_64 hosts")
    path = shutil.which(QEMU)
    if path is None:
        pytest.skip(
            "qemu-x86_64 is not installed: apt-get install qemu-user (runs ONNX "
            "Runtime as on an AVX2-only CPU)"
        )
    return path


def run_as_avx2_only(code: str, timeout: float = 600) -> str:
    """Standard output of ``python -c code`` on the emulated AVX2-only CPU (fails on error)."""
    qemu = require_qemu()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [qemu, "-cpu", "Haswell", sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    err = "\n".join(l for l in proc.stderr.splitlines() if "TCG doesn't support" not in l)
    assert proc.returncode == 0, f"status {proc.returncode}\n{proc.stdout}\n{err}"
    return proc.stdout


SECTION = "@@ qmac avx2 section "


def run_sections_as_avx2_only(snippets: dict[str, str], timeout: float = 1800) -> dict[str, str]:
    """Standard output of each snippet, run one after the other in one Python on the emulated
    CPU, each in a namespace of its own: one start of Python and ONNX Runtime under the
    emulator (about 10 s of CPU) for all of them."""
    code = (
        "import sys\n"
        f"for name, src in {list(snippets.items())!r}:\n"
        f"    print({SECTION!r} + name, flush=True)\n"
        "    exec(compile(src, name, 'exec'), {'__name__': '__main__'})\n"
        "    sys.stdout.flush()\n"
    )
    out: dict[str, list[str]] = {}
    lines: list[str] = []
    for line in run_as_avx2_only(code, timeout).splitlines():
        if line.startswith(SECTION):
            lines = out.setdefault(line.removeprefix(SECTION), [])
        else:
            lines.append(line)
    assert list(out) == list(snippets), f"sections {list(out)} of {list(snippets)}"
    return {name: "\n".join(text) + "\n" for name, text in out.items()}
