"""Coverage bins and reachability (tb/shared/coverage.py) against hand-worked values."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from pyref.beats import predict_jobs
from pyref.config import NAMED_CONFIGS, QmacConfig
from tb.shared import stimulus as ST
from tb.shared.coverage import (
    BINS,
    RunShape,
    job_features,
    job_features_reference,
    reachable,
    tie_outcomes,
)
from tb.shared.generators import mixed_stimulus

CONFIGS = list(NAMED_CONFIGS.items())


TIE_TABLE = {  # hand-worked from the rounding rules of docs/interface.md / the README table
    "floor": {("pos", "down"), ("neg", "down")},
    "trunc": {("pos", "down"), ("neg", "up")},
    "half_up": {("pos", "up"), ("neg", "up")},
    "half_down": {("pos", "down"), ("neg", "down")},
    "half_zero": {("pos", "down"), ("neg", "up")},
    "half_away": {("pos", "up"), ("neg", "down")},
    "half_even": {("pos", "up"), ("pos", "down"), ("neg", "up"), ("neg", "down")},
}


@pytest.mark.parametrize("mode", list(TIE_TABLE))
def test_tie_outcomes(mode):
    assert tie_outcomes(mode) == TIE_TABLE[mode]


def test_reachability_follows_the_config():
    d = reachable(NAMED_CONFIGS["default"], RunShape(resets=1))
    assert d["tie_pos_up"] is None and d["tie_neg_up"] is None
    assert d["tie_pos_down"] and d["tie_neg_down"]
    assert d["mult_zero"] and d["shift_min"] and d["double_rounding"]
    assert d["padded_job"] is None and d["acc_overflow_high"] is None
    t = reachable(NAMED_CONFIGS["tflite"], RunShape(resets=1))
    for b in (
        "tie_high_mul_pos",
        "tie_high_mul_neg",
        "double_rounding",
        "shift_min",
        "mult_zero",
        "tie_pos_up",
        "tie_neg_down",
    ):
        assert t[b] is None, b
    assert t["tie_pos_down"] and t["tie_neg_up"]
    assert reachable(NAMED_CONFIGS["lanes1"])["padded_job"]
    no_hs = reachable(
        NAMED_CONFIGS["default"],
        RunShape(idle_pauses=False, ready_pauses=False, ready_runs=False, resets=0),
    )
    for b in (
        "out_stall",
        "in_stall",
        "idle_gap",
        "back_to_back_outputs",
        "reset_mid_job",
        "orphan_beats",
        "exact_after_reset",
    ):
        assert no_hs[b], b
    assert no_hs["back_to_back_jobs"] is None
    assert set(d) == set(BINS)


def _stim_of(cfg, jobs):
    """A stimulus from hand-written jobs: (x list, w list, bias, mult, shift, zp, lo, hi)."""
    dicts = [
        dict(x=x, w=w, bias=b, mult=m, shift=s, out_zp=z, act_min=lo, act_max=hi)
        for x, w, b, m, s, z, lo, hi in jobs
    ]
    return ST.assemble_jobs(cfg, np.random.default_rng(0), dicts, "uniform")


def test_job_features_hand_worked():
    cfg = NAMED_CONFIGS["default"]  # half_up, shift only, 8 lanes
    stim = _stim_of(
        cfg,
        [
            ([0], [1], 6, 0, 2, 0, -128, 127),  # 6/4 = 1.5: positive tie, up to 2
            ([0], [1], -6, 0, 2, 0, -128, 127),  # -1.5: negative tie, up to -1
            ([0], [1], 7, 0, 2, 0, -128, 127),  # 1.75: no tie
            ([1], [1], 10, 0, 0, 0, -128, 10),  # 11 -> clamp at act_max = 10, one outside
            ([0], [5], -20, 0, 1, 0, -10, 127),  # -10 == act_min: on the bound
            ([-128] * 8, [-128] * 8, 0, 0, 63, 0, -128, 127),  # extreme beat, largest shift
            ([1] * 9, [1] * 9, 2**31 - 5, 0, 0, 0, -128, 127),  # passes the top, wraps
        ],
    )
    res = predict_jobs(stim.stream, cfg)
    f = job_features(stim, res)
    assert f["tie_pos_up"].tolist() == [True, False, False, False, False, False, False]
    assert f["tie_neg_up"].tolist() == [False, True, False, False, False, False, False]
    assert not f["tie_pos_down"].any() and not f["tie_neg_down"].any()
    assert f["clamp_max_out"][3] and f["sat_high"][3] and not f["clamp_max_in"][3]
    assert f["clamp_min_in"][4] and not f["sat_low"][4]
    assert f["extreme_beat"].tolist() == [False] * 5 + [True, False]
    assert f["shift_max"][5] and f["shift_zero"][3]
    assert f["acc_overflow_high"].tolist() == [False] * 6 + [True]
    assert f["padded_job"][6] and f["single_beat_job"][0] and not f["single_beat_job"][6]


def test_job_features_gemmlowp_double_rounding():
    cfg = NAMED_CONFIGS["tflite"]
    stim = _stim_of(
        cfg,
        [
            ([0], [1], 1, 1 << 30, -1, 0, -128, 127),  # 0.25 -> 1 with two roundings (gemmlowp)
            ([0], [1], 3, 1 << 30, 0, 0, -128, 127),  # 3 * 2^30 / 2^31 = 1.5: high-mul tie
            ([0], [1], 12, 1 << 30, -2, 0, -128, 127),  # h = 6, 6 / 4 = 1.5: final tie, up
        ],
    )
    res = predict_jobs(stim.stream, cfg)
    assert res.y.tolist() == [1, 2, 2]
    f = job_features(stim, res)
    assert f["double_rounding"].tolist() == [True, False, False]
    assert f["tie_high_mul_pos"].tolist() == [True, True, False]
    assert f["tie_pos_up"].tolist() == [True, False, True]


def _mult(mant: int, e: int) -> int:
    """Bit pattern of the binary32 ``mant * 2^e`` (struct, not pyref)."""
    return struct.unpack("<I", struct.pack("<f", mant * 2.0**e))[0]


def test_fp32_product_sticky_hand_worked():
    cfg = NAMED_CONFIGS["fp32"]
    # 8463219 * 16759227 = 0x8100_0080_0001: dropped 0x800001, one above the tie; kept
    # 0x810000 (even) * 2^-17 = 64.5: 65 exactly, 64 had the product lost its bit 0.
    sticky = _mult(16759227, -41)
    # 8388615 * 10186167 = 0x4DB6_DFC0_0001: dropped (23 bits) 0x400001, but kept 0x9B6DBF is
    # odd: a tie would round up as well (0x9B6DC0 * 2^-20 = 9.71...: 10).
    odd_kept = _mult(10186167, -43)
    # 8388609 * 12582913 = 0x6000_0140_0001: kept 0xC00002 * 2^-20 = 12 + 2^-19: 12 either way.
    far = _mult(12582913, -43)
    stim = _stim_of(
        cfg,
        [
            ([0], [1], 8463219, sticky, 0, 0, -128, 127),
            ([0], [1], -8463219, sticky, 0, 0, -128, 127),
            ([0], [1], 8463219 << 3, _mult(16759227, -44), 0, 0, -128, 127),  # acc * 2^3
            ([0], [1], 8463219, sticky, 0, 0, -128, 60),  # clamped at 60
            ([0], [1], 8388615, odd_kept, 0, 0, -128, 127),
            ([0], [1], 8388609, far, 0, 0, -128, 127),
            ([0], [1], 8463218, sticky, 0, 0, -128, 127),  # P - 16759227
        ],
    )
    assert 8463219 * 16759227 == 0x8100_0080_0001
    assert 8388615 * 10186167 == 0x4DB6_DFC0_0001 and 8388609 * 12582913 == 0x6000_0140_0001
    res = predict_jobs(stim.stream, cfg)
    assert res.y.tolist() == [65, -65, 65, 60, 10, 12, 64]
    f = job_features(stim, res)
    assert f["fp32_product_sticky"].tolist() == [True, True, True, False, False, False, False]
    assert not f["fp32_product_tie"].any()


def test_fp32_product_sticky_reachability():
    assert reachable(NAMED_CONFIGS["fp32"])["fp32_product_sticky"] is None
    assert "fp32 mode" in reachable(NAMED_CONFIGS["default"])["fp32_product_sticky"]
    assert (
        "out_bits = 2"
        in reachable(NAMED_CONFIGS["fp32"].replace(out_bits=2))["fp32_product_sticky"]
    )


def test_fp32_directed_bins_hit_in_a_make_sim_sized_run():
    """``make sim CONFIG=fp32`` (100 000 jobs): one in thirteen fp32 ties jobs (10 %) is each
    of these (fp32_ulp_above: both product shapes, one in thirteen together)."""
    cfg = NAMED_CONFIGS["fp32"]
    stim = mixed_stimulus(cfg, np.random.default_rng(1), 100_000)
    f = job_features(stim, predict_jobs(stim.stream, cfg))
    for name in (
        "fp32_product_sticky",
        "fp32_ulp_below_p47",
        "fp32_ulp_below_p48",
        "fp32_ulp_above",
        "fp32_sticky_high_p47",
        "fp32_sticky_high_p48",
        "fp32_product_carry",
    ):
        hits = int(f[name].sum())
        print(f"{name}: {hits} of {stim.n_jobs} jobs")
        assert 690 <= hits <= 850, name


def test_fp32_acc_rounding_bins_need_accumulators_past_2_24():
    """fl32(acc) rounds only above 2^24: a config whose directed jobs cannot get there (found
    by `make soak`: 61 lanes of u4 x 4, 21-bit bias, cap 1 077 855) has those bins unreachable,
    with the cap in the reason; the fp32 named config (cap 2^31 - 1) requires them."""
    small = QmacConfig(
        lanes=61,
        in_bits=4,
        in_signed=False,
        w_bits=4,
        acc_bits=32,
        acc_mode="saturate",
        bias_bits=21,
        mult_bits=32,
        shift_bits=6,
        rounding="fp32",
        out_bits=3,
    )
    why = reachable(small)
    # 2^20 - 1 + 4 lanes-worth of the largest product: 1048575 + 4 * 61 * 15 * 8
    assert "|acc| <= 1077855" in why["fp32_acc_rounded"] and why["fp32_acc_tie"]
    named = reachable(NAMED_CONFIGS["fp32"])
    assert named["fp32_acc_rounded"] is None and named["fp32_acc_tie"] is None


def test_fp32_tie_neighbour_bins_hand_worked():
    cfg = NAMED_CONFIGS["fp32"]
    below48 = _mult(213373, -19)  # 43 * 213373 = 35 * 2^18 - 1: 17.5 - 2^-19, 48 bits
    below47 = _mult((3 << 22) - 1, -23)  # acc 1: 1.5 - 2^-23, mantissas 2^23 * ..: 47 bits
    above = _mult(953251, -22)  # 11 * 953251 = 5 * 2^21 + 1: 2.5 + 2^-22
    high48 = _mult(12582913, -23)  # 3 * 12582913 = 4 * 9 * 2^20 + 3: 4.5 + 3/4 * 2^-21
    high47 = _mult(67979, -24)  # 617 * 67979 = 4 * 5 * 2^21 + 3: 2.5 + 3/4 * 2^-22
    assert 43 * 213373 == 35 * 2**18 - 1 and 11 * 953251 == 5 * 2**21 + 1
    assert 3 * 12582913 == 36 * 2**20 + 3 and 617 * 67979 == 20 * 2**21 + 3
    stim = _stim_of(
        cfg,
        [
            ([0], [1], 43, below48, 0, 0, -128, 127),  # 17
            ([0], [1], -43 << 5, _mult(213373, -24), 0, 0, -128, 127),  # -17, acc * 2^5
            ([0], [1], 1, below47, 0, 0, -128, 127),  # 1
            ([0], [1], 11, above, 0, 0, -128, 127),  # 3
            ([0], [1], 3, high48, 0, 0, -128, 127),  # 5
            ([0], [1], -617, high47, 0, 0, -128, 127),  # -3
            ([0], [1], 43, below48, 0, 0, -128, 10),  # clamped at 10: not visible
            ([0], [1], 43, _mult(213373, -20), 0, 0, -128, 127),  # 8.75 - 2^-20: no half near
            ([0], [1], 3, _mult(12582915, -23), 0, 0, -128, 127),  # dropped 0xC00000 + 3 * 2^22
        ],
    )
    res = predict_jobs(stim.stream, cfg)
    assert res.y.tolist() == [17, -17, 1, 3, 5, -3, 10, 9, 5]
    f = job_features(stim, res)
    expect = {
        "fp32_ulp_below_p48": [0, 1],
        "fp32_ulp_below_p47": [2],
        "fp32_ulp_above": [3],
        "fp32_sticky_high_p48": [4],
        "fp32_sticky_high_p47": [5],
    }
    for name, rows in expect.items():
        assert np.flatnonzero(f[name]).tolist() == rows, name
    assert not f["fp32_product_tie"].any() and not f["fp32_product_sticky"].any()


def test_fp32_tie_neighbour_reachability():
    d = reachable(NAMED_CONFIGS["fp32"])
    for name in (
        "fp32_ulp_below_p47",
        "fp32_ulp_below_p48",
        "fp32_ulp_above",
        "fp32_sticky_high_p47",
        "fp32_sticky_high_p48",
    ):
        assert d[name] is None, name
        assert "fp32 mode" in reachable(NAMED_CONFIGS["default"])[name]
    two = reachable(NAMED_CONFIGS["fp32"].replace(out_bits=2))
    assert (
        "sticky_high" in two["fp32_sticky_high_p47"]
        and "out_bits = 2" in two["fp32_sticky_high_p47"]
    )
    assert two["fp32_sticky_high_p48"] is None and two["fp32_ulp_below_p47"] is None


def test_fp32_product_carry_bin():
    cfg = NAMED_CONFIGS["fp32"]
    carry = _mult(10737418, -25)  # (25 * 2^19 * 10737418) * 2^-44: just below 8
    stim = _stim_of(
        cfg,
        [
            ([0], [1], 25, carry, 0, 0, -128, 127),  # 8
            ([0], [1], -25 << 4, _mult(10737418, -29), 0, 0, -128, 127),  # -8, acc * 2^4
            ([0], [1], 25, _mult(10737418, -29), 0, 0, -128, 127),  # 0.5: 0, as a lost carry
            ([0], [1], 25, carry, 0, 0, -128, 5),  # clamped at 5
            ([0], [1], 25, _mult(10737417, -25), 0, 0, -128, 127),  # s - 1: below the carry range
        ],
    )
    res = predict_jobs(stim.stream, cfg)
    assert res.y.tolist() == [8, -8, 0, 5, 8]
    f = job_features(stim, res)
    assert f["fp32_product_carry"].tolist() == [True, True, False, False, False]
    assert reachable(cfg)["fp32_product_carry"] is None
    small = cfg.replace(bias_bits=2, in_bits=2, w_bits=2, lanes=1)  # |acc| <= 17
    assert "17" in reachable(small)["fp32_product_carry"]


EXTRA_CONFIGS = {
    # Products past int64 and shifts past 62 (the object-array path of the vectorized bins).
    "wide64": QmacConfig(
        acc_bits=64, bias_bits=64, mult_bits=32, shift_bits=7, rounding="half_even"
    ),
    # A saturating accumulator with wide operands (running sums beat by beat).
    "sat_wide": QmacConfig(
        acc_bits=40,
        acc_mode="saturate",
        bias_bits=16,
        in_bits=16,
        w_bits=16,
        lanes=4,
        rounding="half_up",
    ),
    "gemm_narrow": QmacConfig(mult_bits=32, rounding="gemmlowp", bias_bits=16, out_bits=6, lanes=3),
    "no_mult_shift7": QmacConfig(shift_bits=7, rounding="half_zero", lanes=2),
}


@pytest.mark.parametrize("name", [*NAMED_CONFIGS, *EXTRA_CONFIGS])
def test_vectorized_features_match_the_reference(name):
    """job_features (all jobs at once) == job_features_reference (job by job, Python ints) on
    every kind of stimulus, and on uniform jobs alone."""
    cfg = NAMED_CONFIGS.get(name) or EXTRA_CONFIGS[name]
    for seed, mix in ((1, None), (2, None), (3, {"uniform": 1.0})):
        stim = mixed_stimulus(cfg, np.random.default_rng(seed), 1500, mix)
        res = predict_jobs(stim.stream, cfg)
        fast, ref = job_features(stim, res), job_features_reference(stim, res)
        assert fast.keys() == ref.keys()
        for b in ref:
            assert fast[b].dtype == bool and fast[b].shape == ref[b].shape, b
            bad = np.flatnonzero(fast[b] != ref[b])
            assert not bad.size, (name, seed, b, bad[:5])


def test_vectorized_features_on_hand_picked_edges():
    """Values where int64 shortcuts would go wrong: shift 63 with the largest products, the
    fp32 accumulator -2^31, scales of 2^8 and more, gemmlowp at shift -31 and 30."""
    cases = [
        (
            NAMED_CONFIGS["default"],
            [
                ([-128] * 8, [-128] * 8, 2**31 - 1 - 8 * 2**14, 0, 63),
                ([1], [1], -(2**31) + 1, 0, 63),
                ([0], [1], 2**30, 0, 62),
                ([0], [1], -(2**30), 0, 31),
                ([0], [1], 3 * 2**29, 0, 30),
            ],
        ),
        (
            NAMED_CONFIGS["fp32"],
            [
                ([0], [1], -(2**31), 0x3F80_0000, 0),
                ([1], [1], 0, 0x4380_0000, 0),  # scale 256: r = 2^8
                ([1], [1], 2**23 - 1, 0x4380_0000, 0),
                ([0], [1], 3, 0x3F00_0000, 0),
                ([0], [1], -5, 0x3E80_0000, 0),
            ],
        ),
        (
            NAMED_CONFIGS["tflite"],
            [
                ([0], [1], 2**30, 2**30, -31),
                ([0], [1], -(2**31), 2**31 - 1, 30),
                ([0], [1], 3, 2**30, 0),
                ([0], [1], -3, 2**30, -1),
            ],
        ),
    ]
    for cfg, jobs in cases:
        lo, hi = cfg.out_range
        dicts = [
            dict(x=x, w=w, bias=b, mult=m, shift=s, out_zp=0, act_min=lo, act_max=hi)
            for x, w, b, m, s in jobs
        ]
        stim = ST.assemble_jobs(cfg, np.random.default_rng(0), dicts, "uniform")
        res = predict_jobs(stim.stream, cfg)
        fast, ref = job_features(stim, res), job_features_reference(stim, res)
        for b in ref:
            assert np.array_equal(fast[b], ref[b]), (cfg.rounding, b, fast[b], ref[b])
