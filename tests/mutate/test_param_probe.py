"""The parameter-range probe of ``make mutate`` (mutate/param_probe.py): its edges are those of
the docs' parameter table, rtl/ agrees with pyref on every one, and mutants that loosen or
tighten a check, or drop its message, are caught."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mutate.param_probe import config_of, first_disagreement, probes
from pyref.config import NAMED_CONFIGS, ConfigError

RTL = Path(__file__).resolve().parents[2] / "rtl"
CHECK = RTL / "qmac_param_check.v"


def _values(name: str, valid: bool, base: str = "default", **fixed: int) -> set[int]:
    """The values of ``name`` probed next to ``base`` (every other parameter as in ``base``,
    except ``fixed``)."""
    p0 = {**NAMED_CONFIGS[base].rtl_parameters(), **fixed}
    out = set()
    for p in probes():
        d = dict(p.params)
        if p.valid == valid and all(d[k] == v for k, v in p0.items() if k != name):
            out.add(d[name])
    return out


def test_probe_edges_are_the_documented_ranges():
    # docs/interface.md: lanes 1..64, in_bits 2..16, acc_bits in+w..64, bias_bits 1..acc_bits,
    # mult_bits 0..32, shift_bits 1..8, out_bits 2..min(acc_bits, 16); gemmlowp: acc 32, mult 32,
    # shift_bits >= 6.
    assert {1, 64} <= _values("LANES", True) and {0, 65} <= _values("LANES", False)
    assert {2, 16} <= _values("IN_BITS", True) and {1, 17} <= _values("IN_BITS", False)
    assert 64 in _values("ACC_BITS", True) and 65 in _values("ACC_BITS", False)
    assert 16 in _values("ACC_BITS", True, BIAS_BITS=1, OUT_BITS=2)
    assert 15 in _values("ACC_BITS", False, BIAS_BITS=1, OUT_BITS=2)
    assert 10 in _values("OUT_BITS", True, "narrow_acc")
    assert 11 in _values("OUT_BITS", False, "narrow_acc")
    assert {1, 32} <= _values("BIAS_BITS", True) and {0, 33} <= _values("BIAS_BITS", False)
    assert 32 in _values("MULT_BITS", True) and 33 in _values("MULT_BITS", False)
    assert {1, 8} <= _values("SHIFT_BITS", True) and {0, 9} <= _values("SHIFT_BITS", False)
    assert 2 in _values("OUT_BITS", True) and 17 in _values("OUT_BITS", False)
    assert 8 in _values("ROUNDING", True, "fp32") and 9 in _values("ROUNDING", False, "fp32")
    assert 5 in _values("SHIFT_BITS", False, base="tflite")
    assert 6 in _values("SHIFT_BITS", True, base="tflite")
    assert {31, 33} <= _values("ACC_BITS", False, base="tflite")


def test_config_of_inverts_rtl_parameters():
    for name, cfg in NAMED_CONFIGS.items():
        assert config_of(cfg.rtl_parameters()) == cfg, name
    with pytest.raises(ConfigError, match="ROUNDING = 9"):
        config_of({**NAMED_CONFIGS["default"].rtl_parameters(), "ROUNDING": 9})


@pytest.mark.rtl
def test_rtl_agrees_with_pyref_on_every_probe():
    from sim_skip import require_simulator

    require_simulator("icarus")
    assert first_disagreement(RTL) == ""


def _near_default(*names: str) -> list:
    """The probes one parameter of ``names`` away from the default config."""
    p0 = NAMED_CONFIGS["default"].rtl_parameters()
    return [p for p in probes() if {k for k, v in p.params if p0[k] != v} <= set(names)]


@pytest.mark.rtl
@pytest.mark.parametrize(
    "old,new,says",
    [
        (
            "if (LANES < 1 || LANES > 64)",
            "if (LANES < 1 || LANES > 65)",
            "elaborates an invalid parameter set",
        ),
        (
            "if (LANES < 1 || LANES > 64)",
            "if (LANES < 1 || LANES > 63)",
            "refuses a valid parameter set",
        ),
        (
            "if (SHIFT_BITS < 1 || SHIFT_BITS > 8)",
            "if (SHIFT_BITS < 0 || SHIFT_BITS > 8)",
            "elaborates an invalid parameter set",
        ),
        ("if (LANES < 1 || LANES > 64)", "if (0)", "elaborates an invalid parameter set"),
    ],
)
def test_probe_catches_changed_checks(tmp_path, old, new, says):
    from sim_skip import require_simulator

    require_simulator("icarus")
    cases = _near_default("LANES", "SHIFT_BITS")
    assert first_disagreement(RTL, cases=cases) == ""
    copy = tmp_path / "rtl"
    shutil.copytree(RTL, copy)
    text = CHECK.read_text()
    assert text.count(old) == 1
    (copy / CHECK.name).write_text(text.replace(old, new))
    found = first_disagreement(copy, cases=cases)
    assert found.startswith(says) and "LANES=" in found
