"""Run folders (tb/run/run_dirs.py): one per run, old ones pruned, running ones kept."""

from __future__ import annotations

import fcntl
import os

from tb.run import run_dirs


def test_run_folders_are_per_run_and_pruned(tmp_path):
    build = tmp_path / "b"
    with run_dirs.run_dir(build) as first, run_dirs.run_dir(build) as second:
        assert first != second and first.parent == second.parent == build / "runs"
    # An old folder still locked by a (pretend) running process survives pruning.
    old = build / "runs" / "00000000-000000-000000-p1-0"
    old.mkdir()
    fd = os.open(old / run_dirs.LOCK_NAME, os.O_CREAT | os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        for _ in range(5):
            with run_dirs.run_dir(build, keep=3):
                pass
        names = sorted(p.name for p in (build / "runs").iterdir())
        assert len(names) == 4 and names[0] == old.name  # the 3 newest + the locked one
    finally:
        os.close(fd)
    run_dirs.prune(build / "runs", keep=3)
    assert not old.exists()


def test_failed_runs_are_never_pruned(tmp_path):
    """The log and waveform paths a failing run prints must stay valid: its folder is kept
    however many runs come after; passing runs are pruned to the newest ``keep``."""
    build = tmp_path / "b"
    with run_dirs.run_dir(build, keep=2) as failed:
        (failed / "sim.log").write_text("the failure\n")
        run_dirs.mark_failed(failed, "3 mismatches")
    try:
        with run_dirs.run_dir(build, keep=2) as crashed:
            raise RuntimeError("simulation wrote no report")
    except RuntimeError:
        pass
    for _ in range(6):
        with run_dirs.run_dir(build, keep=2):
            pass
    folders = sorted(p for p in (build / "runs").iterdir())
    assert failed in folders and crashed in folders
    assert (failed / "sim.log").read_text() == "the failure\n"
    assert "RuntimeError: simulation wrote no report" in (crashed / run_dirs.KEEP_NAME).read_text()
    passing = [p for p in folders if p not in (failed, crashed)]
    assert len(passing) == 2 and not any(run_dirs.is_failed(p) for p in passing)
