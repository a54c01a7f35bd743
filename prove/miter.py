"""The SymbiYosys task of a module check: the RTL module and its spec, with the same
parameters, in a miter that Yosys builds (``miter -equiv``: every input free and shared, every
output compared). The miter is combinational, so BMC of depth 1 covers every input: a pass is a
proof. Shared product: the spec's multiplications become Yosys's ``*`` on the same operands as
the RTL's, which Yosys merges into one cell (docs/prove.md)."""

from __future__ import annotations

from pathlib import Path

from .plan import Check
from .sby import sby_text

SPEC_DIR = Path(__file__).resolve().parent / "spec"


def sources(rtl_dir: Path) -> dict[str, Path]:
    """The task's src/ files: rtl/ (the .v and .vh files of ``rtl_dir``) and spec/."""
    files = {f"rtl/{p.name}": p for p in sorted(Path(rtl_dir).glob("*.v"))}
    files.update({f"rtl/{p.name}": p for p in sorted(Path(rtl_dir).glob("*.vh"))})
    files.update({f"spec/{p.name}": p for p in sorted(SPEC_DIR.glob("*.v"))})
    return files


def script(check: Check, files: dict[str, Path], replay: bool = False) -> str:
    """The Yosys script of the miter of ``check.module`` and its spec; ``replay``: with the
    spec's QMAC_REPLAY assumptions (inputs a layer can give, prove/cex.py)."""
    rtl = " ".join(f for f in files if f.startswith("rtl/") and f.endswith(".v"))
    spec = " ".join(f for f in files if f.startswith("spec/"))
    define = ("-D QMAC_SHARED_PRODUCT " if check.shared else "") + (
        "-D QMAC_REPLAY " if replay else ""
    )
    sets = " ".join(f"-set {k} {v}" for k, v in check.params)
    # QMAC_COMB_PIPE: the pipeline registers (qmac_pipe_reg) are wires, so a pipelined module is
    # proven equal to its combinational spec; qmac_protocol.v checks the registers in place.
    # A shared product: qmac_mul_pipe is the `*` operator too (its ladder proves its partial
    # products).
    shared = "-D QMAC_SHARED_PRODUCT " if check.shared else ""
    lines = [
        f"read_verilog -D QMAC_COMB_PIPE {shared}-I rtl {rtl}",
        f"read_verilog -formal {define}{spec}",
    ]
    if sets:
        lines.append(f"chparam {sets} {check.module} {check.spec}")
    lines += [
        "hierarchy -check",
        "proc",
        f"miter -equiv -flatten -make_assert {check.module} {check.spec} miter",
        "hierarchy -top miter",
        "prep -top miter",
    ]
    return "\n".join(lines)


def task_text(check: Check, rtl_dir: Path, solver: str, replay: bool = False) -> str:
    """The .sby file of ``check`` on the RTL in ``rtl_dir``."""
    files = sources(rtl_dir)
    return sby_text(script(check, files, replay), files, mode="bmc", depth=1, solver=solver)
