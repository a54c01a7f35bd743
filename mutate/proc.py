"""Child processes with a time limit that take their whole process group down.

A mutant can hang a simulator or an elaborator in a loop that never ends. ``subprocess.run``'s
timeout kills only the direct child (pytest, a Python runner), and the ``vvp`` under it would
run on, taking a core from every mutant after it; so each child starts its own session and a
timeout kills the session.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path


def run_in_group(cmd: list[str], timeout: float, **popen) -> subprocess.CompletedProcess | None:
    """Run ``cmd`` (``popen``: ``subprocess.Popen``'s keywords) in a session of its own; its
    completed process, or None when it ran past ``timeout`` seconds and was killed with every
    process it started."""
    proc = subprocess.Popen(cmd, start_new_session=True, **popen)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return None
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def run_yosys_script(
    ys: Path, cwd: Path, timeout: float, *flags: str
) -> subprocess.CompletedProcess | None:
    """Yosys (``tb.api.yosys_command``) on the script ``ys`` from ``cwd``, in a session of its
    own (:func:`run_in_group`), its log as text on stdout; None past ``timeout`` seconds."""
    from tb.api import yosys_command

    return run_in_group(
        [*yosys_command(), *flags, "-s", os.path.relpath(ys, cwd)],
        timeout,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def yosys_error(log: str) -> str:
    """What a failed Yosys run says: its last ``ERROR`` line, else the log's last 300 chars."""
    errors = [ln.strip() for ln in log.splitlines() if ln.startswith("ERROR")]
    return errors[-1] if errors else log.strip()[-300:]
