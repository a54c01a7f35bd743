"""The requantizer's replay (prove/cex.py's direct mapping, prove/requant_replay.py's search):
a witness whose right r no zero point brings to y = 0, or whose wrong r saturates to the same,
writes no vector (such a vector passed on the faulty RTL: tie_rule_even at per_channel); the
search then finds a job, and on rtl/ proves there is none."""

from __future__ import annotations

from pathlib import Path

from prove import cex, plan, requant_replay
from prove.sby import FAILED, PROVEN
from pyref.config import NAMED_CONFIGS
from pyref.rounding import round_shift_scalar
from tb.shared.faults import apply_fault, fault_by_name

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = NAMED_CONFIGS["default"]  # acc 32 bits, no multiplier, shift 6 bits, half_up, out 8
ROUND = plan.Check(plan.MODULE, "qmac_round_shift", (("ROUNDING", 2), ("T_BITS", 6), ("W", 32)))


def test_replays_the_requantizer_modules_at_its_widths():
    assert requant_replay.replays(ROUND, DEFAULT)
    sat = plan.Check(plan.MODULE, "qmac_sat", (("IN_W", 32), ("OUT_W", 10)))
    assert requant_replay.replays(sat, DEFAULT)
    # the accumulator's saturator (OUT_W = 32) and another rounding mode are not the requantizer
    assert not requant_replay.replays(
        plan.Check(plan.MODULE, "qmac_sat", (("IN_W", 33), ("OUT_W", 32))), DEFAULT
    )
    half_even = plan.Check(
        plan.MODULE, "qmac_round_shift", (("ROUNDING", 6), ("T_BITS", 6), ("W", 32))
    )
    assert not requant_replay.replays(half_even, DEFAULT)
    assert not requant_replay.replays(ROUND, NAMED_CONFIGS["fp32"])


def test_direct_mapping_needs_the_difference_to_show():
    """v = 5 * 2^20 + 2^19, t = 20: 5.5 rounds half up to 6, inside [-127, 128]: a layer (zero
    point -6) when the RTL's r is 5; none when it is 6 too, and none for v * 2^8 (r = 1408,
    which no 8-bit zero point brings to 0), whatever the RTL's r."""
    v, t = 5 * 2**20 + 2**19, 20
    assert round_shift_scalar(v, t, "half_up") == 6
    vals = {"v_i": v, "t_i": t}
    layer = cex.layer_for(ROUND, DEFAULT, vals, {"gold": {"r_o": 5}})
    assert (
        layer is not None
        and layer.out_zp.ravel().tolist() == [-6]
        and layer.bias.ravel().tolist() == [v]
    )
    assert cex.layer_for(ROUND, DEFAULT, vals, {"gold": {"r_o": 6}}) is None
    big = {"v_i": v << 8, "t_i": t}
    assert cex.layer_for(ROUND, DEFAULT, big, {"gold": {"r_o": 1407}}) is None
    assert cex.layer_for(ROUND, DEFAULT, big) is not None  # without the trace: as before


def test_search_finds_a_tie_for_the_rounding_constant_fault(tmp_path):
    """rounding_constant (half_up's ties go down): the job found is a tie, p = acc (no
    multiplier) with p / 2^shift = n + 1/2 and |n + 1/2| inside the window."""
    rtl = apply_fault(fault_by_name("rounding_constant"), tmp_path / "rtl")
    status, job = requant_replay.search(ROUND, DEFAULT, rtl, tmp_path / "work")
    assert status == FAILED and job is not None
    acc, _, shift = job
    assert shift >= 1 and acc % (1 << shift) == 1 << (shift - 1)
    assert -128 <= acc / 2**shift <= 128


def test_search_on_rtl_proves_there_is_no_job(tmp_path):
    status, job = requant_replay.search(ROUND, DEFAULT, ROOT / "rtl", tmp_path)
    assert (status, job) == (PROVEN, None)


def test_mul_pipe_search_is_for_the_chunked_multiplier_of_a_shift_mode(tmp_path):
    """Only qmac_mul_pipe's check, and only at a config that multiplies in a shift mode (not
    default: no multiplier; not tflite or fp32): anything else is None without a solver run."""
    pipe = plan.Check(plan.MULTIPLIER, "qmac_mul_pipe", (("A_BITS", 4), ("B_BITS", 4), ("C", 2)))
    cases = [(pipe, "default"), (pipe, "tflite"), (pipe, "fp32"), (ROUND, "per_channel")]
    for check, name in cases:
        cfg = NAMED_CONFIGS[name]
        assert requant_replay.mul_pipe_layer(check, cfg, ROOT / "rtl", tmp_path) is None
    assert not any(tmp_path.iterdir())
