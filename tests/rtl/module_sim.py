"""Run one rtl/ module on its own over many input values, in the style of verilog-axis's
per-module tests: a generated Verilog testbench sweeps the module's inputs (every value of their
concatenation, or a seeded random subset) and prints inputs and outputs; the test compares them
with pyref or a plain Python formula.

A plain Verilog loop on Icarus (one compile, one run per parameter set) is far cheaper here than
a cocotb test, which would cost a Python call per vector: the exhaustive qmac_round_shift sweep
(1024 values x 16 shifts per mode) takes well under a second this way.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

RTL = Path(os.environ.get("QMAC_MODULE_RTL", Path(__file__).resolve().parents[2] / "rtl"))
"""The folder of the modules (``QMAC_MODULE_RTL`` points the tests at a mutated copy)."""


def run_module(
    module: str,
    params: dict[str, int],
    inputs: list[tuple[str, int]],
    outputs: list[tuple[str, int]],
    work: Path,
    *,
    count: int | None = None,
    seed: int = 1,
    values: list[dict[str, int]] | None = None,
    rtl: Path = RTL,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Drive ``module`` with every value of its concatenated ``inputs`` (``(port, width)``, the
    first port in the lowest bits), with ``count`` random values, or with the given ``values``
    (one dict of port values per vector, read with ``$readmemh``); returns the inputs and
    outputs per vector as unsigned integers (object arrays: any width)."""
    iverilog, vvp = shutil.which("iverilog"), shutil.which("vvp")
    assert iverilog and vvp, "Icarus Verilog is not installed"
    total = sum(w for _, w in inputs)
    n = len(values) if values is not None else count if count is not None else 1 << total
    out_total = sum(w for _, w in outputs)
    lo, conns = 0, []
    for port, w in inputs:
        conns.append(f".{port} (vec[{lo + w - 1}:{lo}])")
        lo += w
    decl = "\n".join(f"  wire [{w - 1}:0] o_{port};" for port, w in outputs)
    conns += [f".{port} (o_{port})" for port, _ in outputs]
    pstr = ", ".join(f".{k}({v})" for k, v in params.items())
    words = (total + 31) // 32
    rand = " ".join(
        f"vec[{32 * k + 31 if 32 * k + 31 < total else total - 1}:{32 * k}] = $random(seed);"
        for k in range(words)
    )
    step = "vec = mem[i];" if values is not None else rand if count is not None else "vec = i;"
    mem = f"  reg [{total - 1}:0] mem [0:{max(n - 1, 0)}];" if values is not None else ""
    load = '$readmemh("vec.hex", mem);' if values is not None else ""
    outs = ", ".join(f"o_{p}" for p, _ in reversed(outputs))
    tb = f"""`timescale 1ns/1ps
module tb;
  reg [{total - 1}:0] vec;
{mem}
{decl}
  {module} #({pstr}) dut ({", ".join(conns)});
  integer f, i, seed;
  initial begin
    seed = {seed};
    {load}
    f = $fopen("out.txt", "w");
    for (i = 0; i < {n}; i = i + 1) begin
      {step}
      #1 $fdisplay(f, "%h %h", vec, {{{outs}}});
    end
    $fclose(f);
    $finish;
  end
endmodule
"""
    work.mkdir(parents=True, exist_ok=True)
    if values is not None:
        words_hex = []
        for vals in values:
            word, lo = 0, 0
            for port, w in inputs:
                word |= (int(vals[port]) & ((1 << w) - 1)) << lo
                lo += w
            words_hex.append(f"{word:x}")
        (work / "vec.hex").write_text("\n".join(words_hex) + "\n")
    (work / "tb.v").write_text(tb)
    srcs = sorted(str(p) for p in Path(rtl).glob("*.v"))
    subprocess.run(
        [
            iverilog,
            "-g2005",
            # A pipelined module's registers are wires (rtl/qmac_pipe_reg.v), as in make prove:
            # its logic is checked here, its timing by the qmac runs.
            "-DQMAC_COMB_PIPE",
            "-I",
            str(rtl),
            "-s",
            "tb",
            "-o",
            str(work / "sim.vvp"),
            str(work / "tb.v"),
            *srcs,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    subprocess.run(
        [vvp, "-n", str(work / "sim.vvp")], check=True, cwd=work, capture_output=True, text=True
    )
    lines = (work / "out.txt").read_text().split()
    assert len(lines) == 2 * n, f"{len(lines) // 2} vectors printed, {n} expected"
    vin = [int(v, 16) for v in lines[0::2]]
    vout = [int(v, 16) for v in lines[1::2]]
    res_in, res_out = {}, {}
    lo = 0
    for port, w in inputs:
        res_in[port] = np.array([(v >> lo) & ((1 << w) - 1) for v in vin], dtype=object)
        lo += w
    lo = 0
    for port, w in outputs:
        res_out[port] = np.array([(v >> lo) & ((1 << w) - 1) for v in vout], dtype=object)
        lo += w
    assert lo == out_total
    return res_in, res_out


def signed(v: np.ndarray, w: int) -> np.ndarray:
    """Two's complement value of ``w``-bit unsigned integers."""
    return np.array([int(x) - (1 << w) if int(x) >> (w - 1) else int(x) for x in v], dtype=object)
