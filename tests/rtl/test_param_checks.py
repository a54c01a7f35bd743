"""The RTL refuses parameters outside their range at elaboration, on both simulators, with a
message naming the parameter (rtl/qmac_param_check.v); the RTL is Verilog-2005 that Icarus
compiles with ``-g2005``; every named config elaborates on both."""

from __future__ import annotations

import os
import subprocess

import pytest
from sim_skip import require_simulator

from pyref.config import NAMED_CONFIGS
from tb.run.build import RTL_DIR, rtl_sources
from tb.run.toolchain import simulator_env, verilator_root

pytestmark = pytest.mark.rtl

BASE = NAMED_CONFIGS["default"].rtl_parameters()

# (overrides of the default config's parameters, the check that must fire)
BAD = [
    ({"LANES": 0}, "qmac_bad_LANES_allowed_1_to_64"),
    ({"LANES": 65}, "qmac_bad_LANES_allowed_1_to_64"),
    ({"IN_BITS": 1}, "qmac_bad_IN_BITS_allowed_2_to_16"),
    ({"IN_BITS": 17, "ACC_BITS": 40}, "qmac_bad_IN_BITS_allowed_2_to_16"),
    ({"IN_SIGNED": 2}, "qmac_bad_IN_SIGNED_allowed_0_or_1"),
    ({"W_BITS": 17, "ACC_BITS": 40}, "qmac_bad_W_BITS_allowed_2_to_16"),
    ({"ACC_BITS": 15, "BIAS_BITS": 15}, "qmac_bad_ACC_BITS_allowed_IN_BITS_plus_W_BITS_to_64"),
    ({"ACC_BITS": 65}, "qmac_bad_ACC_BITS_allowed_IN_BITS_plus_W_BITS_to_64"),
    ({"ACC_MODE": 2}, "qmac_bad_ACC_MODE_allowed_0_wrap_or_1_saturate"),
    ({"BIAS_BITS": 33}, "qmac_bad_BIAS_BITS_allowed_1_to_ACC_BITS"),
    ({"MULT_BITS": 33}, "qmac_bad_MULT_BITS_allowed_0_to_32"),
    ({"SHIFT_BITS": 9}, "qmac_bad_SHIFT_BITS_allowed_1_to_8"),
    ({"ROUNDING": 9}, "qmac_bad_ROUNDING_allowed_0_to_8"),
    ({"OUT_BITS": 17}, "qmac_bad_OUT_BITS_allowed_2_to_16_and_at_most_ACC_BITS"),
    ({"OUT_BITS": 1}, "qmac_bad_OUT_BITS_allowed_2_to_16_and_at_most_ACC_BITS"),
    (
        {"ROUNDING": 7, "MULT_BITS": 32, "ACC_BITS": 48, "BIAS_BITS": 32},
        "qmac_bad_ACC_BITS_gemmlowp_needs_ACC_BITS_32",
    ),
    ({"ROUNDING": 7, "MULT_BITS": 16}, "qmac_bad_MULT_BITS_gemmlowp_needs_MULT_BITS_32"),
    (
        {"ROUNDING": 7, "MULT_BITS": 32, "SHIFT_BITS": 5},
        "qmac_bad_SHIFT_BITS_gemmlowp_needs_SHIFT_BITS_6_or_more",
    ),
    ({"ROUNDING": 8, "MULT_BITS": 32, "ACC_BITS": 40}, "qmac_bad_ACC_BITS_fp32_needs_ACC_BITS_32"),
    ({"ROUNDING": 8, "MULT_BITS": 24}, "qmac_bad_MULT_BITS_fp32_needs_MULT_BITS_32"),
]


def _icarus(params: dict, generation: str = "2012") -> subprocess.CompletedProcess:
    cmd = [
        "iverilog",
        f"-g{generation}",
        f"-I{RTL_DIR}",
        "-s",
        "qmac",
        "-o",
        os.devnull,
        *[f"-Pqmac.{k}={v}" for k, v in params.items()],
        *map(str, rtl_sources()),
    ]
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


def _verilator(params: dict) -> subprocess.CompletedProcess:
    exe = str(verilator_root() / "bin" / "verilator")
    cmd = [
        exe,
        "--lint-only",
        "-Wall",
        f"-I{RTL_DIR}",
        "--top-module",
        "qmac",
        *[f"-G{k}={v}" for k, v in params.items()],
        *map(str, rtl_sources()),
    ]
    return subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **simulator_env("verilator")},
    )


@pytest.mark.parametrize("overrides,check", BAD, ids=[c for _, c in BAD])
@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_bad_parameter_stops_the_build(sim, overrides, check):
    require_simulator(sim)
    params = {**BASE, **overrides}
    out = (_icarus if sim == "icarus" else _verilator)(params)
    text = out.stdout + out.stderr
    assert out.returncode != 0, f"{sim} accepted {overrides}:\n{text}"
    assert check in text, f"{sim} with {overrides} did not name {check}:\n{text}"


@pytest.mark.parametrize("name", list(NAMED_CONFIGS))
def test_named_configs_elaborate_as_verilog_2005(name):
    """Icarus in strict Verilog-2005 mode elaborates every named config, no check fires."""
    require_simulator("icarus")
    out = _icarus(NAMED_CONFIGS[name].rtl_parameters(), generation="2005")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "qmac_bad_" not in out.stdout + out.stderr
