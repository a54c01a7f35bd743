"""Single-site mutants of Verilog source text, found generically (no line numbers, no names).

Each mutant is one small, plausible design error at one place of one file: an operator
swapped, a constant one off, a comparison edge moved (``<`` vs ``<=``), a sign extension
dropped, a condition inverted, an assigned value one off, an output bit stuck, two lanes
swapped. The search runs on the text with comments blanked out, so the RTL can change freely;
:func:`mutants_of_dir` lists every mutant of every ``*.v`` / ``*.vh`` file of a folder.

Left alone: comments, compiler directives, and default values of parameters that every
instantiation overrides (the top module's are set from the config): editing those changes
nothing that is built.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from pathlib import Path
from typing import Iterable, Iterator

FAMILIES = (
    "operator",
    "compare",
    "const",
    "sign_ext",
    "invert",
    "assign_off",
    "stuck",
    "swap_lanes",
)
"""Mutation operator families, in the order they are generated."""

SOURCE_GLOBS = ("*.v", "*.vh")


@dataclasses.dataclass(frozen=True)
class Mutant:
    """One mutation: non-overlapping ``(start, end, replacement)`` edits of one file."""

    file: str
    family: str
    what: str
    edits: tuple[tuple[int, int, str], ...]
    line: int

    @property
    def id(self) -> str:
        start = self.edits[0][0]
        return f"{self.file}:{self.line}:{self.family}:{start}"

    def apply(self, text: str) -> str:
        """``text`` with the edits made (``text`` must be the file the mutant was made from)."""
        out = text
        for start, end, repl in sorted(self.edits, reverse=True):
            out = out[:start] + repl + out[end:]
        return out

    def diff(self, text: str) -> str:
        """The changed lines as ``- old`` / ``+ new`` lines."""
        old, new = text.splitlines(), self.apply(text).splitlines()
        lines = []
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new).get_opcodes():
            if tag == "equal":
                continue
            lines += [f"- {s.strip()}" for s in old[i1:i2]]
            lines += [f"+ {s.strip()}" for s in new[j1:j2]]
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# Text helpers
# ------------------------------------------------------------------------------------------------

_COMMENT_OR_STRING = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\])*"', re.S)
_DIRECTIVE = re.compile(r"^[ \t]*`[^\n]*", re.M)


def code_view(text: str) -> str:
    """``text`` with comments, strings and compiler directives blanked (same length, same
    line breaks), so a search never lands in them."""

    def blank(m: re.Match) -> str:
        return re.sub(r"[^\n]", " ", m.group(0))

    return _DIRECTIVE.sub(blank, _COMMENT_OR_STRING.sub(blank, text))


def _depths(view: str) -> list[int]:
    """Paren/brace/bracket nesting depth before each character."""
    depth, out = 0, []
    for ch in view:
        if ch in ")]}":
            depth -= 1
        out.append(depth)
        if ch in "([{":
            depth += 1
    return out


def _match_close(view: str, i: int) -> int:
    """Index of the bracket closing the one at ``i``."""
    opening, closing = view[i], {"(": ")", "[": "]", "{": "}"}[view[i]]
    depth = 0
    for j in range(i, len(view)):
        if view[j] == opening:
            depth += 1
        elif view[j] == closing:
            depth -= 1
            if depth == 0:
                return j
    raise ValueError(f"unbalanced {opening!r} at offset {i}")


def _match_open(view: str, i: int) -> int:
    """Index of the bracket opening the one closing at ``i``."""
    closing, opening = view[i], {")": "(", "]": "[", "}": "{"}[view[i]]
    depth = 0
    for j in range(i, -1, -1):
        if view[j] == closing:
            depth += 1
        elif view[j] == opening:
            depth -= 1
            if depth == 0:
                return j
    raise ValueError(f"unbalanced {closing!r} at offset {i}")


def _statement_end(view: str, i: int) -> int:
    """Offset of the ``;`` ending the statement that goes on at ``i`` (same nesting level)."""
    depth = 0
    for j in range(i, len(view)):
        ch = view[j]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == ";" and depth == 0:
            return j
    raise ValueError(f"no ';' after offset {i}")


def _prev_char(view: str, i: int) -> str:
    j = i - 1
    while j >= 0 and view[j].isspace():
        j -= 1
    return view[j] if j >= 0 else ""


def _operand_before(view: str, i: int) -> int:
    """Start of the primary (identifier with selects, number, or parenthesized expression)
    that ends right before ``i`` (skipping spaces); -1 when there is none."""
    j = i - 1
    while j >= 0 and view[j].isspace():
        j -= 1
    if j < 0:
        return -1
    while view[j] == "]":
        j = _match_open(view, j) - 1
        while j >= 0 and view[j].isspace():
            j -= 1
    if view[j] == ")":
        return _match_open(view, j)
    k = j
    while k >= 0 and (view[k].isalnum() or view[k] in "_$'"):
        k -= 1
    return k + 1 if k < j else -1


_VALUE_END = set(")]}_'$") | set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

_KEYWORDS = {
    "assign",
    "wire",
    "reg",
    "input",
    "output",
    "inout",
    "parameter",
    "localparam",
    "integer",
    "genvar",
    "signed",
    "begin",
    "end",
    "if",
    "else",
    "for",
    "case",
    "endcase",
    "default",
    "module",
    "endmodule",
    "function",
    "endfunction",
    "generate",
    "endgenerate",
    "always",
    "posedge",
    "negedge",
    "or",
    "initial",
}


# ------------------------------------------------------------------------------------------------
# Which parameter defaults matter
# ------------------------------------------------------------------------------------------------

_MODULE = re.compile(r"\bmodule\s+(\w+)")
_PARAM_DECL = re.compile(
    r"\bparameter\b(?:\s+(?:integer|signed|real))?(?:\s*\[[^\]]*\])?\s*"
    r"(\w+)\s*="
)
_INSTANCE = re.compile(r"\b(\w+)\s*#\s*\(")
_DECL_RANGE = re.compile(r"\b(?:wire|reg|input|output|inout|signed|function)\s*\[")


def _module_spans(view: str) -> list[tuple[str, int, int]]:
    spans = []
    for m in _MODULE.finditer(view):
        end = view.find("endmodule", m.end())
        spans.append((m.group(1), m.start(), len(view) if end < 0 else end))
    return spans


def overridden_parameters(
    views: Iterable[str], top_params: Iterable[str] = ()
) -> dict[str, set[str]]:
    """Per module, the parameters every instantiation sets (for modules never instantiated,
    i.e. the top: ``top_params``)."""
    views = list(views)
    modules = {name for v in views for name, _, _ in _module_spans(v)}
    seen: dict[str, list[set[str]]] = {}
    for view in views:
        for m in _INSTANCE.finditer(view):
            if m.group(1) not in modules or re.search(r"\bmodule\s*$", view[: m.start(1)]):
                continue
            body = view[m.end() - 1 : _match_close(view, m.end() - 1) + 1]
            seen.setdefault(m.group(1), []).append(set(re.findall(r"\.(\w+)\s*\(", body)))
    out = {}
    for mod in modules:
        if mod in seen:
            out[mod] = set.intersection(*seen[mod])
        else:
            out[mod] = set(top_params)
    return out


def _frozen_spans(view: str, overridden: dict[str, set[str]]) -> list[tuple[int, int]]:
    """Spans not mutated: default values of overridden parameters, and declared ranges (a
    declaration's width follows from the parameters; the uses of a net are mutated)."""
    spans = [(m.end() - 1, _match_close(view, m.end() - 1)) for m in _DECL_RANGE.finditer(view)]
    for mod, start, end in _module_spans(view):
        names = overridden.get(mod, set())
        for m in _PARAM_DECL.finditer(view, start, end):
            if m.group(1) in names:
                j = m.end()
                depth = 0
                while j < end:
                    ch = view[j]
                    if ch in "([{":
                        depth += 1
                    elif ch in ")]}":
                        if depth == 0:
                            break
                        depth -= 1
                    elif ch in ",;" and depth == 0:
                        break
                    j += 1
                spans.append((m.start(), j))
    return spans


# ------------------------------------------------------------------------------------------------
# The mutation families
# ------------------------------------------------------------------------------------------------

_OP_TOKEN = re.compile(
    r">>>|<<<|>>|<<|===|!==|==|!=|<=|>=|&&|\|\||~\^|\^~|~&|~\||\+:|-:|"
    r"[-+*/%&|^~!<>?:=]"
)

_BINARY_SWAP = {
    "+": "-",
    "-": "+",
    "*": "+",
    "&": "|",
    "|": "&",
    "^": "|",
    "&&": "||",
    "||": "&&",
    "<<": ">>",
    ">>": "<<",
    "==": "!=",
    "!=": "==",
}
_COMPARE_EDGE = {"<": "<=", "<=": "<", ">": ">=", ">=": ">"}


def _operator_sites(view: str, depth: list[int]) -> Iterator[tuple[str, int, int, str, str]]:
    """(family, start, end, replacement, what) for operator, compare, invert and ``>>>``."""
    for m in _OP_TOKEN.finditer(view):
        tok, s, e = m.group(0), m.start(), m.end()
        prev = _prev_char(view, s)
        binary = prev in _VALUE_END
        if tok in ("<=",) and depth[s] == 0:
            continue  # a non-blocking assignment, not a comparison
        if tok in _COMPARE_EDGE and binary:
            yield "compare", s, e, _COMPARE_EDGE[tok], f"'{tok}' -> '{_COMPARE_EDGE[tok]}'"
        elif tok == ">>>" and binary:
            yield "sign_ext", s, e, ">>", "arithmetic shift '>>>' -> logical '>>'"
        elif tok in _BINARY_SWAP and binary:
            yield "operator", s, e, _BINARY_SWAP[tok], f"'{tok}' -> '{_BINARY_SWAP[tok]}'"
        elif tok in ("&", "|") and not binary:
            other = "|" if tok == "&" else "&"
            yield "operator", s, e, other, f"reduction '{tok}' -> '{other}'"
        elif tok == "-" and not binary:
            yield "operator", s, e, "", "unary minus dropped"
        elif tok in ("!", "~") and not binary:
            yield "invert", s, e, "", f"'{tok}' dropped"
        elif tok == "?":
            start = _operand_before(view, s)
            if start >= 0:
                cond = view[start:s].rstrip()
                yield (
                    "invert",
                    start,
                    start,
                    "!" if cond[0] == "(" else "!",
                    f"condition of '?:' inverted ({' '.join(cond.split())})",
                )


_IF = re.compile(r"\bif\s*\(")


def _if_sites(view: str) -> Iterator[tuple[str, int, int, str, str]]:
    for m in _IF.finditer(view):
        open_ = m.end() - 1
        close = _match_close(view, open_)
        cond = " ".join(view[open_ + 1 : close].split())
        yield "invert", open_ + 1, close, None, f"if condition inverted ({cond})"


_SIZED = re.compile(r"(?<![\w$])(\d+)\s*'([sS]?)([bBoOdDhH])\s*([0-9a-fA-F_]+)(?![\w'])")
_UNSIZED = re.compile(r"(?<![\w$'.])(\d+)(?![\w'.])")
_BASES = {"b": 2, "o": 8, "d": 10, "h": 16}


def _const_sites(view: str) -> Iterator[tuple[str, int, int, str, str]]:
    taken = []
    for m in _SIZED.finditer(view):
        width, base = int(m.group(1)), _BASES[m.group(3).lower()]
        digits = m.group(4).replace("_", "")
        value = int(digits, base)
        taken.append((m.start(), m.end()))
        for delta in (1, -1):
            new = (value + delta) % (1 << width)
            if width == 1 and delta == -1:
                continue  # 1-bit: +1 and -1 are the same flip
            text = _format_base(new, base, len(digits))
            repl = f"{m.group(1)}'{m.group(2)}{m.group(3)}{text}"
            yield "const", m.start(), m.end(), repl, f"{m.group(0)} -> {repl}"
    for m in _UNSIZED.finditer(view):
        if any(a <= m.start() < b for a, b in taken):
            continue
        value = int(m.group(1))
        for new in (value + 1, value - 1):
            if new >= 0:
                yield "const", m.start(), m.end(), str(new), f"{value} -> {new}"


def _format_base(value: int, base: int, ndigits: int) -> str:
    if base == 2:
        text = format(value, "b")
    elif base == 8:
        text = format(value, "o")
    elif base == 16:
        text = format(value, "X")
    else:
        return str(value)
    return text.zfill(ndigits)


_SIGNED_CALL = re.compile(r"\$signed\s*\(")
_REPL_SIGN = re.compile(r"\{\s*(\{?[^{}]*?\}?)\s*\{\s*(\w+\s*\[[^\]]+\])\s*\}\s*\}")
_PAIR_SIGN = re.compile(r"\{\s*(\w+)\s*\[[^\]]+\]\s*,\s*\1\s*\}")


def _sign_ext_sites(view: str) -> Iterator[tuple[str, int, int, str, str]]:
    for m in _SIGNED_CALL.finditer(view):
        yield (
            "sign_ext",
            m.start(),
            m.start() + len("$signed"),
            "$unsigned",
            "$signed(...) -> $unsigned(...)",
        )
    for m in _REPL_SIGN.finditer(view):
        s, e = m.start(2), m.end(2)
        yield "sign_ext", s, e, "1'b0", f"sign extension by {m.group(2)} -> zero extension"
    for m in _PAIR_SIGN.finditer(view):
        close = view.index(",", m.start())
        yield (
            "sign_ext",
            m.start() + 1,
            close,
            "1'b0",
            f"sign bit {view[m.start() + 1 : close].strip()} -> 0",
        )


_ASSIGN_TARGET = re.compile(r"(?<![\w$.])([A-Za-z_]\w*)(\s*\[[^\]\n]*\])?\s*(<=|=)(?!=)")


def _statement_start(view: str, i: int) -> int:
    """Offset where the statement containing ``i`` begins (after ``;``, ``begin``, ``end``,
    ``else``, a case label's ``:`` or an ``if (...)`` / ``@(...)``)."""
    j = i - 1
    while j >= 0:
        ch = view[j]
        if ch == ";":
            return j + 1
        if ch == ")":
            k = _match_open(view, j)
            before = view[max(0, k - 8) : k].rstrip()
            if re.search(r"(\bif|\bfor|@|\bcase)$", before):
                return j + 1
            j = k - 1
            continue
        if ch == "]":
            j = _match_open(view, j) - 1
            continue
        if ch == ":" and j > 0 and view[j - 1] not in "+-":
            return j + 1
        m = re.search(r"\b(begin|end|else|endcase|generate)\s*$", view[max(0, j - 12) : j + 1])
        if m and (j + 1 >= len(view) or not (view[j + 1].isalnum() or view[j + 1] == "_")):
            return j + 1
        j -= 1
    return 0


def _assignments(view: str, depth: list[int]) -> Iterator[tuple[str, str, int, int, int]]:
    """(kind, target, value_start, value_end, statement_start) of every assignment:
    kind 'assign', 'net' (net declaration with a value), 'nonblocking' or 'blocking'."""
    for m in _ASSIGN_TARGET.finditer(view):
        op_at = m.start(3)
        if depth[op_at] != 0 or m.group(1) in _KEYWORDS:
            continue
        if _prev_char(view, op_at) in "!<>=":
            continue
        start = _statement_start(view, m.start())
        prefix = view[start : m.start()].split()
        if any(
            w in ("parameter", "localparam", "integer", "genvar", "input", "output", "for")
            for w in prefix
        ):
            continue
        if prefix and prefix[0] == "assign":
            kind = "assign"
        elif prefix and prefix[0] in ("wire", "reg"):
            kind = "net"
        elif not prefix:
            kind = "nonblocking" if m.group(3) == "<=" else "blocking"
        else:
            continue
        value_start = m.end()
        value_end = _statement_end(view, value_start)
        yield kind, m.group(1), value_start, value_end, start


def _assign_off_sites(view: str, depth: list[int]) -> Iterator[tuple[str, int, int, str, str]]:
    for kind, target, vs, ve, _ in _assignments(view, depth):
        value = view[vs:ve].strip()
        s = vs + (len(view[vs:ve]) - len(view[vs:ve].lstrip()))
        e = s + len(value)
        deltas = ("+", "-") if kind in ("assign", "net") else ("+",)
        for op in deltas:
            yield "assign_off", s, e, None, f"{kind} value of {target} {op} 1"


_OUTPUT = re.compile(
    r"\boutput\s+(?:wire\s+|reg\s+)?(?:signed\s+)?"
    r"(?:\[\s*([^:\]]+?)\s*:\s*([^\]]+?)\s*\]\s*)?(\w+)"
)


def _stuck_sites(view: str, depth: list[int]) -> Iterator[tuple[str, int, int, str, str]]:
    for mod, mstart, mend in _module_spans(view):
        ports = {m.group(3): (m.group(1), m.group(2)) for m in _OUTPUT.finditer(view, mstart, mend)}
        for kind, target, vs, ve, st in _assignments(view, depth):
            if kind != "assign" or target not in ports or not mstart <= st < mend:
                continue
            msb, lsb = ports[target]
            value = view[vs:ve].strip()
            whole_start = view.index("assign", st)
            if msb is None:
                for bit in "01":
                    yield (
                        "stuck",
                        whole_start,
                        ve,
                        f"assign {target} = 1'b{bit}",
                        f"output {target} stuck at {bit}",
                    )
                continue
            if lsb.strip() != "0":
                continue
            tmp = f"mutant_{target}"
            decl = f"wire [{msb}:0] {tmp} = {value}; "
            for bit in "01":
                yield (
                    "stuck",
                    whole_start,
                    ve,
                    decl + f"assign {target} = {{{tmp}[{msb}:1], 1'b{bit}}}",
                    f"output {target} bit 0 stuck at {bit}",
                )
                yield (
                    "stuck",
                    whole_start,
                    ve,
                    decl + f"assign {target} = {{1'b{bit}, {tmp}[({msb})-1:0]}}",
                    f"output {target} top bit stuck at {bit}",
                )


_PART_SELECT = re.compile(r"([A-Za-z_]\w*)\s*\[([^\[\]]+?)\s*\+:\s*([^\[\]]+?)\s*\]")


def _swap_lane_sites(view: str, depth: list[int]) -> Iterator[tuple[str, tuple, str]]:
    for _, _, vs, ve, _ in _assignments(view, depth):
        groups: dict[tuple[str, str], list[re.Match]] = {}
        for m in _PART_SELECT.finditer(view, vs, ve):
            groups.setdefault((m.group(1), m.group(3).strip()), []).append(m)
        for (sig, _), ms in groups.items():
            for a, b in zip(ms, ms[1:]):
                ia, ib = a.group(2).strip(), b.group(2).strip()
                if ia == ib:
                    continue
                edits = (
                    (a.start(2), a.end(2), view[b.start(2) : b.end(2)]),
                    (b.start(2), b.end(2), view[a.start(2) : a.end(2)]),
                )
                yield "swap_lanes", edits, f"lanes of {sig} swapped: [{ia} +:] <-> [{ib} +:]"


# ------------------------------------------------------------------------------------------------
# Putting it together
# ------------------------------------------------------------------------------------------------


def mutants_of_text(
    text: str,
    file: str,
    overridden: dict[str, set[str]] | None = None,
    families: Iterable[str] = FAMILIES,
) -> list[Mutant]:
    """Every single-site mutant of one file's ``text`` (``overridden``: see
    :func:`overridden_parameters`)."""
    view = code_view(text)
    depth = _depths(view)
    frozen = _frozen_spans(view, overridden or {})
    families = set(families)
    raw: list[tuple[str, tuple, str]] = []
    sites = [
        *_operator_sites(view, depth),
        *_if_sites(view),
        *_const_sites(view),
        *_sign_ext_sites(view),
        *_assign_off_sites(view, depth),
        *_stuck_sites(view, depth),
    ]
    plus_minus: dict[tuple[int, int], int] = {}
    for family, s, e, repl, what in sites:
        if repl is None:
            body = text[s:e]
            if family == "invert":
                repl = f"!({body})"
            else:  # assign_off: '+ 1' first, then '- 1'
                n = plus_minus.get((s, e), 0)
                plus_minus[(s, e)] = n + 1
                repl = f"({body}) {'+' if n == 0 else '-'} 1"
        raw.append((family, ((s, e, repl),), what))
    raw += list(_swap_lane_sites(view, depth))
    out, seen = [], set()
    for family, edits, what in raw:
        if family not in families:
            continue
        if any(a <= s < b for s, _, _ in edits for a, b in frozen):
            continue
        key = tuple(sorted(edits))
        if key in seen:
            continue
        seen.add(key)
        line = text.count("\n", 0, edits[0][0]) + 1
        out.append(Mutant(file, family, what, key, line))
    order = {f: i for i, f in enumerate(FAMILIES)}
    out.sort(key=lambda mu: (order[mu.family], mu.edits))
    return out


def source_files(rtl_dir: Path) -> list[Path]:
    """The Verilog sources of a folder that are mutated (``*.v``, ``*.vh``), sorted."""
    files = sorted({p for g in SOURCE_GLOBS for p in Path(rtl_dir).glob(g)})
    if not files:
        raise FileNotFoundError(f"no Verilog sources (*.v, *.vh) in {rtl_dir}")
    return files


def mutants_of_dir(
    rtl_dir: Path, top_params: Iterable[str] = (), families: Iterable[str] = FAMILIES
) -> list[Mutant]:
    """Every mutant of every source of ``rtl_dir`` (``top_params``: the parameters the
    testbench sets on the top module)."""
    texts = {p.name: p.read_text() for p in source_files(rtl_dir)}
    overridden = overridden_parameters((code_view(t) for t in texts.values()), top_params)
    out = []
    for name, text in texts.items():
        out += mutants_of_text(text, name, overridden, families)
    return out


def planted(text: str, file: str, old: str, new: str, what: str, family: str = "planted") -> Mutant:
    """A hand-made mutant of ``text``: ``old`` (which must occur exactly once) becomes ``new``."""
    count = text.count(old)
    if count != 1:
        raise ValueError(f"{file}: {old!r} occurs {count} times (expected exactly once)")
    start = text.index(old)
    return Mutant(
        file, family, what, ((start, start + len(old), new),), text.count("\n", 0, start) + 1
    )
