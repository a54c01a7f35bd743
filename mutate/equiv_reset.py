"""Equivalence from reset: original and mutant give the same outputs for every input sequence
that starts with a reset, proven by k-induction (SymbiYosys, ``smtbmc yices``).

The fallback of :func:`mutate.equiv.prove` for what its pair-and-induct flow leaves unproven: a
difference masked only some registers later. Both designs are elaborated with the config's
parameters, flattened, their memories mapped to registers and every register exposed as a port
(``expose -dff``); a wrapper (:func:`wrapper`) drives both with the same inputs, merges the
logic that is identical on both sides (``opt_merge -share_all``: the input multipliers once),
assumes the reset input high in the first cycle and asserts

- the ports compared by the testbench: ``out_valid_o`` and ``in_ready_o`` every cycle, the
  other outputs while ``out_valid_o`` is high (what they show without a valid output is not
  part of the interface, docs/interface.md; an RTL without ``out_valid_o``: every cycle);
- *candidate invariants*: each register of the original equal to the mutant's register of the
  same name and width. They make the induction strong enough (the accumulator, the job flag,
  the valid bits agree); a candidate that fails, in the base case or in the induction step, is
  dropped and the proof runs again (Houdini), so what is finally proven holds from reset.

The induction also assumes that the state changes from one cycle to the next unless the reset
was high in the cycle before. That removes only repeated states from a path (a shortest path to
a difference has none, and the reset cycles are never removed), so it is sound; without it a
stall (``out_ready_i`` low) holds unrelated values in the mutant's differing registers for as
many steps as the induction looks back, and no depth would close it.

Verdicts: ``equivalent`` only when k-induction closes; ``different`` when the base case (BMC
from reset) shows an output differing (the trace is in the task folder: the mutant should have
been killed by simulation); ``bounded`` when no output differs within the depth but the
induction does not close: not proven.
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

from .proc import run_yosys_script, yosys_error

EQUIVALENT, DIFFERENT, BOUNDED, TIMEOUT, ERROR = (
    "equivalent",
    "different",
    "bounded",
    "timeout",
    "error",
)

MARGIN = 4
"""Cycles of the induction beyond the pipeline's latency (reset, first beat, a reset in between)."""

SOLVER = "yices"
"""smtbmc's solver (make prove's protocol solver too)."""

MAX_ROUNDS = 32
"""Proof attempts, each without the candidate invariants the one before found false."""

VALID, READY, RESET, CLOCK = "out_valid_o", "in_ready_o", "rst_i", "clk_i"

_ELABORATE = """\
read_verilog -I {inc} {files}
hierarchy -top {top}{params}
proc
flatten
memory
opt_clean
expose -dff
rename {top} {name}
write_rtlil {out}
"""

_PORT = re.compile(r"^\s*wire (?:width (\d+) )?(?:upto )?(?:signed )?(input|output) \d+ (\S+)$")
_STEP = re.compile(r"Checking assertions in step (\d+)")
_FAILED = re.compile(r"Assert failed in \S+: (\w+)")


@dataclasses.dataclass
class Ports:
    """A design's inputs and outputs (name -> width), and the outputs that are its registers."""

    inputs: dict[str, int]
    outputs: dict[str, int]
    registers: dict[str, int]


@dataclasses.dataclass
class ResetProof:
    """The outcome of one proof from reset."""

    status: str
    """``equivalent``, ``different``, ``bounded``, ``timeout`` or ``error``."""
    detail: str = ""
    seconds: float = 0.0
    depth: int = 0
    invariants: int = 0
    """Register pairs proven equal alongside the outputs."""
    trace: Path | None = None
    """The counterexample of a ``different`` verdict (a VCD in the task folder)."""
    step: int = 0
    """The cycle (0: the reset) in which the outputs of a ``different`` verdict differ."""


def ports(rtlil: str, top_outputs: set[str]) -> Ports:
    """The ports of the one module of ``rtlil``; an output not among ``top_outputs`` is an
    exposed register."""
    inputs, outputs, regs = {}, {}, {}
    for line in rtlil.splitlines():
        m = _PORT.match(line)
        if not m:
            continue
        width, direction, name = int(m.group(1) or 1), m.group(2), m.group(3)
        name = name[1:] if name.startswith("\\") else name
        if direction == "input":
            inputs[name] = width
        elif name in top_outputs:
            outputs[name] = width
        else:
            regs[name] = width
    return Ports(inputs, outputs, regs)


def _ident(name: str) -> str:
    """A Verilog identifier for ``name`` (escaped when it is not a plain one)."""
    return name if re.fullmatch(r"[A-Za-z_]\w*", name) else f"\\{name} "


def _vec(width: int) -> str:
    """A declaration's range for ``width`` bits (none for one)."""
    return f"[{width - 1}:0] " if width > 1 else ""


def candidates(gold: Ports, gate: Ports, exclude: set[str] = frozenset()) -> list[str]:
    """The registers of both designs with the same name and width, but those in ``exclude``."""
    return sorted(
        n
        for n, w in gold.registers.items()
        if gate.registers.get(n) == w and n not in exclude and n.split("[")[0] not in exclude
    )


def wrapper(gold: Ports, gate: Ports, pairs: list[str], gold_top: str, gate_top: str) -> str:
    """The miter: ``gold_top`` and ``gate_top`` on the same inputs, the reset assumed in the
    first cycle, the outputs compared (those but ``out_valid_o`` and ``in_ready_o`` while
    ``out_valid_o`` is high), each of ``pairs`` asserted equal (label ``cand_<i>``), and the
    state assumed to change unless the reset was high the cycle before."""
    lines = [f"module qmac_equiv_reset ({', '.join(_ident(n) for n in gold.inputs)});"]
    lines += [f"  input wire {_vec(w)}{_ident(n)};" for n, w in gold.inputs.items()]
    state = []
    for side, p in (("g", gold), ("m", gate)):
        for i, (n, w) in enumerate({**p.outputs, **p.registers}.items()):
            lines.append(f"  wire {_vec(w)}{side}_{i};")
        for i, n in enumerate(p.registers):
            state.append(f"{side}_{len(p.outputs) + i}")
    index = {
        side: {n: f"{side}_{i}" for i, n in enumerate({**p.outputs, **p.registers})}
        for side, p in (("g", gold), ("m", gate))
    }
    for side, p, mod in (("g", gold, gold_top), ("m", gate, gate_top)):
        conns = [f".{_ident(n)}({_ident(n)})" for n in p.inputs]
        conns += [f".{_ident(n)}({index[side][n]})" for n in {**p.outputs, **p.registers}]
        lines.append(f"  {mod} u_{side} ({', '.join(conns)});")
    bits = ", ".join(state) or "1'b0"
    lines += [
        f"  wire [{state_width(gold, gate) - 1}:0] state = {{{bits}}};",
        f"  reg [{state_width(gold, gate) - 1}:0] prev_state;",
        "  reg prev_rst;",
        "  reg started = 1'b0;  // outputs are compared from the cycle after the first reset",
        f"  always @(posedge {CLOCK}) begin",
        "    started <= 1'b1;",
        "    prev_state <= state;",
        f"    prev_rst <= {RESET};",
        "  end",
        "  always @* begin",
        f"    if ($initstate) assume ({RESET});",
        "    if (!prev_rst) assume (state != prev_state);",
    ]
    valid = index["g"].get(VALID)
    for n in gold.outputs:
        if n not in gate.outputs:
            continue
        g, m = index["g"][n], index["m"][n]
        gated = valid is not None and n not in (VALID, READY)
        cond = f"if (started && {valid}) " if gated else "if (started) "
        lines.append(f"    {cond}out_{n}: assert ({g} == {m});")
    for n in pairs:
        lines.append(f"    if ($initstate) assume ({index['g'][n]} == {index['m'][n]});")
    for i, n in enumerate(pairs):
        lines.append(f"    cand_{i}: assert ({index['g'][n]} == {index['m'][n]});  // {n}")
    lines += ["  end", "endmodule", ""]
    return "\n".join(lines)


def state_width(gold: Ports, gate: Ports) -> int:
    """Bits of the state the wrapper compares with the cycle before: every register of both."""
    return max(sum(gold.registers.values()) + sum(gate.registers.values()), 1)


def _elaborate(
    folder: Path,
    parameters: Mapping[str, int],
    top: str,
    name: str,
    cwd: Path,
    out: Path,
    timeout: float,
) -> str:
    files = sorted(Path(folder).glob("*.v"))
    if not files:
        raise FileNotFoundError(f"no Verilog sources (*.v) in {folder}")
    script = _ELABORATE.format(
        inc=f'"{os.path.relpath(folder, cwd)}"',
        files=" ".join(f'"{os.path.relpath(p, cwd)}"' for p in files),
        top=top,
        params="".join(f" -chparam {k} {int(v)}" for k, v in parameters.items()),
        name=name,
        out=os.path.relpath(out, cwd),
    )
    ys = out.with_suffix(".ys")
    ys.write_text(script)
    proc = run_yosys_script(ys, cwd, timeout, "-q")
    if proc is None:
        raise TimeoutError
    if proc.returncode != 0 or not out.exists():
        raise RuntimeError(yosys_error(proc.stdout))
    return out.read_text()


def failed_step(task: Path) -> int:
    """The step of a failed base case (the last one its log was checking), or -1."""
    steps = []
    for log in Path(task).rglob("logfile.txt"):
        text = log.read_text(errors="replace")
        end = text.find("BMC failed")
        if end >= 0:
            steps += [int(s) for s in _STEP.findall(text[:end])][-1:]
    return max(steps, default=-1)


def failed_asserts(task: Path) -> set[str]:
    """The labels of the assertions a failed SymbiYosys task reports (base case or induction)."""
    found = set()
    for log in Path(task).rglob("logfile.txt"):
        found |= set(_FAILED.findall(log.read_text(errors="replace")))
    return found


def prove_from_reset(
    gold_dir: Path,
    gate_dir: Path,
    parameters: Mapping[str, int],
    *,
    depth: int,
    top: str = "qmac",
    top_outputs: set[str],
    exclude: set[str] = frozenset(),
    timeout: float = 120.0,
    work: Path | None = None,
) -> ResetProof:
    """Prove the design in ``gate_dir`` equal to the one in ``gold_dir`` from reset, by
    k-induction of ``depth`` cycles (the pipeline's latency plus :data:`MARGIN`); ``exclude``:
    registers not to assume equal at first (the pairs the pair-and-induct flow released);
    ``top_outputs``: the output ports of ``top`` (:func:`mutate.equiv.output_ports`);
    ``work``: keep the task folders there (else a temporary folder beside the designs)."""
    from prove import sby, tools

    t0 = time.perf_counter()

    def left() -> float:
        return timeout - (time.perf_counter() - t0)

    def done(status: str, detail: str = "", **kw) -> ResetProof:
        return ResetProof(status, detail, time.perf_counter() - t0, depth, **kw)

    try:
        yosys_version()
    except YosysUnavailable as exc:
        return done(ERROR, str(exc))
    gold_dir, gate_dir = Path(gold_dir).resolve(), Path(gate_dir).resolve()
    cwd = Path(os.path.commonpath([gold_dir, gate_dir]))
    with tempfile.TemporaryDirectory(prefix=".equiv-reset-", dir=cwd) as tmp:
        folder = Path(work).resolve() if work else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        if not tools.solver_available(SOLVER, folder):
            return done(ERROR, f"no {SOLVER} solver: pip install 'qmac[formal]'")
        try:
            texts = {
                name: _elaborate(
                    d,
                    parameters,
                    top,
                    f"{top}_{name}",
                    cwd,
                    Path(tmp) / f"{name}.il",
                    max(left(), 1),
                )
                for name, d in (("gold", gold_dir), ("gate", gate_dir))
            }
        except TimeoutError:
            return done(TIMEOUT, f"no proof within {timeout:.0f} s")
        except (RuntimeError, FileNotFoundError) as exc:
            return done(ERROR, str(exc))
        gold, gate = ports(texts["gold"], top_outputs), ports(texts["gate"], top_outputs)
        if gold.inputs != gate.inputs or set(gold.outputs) != set(gate.outputs):
            return done(ERROR, "the two designs' ports differ")
        if not {CLOCK, RESET} <= set(gold.inputs):
            return done(ERROR, f"no {CLOCK} / {RESET} input on {top}: no reset to start from")
        pairs = candidates(gold, gate, set(exclude))
        for r in range(MAX_ROUNDS):
            if left() <= 0:
                return done(TIMEOUT, f"no proof within {timeout:.0f} s")
            wrap = Path(tmp) / "qmac_equiv_reset.sv"
            wrap.write_text(wrapper(gold, gate, pairs, f"{top}_gold", f"{top}_gate"))
            files = {
                "gold.il": Path(tmp) / "gold.il",
                "gate.il": Path(tmp) / "gate.il",
                "qmac_equiv_reset.sv": wrap,
            }
            script = "\n".join(
                [
                    "read_rtlil gold.il",
                    "read_rtlil gate.il",
                    "read_verilog -formal -sv qmac_equiv_reset.sv",
                    "hierarchy -top qmac_equiv_reset",
                    "proc",
                    "flatten",
                    "opt_merge -share_all",
                    "opt_clean",
                ]
            )
            text = sby.sby_text(script, files, mode="prove", depth=depth, solver=SOLVER)
            out = sby.run(folder / f"round{r}", text, timeout=max(left(), 1), complete=True)
            if out.status == sby.PROVEN:
                return done(
                    EQUIVALENT,
                    f"k-induction, depth {depth}, {len(pairs)} register pairs",
                    invariants=len(pairs),
                )
            if out.status == sby.TIMEOUT:
                return done(TIMEOUT, f"no proof within {timeout:.0f} s")
            if out.status == sby.ERROR:
                return done(ERROR, out.detail)
            failed = failed_asserts(out.workdir)
            outputs = sorted(f for f in failed if f.startswith("out_"))
            dropped = {pairs[int(f[5:])] for f in failed if f.startswith("cand_")}
            if out.status == sby.FAILED and outputs:
                step = failed_step(out.workdir)
                names = ", ".join(o[4:] for o in outputs)
                return done(
                    DIFFERENT,
                    f"BMC: {names} differ{'s' if len(outputs) == 1 else ''} in cycle {step} "
                    "after the reset",
                    trace=next(iter(sorted(out.workdir.rglob("trace.vcd"))), None),
                    step=step,
                )
            if not dropped:
                return done(
                    BOUNDED,
                    f"no difference within {depth} cycles; induction did not "
                    f"close ({', '.join(o[4:] for o in outputs) or 'no assertion named'})",
                    invariants=len(pairs),
                )
            pairs = [p for p in pairs if p not in dropped]
    return done(BOUNDED, f"{MAX_ROUNDS} rounds, induction did not close", invariants=len(pairs))
