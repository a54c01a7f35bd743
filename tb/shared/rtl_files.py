"""Where the datapath's RTL is and which files it is made of; copying it for fault injection.

Plain Python, so the fault table (:mod:`tb.shared.faults`) and the builds (:mod:`tb.run.build`)
share it without importing each other.
"""

from __future__ import annotations

import shutil
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
RTL_DIR = REPO_ROOT / "rtl"


def rtl_sources(rtl_dir: Path = RTL_DIR) -> list[Path]:
    """The Verilog files of the datapath (every ``*.v`` in ``rtl_dir``), sorted."""
    files = sorted(Path(rtl_dir).glob("*.v"))
    if not files:
        raise FileNotFoundError(f"no Verilog sources (*.v) in {rtl_dir}")
    return files


def rtl_headers(rtl_dir: Path = RTL_DIR) -> list[Path]:
    """The datapath's include files (every ``*.vh`` in ``rtl_dir``, which is on the include path
    of every build, lint and copy), sorted."""
    return sorted(Path(rtl_dir).glob("*.vh"))


def copy_rtl(dest: Path, rtl_dir: Path = RTL_DIR) -> Path:
    """Copy the RTL sources and include files to ``dest`` (for fault injection on a copy);
    returns ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for src in rtl_sources(rtl_dir) + rtl_headers(rtl_dir):
        shutil.copy2(src, dest / src.name)
    return dest
