"""``make mutate SWEEP=<spec>`` (mutate/configs.py): a sweep spec's points become the configs of
the quick regression, they enter the cache key, and a spec that gives no config is refused."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import mutate.cli as cli
from mutate.cache import context_digest, keys
from mutate.campaign import Settings
from mutate.configs import SweepConfigsError, regression_configs
from mutate.generate import Mutant
from mutate.regress import RegressionSpec
from pyref.config import NAMED_CONFIGS, QmacConfig

DEFAULT = NAMED_CONFIGS["default"]

TWO_POINTS = """\
name = "two"
sim = "icarus"
[[include]]
config = "default"
lanes = 4
[[include]]
config = "default"
lanes = 4
n = 50
sim = "verilator"
[[include]]
config = "fp32"
out_bits = 16
"""


def _spec(tmp_path: Path, text: str, name: str = "spec.toml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_no_sweep_is_the_named_configs():
    got = regression_configs("")
    assert [n for n, _ in got] == list(NAMED_CONFIGS)
    assert got[0][1] == DEFAULT


def test_a_spec_selects_its_points_configs_each_once(tmp_path):
    got = regression_configs(_spec(tmp_path, TWO_POINTS))
    # The two lanes = 4 points differ only in N and simulator: one config. The names are
    # sweep.points.short_config's, written out by hand.
    assert [n for n, _ in got] == [
        "l4-s8x8-a32w-b32-s6-half_up-o8",
        "l8-s8x8-a32w-b32-m32-s6-fp32-o16",
    ]
    assert got[0][1] == dataclasses.replace(DEFAULT, lanes=4)
    assert got[1][1] == dataclasses.replace(NAMED_CONFIGS["fp32"], out_bits=16)


def test_the_committed_minimal_spec_gives_its_24_points():
    got = regression_configs("ci-min")
    assert len(got) == 24 and len(dict(got)) == 24
    # its first point (sweeps/ci-min.toml), field by field as the spec writes it out
    assert got[0] == (
        "l8-s16x8-a48w-b48-m32-s7-half_zero-o16",
        QmacConfig(
            lanes=8,
            in_bits=16,
            in_signed=True,
            w_bits=8,
            acc_bits=48,
            acc_mode="wrap",
            bias_bits=48,
            mult_bits=32,
            shift_bits=7,
            rounding="half_zero",
            out_bits=16,
        ),
    )
    # its ninth: the fp32 lanes = 32 point with 4-bit inputs
    assert dict(got)["l32-s4x4-a32w-b32-m32-s6-fp32-o16"].rounding == "fp32"


def _key(configs) -> str:
    settings = Settings(Path("rtl"), Path("work"), RegressionSpec(configs))
    m = Mutant(file="a.v", family="operator", what="+ -> -", edits=((0, 1, "-"),), line=1)
    return keys(m, {"a.v": "module a; endmodule\n"}, context_digest(settings.options(), "sim"))[0]


def test_the_cache_key_changes_with_the_spec(tmp_path):
    named = _key(regression_configs(""))
    two = _key(regression_configs(_spec(tmp_path, TWO_POINTS)))
    one_less = _key(regression_configs(_spec(tmp_path, TWO_POINTS.rsplit("[[include]]", 1)[0])))
    assert len({named, two, one_less}) == 3
    # the same points again (another file, another N for a point): the same key, since the
    # regression reads the configs only
    again = _key(
        regression_configs(_spec(tmp_path, TWO_POINTS.replace("n = 50", "n = 7"), "b.toml"))
    )
    assert again == two


def test_a_spec_that_does_not_exist_is_refused():
    with pytest.raises(SweepConfigsError, match="SWEEP = nosuch: no sweep spec 'nosuch'"):
        regression_configs("nosuch")


def test_a_spec_without_points_is_refused(tmp_path):
    spec = _spec(
        tmp_path,
        'allow_skip = true\n[[group]]\naxes = { rounding = ["gemmlowp"], mult_bits = [0] }\n',
    )
    with pytest.raises(SweepConfigsError, match="the spec has no point pyref accepts .first: "):
        regression_configs(spec)


def test_the_command_line_refuses_a_bad_spec_with_status_2(tmp_path, capsys):
    assert cli.main(["SWEEP=nosuch", f"WORK={tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: SWEEP = nosuch: no sweep spec 'nosuch'"), err
    assert not any(tmp_path.iterdir())  # refused before any work


def test_the_command_line_regresses_the_spec_configs(tmp_path, monkeypatch, capsys):
    seen = {}

    def campaign(mutants, settings, progress):
        seen["configs"] = settings.spec.configs
        return [], 0.0

    monkeypatch.setattr(cli, "run_campaign", campaign)
    spec = _spec(tmp_path, TWO_POINTS)
    status = cli.main(["SWEEP=" + spec, "FILES=qmac_accum.v", f"WORK={tmp_path / 'w'}"])
    assert status == 0, capsys.readouterr().err
    assert [n for n, _ in seen["configs"]] == [
        "l4-s8x8-a32w-b32-s6-half_up-o8",
        "l8-s8x8-a32w-b32-m32-s6-fp32-o16",
    ]
    assert f"2 configs of sweep {spec}" in capsys.readouterr().out
