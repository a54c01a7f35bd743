"""A GitHub Actions job's steps played here, for tests of the workflows `qmac ci-init` writes:
every ``run:`` step by bash with the matrix values and the workflow's env substituted, and the
artifact actions as their documentation says they lay out files.

actions/upload-artifact (README, "Upload using Wildcard Pattern" and "Upload using Multiple
Paths and Exclusions"): "If a wildcard pattern is used, the path hierarchy will be preserved
after the first wildcard pattern"; "If multiple paths are provided as input, the least common
ancestor of all the search paths will be used as the root directory of the artifact".
actions/download-artifact (README, "Download All Artifacts"): with ``pattern`` and without
``merge-multiple``, each artifact goes to ``<path>/<artifact name>/``.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import re
import shutil
import subprocess
from pathlib import Path

WILDCARD = re.compile(r"[*?\[]")


def substitute(text: str, values: dict[str, str]) -> str:
    """``${{ matrix.sim }}``, ``${{ env.SWEEP_NAME }}``, ... replaced by ``values`` (keys
    ``matrix.sim``, ``env.SWEEP_NAME``); an expression not in ``values`` is an error."""

    def one(m: re.Match) -> str:
        key = m.group(1).strip()
        if key not in values:
            raise KeyError(f"no value for ${{{{ {key} }}}} in {text!r}")
        return values[key]

    return re.sub(r"\$\{\{(.*?)\}\}", one, text)


def _search_root(pattern: str) -> Path:
    parts = Path(pattern).parts
    for i, part in enumerate(parts):
        if WILDCARD.search(part):
            return Path(*parts[:i])
    p = Path(pattern)
    return p if pattern.endswith("/") else p.parent


def upload(paths: str, cwd: Path, dest: Path) -> list[Path]:
    """upload-artifact of the ``path:`` lines ``paths`` (relative to ``cwd``) into ``dest``: the
    files it would upload, laid out as it keeps them. Returns them (relative to ``dest``)."""
    lines = [line.strip() for line in paths.splitlines() if line.strip()]
    roots = [(cwd / _search_root(line)).resolve() for line in lines]
    root = Path(os.path.commonpath(roots)) if len(roots) > 1 else roots[0]
    files: set[Path] = set()
    for line in lines:
        for hit in glob.glob(str(cwd / line.rstrip("/")), recursive=True):
            hit = Path(hit).resolve()
            files |= {hit} if hit.is_file() else {f for f in hit.rglob("*") if f.is_file()}
    out = []
    for f in sorted(files):
        rel = f.relative_to(root)
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, dest / rel)
        out.append(rel)
    return out


def download(pattern: str, store: Path, path: Path) -> list[str]:
    """download-artifact with ``pattern`` of the artifacts in ``store/<name>/`` into
    ``path/<name>/``; the names."""
    names = sorted(d.name for d in store.iterdir() if fnmatch.fnmatch(d.name, pattern))
    for name in names:
        shutil.copytree(store / name, path / name)
    return names


def run_step(script: str, cwd: Path, env: dict[str, str], timeout: float = 1800):
    """A ``run:`` step as the runner runs it (``bash -e``)."""
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
