"""A copy of rtl/ whose top module, ports and parameters are all named otherwise, with an
active-low reset, and the ports.toml that maps qmac's names to them (for tests of PORTS=)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tb.shared.ports import PARAMETERS, PORTS
from tb.shared.rtl_folder import RTL_DIR

RENAMED_PORTS = {p: "dut_" + p.removesuffix("_i").removesuffix("_o") for p, _, _ in PORTS}
RENAMED_PORTS["rst_i"] = "rst_n"
RENAMED_PARAMS = {p: "P_" + p for p, _ in PARAMETERS}


def renamed_rtl(dest: Path) -> tuple[Path, Path]:
    """``(folder, ports.toml)``: rtl/ with ``qmac`` renamed ``my_mac``, every port and parameter
    renamed (not where a submodule's parameter is assigned, ``.NAME(``), the reset active low."""
    shutil.copytree(RTL_DIR, dest)
    top = dest / "qmac.v"
    text = top.read_text()
    for old, new in {
        **RENAMED_PARAMS,
        **{p: n for p, n in RENAMED_PORTS.items() if p != "rst_i"},
    }.items():
        text = re.sub(rf"(?<!\.)\b{old}\b", new, text)
    text = text.replace("module qmac #(", "module my_mac #(", 1)
    text = re.sub(r"\binput  wire(\s+)rst_i,", r"input  wire\1rst_n,", text, count=1)
    text = text.replace(");\n", ");\n  wire rst_i = ~rst_n;  // active-low reset\n", 1)
    (dest / "my_mac.v").write_text(text)
    top.unlink()
    ports = dest.parent / "ports.toml"
    ports.write_text(
        'top = "my_mac"\nreset_active_low = true\n[ports]\n'
        + "".join(f'{p} = "{n}"\n' for p, n in RENAMED_PORTS.items())
        + "[parameters]\n"
        + "".join(f'{p} = "{n}"\n' for p, n in RENAMED_PARAMS.items())
    )
    return dest, ports
