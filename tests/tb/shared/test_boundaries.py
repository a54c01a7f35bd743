"""Boundary stimulus (tb/shared/boundaries.py) and its coverage bins, against hand-worked values
and pyref's own stages (Fraction for the gemmlowp ties)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from pyref.arith import requantize
from pyref.beats import predict_jobs
from pyref.config import NAMED_CONFIGS
from tb.shared import stimulus as ST
from tb.shared.boundaries import VARIANTS, gen_boundaries, same_sign_products, unit_requant
from tb.shared.coverage import BOUNDARY_BINS, RunShape, job_features, reachable
from tb.shared.exact_values import Unrealizable

CONFIGS = list(NAMED_CONFIGS.items())


def _stim_of(cfg, jobs):
    dicts = [
        dict(x=x, w=w, bias=b, mult=m, shift=s, out_zp=z, act_min=lo, act_max=hi)
        for x, w, b, m, s, z, lo, hi in jobs
    ]
    return ST.assemble_jobs(cfg, np.random.default_rng(0), dicts, "uniform")


@pytest.mark.parametrize("name,cfg", CONFIGS, ids=[n for n, _ in CONFIGS])
def test_every_reachable_boundary_bin_is_hit(name, cfg):
    """Each variant the config can build lands in its own bin, in every seed tried."""
    why = reachable(cfg, RunShape(resets=1))
    for seed in range(3):
        stim = gen_boundaries(cfg, np.random.default_rng(seed), 2 * len(VARIANTS))
        stim.validate()
        f = job_features(stim, predict_jobs(stim.stream, cfg))
        for b in BOUNDARY_BINS:
            assert f[b].any() == (why[b] is None), (name, seed, b, why[b])


def test_unreachable_boundaries_say_why():
    why = reachable(NAMED_CONFIGS["default"])
    assert "gemmlowp only" in why["nudge_below"] and "no multiplier 1" in why["mult_one"]
    t = reachable(NAMED_CONFIGS["tflite"])
    assert t["nudge_below"] is None and t["nudge_above"] is None and t["mult_one"] is None
    assert "shift modes" in t["tie_below"]
    f = reachable(NAMED_CONFIGS["fp32"])
    assert f["shift_one"] and f["mult_one"] and f["acc_max_past"] is None


def test_boundary_features_hand_worked():
    cfg = NAMED_CONFIGS["int4_sat"]  # 8 lanes, s4 x s4, acc 16 saturating, half_away, out 4
    top = 2**15 - 1
    stim = _stim_of(
        cfg,
        [
            # bias at the top, one past it after the first beat, then -5: held at 32767, then
            # 32762, clamped at the output (out 4 bits): the acc edge bins need it visible
            ([1] + [0] * 7 + [5], [1] + [0] * 7 + [-1], top, 0, 0, 0, -8, 7),
            # bias at the top, then -448 - 1: 32318, clamped too
            ([7] * 8 + [1], [-8] * 8 + [-1], top, 0, 0, 0, -8, 7),
            ([0], [1], 13, 0, 3, 0, -8, 7),  # t = 3, tie at 4 mod 8: 13 % 8 = 5, one above
            ([0], [1], 11, 0, 3, 0, -8, 7),  # 11 % 8 = 3: one below a tie
            ([0], [1], -32768, 0, 1, 0, -8, 7),  # bias at its minimum, shift 1
            ([-8] * 8, [7] * 8, 0, 0, 5, 0, -8, 7),  # every lane x min, w max
        ],
    )
    res = predict_jobs(stim.stream, cfg)
    f = job_features(stim, res)
    assert f["acc_max_past"].tolist() == [False] * 6  # its output is clamped: not visible
    assert not res.saturated[2] and not res.saturated[3]
    assert f["tie_above"].tolist() == [False, False, True, False, False, False]
    assert f["tie_below"].tolist() == [False, False, False, True, False, False]
    assert f["bias_max"].tolist() == [True, True, False, False, False, False]
    assert f["bias_min"].tolist() == [False] * 4 + [True, False]
    assert f["shift_one"].tolist() == [False] * 4 + [True, False]
    assert f["lanes_xmin_wmax"].tolist() == [False] * 5 + [True]
    assert not f["lanes_xmax_wmax"].any()


def test_acc_limit_past_then_back_is_exact():
    """Saturate: 32767 + 1 is held at 32767, then -32764 leaves 3 (a wrong bound shows)."""
    cfg = NAMED_CONFIGS["int4_sat"]
    top = 2**15 - 1
    back_x, back_w = same_sign_products(cfg, -(top - 3))
    assert sum(a * b for a, b in zip(back_x, back_w)) == -(top - 3)
    assert all(b < 0 for b in back_w) and all(0 < a <= 7 for a in back_x)
    x = [1] + [0] * 7 + back_x
    w = [1] + [0] * 7 + back_w
    stim = _stim_of(cfg, [(x, w, top, 0, 0, 0, -8, 7)])
    res = predict_jobs(stim.stream, cfg)
    assert int(res.acc[0]) == 3 and int(res.y[0]) == 3  # 32767 (held) - 32764
    f = job_features(stim, res)
    # the first beat ends on 32768 (one past), none on 32767 itself
    assert f["acc_max_past"][0] and not f["acc_max_on"][0]
    wrap = cfg.replace(acc_mode="wrap")
    stim = _stim_of(wrap, [(x, w, top, 0, 0, 0, -8, 7)])
    assert int(predict_jobs(stim.stream, wrap).acc[0]) == 4  # exact: 32768 - 32764


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_nudge_jobs_sit_on_the_tie(offset):
    """x' * M = odd * 2^30 + offset exactly, and h = floor((x' M + 2^30) / 2^31) by Fraction."""
    cfg = NAMED_CONFIGS["tflite"]
    name = {-1: "nudge_below", 0: "nudge_on", 1: "nudge_above"}[offset]
    build = dict(VARIANTS)[name]
    for seed in range(20):
        job = build(cfg, np.random.default_rng(seed))
        acc = job["bias"] + sum(a * b for a, b in zip(job["x"], job["w"]))
        p = acc * job["mult"]
        assert job["mult"] % 2 == 1 and job["shift"] == 0
        assert (p - offset) % 2**31 == 2**30 and ((p - offset) // 2**30) % 2 == 1
        h = int(Fraction(p + 2**30, 2**31).__floor__())
        r = int(requantize(np.array([acc]), np.array([job["mult"]]), np.array([0]), cfg)[0])
        assert r == h
        # one below the tie rounds down, on and above it round up
        assert h == (p + 2**30 - offset) // 2**31 - (1 if offset < 0 else 0)
        assert cfg.out_range[0] <= r + job["out_zp"] <= cfg.out_range[1]


@pytest.mark.parametrize("name,cfg", CONFIGS, ids=[n for n, _ in CONFIGS])
def test_unit_requant_is_the_identity(name, cfg):
    m, s = unit_requant(cfg)
    a = np.array([-100, -3, -1, 0, 1, 2, 99])
    assert requantize(a, np.full(7, m), np.full(7, s), cfg).tolist() == a.tolist()


def test_same_sign_products_refuses_past_the_cap():
    with pytest.raises(Unrealizable):
        same_sign_products(NAMED_CONFIGS["default"], 2**31, cap=10)
