"""``make sweep-minimize``: the greedy set cover against hand-made coverage sets (and a brute
force over every subset), the spec it writes (reloaded: the same points, keys and seeds, so the
same stimulus and sets), and the runs it refuses (nothing to keep is an error)."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import pytest

from pyref.config import NAMED_CONFIGS
from sweep import cli
from sweep import spec as spec_mod
from sweep.minimize import MinimizeError, cover, minimize, spec_text
from sweep.points import Point
from tb.rtl_coverage.points import Point as CodePoint
from tb.rtl_coverage.points import write_dat


def _smallest(sets: dict[str, set]) -> int:
    """The size of the smallest cover, by trying every subset (the independent oracle)."""
    universe = set().union(*sets.values())
    for k in range(len(sets) + 1):
        for combo in itertools.combinations(sets, k):
            if set().union(set(), *(sets[n] for n in combo)) == universe:
                return k
    raise AssertionError("unreachable")


def test_greedy_picks_the_known_minimal_set():
    # a covers four of five elements, c the other three and the fifth: {a, c} (2 by brute force)
    sets = {"a": {1, 2, 3, 4}, "b": {1, 2}, "c": {3, 4, 5}, "d": {5}}
    assert _smallest(sets) == 2
    assert cover(sets) == ["a", "c"]


def test_a_greedy_pick_made_redundant_is_dropped():
    # Greedy alone takes a (4 new), then b and c (1 new each); b and c alone hold all six.
    sets = {"a": {1, 2, 3, 4}, "b": {1, 2, 5}, "c": {3, 4, 6}}
    assert _smallest(sets) == 2
    assert sorted(cover(sets)) == ["b", "c"]


def test_a_point_only_one_config_reaches_is_kept():
    sets = {"wide": set(range(10)), "half": set(range(5)), "rare": {3, 99}}
    assert cover(sets) == ["wide", "rare"]  # 99 is only in rare
    sets["rare"] = {99}
    assert cover(sets) == ["wide", "rare"]


def test_ties_go_to_the_cheaper_point_then_the_name():
    sets = {"slow": {1, 2}, "fast": {1, 2}, "also": {1, 2}}
    assert cover(sets, {"slow": 30.0, "fast": 2.0, "also": 2.0}) == ["also"]
    assert cover(sets, {"slow": 1.0, "fast": 2.0, "also": 2.0}) == ["slow"]


def test_random_instances_are_covered_without_a_redundant_pick():
    rng = random.Random(5)
    for _ in range(200):
        sets = {
            f"p{i}": {rng.randrange(12) for _ in range(rng.randrange(1, 6))}
            for i in range(rng.randrange(1, 7))
        }
        chosen = cover(sets)
        universe = set().union(*sets.values())
        assert set().union(*(sets[n] for n in chosen)) == universe
        for n in chosen:  # each one needed
            assert set().union(set(), *(sets[m] for m in chosen if m != n)) != universe
        assert len(chosen) >= _smallest(sets)
        assert len(chosen) == len(set(chosen))


# ------------------------------------------------------------ hand-made sweep results

SEED = 77


def _cp(line: int, text: str, kind: str = "branch") -> CodePoint:
    return CodePoint("qmac.v", line, 3, kind, "qmac", text, (line, line))


# Three points: A hits branches 10, 11 and bin x; B hits branch 10 and bins x, y; C (a generate
# branch no other point elaborates) hits line 20. Minimal: A gives 10, 11, x; B gives y; C 20.
# D adds nothing (branch 11 only).
CODE = {
    "A": {_cp(10, "if"): 4, _cp(11, "else"): 1, _cp(20, "block", "line"): 0},
    "B": {_cp(10, "if"): 9, _cp(11, "else"): 0},
    "C": {_cp(20, "block", "line"): 2},
    "D": {_cp(11, "else"): 5},
}
BINS = {"A": {"x": 3, "y": 0}, "B": {"x": 1, "y": 2}, "C": {}, "D": {"x": 1}}
CONFIGS = {
    "A": NAMED_CONFIGS["default"],
    "B": NAMED_CONFIGS["tflite"],
    "C": NAMED_CONFIGS["lanes1"],
    "D": NAMED_CONFIGS["default"].replace(out_bits=4, rounding="half_even"),
}
N = {"A": 2000, "B": 20000, "C": 2000, "D": 500}


def _run(tmp_path: Path, *, spec: spec_mod.Spec | None = None, **change) -> dict:
    records = []
    for name in CODE:
        p = Point.make(CONFIGS[name], "verilator", N[name], spec_seed=SEED, origin=name)
        dat = tmp_path / "cov" / f"{name}.dat"
        dat.parent.mkdir(parents=True, exist_ok=True)
        write_dat(dat, CODE[name])
        rec = {
            **p.to_dict(),
            "verdict": "pass",
            "coverage_dat": str(dat),
            "sim_result": {"coverage": {"hits": BINS[name]}},
            "wall_seconds": 1.0,
        }
        records.append({**rec, **change.get(name, {})})
    run = {"spec": "hand", "points": records}
    if spec is not None:
        run["spec_digest"] = spec_mod.spec_digest(spec)
    return run


def test_minimize_keeps_the_points_that_reach_every_hit(tmp_path):
    run = _run(tmp_path)
    chosen, sets = minimize(run, ["qmac.v"])
    by_origin = {r["key"]: r["origin"] for r in run["points"]}
    assert sorted(by_origin[r["key"]] for r in chosen) == ["A", "B", "C"]
    a = next(r["key"] for r in run["points"] if r["origin"] == "A")
    assert sets[a] == {_cp(10, "if"), _cp(11, "else"), ("bin", "x")}


def test_the_written_spec_reloads_to_the_same_points_and_seeds(tmp_path):
    run = _run(tmp_path)
    chosen, sets = minimize(run, ["qmac.v"])
    text = spec_text("hand-min", SEED, chosen, sets, source="sweeps/hand.toml", command="test")
    path = tmp_path / "hand-min.toml"
    path.write_text(text)
    points, skipped, _ = spec_mod.load(str(path)).expand(auto_sims=("verilator",))
    assert not skipped
    assert [(p.key, p.seed, p.n, p.sim) for p in points] == [
        (r["key"], r["seed"], r["n"], r["sim"]) for r in chosen
    ]
    assert [p.config for p in points] == [
        next(CONFIGS[o] for o in CONFIGS if r["origin"] == o) for r in chosen
    ]
    # The same key and seed is the same stimulus, so the reloaded points reach the same sets:
    # together every element the four reached.
    union = set().union(*sets.values())
    assert set().union(*(sets[p.key] for p in points)) == union
    assert len(union) == 5  # branches 10, 11, line 20, bins x and y


def test_a_run_with_nothing_to_keep_is_an_error(tmp_path):
    no_cov = _run(tmp_path, **{k: {"coverage_dat": ""} for k in CODE})
    with pytest.raises(MinimizeError, match="none of its 4 points has RTL code coverage"):
        minimize(no_cov, ["qmac.v"])
    nothing = _run(tmp_path)
    for rec in nothing["points"]:
        write_dat(Path(rec["coverage_dat"]), {_cp(10, "if"): 0})
        rec["sim_result"] = {"coverage": {"hits": {"x": 0}}}
    with pytest.raises(MinimizeError, match="hit no coverage point and no bin"):
        minimize(nothing, ["qmac.v"])
    failed = _run(tmp_path, B={"verdict": "fail"})
    with pytest.raises(MinimizeError, match="1 point.* failed"):
        minimize(failed, ["qmac.v"])


def _spec_file(tmp_path: Path) -> spec_mod.Spec:
    path = tmp_path / "hand.toml"
    path.write_text(f'name = "hand"\nseed = {SEED}\n[[include]]\nconfig = "default"\n')
    return spec_mod.load(str(path))


def test_the_command_writes_the_spec_and_refuses_a_run_without_coverage(tmp_path, capsys):
    spec = _spec_file(tmp_path)
    out = tmp_path / "out"
    (out / "hand").mkdir(parents=True)
    results = out / "hand" / "results.json"
    results.write_text(json.dumps(_run(tmp_path, spec=spec)))
    to = tmp_path / "min.toml"
    status = cli.main(["minimize", f"SWEEP={spec.path}", f"OUT={out}", f"TO={to}"])
    said = capsys.readouterr()
    assert status == 0, said.err
    assert "3 of 4 points reach the same 3 code coverage points and 2 functional bins" in said.out
    assert len(spec_mod.load(str(to)).include) == 3

    results.write_text(
        json.dumps(_run(tmp_path, spec=spec, **{k: {"coverage_dat": ""} for k in CODE}))
    )
    assert cli.main(["minimize", f"SWEEP={spec.path}", f"OUT={out}", f"TO={to}"]) == 2
    assert "has RTL code coverage; run make sweep SWEEP=" in capsys.readouterr().err

    spec.path.write_text(spec.path.read_text() + "# edited\n")
    assert cli.main(["minimize", f"SWEEP={spec.path}", f"OUT={out}"]) == 2
    assert "from another version of" in capsys.readouterr().err


def test_the_fault_table_against_a_spec_says_what_it_catches_and_misses(
    tmp_path, capsys, monkeypatch
):
    """``python -m sweep faults``: a half_up point catches the half_up tie fault (ties go down)
    and cannot catch a fault of the fp32 rounding mode, which it does not build."""
    from tests.sim_skip import require_simulator

    require_simulator("icarus")
    spec = tmp_path / "one.toml"
    spec.write_text(
        'name = "one"\nseed = 3\nn = 400\nsim = "icarus"\n[[include]]\nconfig = "default"\n'
    )
    monkeypatch.chdir(tmp_path)
    out = Path("out")  # relative: the simulators run elsewhere, the tool must not mind
    args = ["faults", f"SWEEP={spec}", f"OUT={out}", "FAULTS=rounding_constant,fp32_exponent"]
    assert cli.main(args) == 0
    said = capsys.readouterr().out
    assert "1 of 2 caught; missed: fp32_exponent" in said
    table = json.loads((out / "one" / "faults.json").read_text())
    assert [(c["fault"], bool(c["caught_by"]), c["runs"]) for c in table] == [
        ("rounding_constant", True, 1),
        ("fp32_exponent", False, 1),
    ]
    assert table[0]["kinds"].get("value", 0) >= 1
    assert "| `fp32_exponent` | **missed** |" in (out / "one" / "faults.md").read_text()
    assert cli.main([*args[:3], "FAULTS=nosuch"]) == 2
    assert "FAULTS: no fault 'nosuch'" in capsys.readouterr().err


def test_the_committed_minimal_spec_holds_points_of_ci_with_their_seeds():
    """sweeps/ci-min.toml (make sweep-minimize SWEEP=ci) keeps ci's points as ci runs them with
    COVERAGE=1 (every point on Verilator): the same keys and seeds, so the same stimulus."""
    ci = {p.key: p.seed for p in spec_mod.load("ci").expand(auto_sims=("verilator",))[0]}
    smaller, skipped, _ = spec_mod.load("ci-min").expand(auto_sims=("verilator",))
    assert not skipped and 1 <= len(smaller) < len(ci)
    assert all(ci.get(p.key) == p.seed for p in smaller), [p.key for p in smaller]
