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
