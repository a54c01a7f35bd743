"""The batch testbench's wrapper around the RTL (``hdl/qmac_batch_tb.sv``): its files, toplevel,
Verilog parameters and, on Icarus, the memory depths of the file transport.

Shared by the simulator side (:mod:`tb.batch.cocotb_test`) and the build hooks in the parent
(:mod:`tb.run.batch_harness`).
"""

from __future__ import annotations

from pathlib import Path

from pyref.config import QmacConfig

HDL_DIR = Path(__file__).resolve().parent / "hdl"
WRAPPER = HDL_DIR / "qmac_batch_tb.sv"
DPI_SOURCE = HDL_DIR / "qmac_batch_dpi.c"
MAIN_SOURCE = HDL_DIR / "qmac_batch_main.cpp"
TOPLEVEL = "qmac_batch_tb"
DPI_LIB_NAME = "libqmac_batch_dpi.so"

ICARUS_DEPTHS = {"MAX_BEATS": 16384, "MAX_JOBS": 16384, "MAX_CYCLES": 65536, "PAT_LEN": 65536}
"""Memory depths of the file transport on Icarus; a batch never exceeds them."""


def parameters(config: QmacConfig, sim: str) -> dict[str, int]:
    """Verilog parameters of the wrapper for ``config`` (plus the memory depths on Icarus)."""
    params = dict(config.rtl_parameters())
    if sim == "icarus":
        params.update(ICARUS_DEPTHS)
    return params
