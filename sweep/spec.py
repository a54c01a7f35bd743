"""Sweep specs (TOML files in ``sweeps/``) and the points they expand to.

A spec has one or more groups (``[[group]]``); each group has axes over any
:class:`~pyref.config.QmacConfig` field plus ``sim`` and ``n``, and a strategy:

- ``product``: every combination of the axis values;
- ``pairwise``: every pair of values of two axes appears in at least one point
  (:func:`sweep.covering.pairwise`);
- ``random``: ``count`` points drawn with the spec's ``seed``.

``[group.derive]`` computes fields from others (``bias_bits = "acc_bits"``,
``acc_bits = "in_bits + w_bits + 8"``; integers, field names, ``+ - * //``, ``min``, ``max``).
``[[include]]`` lists configs always swept (``config = "tflite"`` plus field overrides).

Every value a spec names (axis values, include fields, derived values) must be one the field can
take on its own (:func:`pyref.config.check_field`), else the spec is refused before anything
runs. A combination pyref refuses (:class:`~pyref.config.ConfigError`) is skipped, with pyref's
reason, and fails the sweep unless the spec expects it: ``allow_skip = true`` (any reason) or
``allow_skip = ["needs mult_bits = 32", ...]`` (reasons containing one of these), at the top
level (for every group and include) or per group (overriding the top level).

``sim = "auto"`` (the default when neither the spec, the group's axes nor the include names a
simulator) gives each point the simulator with the lowest predicted build + run seconds for its
config and N (:func:`tb.run.cost.cheapest_simulator`) among those installed; the point is then
exactly the point that names that simulator (same key, seed and digest). With no simulator
installed an auto point is skipped, with the reason.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import itertools
import random
import sys
from pathlib import Path
from typing import Any, Mapping

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from pyref.config import NAMED_CONFIGS, ConfigError, QmacConfig, check_field
from tb import api as tb_api

from .covering import pairwise
from .points import Point, Skipped

SWEEPS_DIR = tb_api.DATA_DIR / "sweeps"
CONFIG_FIELDS = tuple(f.name for f in dataclasses.fields(QmacConfig))
EXTRA_AXES = ("sim", "n")
STRATEGIES = ("product", "pairwise", "random")
DEFAULT_N = 2000
AUTO_SIM = "auto"
SIM_CHOICES = (*tb_api.SIMULATORS, AUTO_SIM)
DEFAULT_SIM = AUTO_SIM


class SpecError(ValueError):
    """A sweep spec that cannot be read; the message names the file, the key and the problem."""


@dataclasses.dataclass
class Group:
    name: str
    strategy: str
    axes: dict[str, list]
    derive: dict[str, str]
    count: int = 0
    allow_skip: bool | list[str] | None = None
    """Skips this group expects (None: the spec's top-level ``allow_skip``)."""


@dataclasses.dataclass
class Spec:
    """A parsed sweep spec."""

    name: str
    path: Path
    description: str
    seed: int
    n: int
    sim: str
    base: str
    groups: list[Group]
    include: list[dict]
    allow_skip: bool | list[str] = False

    def expects_skip(self, origin: str, reason: str) -> bool:
        """Whether the spec expects pyref to refuse a point of ``origin`` (a group's name or
        ``include``) for ``reason``."""
        allow = next((g.allow_skip for g in self.groups if g.name == origin), None)
        allow = self.allow_skip if allow is None else allow
        if isinstance(allow, bool):
            return allow
        return any(text in reason for text in allow)

    def axes_by_origin(self) -> dict[str, list[str]]:
        """The axis names of each group (and of the includes: the fields they set)."""
        axes = {g.name: list(g.axes) for g in self.groups}
        axes["include"] = sorted({k for inc in self.include for k in inc if k != "config"})
        return axes

    def expand(
        self, n_override: int | None = None, auto_sims: tuple[str, ...] | None = None
    ) -> tuple[list[Point], list[Skipped], list]:
        """The spec's points (deduplicated, in spec order), the skipped combinations (with
        pyref's reason) and the pairs no valid point can hold (pairwise groups).

        ``auto_sims``: the simulators a ``sim = "auto"`` point may get (default: the installed
        ones, :func:`installed_for_auto`)."""
        points: dict[str, Point] = {}
        skipped: dict[str, Skipped] = {}
        impossible: list = []
        uses_auto = self.uses_auto()
        if auto_sims is None:
            auto_sims = installed_for_auto() if uses_auto else ()
        auto_sims = tuple(s for s in tb_api.SIMULATORS if s in auto_sims)

        def add(fields: dict, origin: str) -> None:
            pnr = bool(fields.pop("pnr", False))
            sim = fields.pop("sim", self.sim)
            n = int(n_override if n_override is not None else fields.pop("n", self.n))
            fields.pop("n", None)
            try:
                config = self._config(fields)
            except ConfigError as exc:
                key = f"{sim}/" + ",".join(f"{k}={v}" for k, v in sorted(fields.items()))
                skipped.setdefault(
                    key,
                    Skipped(
                        fields=dict(fields),
                        sim=sim,
                        reason=str(exc),
                        origin=origin,
                        expected=self.expects_skip(origin, str(exc)),
                    ),
                )
                return
            if sim == AUTO_SIM:
                if not auto_sims:
                    key = f"{sim}/n{n}/" + ",".join(f"{k}={v}" for k, v in sorted(fields.items()))
                    why = [
                        f"{s}: {tb_api.simulator_missing(s) or 'not offered'}"
                        for s in tb_api.SIMULATORS
                    ]
                    skipped.setdefault(
                        key,
                        Skipped(
                            fields={**fields, "n": n},
                            sim=sim,
                            origin=origin,
                            reason=f"sim = auto: no simulator installed ({'; '.join(why)})",
                        ),
                    )
                    return
                sim = tb_api.cheapest_simulator(config, n, sims=auto_sims)
            p = Point.make(config, sim, n, spec_seed=self.seed, origin=origin, pnr=pnr)
            points.setdefault(p.key, p)

        for inc in self.include:
            add(dict(inc), "include")
        for g in self.groups:
            rows, imp = _expand_group(g, self)
            impossible += [(g.name, pair) for pair in imp]
            for row in rows:
                add(row, g.name)
        return list(points.values()), list(skipped.values()), impossible

    def uses_auto(self) -> bool:
        """Whether some point of the spec may have ``sim = "auto"``."""
        if self.sim == AUTO_SIM:
            return True
        return any(inc.get("sim") == AUTO_SIM for inc in self.include) or any(
            AUTO_SIM in g.axes.get("sim", ()) for g in self.groups
        )

    def _config(self, fields: Mapping[str, Any]) -> QmacConfig:
        fields = dict(fields)
        name = fields.pop("config", self.base)
        if name not in NAMED_CONFIGS:
            raise SpecError(
                f"{self.path}: no named config {name!r}; choose one of {', '.join(NAMED_CONFIGS)}"
            )
        return QmacConfig(**{**_base_fields(name), **fields})


@functools.lru_cache(maxsize=None)
def _base_fields_cached(name: str) -> tuple:
    return tuple(NAMED_CONFIGS[name].to_dict().items())


def _base_fields(name: str) -> dict:
    return dict(_base_fields_cached(name))


def installed_for_auto() -> tuple[str, ...]:
    """The simulators ``sim = "auto"`` chooses among here: the installed ones."""
    return tb_api.installed_simulators()


def _expand_group(g: Group, spec: Spec) -> tuple[list[dict], list]:
    """The rows of a group (axis values plus derived fields), before validation."""
    names = list(g.axes)

    def complete(row: dict) -> dict:
        row = dict(row)
        for field, expr in g.derive.items():
            where = f"{spec.path}: group {g.name!r} derive.{field}"
            row[field] = evaluate(expr, {**_base_fields(spec.base), **row}, where=where)
            _check_value(field, row[field], f"{where} (for {row})")
        return row

    memo: dict = {}

    def valid(row: dict) -> bool:
        key = tuple(sorted(row.items(), key=lambda kv: kv[0]))
        if key not in memo:
            fields = {k: v for k, v in complete(row).items() if k not in EXTRA_AXES}
            try:
                spec._config(fields)
                memo[key] = True
            except ConfigError:
                memo[key] = False
        return memo[key]

    if g.strategy == "product":
        rows = [dict(zip(names, combo)) for combo in itertools.product(*g.axes.values())]
        return [complete(r) for r in rows], []
    if g.strategy == "pairwise":
        rows, impossible = pairwise(g.axes, valid)
        return [complete(r) for r in rows], impossible
    rng = random.Random(f"{spec.seed}/{g.name}")
    rows = [{n: rng.choice(g.axes[n]) for n in names} for _ in range(g.count)]
    return [complete(r) for r in rows], []


_BINOPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.FloorDiv: lambda a, b: a // b,
}
_FUNCS = {"min": min, "max": max}


def evaluate(expr: str, names: Mapping[str, Any], where: str = "expression") -> int:
    """Evaluate a derive expression: integers, field names, ``+ - * //``, ``min``/``max``."""
    try:
        tree = ast.parse(str(expr), mode="eval")
    except SyntaxError as exc:
        raise SpecError(f"{where}: cannot parse {expr!r}: {exc.msg}") from None

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in names:
                raise SpecError(
                    f"{where}: unknown name {node.id!r} in {expr!r}; known: "
                    f"{', '.join(sorted(names))}"
                )
            return names[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _FUNCS
            and not node.keywords
        ):
            return _FUNCS[node.func.id](*(ev(a) for a in node.args))
        raise SpecError(f"{where}: {expr!r} may use integers, field names, + - * //, min, max")

    return ev(tree)


def resolve(name_or_path: str) -> Path:
    """``ci`` -> ``sweeps/ci.toml``; a path is taken as it is."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        if not p.is_file():
            raise SpecError(f"sweep spec {p} does not exist")
        return p
    candidate = SWEEPS_DIR / f"{name_or_path}.toml"
    if not candidate.is_file():
        known = ", ".join(sorted(q.stem for q in SWEEPS_DIR.glob("*.toml")))
        raise SpecError(f"no sweep spec {name_or_path!r}: not a file and not one of {known}")
    return candidate


def load(name_or_path: str) -> Spec:
    """Read and check a spec (a name in ``sweeps/`` or a path)."""
    path = resolve(name_or_path)
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None
    return parse(data, path)


TOP_KEYS = {"name", "description", "seed", "n", "sim", "base", "group", "include", "allow_skip"}
GROUP_KEYS = {"name", "strategy", "axes", "derive", "count", "allow_skip"}


def parse(data: Mapping[str, Any], path: Path) -> Spec:
    """Check the keys and values of a spec read from ``path``."""
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise SpecError(f"{path}: unknown key(s) {unknown}; allowed: {sorted(TOP_KEYS)}")
    base = data.get("base", "default")
    if base not in NAMED_CONFIGS:
        raise SpecError(
            f"{path}: base = {base!r} is not a named config ({', '.join(NAMED_CONFIGS)})"
        )
    seed = _int(data.get("seed", 1), path, "seed", 0)
    n = _int(data.get("n", DEFAULT_N), path, "n", 1)
    sim = _sim(data.get("sim", DEFAULT_SIM), f"{path}: sim")
    groups = []
    for i, g in enumerate(data.get("group", [])):
        where = f"{path}: group {i + 1}"
        unknown = sorted(set(g) - GROUP_KEYS)
        if unknown:
            raise SpecError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(GROUP_KEYS)}")
        strategy = g.get("strategy", "product")
        if strategy not in STRATEGIES:
            raise SpecError(
                f"{where}: strategy = {strategy!r} is not one of {', '.join(STRATEGIES)}"
            )
        axes = dict(g.get("axes", {}))
        for axis, values in axes.items():
            if axis not in CONFIG_FIELDS and axis not in EXTRA_AXES:
                raise SpecError(
                    f"{where}: axis {axis!r} is not a config field "
                    f"({', '.join(CONFIG_FIELDS)}) nor one of {EXTRA_AXES}"
                )
            if not isinstance(values, list) or not values:
                raise SpecError(f"{where}: axis {axis!r} must be a non-empty list, got {values!r}")
            for v in values:
                _check_value(axis, v, f"{where}: axis {axis!r}")
        derive = dict(g.get("derive", {}))
        for field in derive:
            if field not in CONFIG_FIELDS:
                raise SpecError(f"{where}: derive.{field} is not a config field")
            if field in axes:
                raise SpecError(f"{where}: {field!r} is both an axis and derived")
        count = _int(g.get("count", 0), path, f"group {i + 1} count", 0)
        if strategy == "random" and count < 1:
            raise SpecError(f"{where}: strategy 'random' needs count >= 1")
        allow = _allow(g["allow_skip"], f"{where}: allow_skip") if "allow_skip" in g else None
        groups.append(Group(g.get("name", f"group{i + 1}"), strategy, axes, derive, count, allow))
    include = [dict(x) for x in data.get("include", [])]
    for j, inc in enumerate(include):
        bad = sorted(set(inc) - set(CONFIG_FIELDS) - set(EXTRA_AXES) - {"config", "pnr"})
        if bad:
            raise SpecError(f"{path}: include {j + 1}: unknown key(s) {bad}")
        if not isinstance(inc.get("pnr", False), bool):
            raise SpecError(f"{path}: include {j + 1}: pnr = {inc['pnr']!r} must be true or false")
        for key, value in inc.items():
            if key not in ("config", "pnr"):
                _check_value(key, value, f"{path}: include {j + 1}: {key}")
    if not groups and not include:
        raise SpecError(f"{path}: no [[group]] and no [[include]]: the sweep has no points")
    return Spec(
        name=str(data.get("name", path.stem)),
        path=path,
        description=str(data.get("description", "")),
        seed=seed,
        n=n,
        sim=sim,
        base=base,
        groups=groups,
        include=include,
        allow_skip=_allow(data.get("allow_skip", False), f"{path}: allow_skip"),
    )


def _sim(value, where: str) -> str:
    if value not in SIM_CHOICES:
        raise SpecError(f"{where} = {value!r} is not one of {', '.join(SIM_CHOICES)}")
    return value


def _check_value(field: str, value, where: str) -> None:
    """A :class:`SpecError` naming ``where``, the field and the value unless ``field`` (a config
    field, ``sim`` or ``n``) can take ``value`` on its own."""
    if field == "sim":
        _sim(value, where)
    elif field == "n":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SpecError(f"{where}: n = {value!r} must be an integer >= 1")
    else:
        try:
            check_field(field, value)
        except ConfigError as exc:
            raise SpecError(f"{where}: {exc}") from None


def _allow(value, where: str) -> bool | list[str]:
    """``allow_skip``: true / false, or a list of reason excerpts."""
    if isinstance(value, bool):
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return list(value)
    raise SpecError(
        f"{where} = {value!r} must be true, false or a non-empty list of reason "
        'excerpts (e.g. ["needs mult_bits = 32"])'
    )


def _int(value, path, key, lo) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise SpecError(f"{path}: {key} = {value!r} must be an integer >= {lo}")
    return value


def spec_digest(spec: Spec) -> str:
    """Hash of the spec file's text (a merge refuses shards of another spec version)."""
    return hashlib.sha256(spec.path.read_bytes()).hexdigest()[:16]
