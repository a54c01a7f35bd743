"""The protocol properties of qmac (prove/spec/qmac_protocol.v), one task each: BMC to
``DEPTH`` cycles from reset, then k-induction of the same depth. A property that induction
closes is proven for every input sequence; one it does not close is bounded to that depth.

The latency comes from one place, :func:`measure_latency`: the RTL's first output after reset.
The checker's invariants need no knowledge of the RTL; the stage invariants read qmac's valid
bits and stage registers through ``probe_<name>`` wires, connected to ``dut.<name>`` when the
RTL has every one of them (:func:`probes`): with them induction closes, without them (a user's
RTL, or a pipeline of another depth) the properties are bounded."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from . import sby
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

DEPTH = 12
"""Cycles of the BMC and of the induction: reset, jobs through the pipeline, stalls and a
reset in between."""

CHECKER = "qmac_protocol.v"
_PROBE = re.compile(r"\bprobe_(\w+)")
_COVER_STEP = re.compile(r"Reached cover statement.*? in step (\d+)")


class LatencyUnknown(RuntimeError):
    """The RTL gave no output after a one-beat job within the cover run's depth."""


def spec_file() -> Path:
    """The checker's source (SPEC_DIR may be replaced by a test)."""
    return Path(SPEC_DIR) / CHECKER


def _files(rtl_dir: Path) -> dict[str, Path]:
    files = {f"rtl/{p.name}": p for p in sorted(Path(rtl_dir).glob("*.v"))}
    files.update({f"rtl/{p.name}": p for p in sorted(Path(rtl_dir).glob("*.vh"))})
    files[f"spec/{CHECKER}"] = spec_file()
    return files


def probes(rtl_dir: Path, latency: int) -> tuple[list[str], str]:
    """The names the checker probes in qmac when ``rtl_dir``'s qmac.v declares all of them
    and its stage count is ``latency``; otherwise ``[]`` and the reason."""
    text = spec_file().read_text()
    names = sorted(set(_PROBE.findall(text)))
    stages = re.search(r"localparam integer STAGES = (\d+);", text)
    top = Path(rtl_dir) / "qmac.v"
    rtl = top.read_text() if top.exists() else ""
    missing = [n for n in names if not _declared(n, rtl)]
    if missing:
        return [], f"no stage invariants: qmac.v has no {', '.join(missing[:3])}"
    if not stages or int(stages.group(1)) != latency:
        return [], f"no stage invariants: they describe {stages and stages.group(1)} stages"
    return names, ""


def _declared(name: str, rtl: str) -> bool:
    """Whether qmac.v declares the probed ``name``: a reg or wire, or for a name inside a
    submodule (``u_inst__...``) the instance."""
    if "__" in name:
        return bool(re.search(rf"\b{name.split('__')[0]}\s*\(", rtl))
    return bool(re.search(rf"\b(?:reg|wire)\b[^;]*\b{name}\b", rtl))


def hierarchical(name: str) -> str:
    """The flattened design's name of a probed ``name``: ``__`` is a level of the hierarchy,
    ``__<n>`` word n of a memory (``u_out_values__ring__3``: ``u_out_values.ring[3]``)."""
    parts = name.split("__")
    out = parts[0]
    for part in parts[1:]:
        out += f"[{part}]" if part.isdigit() else f".{part}"
    return out


def _script(rtl_files: list[str], params: dict[str, int], names: list[str]) -> str:
    sets = " ".join(f"-set {k} {params[k]}" for k in ("PROP", "LATENCY") if k in params)
    lines = [
        f"read_verilog -I rtl {' '.join(rtl_files)}",
        f"read_verilog -formal spec/{CHECKER}",
        f"chparam {sets} -set PROBES {int(bool(names))} qmac_protocol",
        "hierarchy -top qmac_protocol",
        "proc",
        "flatten",
        "memory",  # memories as registers (qmac_delay_ram's ring), whose words are probed
        *[f"connect -nounset -set probe_{n} \\dut.{hierarchical(n)}" for n in names],
        "prep -top qmac_protocol",
    ]
    return "\n".join(lines)


@lru_cache(maxsize=8)
def _measure(rtl_dir: str, work: str, solver: str, stamp: tuple) -> int:
    files = _files(Path(rtl_dir))
    rtl = [f for f in files if f.startswith("rtl/") and f.endswith(".v")]
    text = sby_text(
        _script(rtl, {"PROP": 0, "LATENCY": 5}, []), files, mode="cover", depth=24, solver=solver
    )
    out = sby.run(Path(work) / "protocol_latency", text, timeout=600, complete=True)
    log = (out.workdir / "logfile.txt").read_text() if out.workdir else ""
    m = _COVER_STEP.search(log)
    if out.status != sby.PROVEN or not m:
        raise LatencyUnknown(
            f"RTL = {rtl_dir}: qmac gave no output within 24 cycles of a one-beat job "
            f"({out.status}: {out.detail})"
        )
    return int(m.group(1)) - 1


def measure_latency(rtl_dir: Path, work: Path, solver: str = "yices") -> int:
    """The RTL's latency in pipeline advances: the shortest trace from reset to an output
    (reset in step 0, a one-beat job's last beat moving at the end of step 1) reaches it in
    step LATENCY + 1. The latency property then holds every job to it."""
    rtl_dir = Path(rtl_dir).resolve()
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(rtl_dir.glob("*.v*")))
    return _measure(str(rtl_dir), str(Path(work).resolve()), solver, stamp)


def protocol_checks(latency: int, depth: int = DEPTH) -> list[Check]:
    """One check per property, for a pipeline of ``latency`` advances."""
    return [
        Check(PROTOCOL, name, (("PROP", code), ("DEPTH", depth), ("LATENCY", latency)))
        for code, name in PROPERTIES.items()
    ]


def task_text(
    check: Check, rtl_dir: Path, solver: str, invariants: bool = True
) -> tuple[str, int, str]:
    """The .sby file of a protocol property, its depth, and why the stage invariants are left
    out ('' when they are in)."""
    params = dict(check.params)
    files = _files(rtl_dir)
    rtl = [f for f in files if f.startswith("rtl/") and f.endswith(".v")]
    names, why = probes(rtl_dir, params["LATENCY"]) if invariants else ([], "")
    depth = params["DEPTH"]
    text = sby_text(_script(rtl, params, names), files, mode="prove", depth=depth, solver=solver)
    return text, depth, why


def failed_assertion(workdir: Path) -> str:
    """The source line of the assertion a counterexample violates ('' when none is named)."""
    log = Path(workdir) / "logfile.txt"
    text = log.read_text() if log.exists() else ""
    m = re.search(rf"Assert failed in \S+: \S*{re.escape(CHECKER)}:(\d+)", text)
    if not m:
        return ""
    return spec_file().read_text().splitlines()[int(m.group(1)) - 1]


def is_property_line(line: str) -> bool:
    """Whether a checker line is a property (``PROP == n``), not an invariant."""
    return "PROP ==" in line
