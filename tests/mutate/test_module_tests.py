"""The module-test stage of ``make mutate`` (mutate/module_tests.py): rtl/ passes it, and a
mutant that leaves fl32(acc)'s mantissa unnormalized, which the next module tolerates so that
the datapath's outputs do not change, fails it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mutate.module_tests import first_module_failure

RTL = Path(__file__).resolve().parents[2] / "rtl"

pytestmark = pytest.mark.rtl


def test_module_stage_passes_rtl_and_kills_an_unnormalized_mantissa(tmp_path):
    from sim_skip import require_simulator

    require_simulator("icarus")
    assert first_module_failure(RTL, tmp_path / "clean", select="fp32") == ""
    copy = tmp_path / "rtl"
    shutil.copytree(RTL, copy)
    f = copy / "qmac_fp32_normalize.v"
    old = "if (t[31:16] != 16'd0)"
    assert f.read_text().count(old) == 1
    # |acc| < 2^16 now takes the 16-bit step: mant_o keeps leading zeros, exp_o is 16; the
    # value mant * 2^(exp - 23) is unchanged, so qmac's outputs are too.
    f.write_text(f.read_text().replace(old, "if (t[31:16] != 16'd65535)"))
    found = first_module_failure(copy, tmp_path / "mutant", select="fp32")
    assert found.startswith("FAILED") and "test_fp32_normalize" in found
