"""``sim = "auto"`` in sweep specs: each point gets the simulator with the lower predicted build +
run seconds (tb/run/cost.py) among the installed ones, deterministically; a missing simulator
is never chosen; shards merge with the choice they made (no simulator needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pyref.config import named_config
from sweep import spec as spec_mod
from sweep.merge import MergeError, merge
from sweep.points import Point
from tb import api as tb_api

BOTH = ("verilator", "icarus")

# Default config (8 lanes) and lanes32, short and long runs. By the constants of tb/run/cost.py
# (CPU seconds, Verilator model not built yet, its runtime prebuilt):
#   default, N = 2 000:   Verilator 1.6 + 1.16 + 2000 * 16.2e-6 = 2.79; Icarus 0.05 + 1.15 + 0.17
#                         = 1.37 -> Icarus
#   default, N = 100 000: Verilator 1.6 + 0.5 (speed build) + 1.16 + 1.62 = 4.88; Icarus 0.05 +
#                         1.15 + 8.25 = 9.45 -> Verilator
#   lanes32, N = 1 000:   Verilator 1.6 + 1.15 + 0.04 = 2.79; Icarus 0.05 + 1.07 + 0.14 = 1.26
#                         -> Icarus
#   lanes32, N = 60 000:  Verilator 1.6 + 0.5 + 1.15 + 2.53 = 5.78; Icarus 0.05 + 1.07 + 8.68
#                         = 9.8 -> Verilator
SPEC = """
name = "auto"
seed = 5
sim = "auto"
n = 2000

[[include]]
config = "default"
[[include]]
config = "default"
n = 100000
[[include]]
config = "lanes32"
n = 1000
[[include]]
config = "lanes32"
n = 60000
"""
EXPECTED = {
    ("default", 2000): "icarus",
    ("default", 100000): "verilator",
    ("lanes32", 1000): "icarus",
    ("lanes32", 60000): "verilator",
}


def _spec(tmp_path: Path, text: str = SPEC) -> spec_mod.Spec:
    path = tmp_path / "auto.toml"
    path.write_text(text)
    return spec_mod.load(str(path))


def _name(p: Point) -> str:
    return "lanes32" if p.config.lanes == 32 else "default"


def test_short_runs_go_to_icarus_long_runs_to_verilator(tmp_path):
    points, skipped, _ = _spec(tmp_path).expand(auto_sims=BOTH)
    assert not skipped
    assert {(_name(p), p.n): p.sim for p in points} == EXPECTED
    # The chosen simulator is in the name (the report and JUnit use it) and in the repro.
    for p in points:
        assert p.name.startswith(f"{p.sim} ")
        assert f" SIM={p.sim}" in tb_api.repro(p.config, p.sim, p.n, p.seed)


def test_an_auto_point_is_the_point_that_names_its_simulator(tmp_path):
    """Same key, seed (so the same stimulus and digest) as when the spec says the simulator:
    switching a spec to auto reruns nothing. And the choice is the same every time."""
    auto, _, _ = _spec(tmp_path).expand(auto_sims=BOTH)
    explicit_text = SPEC.replace('sim = "auto"\n', "")
    for (cfg, n), sim in EXPECTED.items():
        explicit_text = explicit_text.replace(
            f'config = "{cfg}"\nn = {n}\n' if n != 2000 else f'config = "{cfg}"\n[[',
            f'config = "{cfg}"\nn = {n}\nsim = "{sim}"\n'
            if n != 2000
            else f'config = "{cfg}"\nsim = "{sim}"\n[[',
            1,
        )
    explicit, _, _ = _spec(tmp_path, explicit_text).expand(auto_sims=())
    assert [p.to_dict() for p in explicit] == [p.to_dict() for p in auto]
    again, _, _ = _spec(tmp_path).expand(auto_sims=BOTH)
    assert [p.to_dict() for p in again] == [p.to_dict() for p in auto]
    assert auto[0].seed == Point.make(named_config("default"), "icarus", 2000, spec_seed=5).seed


def test_a_missing_simulator_is_never_chosen(tmp_path):
    s = _spec(tmp_path)
    only_icarus, _, _ = s.expand(auto_sims=("icarus",))
    assert {p.sim for p in only_icarus} == {"icarus"} and len(only_icarus) == 4
    only_verilator, _, _ = s.expand(auto_sims=("verilator",))
    assert {p.sim for p in only_verilator} == {"verilator"} and len(only_verilator) == 4
    none, skipped, _ = s.expand(auto_sims=())
    assert none == [] and len(skipped) == 4
    assert all(k.reason.startswith("sim = auto: no simulator installed") for k in skipped)


def test_auto_chooses_among_the_installed_simulators(tmp_path, monkeypatch):
    real = tb_api.simulator_missing
    monkeypatch.setattr(
        tb_api, "simulator_missing", lambda sim: "not here" if sim == "verilator" else real(sim)
    )
    assert "verilator" not in spec_mod.installed_for_auto()
    points, _, _ = _spec(tmp_path).expand()  # the default: what is installed
    assert "verilator" not in {p.sim for p in points}
    monkeypatch.setattr(tb_api, "simulator_missing", lambda sim: "not here")
    points, skipped, _ = _spec(tmp_path).expand()
    assert points == [] and "verilator: not here; icarus: not here" in skipped[0].reason


def test_explicit_simulator_axes_still_work(tmp_path):
    s = _spec(
        tmp_path,
        """
n = 2000
[[group]]
axes = { sim = ["icarus", "verilator"], lanes = [1, 4] }
[[group]]
name = "mixed"
axes = { sim = ["auto", "verilator"], lanes = [2] }
""",
    )
    assert s.sim == "auto" and s.uses_auto()  # the default when the spec says nothing
    points, _, _ = s.expand(auto_sims=BOTH)
    assert sorted((p.config.lanes, p.sim) for p in points) == [
        (1, "icarus"),
        (1, "verilator"),
        (2, "icarus"),
        (2, "verilator"),
        (4, "icarus"),
        (4, "verilator"),
    ]
    no_auto = _spec(tmp_path, 'sim = "icarus"\n[[include]]\nconfig = "tflite"\n')
    assert not no_auto.uses_auto()


@pytest.mark.parametrize(
    "text, where",
    [
        ('sim = "questa"\n[[include]]\nconfig = "tflite"\n', "sim = 'questa'"),
        ('[[include]]\nconfig = "tflite"\nsim = "xcelium"\n', "include 1: sim = 'xcelium'"),
        ('[[group]]\naxes = { sim = ["icarus", "vcs"] }\n', "axis 'sim' = 'vcs'"),
    ],
)
def test_unknown_simulators_are_refused(tmp_path, text, where):
    with pytest.raises(spec_mod.SpecError, match=f"{where}.*is not one of verilator, icarus, auto"):
        _spec(tmp_path, text)


def test_cost_model_refuses_bad_candidates():
    with pytest.raises(ValueError, match="sims is empty"):
        tb_api.cheapest_simulator(named_config("default"), 10, sims=())
    with pytest.raises(ValueError, match="'ghdl' is not one of"):
        tb_api.cheapest_simulator(named_config("default"), 10, sims=("ghdl",))


def _write_shard(
    out: Path, label: str, spec: spec_mod.Spec, points: list[Point], auto_sims
) -> None:
    d = out / "shards" / label
    d.mkdir(parents=True)
    run = {
        "spec": spec.name,
        "spec_digest": spec_mod.spec_digest(spec),
        "n_override": None,
        "auto_sims": list(auto_sims),
        "wall_seconds": 1.0,
        "started": "2026-01-01",
        "points": [{**p.to_dict(), "verdict": "pass", "failure": ""} for p in points],
        "facts": {"tools": {}},
    }
    (d / "run.json").write_text(json.dumps(run))


def test_merge_expands_with_the_shards_choice_not_the_local_one(tmp_path):
    """Shards that ran with Icarus only merge on a machine with both simulators: the merge
    expects their points, not the ones it would choose itself."""
    s = _spec(tmp_path)
    points, _, _ = s.expand(auto_sims=("icarus",))
    out = tmp_path / "out"
    _write_shard(out, "1-of-2", s, points[:2], ("icarus",))
    _write_shard(out, "2-of-2", s, points[2:], ("icarus",))
    run = merge(s, out)
    assert [r["key"] for r in run["points"]] == [p.key for p in points]
    assert {r["sim"] for r in run["points"]} == {"icarus"} and run["auto_sims"] == ["icarus"]


def test_merge_refuses_shards_that_chose_among_different_simulators(tmp_path):
    s = _spec(tmp_path)
    a, _, _ = s.expand(auto_sims=("icarus",))
    b, _, _ = s.expand(auto_sims=BOTH)
    out = tmp_path / "out"
    _write_shard(out, "1-of-2", s, a[:2], ("icarus",))
    _write_shard(out, "2-of-2", s, b[2:], BOTH)
    with pytest.raises(MergeError, match="different installed simulators.*1-of-2: icarus"):
        merge(s, out)
