"""Sweep specs, pairwise covering arrays, skipped points and shards (no simulator needed)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from pyref.config import NAMED_CONFIGS, ConfigError, QmacConfig
from sweep import shard
from sweep import spec as spec_mod
from sweep.covering import all_pairs, pairwise, row_pairs
from sweep.points import Point

SWEEPS = Path(__file__).resolve().parents[2] / "sweeps"


def _spec(tmp_path: Path, text: str) -> spec_mod.Spec:
    path = tmp_path / "s.toml"
    path.write_text(text)
    return spec_mod.load(str(path))


def test_pairwise_covers_every_pair_of_unconstrained_axes():
    axes = {"a": [1, 2, 3], "b": ["x", "y"], "c": [True, False], "d": [0, 5, 7, 9]}
    rows, impossible = pairwise(axes)
    covered = set().union(*(row_pairs(r, list(axes)) for r in rows))
    wanted = {
        ((a, va), (b, vb))
        for a, b in itertools.combinations(axes, 2)
        for va in axes[a]
        for vb in axes[b]
    }
    assert len(wanted) == 3 * 2 + 3 * 2 + 3 * 4 + 2 * 2 + 2 * 4 + 2 * 4  # 44, by hand
    assert covered == wanted and not impossible
    # Fewer rows than the product (48), at least the largest pair count (3 x 4 = 12).
    assert 12 <= len(rows) < 48
    assert pairwise(axes) == (rows, impossible)  # deterministic


def test_pairwise_three_binary_axes_needs_four_rows():
    # The smallest covering array of three binary factors has 4 rows (a Latin square's rows).
    rows, _ = pairwise({"a": [0, 1], "b": [0, 1], "c": [0, 1]})
    assert len(rows) == 4
    assert set().union(*(row_pairs(r, "abc") for r in rows)) == set(
        all_pairs({"a": [0, 1], "b": [0, 1], "c": [0, 1]})
    )


def test_pairwise_with_pyref_rules_covers_every_pair_a_valid_config_can_hold(tmp_path):
    s = _spec(
        tmp_path,
        """
[[group]]
strategy = "pairwise"
derive = { bias_bits = "acc_bits" }
[group.axes]
rounding = ["half_up", "gemmlowp", "floor"]
mult_bits = [0, 16, 32]
acc_bits = [24, 32, 48]
out_bits = [4, 8]
in_bits = [4, 8, 16]
lanes = [1, 3]
""",
    )
    g = s.groups[0]
    rows, impossible = spec_mod._expand_group(g, s)
    names = list(g.axes)

    def ok(row):
        try:
            QmacConfig(**{**row, "bias_bits": row["acc_bits"]})
            return True
        except ConfigError:
            return False

    # Brute force: the pairs some valid product row holds.
    product = [dict(zip(names, c)) for c in itertools.product(*g.axes.values())]
    holdable = set().union(*(row_pairs(r, names) for r in product if ok(r)))
    assert all(ok(r) for r in rows)
    covered = set().union(*(row_pairs(r, names) for r in rows))
    assert covered == holdable
    assert set(impossible) == set(all_pairs(g.axes)) - holdable
    # gemmlowp needs mult_bits = 32 and acc_bits = 32 (pyref.config), so these can never be:
    assert (("rounding", "gemmlowp"), ("mult_bits", 0)) in impossible
    assert (("rounding", "gemmlowp"), ("acc_bits", 48)) in impossible
    # in = 16 with w = 8 needs acc >= 24: acc 24 holds it, so it is covered, not impossible.
    assert (("acc_bits", 24), ("in_bits", 16)) in covered


def test_invalid_points_are_skipped_with_pyrefs_reason(tmp_path):
    s = _spec(
        tmp_path,
        """
seed = 3
[[group]]
axes = { in_bits = [8, 16], acc_bits = [20, 32] }
derive = { bias_bits = "min(acc_bits, 20)" }
""",
    )
    points, skipped, _ = s.expand()
    assert sorted((p.config.in_bits, p.config.acc_bits) for p in points) == [
        (8, 20),
        (8, 32),
        (16, 32),
    ]
    assert len(skipped) == 1
    assert skipped[0].fields == {"in_bits": 16, "acc_bits": 20, "bias_bits": 20}
    # Worked by hand from the rule acc_bits >= in_bits + w_bits (w_bits = 8 by default).
    assert skipped[0].reason == (
        "acc_bits = 20 is out of range: allowed 24 .. 64 (at least in_bits + w_bits = 16 + 8)"
    )


def test_random_strategy_is_seeded(tmp_path):
    text = """
seed = {seed}
[[group]]
strategy = "random"
count = 6
axes = {{ lanes = [1, 2, 3, 4, 5, 6, 7, 8], out_bits = [4, 6, 8] }}
"""
    a = _spec(tmp_path, text.format(seed=1)).expand()[0]
    b = _spec(tmp_path, text.format(seed=1)).expand()[0]
    c = _spec(tmp_path, text.format(seed=2)).expand()[0]
    assert [p.key for p in a] == [p.key for p in b]
    assert [p.key for p in a] != [p.key for p in c]
    assert {p.seed for p in a} == {p.seed for p in b}


def test_derive_expressions():
    names = {"in_bits": 5, "w_bits": 7}
    assert spec_mod.evaluate("in_bits + w_bits + 8", names) == 20
    assert spec_mod.evaluate("min(64, in_bits * w_bits // 2)", names) == 17
    assert spec_mod.evaluate("max(in_bits, 6) - 1", names) == 5
    with pytest.raises(spec_mod.SpecError, match="unknown name 'lanes'"):
        spec_mod.evaluate("lanes + 1", names)
    with pytest.raises(spec_mod.SpecError, match="may use integers"):
        spec_mod.evaluate("__import__('os')", names)


@pytest.mark.parametrize(
    "text, message",
    [
        ("[[group]]\naxes = { widths = [1] }", "axis 'widths' is not a config field"),
        ('[[group]]\nstrategy = "all"\naxes = { lanes = [1] }', "strategy = 'all' is not one of"),
        ("[[group]]\naxes = { lanes = [] }", "axis 'lanes' must be a non-empty list"),
        ('[[group]]\nstrategy = "random"\naxes = { lanes = [1] }', "needs count >= 1"),
        ("speed = 1\n[[group]]\naxes = { lanes = [1] }", r"unknown key\(s\) \['speed'\]"),
        ("seed = 1", "no \\[\\[group\\]\\] and no \\[\\[include\\]\\]"),
    ],
)
def test_bad_specs_name_the_problem(tmp_path, text, message):
    with pytest.raises(spec_mod.SpecError, match=message):
        _spec(tmp_path, text)


def test_unknown_sweep_name_lists_the_known_ones():
    with pytest.raises(spec_mod.SpecError, match="ci.*full"):
        spec_mod.resolve("nonesuch")


def test_shipped_specs():
    ci_spec = spec_mod.load("ci")
    assert ci_spec.sim == "auto"
    ci, skipped, impossible = ci_spec.expand(auto_sims=("verilator", "icarus"))
    assert len(ci) >= 150
    assert {p.sim for p in ci} == {"icarus", "verilator"}
    # By cost every N = 2 000 point goes to Icarus; Verilator runs the named configs' longer
    # runs, which name it.
    assert {p.sim for p in ci if p.n == 2000} == {"icarus"}
    assert sorted(p.n for p in ci if p.sim == "verilator") == [20000] * len(NAMED_CONFIGS)
    # gemmlowp and fp32 each need mult_bits = 32 and acc_bits = 32: 4 + 4 pairs of the modes
    # group each.
    assert len(impossible) == 16
    assert sorted(pair[0][1] for _, pair in impossible) == ["fp32"] * 8 + ["gemmlowp"] * 8
    assert all(pair[0][0] == "rounding" for _, pair in impossible)
    # full.toml declares every value the issue asks for (expanding it takes a while: make sweep).
    full = spec_mod.load("full")
    values: dict = {}
    for g in full.groups:
        for axis, vals in g.axes.items():
            values.setdefault(axis, set()).update(vals)
    assert values["in_bits"] == values["w_bits"] == values["out_bits"] == set(range(2, 17))
    assert values["acc_bits"] == set(range(4, 65))
    assert len(values["rounding"]) == 9 and values["mult_bits"] == {0, 8, 16, 24, 32}
    assert values["acc_mode"] == {"wrap", "saturate"} and values["in_signed"] == {True, False}
    assert values["lanes"] == set(range(1, 65))
    assert values["sim"] == {"icarus", "verilator"}


def _points(n: int) -> list[Point]:
    cfgs = [
        QmacConfig(lanes=lanes, in_bits=b, w_bits=b) for lanes in (1, 2, 4, 8, 16) for b in (4, 8)
    ]
    return [
        Point.make(c, sim, 1000 * (i % 3 + 1), spec_seed=1)
        for i, (c, sim) in enumerate(itertools.product(cfgs, ("icarus", "verilator")))
    ][:n]


@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_shards_partition_the_points_and_balance_the_cost(n):
    pts = _points(20)
    shards = shard.split(pts, n)
    keys = [p.key for s in shards for p in s]
    assert sorted(keys) == sorted(p.key for p in pts) and len(set(keys)) == len(pts)
    assert [[p.key for p in s] for s in shard.split(list(reversed(pts)), n)] == [
        [p.key for p in reversed(s)] for s in shards
    ]  # order of the input does not matter
    loads = [sum(shard.predicted_seconds(p) for p in s) for s in shards]
    biggest = max(shard.predicted_seconds(p) for p in pts)
    assert max(loads) - min(loads) <= biggest
    for k in range(1, n + 1):
        assert shard.select(pts, k, n) == shards[k - 1]


@pytest.mark.parametrize("text", ["0/2", "3/2", "1/0", "2", "a/b", "1/-2"])
def test_bad_shard(text):
    with pytest.raises(ValueError, match="SHARD"):
        shard.parse_shard(text)


GEMMLOWP_PRODUCT = """
{top}
[[group]]
name = "modes"
{group}
axes = {{ rounding = ["half_up", "gemmlowp"], mult_bits = [0, 16, 32] }}
"""


@pytest.mark.parametrize(
    "top, group, expected",
    [
        ("", "", [False, False]),
        ("allow_skip = true", "", [True, True]),
        ("allow_skip = true", "allow_skip = false", [False, False]),  # the group wins
        ("", 'allow_skip = ["needs mult_bits = 32, got 0"]', [True, False]),
        ("", 'allow_skip = ["needs acc_bits = 32"]', [False, False]),  # another reason
    ],
)
def test_allow_skip_says_which_refusals_the_spec_expects(tmp_path, top, group, expected):
    s = _spec(tmp_path, GEMMLOWP_PRODUCT.format(top=top, group=group))
    points, skipped, _ = s.expand()
    assert len(points) == 4  # half_up x 3, gemmlowp with mult_bits = 32
    assert [(k.fields["mult_bits"], k.expected) for k in skipped] == list(zip([0, 16], expected))


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "[[group]]\naxes = { in_bits = [4, 40] }",
            r"group 1: axis 'in_bits': in_bits = 40 is out of range: allowed 2 \.\. 16",
        ),
        (
            '[[group]]\naxes = { acc_mode = ["wrap", "sat"] }',
            r"axis 'acc_mode': acc_mode = 'sat' is not one of wrap, saturate",
        ),
        ('[[group]]\naxes = { sim = ["icarus", "ghdl"] }', r"axis 'sim' = 'ghdl' is not one of"),
        (
            '[[include]]\nconfig = "tflite"\nout_bits = 1',
            r"include 1: out_bits: out_bits = 1 is out of range: allowed 2 \.\. 16",
        ),
        ("allow_skip = []\n[[group]]\naxes = { lanes = [1] }", r"allow_skip = \[\] must be"),
    ],
)
def test_a_value_no_config_can_take_is_refused_before_expanding(tmp_path, text, message):
    with pytest.raises(spec_mod.SpecError, match=message):
        _spec(tmp_path, text)


def test_shipped_specs_expect_no_skip():
    # ci.toml and full.toml need no allow_skip: pyref accepts every point they expand to.
    for name in ("ci", "ci-min", "full", "tiny"):
        points, skipped, _ = spec_mod.load(name).expand(auto_sims=("icarus", "verilator"))
        assert points and skipped == [], name
