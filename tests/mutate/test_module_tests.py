"""The module-test stage of ``make mutate`` (mutate/module_tests.py): rtl/ passes it; a
mutant that leaves fl32(acc)'s mantissa unnormalized, which the next module tolerates so that
the datapath's outputs do not change, fails it; the tests chosen for a mutated file follow the
instantiation tree; a hang is stopped with its simulator."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mutate.apply import apply_mutant
from mutate.generate import planted
from mutate.module_tests import first_module_failure

RTL = Path(__file__).resolve().parents[2] / "rtl"

pytestmark = pytest.mark.rtl


def _edited_copy(tmp_path: Path, file: str, old: str, new: str) -> Path:
    """A copy of rtl/ under ``tmp_path`` with ``old`` (found exactly once) in ``file`` made
    ``new``."""
    m = planted((RTL / file).read_text(), file, old, new, "edited for this test")
    return apply_mutant(m, RTL, tmp_path / "rtl")


def test_module_stage_passes_rtl_and_kills_an_unnormalized_mantissa(tmp_path):
    from sim_skip import require_simulator

    require_simulator("icarus")
    assert first_module_failure(RTL, tmp_path / "clean", select="fp32") == ""
    # |acc| < 2^16 now takes the 16-bit step: mant_o keeps leading zeros, exp_o is 16; the
    # value mant * 2^(exp - 23) is unchanged, so qmac's outputs are too.
    copy = _edited_copy(
        tmp_path, "qmac_fp32_normalize.v", "if (t[31:16] != 16'd0)", "if (t[31:16] != 16'd65535)"
    )
    found = first_module_failure(copy, tmp_path / "mutant", select="fp32")
    assert found.startswith("FAILED") and "test_fp32_normalize" in found


def test_selection_follows_the_instantiation_tree():
    """Hand-read from rtl/: qmac_sat is instantiated by qmac_accum, qmac_fp32_round and
    qmac_requant_round (which also instantiates qmac_fp32_round); qmac_rounding.vh is included
    by the rounding, requantizer and parameter-check files; the top module has no module test."""
    from mutate.module_tests import affected_modules, selection_for

    assert affected_modules(RTL, "qmac_sat.v") == {
        "qmac_sat",
        "qmac_accum",
        "qmac_fp32_round",
        "qmac_requant_round",
        "qmac",
    }
    assert selection_for(RTL, "qmac_sat.v") == "accum or fp32_round or requant_round or sat"
    assert (
        selection_for(RTL, "qmac_fp32_normalize.v") == "fp32_mul or fp32_normalize or requant_mul"
    )
    assert set(selection_for(RTL, "qmac_rounding.vh").split(" or ")) == {
        "fp32_round",
        "param_check",
        "requant_mul",
        "requant_round",
        "round_shift",
    }
    assert selection_for(RTL, "qmac.v") == ""


def test_a_selection_without_tests_passes(tmp_path):
    """qmac_param_check has no module test: the stage has nothing to say (not a failure)."""
    from sim_skip import require_simulator

    require_simulator("icarus")
    assert first_module_failure(RTL, tmp_path, select="param_check") == ""


def _processes_under(folder: Path) -> list[str]:
    """Command lines of the running processes that name ``folder``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(folder) in text:
            found.append(text)
    return found


def test_a_hanging_module_test_is_stopped_with_its_simulator(tmp_path):
    """A loop that never ends in qmac_beat_sum (``l = l + 0``) hangs the module test's
    simulator: the stage reports the hang after its time limit and leaves no vvp running."""
    from sim_skip import require_simulator

    require_simulator("icarus")
    copy = _edited_copy(
        tmp_path,
        "qmac_beat_sum.v",
        "for (l = LANES4; l < LANES; l = l + 1)",
        "for (l = LANES4; l < LANES; l = l + 0)",
    )
    found = first_module_failure(copy, tmp_path / "work", timeout=20, select="beat_sum")
    assert found == "the module tests hung (stopped after 20 s)"
    # The kill is sent; give the killed vvp a moment to leave the process table.
    deadline = time.monotonic() + 10
    while _processes_under(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_under(tmp_path) == []
