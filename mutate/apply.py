"""Apply a mutant to a copy of the RTL folder (never to the folder itself)."""

from __future__ import annotations

import shutil
from pathlib import Path

from .generate import Mutant


def copy_sources(rtl_dir: Path, dest: Path) -> Path:
    """Copy every file of ``rtl_dir`` (sources and include files) to ``dest``; returns it."""
    rtl_dir, dest = Path(rtl_dir), Path(dest)
    if dest.resolve() == rtl_dir.resolve():
        raise ValueError(f"refusing to copy {rtl_dir} onto itself")
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(rtl_dir, dest, ignore=shutil.ignore_patterns(".*", "__pycache__"))
    return dest


def apply_mutant(mutant: Mutant | None, rtl_dir: Path, dest: Path) -> Path:
    """Copy ``rtl_dir`` to ``dest`` and make ``mutant``'s edits there (None: a plain copy).

    Raises ``ValueError`` when the file has changed since the mutant was made from it.
    """
    dest = copy_sources(rtl_dir, dest)
    if mutant is None:
        return dest
    path = dest / mutant.file
    text = path.read_text()
    for start, end, _ in mutant.edits:
        if end > len(text):
            raise ValueError(f"mutant {mutant.id} does not fit {mutant.file} any more")
    path.write_text(mutant.apply(text))
    return dest
