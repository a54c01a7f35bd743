"""No import cycles among the project's own modules (pyref/, tb/, hil/).

A small AST walk: every ``import`` and ``from ... import`` of every module, at any depth
(imports inside functions count), resolved to the project's modules; then a depth-first search
for a cycle. ``from pkg import name`` is an edge to ``pkg.name`` when that is a module, else to
``pkg``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pyref", "tb", "hil")


def module_files(root: Path = ROOT, packages=PACKAGES) -> dict[str, Path]:
    """Dotted module name -> file, for every ``*.py`` under the packages."""
    out = {}
    for pkg in packages:
        for path in sorted((root / pkg).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute name of a (possibly relative) import target."""
    if level == 0:
        return target or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[:len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def import_edges(modules: dict[str, Path]) -> dict[str, set[str]]:
    """For each module, the project modules it imports (anywhere in its body)."""
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(name, is_package, node.level, node.module)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                           for a in node.names]
            else:
                continue
            for t in targets:
                # "import a.b.c" names a.b.c; keep the longest prefix that is a project module.
                while t and t not in modules:
                    t = t.rpartition(".")[0]
                if t and t != name:
                    found.add(t)
        edges[name] = found
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}   # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(edges.get(m, ())):
            if state.get(n) == 1:
                return stack[stack.index(n):] + [n]
            if n not in state:
                found = visit(n)
                if found:
                    return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(edges):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def test_no_import_cycles():
    modules = module_files()
    assert "tb.cli.sim" in modules and "pyref.beats" in modules, sorted(modules)[:20]
    cycle = find_cycle(import_edges(modules))
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_pyref_imports_nothing_from_tb_or_hil():
    edges = import_edges(module_files())
    bad = {m: sorted(t for t in ts if not t.startswith("pyref"))
           for m, ts in edges.items() if m.startswith("pyref")}
    assert not any(bad.values()), {m: t for m, t in bad.items() if t}


def _write(tmp: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = tmp / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def test_finds_a_cycle_through_an_import_inside_a_function(tmp_path):
    _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from .b import f\n",
        "pkg/b.py": "def f():\n    from pkg.sub import c\n",
        "pkg/sub/__init__.py": "",
        "pkg/sub/c.py": "from .. import a\n",
    })
    edges = import_edges(module_files(tmp_path, ("pkg",)))
    assert edges["pkg.a"] == {"pkg.b"}
    assert edges["pkg.b"] == {"pkg.sub.c"}
    assert edges["pkg.sub.c"] == {"pkg.a"}
    assert find_cycle(edges) == ["pkg.a", "pkg.b", "pkg.sub.c", "pkg.a"]


def test_no_cycle_in_a_chain(tmp_path):
    _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "import pkg.b\nimport numpy\n",
        "pkg/b.py": "from pkg import c\n",
        "pkg/c.py": "x = 1\n",
    })
    edges = import_edges(module_files(tmp_path, ("pkg",)))
    assert edges == {"pkg": set(), "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.c"}, "pkg.c": set()}
    assert find_cycle(edges) is None


@pytest.mark.parametrize("module,is_package,level,target,want", [
    ("tb.cli.sim", False, 1, "report", "tb.cli.report"),
    ("tb.cli.sim", False, 2, "run.build", "tb.run.build"),
    ("tb.cli", True, 1, "sim", "tb.cli.sim"),
    ("tb.cli.sim", False, 0, "pyref.beats", "pyref.beats"),
])
def test_resolve_relative_imports(module, is_package, level, target, want):
    assert _resolve(module, is_package, level, target) == want
