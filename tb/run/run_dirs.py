"""Run folders: every simulation run gets a folder of its own next to its (shared) build.

A run of build ``build/sim/<sim>/<name>/`` works in ``build/sim/<sim>/<name>/runs/<when>-p<pid>/``
(log, results, waves, the batch transport's files), so runs of the same build at the same time
(``pytest -n 2``, two terminals, ``make hil`` next to ``make sim``) never share one. A run holds
a lock on its folder while it runs; each new run removes the oldest folders beyond the newest
:data:`KEEP_RUNS`, skipping any still locked, so they do not pile up. The folder of a run that
failed (mismatches, or an error that ended it) is kept (:func:`keep`): the log and waveform paths
its summary printed stay valid until ``make clean``.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import itertools
import os
import shutil
from pathlib import Path
from typing import Iterator

KEEP_RUNS = 8
"""Run folders kept per build (the newest ones); older ones are removed when a run starts."""

RUNS_DIR = "runs"
LOCK_NAME = ".running"
KEEP_NAME = ".failed"
"""A file in a run folder that :func:`prune` never removes: the run failed (the file says why)."""

_count = itertools.count()


def runs_root(build_dir: Path) -> Path:
    """The folder holding the run folders of ``build_dir``."""
    return Path(build_dir) / RUNS_DIR


@contextlib.contextmanager
def run_dir(build_dir: Path, keep: int = KEEP_RUNS) -> Iterator[Path]:
    """A new, empty run folder under ``build_dir/runs/``, locked while the ``with`` block runs.

    Names sort by start time (``20260123-142501-123456-p4242-0``). On entry, the folders
    beyond the newest ``keep`` that no running process holds and no failed run marked
    (:func:`keep`) are removed. A ``with`` block that raises marks its folder as failed.
    """
    root = runs_root(build_dir)
    root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    path = root / f"{stamp}-p{os.getpid()}-{next(_count)}"
    path.mkdir()
    lock = open(path / LOCK_NAME, "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        prune(root, keep)
        try:
            yield path
        except BaseException as exc:
            mark_failed(path, f"the run ended with {type(exc).__name__}: {exc}")
            raise
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
        with contextlib.suppress(OSError):
            (path / LOCK_NAME).unlink()


def mark_failed(folder: Path, why: str = "") -> None:
    """Keep ``folder`` from :func:`prune`: its run failed, and its summary printed paths in it."""
    with contextlib.suppress(OSError):
        (Path(folder) / KEEP_NAME).write_text(why + "\n")


def is_failed(folder: Path) -> bool:
    """True when ``folder`` was marked by :func:`mark_failed`."""
    return (Path(folder) / KEEP_NAME).exists()


def prune(root: Path, keep: int = KEEP_RUNS) -> list[Path]:
    """Remove the run folders of ``root`` beyond the newest ``keep``, except locked ones (runs in
    progress) and failed ones (:func:`mark_failed`). Returns the folders removed."""
    folders = sorted(
        (p for p in Path(root).iterdir() if p.is_dir() and not is_failed(p)), key=lambda p: p.name
    )
    removed = []
    for p in folders[: max(len(folders) - keep, 0)]:
        if _in_use(p):
            continue
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    return removed


def _in_use(folder: Path) -> bool:
    try:
        fd = os.open(folder / LOCK_NAME, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False
