"""An RTL folder: its Verilog files, and edited copies of it (faults, mutants).

The folder itself is never written: :func:`copy_rtl` refuses to copy a folder onto itself, and
:func:`edit_copy` edits the copy only.
"""

from __future__ import annotations

import shutil
import sysconfig
from pathlib import Path
from typing import Callable

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE_CHECKOUT = (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "rtl").is_dir()
"""qmac runs from its source folder (``make``, ``pip install -e``), not from a ``pip install``."""
DATA_DIR = REPO_ROOT if SOURCE_CHECKOUT else Path(sysconfig.get_path("data")) / "share" / "qmac"
"""Where qmac's own rtl/ and sweeps/ are: the source folder, or where ``pip install`` put them
(pyproject.toml's data-files)."""
WORK_ROOT = (
    REPO_ROOT if SOURCE_CHECKOUT and Path.cwd().resolve().is_relative_to(REPO_ROOT) else Path.cwd()
)
"""Where ``build/`` goes: qmac's source folder when qmac runs in it, else the folder qmac runs in
(the user's repository)."""
RTL_DIR = DATA_DIR / "rtl"


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


def rtl_files(rtl_dir: Path = RTL_DIR) -> list[Path]:
    """The Verilog sources and include files (``*.v``, ``*.vh``), sorted."""
    return rtl_sources(rtl_dir) + rtl_headers(rtl_dir)


def copy_rtl(dest: Path, rtl_dir: Path = RTL_DIR) -> Path:
    """Copy the folder ``rtl_dir`` (every file but hidden ones and caches) to ``dest``, emptied
    first; returns ``dest``. Raises ``ValueError`` when ``dest`` is ``rtl_dir`` itself."""
    rtl_dir, dest = Path(rtl_dir), Path(dest)
    if dest.resolve() == rtl_dir.resolve():
        raise ValueError(f"refusing to copy {rtl_dir} onto itself")
    rtl_sources(rtl_dir)  # a folder without Verilog is refused, as a build would
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(rtl_dir, dest, ignore=shutil.ignore_patterns(".*", "__pycache__"))
    return dest


def edit_copy(
    rtl_dir: Path, dest: Path, file: str | None, edit: Callable[[str], str] | None = None
) -> Path:
    """Copy ``rtl_dir`` to ``dest`` and replace the text of ``dest / file`` with
    ``edit(text)`` (``file`` None: a plain copy); returns ``dest``. Raises
    ``FileNotFoundError`` when ``file`` is not in the folder."""
    dest = copy_rtl(dest, rtl_dir)
    if file is None or edit is None:
        return dest
    path = dest / file
    if not path.is_file():
        raise FileNotFoundError(f"no file {file} in {rtl_dir}")
    path.write_text(edit(path.read_text()))
    return dest
