"""The project's imports: no cycles, and the layering docs/testbench.md states.

A small AST walk: every ``import`` and ``from ... import`` of every module, at any depth
(imports inside functions count: a function-level import that goes upward is still an upward
dependency), resolved to the project's modules; then a depth-first search for a cycle, and the
rules of :func:`layering_violations` on every edge. ``from pkg import name`` is an edge to
``pkg.name`` when that is a module, else to ``pkg``.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pyref", "tb", "hil", "sweep", "mutate", "soak")

# ----- the layering (docs/testbench.md, "Where the code is") -----------------------------------

TB_LAYERS: tuple[tuple[str, ...], ...] = (
    ("tb.shared", "tb.rtl_coverage"),
    ("tb.cycle", "tb.batch"),
    ("tb.run",),
    ("tb.stream",),
    ("tb.cli",),
    ("tb.bench", "tb.sim"),
)
"""tb's sub-packages, lowest first. A module imports its own sub-package, lower layers and pyref,
nothing above and nothing else of its own layer. A module directly in ``tb/`` (``tb/__init__.py``,
a public entry module ``tb/<name>.py``) is above every layer and is public: hil, sweep, mutate
and soak may import it from anywhere. A new sub-package goes into a layer here."""

TB_PUBLIC: tuple[str, ...] = ()
"""Public tb sub-packages besides the modules directly in ``tb/`` (add a public one here and in
the top layer of :data:`TB_LAYERS`)."""

TB_REACH: dict[str, dict[str, str]] = {
    # hil reaches the RTL inside the functions that need it, and ends through tb/cli/errors.py.
    "hil.cli": {"tb.cli.errors": "module", "tb.stream.session": "function"},
    "hil.backends.rtl": {
        t: "function"
        for t in ("tb.stream.session", "tb.cli.report", "tb.run.build", "tb.run.toolchain")
    },
    # sweep, mutate and soak reach the testbench through tb/api.py (public, so not listed) and
    # end through tb/cli/errors.py, the one command-line module.
    **{
        m: {"tb.cli.errors": "module"}
        for m in ("sweep.cli", "sweep.shard", "sweep.fpga_table", "mutate.cli", "soak.cli")
    },
}
"""Which modules of hil, sweep, mutate and soak may import which non-public tb modules, and
where: ``module`` (anywhere) or ``function`` (only inside functions). Any other import of tb's
sub-packages from these packages fails."""

TOOL_REACH: dict[str, set[str]] = {
    # make mutate SWEEP=<spec>: the regression's configs are a sweep spec's points.
    "mutate.configs": {"sweep.spec", "sweep.points"},
}
"""hil, sweep, mutate and soak import none of each other but these."""

KNOWN_EXCEPTIONS: dict[tuple[str, str], str] = {}
"""Edges the rules refuse but that are allowed for now, each with the reason; do not add to it."""


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
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def _import_nodes(node: ast.AST, in_function: bool = False) -> Iterator[tuple[ast.AST, bool]]:
    """Every import statement under ``node``, with True when it is inside a function."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child, in_function
        inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
        yield from _import_nodes(child, inner)


def import_sites(modules: dict[str, Path]) -> dict[str, dict[str, str]]:
    """For each module, the project modules it imports -> ``module`` when one of those imports
    runs at import time (module or class body), ``function`` when all are inside functions."""
    sites: dict[str, dict[str, str]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        found: dict[str, str] = {}
        for node, in_function in _import_nodes(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = _resolve(name, is_package, node.level, node.module)
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                    for a in node.names
                ]
            for t in targets:
                # "import a.b.c" names a.b.c; keep the longest prefix that is a project module.
                while t and t not in modules:
                    t = t.rpartition(".")[0]
                if t and t != name and found.get(t) != "module":
                    found[t] = "function" if in_function else "module"
        sites[name] = found
    return sites


def import_edges(modules: dict[str, Path]) -> dict[str, set[str]]:
    """For each module, the project modules it imports (anywhere in its body)."""
    return {m: set(ts) for m, ts in import_sites(modules).items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(edges.get(m, ())):
            if state.get(n) == 1:
                return stack[stack.index(n) :] + [n]
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


def tb_layer(module: str, modules: dict[str, Path]) -> int | None:
    """The index in :data:`TB_LAYERS` of a tb module, ``len(TB_LAYERS)`` for a public one
    (directly in ``tb/``), None for a sub-package that is in no layer."""
    parts = module.split(".")
    if module == "tb" or (len(parts) == 2 and modules[module].name != "__init__.py"):
        return len(TB_LAYERS)
    sub = ".".join(parts[:2])
    for i, layer in enumerate(TB_LAYERS):
        if sub in layer:
            return i
    return None


def _public(module: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in TB_PUBLIC)


def layering_violations(
    sites: dict[str, dict[str, str]], modules: dict[str, Path], exceptions=KNOWN_EXCEPTIONS
) -> list[str]:
    """Every import that breaks the layering, as ``importer -> imported: rule``:

    - pyref imports nothing of the project;
    - tb imports tb and pyref only; inside tb, only its own sub-package and lower layers
      (:data:`TB_LAYERS`);
    - hil, sweep, mutate and soak import pyref, themselves, tb's public modules (directly in
      ``tb/``, or :data:`TB_PUBLIC`), the tb modules
      :data:`TB_REACH` gives them (module level or inside functions only, as it says) and each
      other only as :data:`TOOL_REACH` says;

    except the edges of ``exceptions``.
    """
    bad = []
    for m, targets in sorted(sites.items()):
        top = m.split(".")[0]
        for t, where in sorted(targets.items()):
            t_top = t.split(".")[0]
            if (m, t) in exceptions or (t_top == top and top != "tb"):
                continue
            rule = None
            if top == "pyref":
                rule = "pyref imports nothing of the project"
            elif top == "tb":
                lm, lt = tb_layer(m, modules), tb_layer(t, modules) if t_top == "tb" else None
                if t_top not in ("tb", "pyref"):
                    rule = "tb imports only tb and pyref"
                elif lm is None:
                    rule = f"{'.'.join(m.split('.')[:2])} is in no layer of TB_LAYERS"
                elif t_top == "tb" and t.split(".")[:2] != m.split(".")[:2]:
                    if lt is None:
                        rule = f"{'.'.join(t.split('.')[:2])} is in no layer of TB_LAYERS"
                    elif lt >= lm:
                        rule = f"tb imports go down its layers (layer {lm} -> {lt})"
            elif t_top == "tb":
                allowed = TB_REACH.get(m, {}).get(t)
                if tb_layer(t, modules) == len(TB_LAYERS) or _public(t):
                    pass
                elif allowed is None:
                    rule = f"{top} reaches this tb module only through TB_REACH"
                elif allowed == "function" and where == "module":
                    rule = "TB_REACH allows this import inside functions only"
            elif t_top != "pyref" and t not in TOOL_REACH.get(m, ()):
                rule = f"{top} imports {t_top} only as TOOL_REACH says"
            if rule:
                bad.append(f"{m} -> {t} ({where} level): {rule}")
    return bad


def test_no_import_cycles():
    modules = module_files()
    assert "tb.cli.sim" in modules and "pyref.beats" in modules, sorted(modules)[:20]
    cycle = find_cycle(import_edges(modules))
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_pyref_imports_nothing_from_tb_or_hil():
    edges = import_edges(module_files())
    bad = {
        m: sorted(t for t in ts if not t.startswith("pyref"))
        for m, ts in edges.items()
        if m.startswith("pyref")
    }
    assert not any(bad.values()), {m: t for m, t in bad.items() if t}


def test_the_layering_holds():
    modules = module_files()
    assert "tb.shared.faults" in modules and "hil.executor" in modules, sorted(modules)[:20]
    bad = layering_violations(import_sites(modules), modules)
    assert not bad, "imports against the layering (docs/testbench.md):\n" + "\n".join(bad)


def test_every_tb_sub_package_is_in_a_layer():
    subs = {
        ".".join(m.split(".")[:2])
        for m, p in module_files().items()
        if m.startswith("tb.") and m.count(".") == 1 and p.name == "__init__.py"
    }
    assert subs == {s for layer in TB_LAYERS for s in layer}


def _write(tmp: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = tmp / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def test_finds_a_cycle_through_an_import_inside_a_function(tmp_path):
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from .b import f\n",
            "pkg/b.py": "def f():\n    from pkg.sub import c\n",
            "pkg/sub/__init__.py": "",
            "pkg/sub/c.py": "from .. import a\n",
        },
    )
    edges = import_edges(module_files(tmp_path, ("pkg",)))
    assert edges["pkg.a"] == {"pkg.b"}
    assert edges["pkg.b"] == {"pkg.sub.c"}
    assert edges["pkg.sub.c"] == {"pkg.a"}
    assert find_cycle(edges) == ["pkg.a", "pkg.b", "pkg.sub.c", "pkg.a"]


def test_no_cycle_in_a_chain(tmp_path):
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "import pkg.b\nimport numpy\n",
            "pkg/b.py": "from pkg import c\n",
            "pkg/c.py": "x = 1\n",
        },
    )
    edges = import_edges(module_files(tmp_path, ("pkg",)))
    assert edges == {"pkg": set(), "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.c"}, "pkg.c": set()}
    assert find_cycle(edges) is None


@pytest.mark.parametrize(
    "module,is_package,level,target,want",
    [
        ("tb.cli.sim", False, 1, "report", "tb.cli.report"),
        ("tb.cli.sim", False, 2, "run.build", "tb.run.build"),
        ("tb.cli", True, 1, "sim", "tb.cli.sim"),
        ("tb.cli.sim", False, 0, "pyref.beats", "pyref.beats"),
    ],
)
def test_resolve_relative_imports(module, is_package, level, target, want):
    assert _resolve(module, is_package, level, target) == want


LAYERED_TREE = {
    "pyref/__init__.py": "",
    "pyref/a.py": "x = 1\n",
    "tb/__init__.py": "",
    "tb/api.py": "from tb.cli import sim\n",
    "tb/shared/__init__.py": "",
    "tb/shared/job.py": "from pyref import a\n",
    "tb/batch/__init__.py": "",
    "tb/batch/pack.py": "from ..shared import job\n",
    "tb/run/__init__.py": "",
    "tb/run/build.py": "from tb.batch import pack\n",
    "tb/stream/__init__.py": "",
    "tb/stream/session.py": "from tb.run import build\n",
    "tb/cli/__init__.py": "",
    "tb/cli/sim.py": "from tb.run import build\n",
    "tb/cli/errors.py": "x = 1\n",
    "tb/cli/report.py": "x = 1\n",
    "hil/__init__.py": "",
    "hil/cli.py": "from tb.cli.errors import x\n",
    "hil/backends/__init__.py": "",
    "hil/backends/rtl.py": "def f():\n    from tb.stream.session import s\n",
    "hil/onnx_run.py": "from tb.api import run\n",
    "soak/__init__.py": "",
    "soak/cli.py": "def f():\n    from tb import api\n",
    "mutate/__init__.py": "",
    "mutate/cli.py": "from tb.cli.errors import x\n",
}


def layering(tmp: Path, extra: dict[str, str]) -> list[str]:
    _write(tmp, {**LAYERED_TREE, **extra})
    modules = module_files(tmp)
    return layering_violations(import_sites(modules), modules, exceptions={})


def test_a_layered_tree_passes(tmp_path):
    assert layering(tmp_path, {}) == []


SIDE = {
    "tb/cycle/__init__.py": "",
    "tb/cycle/x.py": "",
    "tb/newpkg/__init__.py": "",
    "tb/newpkg/m.py": "",
    "sweep/__init__.py": "",
    "sweep/x.py": "",
}


@pytest.mark.parametrize(
    "path, text, want",
    [
        # upward inside tb, also from inside a function
        (
            "tb/shared/faults.py",
            "from tb.run.build import RTL_DIR\n",
            "tb.shared.faults -> tb.run.build (module level): "
            "tb imports go down its layers (layer 0 -> 2)",
        ),
        (
            "tb/stream/session.py",
            "def f():\n    from tb.cli import report\n",
            "tb.stream.session -> tb.cli.report (function level): tb imports go down its layers",
        ),
        # sideways within a layer, into the public module, into and out of a sub-package in no layer
        ("tb/batch/pack.py", "import tb.cycle.x\n", "tb.batch.pack -> tb.cycle.x"),
        ("tb/run/build.py", "from tb import api\n", "tb.run.build -> tb.api"),
        ("tb/cli/sim.py", "from tb.newpkg import m\n", "tb.newpkg is in no layer of TB_LAYERS"),
        ("tb/newpkg/m.py", "from tb.shared import job\n", "tb.newpkg is in no layer of TB_LAYERS"),
        (
            "pyref/a.py",
            "def f():\n    import tb.shared.job\n",
            "pyref.a -> tb.shared.job (function level): pyref imports nothing of the project",
        ),
        ("tb/shared/job.py", "from hil import cli\n", "tb imports only tb and pyref"),
        # hil: at module level where TB_REACH says inside functions; a module not in TB_REACH
        (
            "hil/backends/rtl.py",
            "from tb.stream.session import s\n",
            "TB_REACH allows this import inside functions only",
        ),
        (
            "hil/digits.py",
            "def f():\n    from tb.run import build\n",
            "hil reaches this tb module only through TB_REACH",
        ),
        (
            "mutate/tb_api.py",
            "from tb.batch import pack\n",
            "mutate reaches this tb module only through TB_REACH",
        ),
        ("soak/cli.py", "from sweep import x\n", "soak imports sweep only as TOOL_REACH says"),
    ],
)
def test_the_layering_finds(tmp_path, path, text, want):
    assert layering(tmp_path / "ok", SIDE) == []
    bad = layering(tmp_path / "bad", {**SIDE, path: text})
    assert len(bad) == 1 and want in bad[0], bad


def test_known_exceptions_are_the_only_ones_allowed(tmp_path):
    _write(tmp_path, {**LAYERED_TREE, "hil/onnx_run.py": "from tb.run.build import config_name\n"})
    modules = module_files(tmp_path)
    sites = import_sites(modules)
    allowed = {("hil.onnx_run", "tb.run.build"): "an example exception"}
    assert KNOWN_EXCEPTIONS == {}  # hil's restructure removed the last one
    assert layering_violations(sites, modules, exceptions=allowed) == []
    assert layering_violations(sites, modules, exceptions={}) == [
        "hil.onnx_run -> tb.run.build (module level): "
        "hil reaches this tb module only through TB_REACH"
    ]


def test_import_sites_tell_module_level_from_function_level(tmp_path):
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "import pkg.b\ndef f():\n    import pkg.c\n"
            "class K:\n    from pkg import d\n    def g(self):\n        import pkg.b\n",
            "pkg/b.py": "",
            "pkg/c.py": "",
            "pkg/d.py": "",
        },
    )
    sites = import_sites(module_files(tmp_path, ("pkg",)))
    assert sites["pkg.a"] == {"pkg.b": "module", "pkg.c": "function", "pkg.d": "module"}
