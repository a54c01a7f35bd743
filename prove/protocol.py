"""The protocol properties of qmac (prove/spec/qmac_protocol.v), one task each: BMC to
``DEPTH`` cycles from reset, then k-induction of the same depth. A property that induction
closes is proven for every input sequence; one it does not close is bounded to that depth."""

from __future__ import annotations

from pathlib import Path

from pyref.config import QmacConfig

from .miter import SPEC_DIR
from .plan import PROTOCOL, Check
from .sby import sby_text

PROPERTIES = {
    1: "no_output_without_job",
    2: "job_order_values",
    3: "hold_while_stalled",
    4: "in_ready",
    5: "latency",
    6: "nothing_dropped",
    7: "reset_flush",
}
"""PROP code of qmac_protocol.v -> the property's name in the table."""

PROTOCOL_CONFIG = QmacConfig(
    lanes=2,
    in_bits=3,
    w_bits=3,
    acc_bits=6,
    bias_bits=6,
    shift_bits=1,
    rounding="floor",
    out_bits=6,
)
"""The qmac inside prove/spec/qmac_protocol.v (the two must agree)."""

LAT = PROTOCOL_CONFIG.rtl_latency() - 1
"""Edges after the one that moves a job's last beat until its output is valid (the checker's
LAT parameter)."""

DEPTH = LAT + 8
"""Cycles of the BMC and of the induction: reset, jobs through the pipeline stages, stalls and a
reset in between (12 for the 5-stage pipeline of old; job_order_values takes minutes at 16)."""


def protocol_checks(depth: int = DEPTH) -> list[Check]:
    """One check per property."""
    return [
        Check(PROTOCOL, name, (("PROP", code), ("DEPTH", depth)))
        for code, name in PROPERTIES.items()
    ]


def task_text(check: Check, rtl_dir: Path, solver: str) -> tuple[str, int]:
    """The .sby file of a protocol property, and its depth."""
    params = dict(check.params)
    files = {f"rtl/{p.name}": p for p in sorted(Path(rtl_dir).glob("*.v"))}
    files.update({f"rtl/{p.name}": p for p in sorted(Path(rtl_dir).glob("*.vh"))})
    files["spec/qmac_protocol.v"] = SPEC_DIR / "qmac_protocol.v"
    rtl = " ".join(f for f in files if f.startswith("rtl/") and f.endswith(".v"))
    script = "\n".join(
        [
            f"read_verilog -I rtl {rtl}",
            "read_verilog -formal spec/qmac_protocol.v",
            f"chparam -set PROP {params['PROP']} -set LAT {LAT} qmac_protocol",
            "prep -top qmac_protocol",
        ]
    )
    depth = params["DEPTH"]
    return sby_text(script, files, mode="prove", depth=depth, solver=solver), depth
