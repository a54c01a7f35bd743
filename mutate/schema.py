"""Mutant schemata: every mutant of a folder compiled into one design with a run-time selector.

A mutant changes one statement (or one ``if`` condition). In the schema that statement is
replaced by a version that picks, at run time, the original or one of the mutated statements
by the value of ``qmac_mutant_sel``, a register every module declares and sets from the plusarg
``+qmac_mutant=K`` (0, the default, is the original design). So one build per config serves
every mutant, on Icarus and on Verilator alike. How each kind of site is guarded, so that the
original branch computes exactly what the original statement did:

- a procedural assignment ``t <= v;`` becomes
  ``begin if (sel == K1) t <= v1; else ... else t <= v; end`` (each branch its own statement:
  its own width and signedness context);
- a continuous assignment ``assign t = v;`` (or a net declared with a value) computes every
  variant into a wire as wide as ``t``, ``wire [<t's range>] vK = vK_expr;``, which is the same
  assignment context as ``assign t = ...``, and selects among those equal-width wires (the
  width is read from ``t``'s declaration in the module, or from its part-select: ``[i +: W]``
  is ``W`` bits; a target whose width the text does not give is left out);
- an ``if (c)`` condition becomes ``(sel == K1) ? |(c1) : ... : |(c)``: the reduction-or of
  a self-determined operand is exactly the truth value ``if`` takes.

A mutant elsewhere (a parameter or localparam value, a generate condition, a port connection, a
constant function, an include file's localparams) cannot take a run-time selector; it is *left
out* and judged on a stand-alone copy, as is every mutant whose guarded statement does not
elaborate under some config (the schema is elaborated under every config and the statements
the errors point at are left out, until it elaborates).

Under Yosys (``SYNTHESIS`` defined) the selector is the constant ```QMAC_MUTANT`` (default 0), so
a proof can compare the schema with the original.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path
from typing import Iterable, Mapping

from tb.api import copy_rtl

from .generate import (
    _ASSIGN_TARGET,
    _IF,
    _KEYWORDS,
    Mutant,
    _depths,
    _match_close,
    _module_spans,
    _prev_char,
    _statement_end,
    _statement_start,
    code_view,
)
from .proc import run_in_group

SELECTOR = "qmac_mutant_sel"
PLUSARG = "qmac_mutant"
SEL_BITS = 16

_MODULE_HEAD = re.compile(r"\bmodule\s+\w+")
_DECL = re.compile(
    r"\b(?:input|output|inout|wire|reg)\b(\s+(?:wire|reg)\b)?(?:\s+signed\b)?\s*"
    r"(\[[^\]]*\])?\s*(\w+)(?=\s*[;,=)\[])"
)
_LINE_COMMENT = re.compile(r"//[^\n]*")


def plusarg(selector: int) -> str:
    """The simulator plusarg that activates mutant ``selector`` of a schema."""
    return f"+{PLUSARG}={selector}"


@dataclasses.dataclass(frozen=True)
class Unit:
    """A guardable place of a file: its kind, span ``[start, end)`` and, for assignments, the
    target's text."""

    kind: str
    """``proc`` (procedural assignment), ``assign``, ``net`` or ``if`` (a condition)."""
    start: int
    end: int
    target: str = ""


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth < 0:
            return False
    return depth == 0


def units(text: str) -> list[Unit]:
    """The guardable places of a Verilog text, sorted by position (none overlap)."""
    view = code_view(text)
    depth = _depths(view)
    found: list[Unit] = []
    for m in _ASSIGN_TARGET.finditer(view):
        op = m.start(3)
        if depth[op] != 0 or m.group(1) in _KEYWORDS or _prev_char(view, op) in "!<>=":
            continue
        st = _statement_start(view, m.start())
        prefix = view[st : m.start()].split()
        if len(prefix) > 1 and prefix[1] in ("assign", "wire") and prefix[0].isidentifier():
            prefix = prefix[1:]  # after a generate block's label (`begin : g_x`)
        try:
            end = _statement_end(view, m.end()) + 1
        except ValueError:
            continue
        target = view[m.start() : op].strip()
        if not prefix:
            kind, start = "proc", m.start()
        elif prefix == ["assign"]:
            kind, start = "assign", view.index("assign", st)
        elif prefix[0] == "wire" and m.group(2) is None:
            kind, start, target = "net", view.index("wire", st), m.group(1)
        else:
            continue
        if _balanced(view[start:end]):
            found.append(Unit(kind, start, end, target))
    for m in _IF.finditer(view):
        close = _match_close(view, m.end() - 1)
        found.append(Unit("if", m.end(), close))
    found.sort(key=lambda u: (u.start, -u.end))
    out: list[Unit] = []
    for u in found:
        if out and u.start < out[-1].end:
            continue  # inside or across an earlier unit: not guardable on its own
        out.append(u)
    return out


def _unit_of(m: Mutant, places: list[Unit]) -> Unit | None:
    lo = min(s for s, _, _ in m.edits)
    hi = max(e for _, e, _ in m.edits)
    return next((u for u in places if u.start <= lo and hi <= u.end), None)


def _one_line(text: str) -> str:
    """A statement on one line (its ``//`` comments dropped), so an error's line names it."""
    return _LINE_COMMENT.sub(" ", text).replace("\n", " ")


def _variant(text: str, u: Unit, m: Mutant) -> str:
    """The unit's text with ``m``'s edits made, on one line."""
    body = text[u.start : u.end]
    edits = tuple((s - u.start, e - u.start, r) for s, e, r in m.edits)
    return _one_line(dataclasses.replace(m, edits=edits).apply(body))


def _sel(k: int) -> str:
    return f"({SELECTOR} == {SEL_BITS}'d{k})"


def _range(view: str, u: Unit, target: str) -> str:
    """The ``[msb:lsb]`` of a wire as wide as assignment target ``target`` of unit ``u``, from
    the target's part-select or its declaration in the module around ``u``; ValueError when the
    text does not say."""
    m = re.fullmatch(r"(\w+)\s*(?:\[(.*)\])?", target.strip(), re.S)
    if m is None:
        raise ValueError(f"target {target!r}")
    name, sel = m.group(1), m.group(2)
    start = max((s for _, s, _ in _module_spans(view) if s <= u.start), default=0)
    end = view.find("endmodule", u.start)
    decls = set()
    for d in _DECL.finditer(view, start, end if end >= 0 else len(view)):
        if d.group(3) == name:
            if re.match(r"\s*\[", view[d.end() :]):
                raise ValueError(f"{name} is an array")
            decls.add(" ".join((d.group(2) or "[0:0]").split()))
    if len(decls) != 1:
        raise ValueError(f"{len(decls)} different declarations of {name}")
    if sel is None:
        return decls.pop()
    part = re.fullmatch(r"(.*?)([+-]):(.*)", sel, re.S)
    if part:
        return f"[({part.group(3).strip()})-1:0]"
    if ":" in sel:
        msb, lsb = sel.split(":", 1)
        return f"[({msb.strip()})-({lsb.strip()}):0]"
    return "[0:0]"


def _guard(text: str, u: Unit, variants: list[tuple[int, str]], tag: str, view: str = "") -> str:
    """The replacement of unit ``u`` choosing among ``variants`` (selector, text)."""
    orig = _one_line(text[u.start : u.end])
    if u.kind == "proc":
        body = " else ".join(f"if {_sel(k)} {v}" for k, v in variants)
        return f"begin {body} else {orig} end"
    if u.kind == "if":
        chain = "".join(f"{_sel(k)} ? |({v}) : " for k, v in variants)
        return f"{chain}|({orig})"
    # assign / net: each variant into an equal-width wire, then select.
    if u.kind == "net":
        decl = orig[: _assign_eq(orig)]
        target = u.target
        head = decl.rstrip() + "; "
    else:
        target, head = u.target.removeprefix("assign").strip(), ""
    if u.kind == "net":
        r = re.search(r"\[[^\]]*\]", decl)
        width = r.group(0) if r else "[0:0]"
    else:
        width = _range(view or code_view(text), u, target)
    wires, chain = [], ""
    for k, v in [(0, orig), *variants]:
        name = f"{SELECTOR}_{tag}_{k}"
        v = re.sub(r"\bmutant_(\w+)", rf"mutant_\1_{tag}_{k}", v)  # a stuck mutant's wire
        if u.kind == "net":
            v = f"wire {width} {name} =" + v[_assign_eq(v) + 1 :]
        else:
            at = _last_assign(v, target)
            if at is None:
                raise ValueError(f"no 'assign {target} =' in a variant of {orig!r}")
            v = v[: at[0]] + f"wire {width} {name} =" + v[at[1] :]
        wires.append(v)
        if k:
            chain += f"{_sel(k)} ? {name} : "
    return head + " ".join(wires) + f" assign {target} = {chain}{SELECTOR}_{tag}_0;"


def _assign_eq(decl: str) -> int:
    """Offset of the ``=`` of a net declaration with a value."""
    view = code_view(decl)
    depth = _depths(view)
    for i, ch in enumerate(view):
        if ch == "=" and depth[i] == 0:
            return i
    raise ValueError(f"no '=' in {decl!r}")


def _last_assign(v: str, target: str) -> tuple[int, int] | None:
    pat = re.compile(r"\bassign\s+" + re.escape(target).replace(r"\ ", r"\s*") + r"\s*=(?!=)")
    ms = list(pat.finditer(v))
    return (ms[-1].start(), ms[-1].end()) if ms else None


def _declare(text: str) -> str:
    """``text`` with the selector declared in every module, right after its header."""
    view = code_view(text)
    decl = (
        f" /* verilator lint_off UNUSEDSIGNAL */\n"
        f"`ifdef SYNTHESIS\n"
        f"`ifndef QMAC_MUTANT\n`define QMAC_MUTANT 0\n`endif\n"
        f"  wire [{SEL_BITS - 1}:0] {SELECTOR} = `QMAC_MUTANT;\n"
        f"`else\n"
        f"  reg [{SEL_BITS - 1}:0] {SELECTOR};\n"
        f'  initial if (!$value$plusargs("{PLUSARG}=%d", {SELECTOR})) {SELECTOR} = 0;\n'
        f"`endif\n"
        f" /* verilator lint_on UNUSEDSIGNAL */\n"
    )
    out, last = [], 0
    for m in _MODULE_HEAD.finditer(view):
        end = _statement_end(view, m.end()) + 1
        out += [text[last:end], "\n", decl]
        last = end
    return "".join(out) + text[last:]


def schema_text(text: str, mutants: Iterable[Mutant], selectors: Mapping[Mutant, int], tag: str):
    """The schema of one file's ``text``: (new text, the mutants it holds). ``selectors``
    maps mutants to their selector values (>= 1); ``tag`` keeps wire names unique."""
    places = units(text)
    view = code_view(text)
    by_unit: dict[Unit, list[tuple[int, str]]] = {}
    held = []
    for m in mutants:
        u = _unit_of(m, places)
        if u is None:
            continue
        try:
            v = _variant(text, u, m)
        except ValueError:
            continue
        by_unit.setdefault(u, []).append((selectors[m], v))
        held.append(m)
    out = text
    for i, u in sorted(enumerate(by_unit), key=lambda x: -x[1].start):
        try:
            new = _guard(text, u, by_unit[u], f"{tag}{i}", view)
        except ValueError:
            ks = {k for k, _ in by_unit[u]}
            held = [h for h in held if selectors[h] not in ks]
            continue
        out = out[: u.start] + new + out[u.end :]
    return _declare(out), held


@dataclasses.dataclass
class Schema:
    """A schema folder: the copy of the RTL with its files' mutants guarded by selectors."""

    folder: Path
    selectors: dict[Mutant, int]
    """Mutant -> selector value, for the mutants the schema holds."""
    left_out: list[Mutant]
    """Mutants judged on a stand-alone copy instead."""

    def holds(self, m: Mutant) -> bool:
        return m in self.selectors


_SEL_TEST = re.compile(rf"\({SELECTOR} == {SEL_BITS}'d(\d+)\)")
_ERROR_LINE = re.compile(r"^(?:%Error[^:]*: )?([^:\s]+\.vh?):(\d+)", re.M)


def elaborate(folder: Path, params: Mapping[str, int], top: str) -> str:
    """Icarus's errors elaborating ``folder``'s top module ``top`` with ``params`` ("" when it
    builds, or when Icarus is not installed)."""
    if shutil.which("iverilog") is None:
        return ""
    sources = sorted(str(p) for p in folder.glob("*.v"))
    cmd = ["iverilog", "-g2012", f"-I{folder}", "-s", top, "-o", "/dev/null"]
    cmd += [f"-P{top}.{k}={v}" for k, v in params.items()] + sources
    proc = run_in_group(cmd, 120, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc is None:
        return "the elaboration hung"
    return "" if proc.returncode == 0 else proc.stdout


def build_schema(
    rtl_dir: Path,
    mutants: list[Mutant],
    dest: Path,
    configs: Iterable[Mapping[str, int]],
    top: str = "qmac",
    rounds: int = 8,
) -> Schema:
    """Write the schema of ``mutants`` (of the files of ``rtl_dir``) to ``dest``: guarded where a
    run-time selector can go and the result elaborates under every parameter set of
    ``configs`` (with Icarus), the rest left out (all of them without Icarus)."""
    rtl_dir, dest = Path(rtl_dir), Path(dest)
    configs = list(configs)
    if shutil.which("iverilog") is None:  # no elaborator to find what cannot be guarded
        copy_rtl(dest, rtl_dir)
        return Schema(dest, {}, list(mutants))
    texts = {p.name: p.read_text() for p in sorted(rtl_dir.iterdir()) if p.suffix in (".v", ".vh")}
    selectors = {m: i + 1 for i, m in enumerate(mutants)}
    excluded: set[Mutant] = set()
    for _ in range(rounds):
        copy_rtl(dest, rtl_dir)
        held: dict[Mutant, int] = {}
        owner: dict[tuple[str, int], set[int]] = {}
        for f, text in texts.items():
            if not f.endswith(".v"):
                continue
            mine = [m for m in mutants if m.file == f and m not in excluded]
            new, ids = schema_text(text, mine, selectors, tag=f"f{sorted(texts).index(f)}u")
            (dest / f).write_text(new)
            held.update({m: selectors[m] for m in ids})
            for n, line in enumerate(new.splitlines(), 1):
                ks = {int(k) for k in _SEL_TEST.findall(line)}
                if ks:
                    owner[(f, n)] = ks
        # every config's errors at once: each round then leaves out what any config refuses
        errors = "".join(elaborate(dest, params, top) for params in configs)
        if not errors:
            return Schema(dest, held, [m for m in mutants if m not in held])
        ks = set()
        for f, line in _ERROR_LINE.findall(errors):
            ks |= owner.get((Path(f).name, int(line)), set())
        blamed = {i for i, k in held.items() if k in ks}
        if not blamed:  # an error no guarded statement explains: no schema for its files
            files = {Path(f).name for f, _ in _ERROR_LINE.findall(errors)} or set(texts)
            blamed = {m for m in mutants if m.file in files}
        excluded |= blamed
    copy_rtl(dest, rtl_dir)
    (dest / ".no-schema").write_text("the schema did not elaborate\n")
    return Schema(dest, {}, list(mutants))
