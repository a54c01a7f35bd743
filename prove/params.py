"""The (module, parameters) pairs each named config gives qmac's submodules, from Yosys itself:
qmac is elaborated with the config's parameters and every derived module of the JSON netlist
carries its ``parameter_default_values``."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Mapping

from mutate.proc import run_in_group
from tb.run.yosys import yosys_command, yosys_version

SKIP = {"qmac", "qmac_param_check"}
"""Modules that are not datapath steps: the top (protocol properties) and the range check."""


class ElaborationError(RuntimeError):
    """Yosys could not elaborate qmac with a config's parameters."""


def module_name(json_name: str) -> str:
    """``qmac_sat`` from ``$paramod$<hash>\\qmac_sat``, ``$paramod\\qmac_sat\\IN_W=..`` or
    ``qmac_sat``."""
    if json_name.startswith("$paramod$"):
        return json_name.rsplit("\\", 1)[-1]
    if json_name.startswith("$paramod\\"):
        return json_name.split("\\")[1]
    return json_name


def _value(bits: str) -> int:
    """A parameter value of Yosys's JSON: a binary string (or already a number)."""
    if isinstance(bits, int):
        return bits
    return int(bits, 2) if set(bits) <= {"0", "1"} else int(bits)


def submodules(
    rtl_dir: Path, qmac_params: Mapping[str, int], timeout: float = 300.0
) -> list[tuple[str, dict[str, int]]]:
    """The (module, parameters) pairs of qmac's hierarchy under ``qmac_params``, sorted."""
    yosys_version()
    rtl_dir = Path(rtl_dir).resolve()
    files = sorted(rtl_dir.glob("*.v"))
    if not files:
        raise ElaborationError(f"no Verilog sources (*.v) in {rtl_dir}")
    with tempfile.TemporaryDirectory(prefix=".prove-params-", dir=rtl_dir.parent) as tmp:
        rel = os.path.relpath(rtl_dir, tmp)
        sets = " ".join(f"-set {k} {int(v)}" for k, v in qmac_params.items())
        ys = Path(tmp) / "params.ys"
        ys.write_text(
            f"read_verilog -I {rel} "
            + " ".join(f"{rel}/{f.name}" for f in files)
            + f"\nchparam {sets} qmac\nhierarchy -top qmac\nproc\n"
            "write_json params.json\n"
        )
        proc = run_in_group(
            [*yosys_command(), "-q", "params.ys"],
            timeout,
            cwd=tmp,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        if proc is None or proc.returncode != 0:
            why = "timed out" if proc is None else proc.stdout.strip().splitlines()[-1:]
            raise ElaborationError(f"yosys could not elaborate qmac in {rtl_dir}: {why}")
        netlist = json.loads((Path(tmp) / "params.json").read_text())
    out = set()
    for name, mod in netlist["modules"].items():
        base = module_name(name)
        if base in SKIP:
            continue
        params = {k: _value(v) for k, v in (mod.get("parameter_default_values") or {}).items()}
        out.add((base, tuple(sorted(params.items()))))
    return [(m, dict(p)) for m, p in sorted(out)]
