"""The testbench's pure-Python parts, without a simulator: port packing, stimulus generators
(checked with exact fractions, not with pyref), coverage bins and reachability (against
hand-worked values), the scoreboard's bookkeeping, handshake patterns and the command line."""

from __future__ import annotations

import itertools
import math
import struct
from fractions import Fraction

import numpy as np
import pytest
from bitstring import BitArray
from hypothesis import given, settings
from hypothesis import strategies as st

from pyref.beats import JobResult, predict_jobs
from pyref.config import NAMED_CONFIGS, QmacConfig
from pyref.layer import Layer
from tb import stimulus as S
from tb.build import RTL_DIR, config_name
from tb.coverage import BINS, RunShape, job_features, reachable, tie_outcomes
from tb.driver import pack_lanes
from tb.faults import FAULTS
from tb.patterns import PATTERNS, alternate, make_pattern, random_pauses
from tb.scoreboard import Scoreboard
from tb.sim import job_from_args, normalize_argv, parser

CONFIGS = list(NAMED_CONFIGS.items())


# ----- port packing ---------------------------------------------------------------------------

@pytest.mark.parametrize("lanes,bits", [(1, 8), (8, 8), (5, 4), (3, 16), (32, 8), (7, 2)])
def test_pack_lanes_matches_bitstring(lanes, bits):
    rng = np.random.default_rng(lanes * 100 + bits)
    v = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), size=(20, lanes))
    words = pack_lanes(v, bits)
    for row, word in zip(v, words):
        # Lane 0 is the least significant: concatenate from the last lane down.
        bits_str = BitArray()
        for x in reversed(row.tolist()):
            bits_str.append(BitArray(int=int(x), length=bits))
        assert word == bits_str.uint


# ----- stimulus ---------------------------------------------------------------------------------

def _jobs(stim):
    """Per job: (elements x, w, bias, mult, shift, out_zp, act_min, act_max) as Python ints."""
    s = stim.stream
    out = []
    for j, (b0, nb, k) in enumerate(zip(stim.job_starts, stim.beats_per_job, stim.k)):
        x = s.x[b0:b0 + nb].reshape(-1).tolist()
        w = s.w[b0:b0 + nb].reshape(-1).tolist()
        vals = {n: int(getattr(s, n)[b0]) for n in ("bias", "mult", "shift", "out_zp",
                                                     "act_min", "act_max")}
        out.append((x, w, int(k), vals))
    return out


def _binary32(bits: int) -> Fraction:
    """The exact value of a binary32 bit pattern (struct, not pyref)."""
    return Fraction(struct.unpack("<f", struct.pack("<I", bits))[0])


def _acc(x, w, bias):
    return bias + sum(a * b for a, b in zip(x, w))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(CONFIGS), st.integers(0, 2**32 - 1), st.floats(-1.0, 1.0))
def test_realize_acc_is_exact(named, seed, frac):
    _, cfg = named
    rng = np.random.default_rng(seed)
    lo, hi = cfg.acc_range
    cap = min(hi, cfg.bias_range[1] + 8 * cfg.lanes * 2 ** (cfg.in_bits + cfg.w_bits - 2))
    target = int(frac * cap)
    x, w, bias = S.realize_acc(cfg, rng, target)
    assert _acc(x, w, bias) == target
    assert all(cfg.in_range[0] <= v <= cfg.in_range[1] for v in x)
    assert all(cfg.w_range[0] <= v <= cfg.w_range[1] for v in w)
    assert cfg.bias_range[0] <= bias <= cfg.bias_range[1]


@pytest.mark.parametrize("name,cfg", CONFIGS)
def test_tie_jobs_land_exactly_on_ties(name, cfg):
    stim = S.gen_ties(cfg, np.random.default_rng(5), 40)
    assert stim.n_jobs == 40
    stim.validate()
    signs = set()
    for x, w, k, v in _jobs(stim):
        acc = _acc(x, w, v["bias"])
        if cfg.rounding == "gemmlowp":
            s, m = v["shift"], v["mult"]
            assert s <= 0
            # TFLite: x * M / 2^31, then / 2^-s. A tie in either step, or the double-rounding
            # case (an exact quarter).
            step1 = Fraction(acc * m, 2**31)
            h = (acc * m + 2**30) // 2**31
            step2 = Fraction(h, 2 ** (-s))
            assert (step1 - int(step1 // 1) == Fraction(1, 2)
                    or step2 - int(step2 // 1) == Fraction(1, 2))
            signs.add(acc > 0)
        elif cfg.rounding == "fp32":
            # acc * scale within 2^-16 of a half-integer: exactly on it (a tie of the last
            # rounding), or just off it (a tie of acc's or the product's rounding to binary32,
            # the double-rounding cases).
            q = acc * _binary32(v["mult"])
            assert abs(q - math.floor(q) - Fraction(1, 2)) <= Fraction(1, 2**16), (acc, v)
            signs.add(acc > 0)
        else:
            p = acc * v["mult"] if cfg.mult_bits else acc
            q = Fraction(p, 2 ** v["shift"])
            assert v["shift"] >= 1 and q - (q.numerator // q.denominator) == Fraction(1, 2)
            signs.add(p > 0)
    assert signs == {True, False}


@pytest.mark.parametrize("name,cfg", CONFIGS)
def test_clamp_edge_jobs_hit_the_bounds(name, cfg):
    stim = S.gen_clamp_edges(cfg, np.random.default_rng(6), 60)
    seen = set()
    for x, w, k, v in _jobs(stim):
        acc = _acc(x, w, v["bias"])
        if cfg.rounding == "gemmlowp":
            r = Fraction(acc * v["mult"], 2 ** (31 - v["shift"]))
        elif cfg.rounding == "fp32":
            r = acc * _binary32(v["mult"])
            assert abs(acc) <= 2**24        # acc is a binary32 (no rounding of acc)
        else:
            r = Fraction(acc * (v["mult"] if cfg.mult_bits else 1), 2 ** v["shift"])
        assert r.denominator == 1            # built exactly, no rounding involved
        z = int(r) + v["out_zp"]
        hit = [(b, d) for b, d in (("max", z - v["act_max"]), ("min", z - v["act_min"]))
               if d in (-1, 0, 1)]
        assert hit, (z, v)
        seen.update(hit)
    assert {("max", -1), ("max", 0), ("max", 1), ("min", -1), ("min", 0), ("min", 1)} <= seen


@pytest.mark.parametrize("name,cfg", CONFIGS)
def test_overflow_jobs_leave_the_accumulator_range(name, cfg):
    stim = S.gen_overflow(cfg, np.random.default_rng(7), 16)
    lo, hi = cfg.acc_range
    assert stim.n_jobs == 16
    came_back = 0
    for x, w, k, v in _jobs(stim):
        run, crossed = v["bias"], False
        for b in range(0, len(x), cfg.lanes):          # the hardware adds beat by beat
            run += sum(a * c for a, c in zip(x[b:b + cfg.lanes], w[b:b + cfg.lanes]))
            crossed |= not lo <= run <= hi
        assert crossed
        came_back += lo <= run <= hi
    assert came_back >= 4


def test_overflow_unreachable_for_a_wide_accumulator():
    cfg = QmacConfig(acc_bits=64, bias_bits=16)
    # 2^63 / (128 * 128) products are needed: far beyond the cap.
    assert S.overflow_lengths(cfg) == (None, None)
    assert S.gen_overflow(cfg, np.random.default_rng(0), 8).n_jobs == 0
    why = reachable(cfg)
    assert why["acc_overflow_high"] and why["acc_overflow_low"] and why["acc_overflow_back"]
    # default: bias 2^31 - 1 plus one product of 2^14 passes the top
    assert S.overflow_lengths(NAMED_CONFIGS["default"]) == (1, 1)


@pytest.mark.parametrize("name,cfg", CONFIGS)
def test_extreme_and_long_and_single_beat_jobs(name, cfg):
    rng = np.random.default_rng(8)
    ext = S.gen_extremes(cfg, rng, 6)
    xe = cfg.in_range[0] if cfg.in_signed else cfg.in_range[1]
    x, w, k, v = _jobs(ext)[0]
    assert set(x) == {xe} and set(w) == {cfg.w_range[0]} and k % cfg.lanes == 0
    single = S.gen_single_beat(cfg, rng, 20)
    assert np.all(single.beats_per_job == 1)
    long_k = S.gen_long_k(cfg, rng, 10)
    assert np.all(long_k.beats_per_job >= S.LONG_JOB_BEATS)
    if cfg.lanes > 1:
        assert np.all(long_k.k % cfg.lanes != 0)


def test_padding_lanes_carry_zero_products_with_random_other_operand():
    cfg = NAMED_CONFIGS["default"]
    stim = S.gen_long_k(cfg, np.random.default_rng(9), 50)
    s = stim.stream
    nonzero_pad = 0
    for j, (b0, nb, k) in enumerate(zip(stim.job_starts, stim.beats_per_job, stim.k)):
        x, w = s.x[b0:b0 + nb].reshape(-1), s.w[b0:b0 + nb].reshape(-1)
        pad_x, pad_w = x[k:], w[k:]
        assert np.all(pad_x * pad_w == 0)
        nonzero_pad += np.count_nonzero(pad_x) + np.count_nonzero(pad_w)
    assert nonzero_pad > 0


@pytest.mark.parametrize("name,cfg", CONFIGS)
def test_mixed_stimulus_is_valid_and_reproducible(name, cfg):
    a = S.mixed_stimulus(cfg, np.random.default_rng(3), 500)
    b = S.mixed_stimulus(cfg, np.random.default_rng(3), 500)
    assert a.n_jobs == 500
    assert np.array_equal(a.stream.x, b.stream.x) and np.array_equal(a.kind, b.kind)
    for kind in ("ties", "clamp_edges", "shift_extremes", "long_k", "single_beat"):
        assert np.count_nonzero(a.kind == S.KINDS.index(kind)) >= S.MIN_DIRECTED_JOBS


def test_plan_resets_picks_multibeat_jobs_apart():
    cfg = NAMED_CONFIGS["default"]
    stim = S.mixed_stimulus(cfg, np.random.default_rng(4), 300)
    cuts = S.plan_resets(stim, np.random.default_rng(1), 3)
    assert len(cuts) == 3
    assert np.all(stim.beats_per_job[cuts] >= 2) and np.all(np.diff(cuts) >= 3) and cuts[0] >= 2


def test_from_layer_orders_jobs_like_y():
    cfg = NAMED_CONFIGS["per_channel"]
    rng = np.random.default_rng(2)
    layer = Layer.build(cfg, rng.integers(-128, 128, (3, 21)), rng.integers(-128, 128, (4, 21)),
                        bias=rng.integers(-1000, 1000, 4), mult=rng.integers(1, 65535, 4),
                        shift=rng.integers(10, 20, 4))
    stim = S.from_layer(cfg, layer)
    y = predict_jobs(stim.stream, cfg).y.reshape(3, 4)
    for n in range(3):
        for c in range(4):
            acc = int(layer.bias[c]) + int(np.dot(layer.x[n], layer.w[c]))
            p = acc * int(layer.mult[c])
            t = int(layer.shift[c])
            q, rem = divmod(p, 2**t)                    # half_even by hand
            r = q + (rem * 2 > 2**t or (rem * 2 == 2**t and q % 2 == 1))
            assert y[n, c] == max(-128, min(127, r))


# ----- coverage -------------------------------------------------------------------------------

TIE_TABLE = {   # hand-worked from the rounding rules of docs/interface.md / the README table
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
    for b in ("tie_high_mul_pos", "tie_high_mul_neg", "double_rounding", "shift_min",
              "mult_zero", "tie_pos_up", "tie_neg_down"):
        assert t[b] is None, b
    assert t["tie_pos_down"] and t["tie_neg_up"]
    assert reachable(NAMED_CONFIGS["lanes1"])["padded_job"]
    no_hs = reachable(NAMED_CONFIGS["default"], RunShape(idle_pauses=False, ready_pauses=False,
                                                         ready_runs=False, resets=0))
    for b in ("out_stall", "in_stall", "idle_gap", "back_to_back_outputs", "reset_mid_job",
              "exact_after_reset"):
        assert no_hs[b], b
    assert no_hs["back_to_back_jobs"] is None
    assert set(d) == set(BINS)


def _stim_of(cfg, jobs):
    """A stimulus from hand-written jobs: (x list, w list, bias, mult, shift, zp, lo, hi)."""
    dicts = [dict(x=x, w=w, bias=b, mult=m, shift=s, out_zp=z, act_min=lo, act_max=hi)
             for x, w, b, m, s, z, lo, hi in jobs]
    return S._assemble_jobs(cfg, np.random.default_rng(0), dicts, "uniform")


def test_job_features_hand_worked():
    cfg = NAMED_CONFIGS["default"]  # half_up, shift only, 8 lanes
    stim = _stim_of(cfg, [
        ([0], [1], 6, 0, 2, 0, -128, 127),     # 6/4 = 1.5: positive tie, up to 2
        ([0], [1], -6, 0, 2, 0, -128, 127),    # -1.5: negative tie, up to -1
        ([0], [1], 7, 0, 2, 0, -128, 127),     # 1.75: no tie
        ([1], [1], 10, 0, 0, 0, -128, 10),     # 11 -> clamp at act_max = 10, one outside
        ([0], [5], -20, 0, 1, 0, -10, 127),    # -10 == act_min: on the bound
        ([-128] * 8, [-128] * 8, 0, 0, 63, 0, -128, 127),  # extreme beat, largest shift
        ([1] * 9, [1] * 9, 2**31 - 5, 0, 0, 0, -128, 127),  # passes the top, wraps
    ])
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
    stim = _stim_of(cfg, [
        ([0], [1], 1, 1 << 30, -1, 0, -128, 127),   # 0.25 -> 1 with two roundings (gemmlowp)
        ([0], [1], 3, 1 << 30, 0, 0, -128, 127),    # 3 * 2^30 / 2^31 = 1.5: high-mul tie
        ([0], [1], 12, 1 << 30, -2, 0, -128, 127),  # h = 6, 6 / 4 = 1.5: final tie, up
    ])
    res = predict_jobs(stim.stream, cfg)
    assert res.y.tolist() == [1, 2, 2]
    f = job_features(stim, res)
    assert f["double_rounding"].tolist() == [True, False, False]
    assert f["tie_high_mul_pos"].tolist() == [True, True, False]
    assert f["tie_pos_up"].tolist() == [True, False, True]


# ----- scoreboard -------------------------------------------------------------------------------

def _board(y, sat=None, **kw):
    y = np.array(y)
    sat = np.zeros(len(y), bool) if sat is None else np.array(sat)
    res = JobResult(y=y, saturated=sat, acc=np.zeros(len(y), np.int64),
                    overflow=np.zeros(len(y), bool))
    return Scoreboard(res, describe_job=lambda j: {"job": j}, **kw)


def test_scoreboard_passes_right_outputs_in_order():
    sb = _board([5, -3, 7], [False, True, False])
    for j, c in enumerate((10, 11, 12)):
        sb.job_sent(j, c)
    assert sb.check_one(5, 0, 15) and sb.check_one(-3, 1, 16) and sb.check_one(7, 0, 17)
    sb.finish()
    assert sb.passed and sb.n_checked == 3


def test_scoreboard_reports_value_sat_xz_with_job_and_cycle():
    sb = _board([5, -3, 7, 1], [False, True, False, False])
    for j in range(4):
        sb.job_sent(j, j)
    assert not sb.check_one(6, 0, 10)
    assert not sb.check_one(-3, 0, 11)
    assert not sb.check_one(None, None, 12)
    assert sb.check_one(1, 0, 13)
    kinds = [(m.kind, m.job, m.cycle) for m in sb.mismatches]
    assert kinds == [("value", 0, 10), ("sat", 1, 11), ("xz", 2, 12)]
    assert sb.mismatches[0].inputs == {"job": 0}


def test_scoreboard_extra_early_duplicate_and_missing():
    sb = _board([5, -3, 7])
    sb.job_sent(0, 10)
    assert not sb.check_one(5, 0, 10)          # on the accepting cycle itself: too early
    assert sb.check_one(5, 0, 14)
    assert not sb.check_one(5, 0, 15)          # duplicate before job 1 was even sent
    assert sb.mismatches[-1].kind == "extra"
    sb.job_sent(1, 16)
    sb.job_sent(2, 17)
    assert not sb.check_one(5, 0, 20)          # duplicate again, now compared with job 1
    assert "job 0 expects 5" in sb.mismatches[-1].message
    sb.finish()                                # job 2 never came
    assert [m.kind for m in sb.mismatches] == ["extra", "extra", "value", "missing"]


def test_scoreboard_batch_equals_one_by_one():
    y = np.arange(50) - 20
    sat = (y % 3) == 0
    good = _board(y, sat)
    batch = _board(y, sat)
    for sb in (good, batch):
        for j in range(50):
            sb.job_sent(j, 2 * j)
    got_y = y.copy()
    got_y[[7, 30]] += 1
    cycles = 2 * np.arange(50) + 5
    for j in range(50):
        good.check_one(int(got_y[j]), int(sat[j]), int(cycles[j]))
    assert batch.check(got_y[:25], sat[:25], cycles[:25]) == 1
    assert batch.check(got_y[25:], sat[25:], cycles[25:]) == 1
    assert [(m.kind, m.job, m.cycle) for m in good.mismatches] == \
        [(m.kind, m.job, m.cycle) for m in batch.mismatches]
    assert np.array_equal(good.checked, batch.checked)


def test_scoreboard_batch_with_an_extra_output():
    sb = _board([1, 2, 3])
    sb.job_sent(0, 0)
    sb.job_sent(1, 1)
    sb.job_sent(2, 9)
    assert sb.check([1, 2, 2, 3], [0, 0, 0, 0], [3, 4, 5, 12]) == 1   # job 2 not done at 5
    assert sb.mismatches[0].kind == "extra" and sb.n_checked == 3


def test_scoreboard_reset_drops_jobs_in_flight():
    sb = _board([1, 2, 3, 4, 5])
    sb.job_sent(0, 1)
    sb.job_sent(1, 2)
    assert sb.check_one(1, 0, 5)
    assert sb.drop_through(2) == 2             # job 1 in flight, job 2 cut
    sb.job_sent(3, 20)
    sb.job_sent(4, 21)
    assert sb.check_one(4, 0, 25) and sb.check_one(5, 0, 26)
    sb.finish()
    assert sb.passed and sb.n_dropped == 2 and sb.n_checked == 3


def test_scoreboard_stops_after_max_mismatches():
    sb = _board([0] * 10, max_mismatches=2)
    for j in range(10):
        sb.job_sent(j, 0)
    sb.check_one(1, 0, 5)
    assert not sb.stop
    sb.check_one(1, 0, 6)
    assert sb.stop


# ----- patterns -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(PATTERNS))
def test_pattern_properties_are_true(name):
    info = PATTERNS[name]
    seq = list(itertools.islice(make_pattern(name, np.random.default_rng(0)), 20000))
    assert any(seq) == info.pauses
    has_run = any(not a and not b for a, b in zip(seq, seq[1:]))
    assert has_run == info.runs


def test_basic_patterns():
    assert list(itertools.islice(alternate(), 4)) == [False, True, False, True]
    assert not any(itertools.islice(random_pauses(np.random.default_rng(0), 0.0), 1000))
    assert all(itertools.islice(random_pauses(np.random.default_rng(0), 1.0), 1000))
    with pytest.raises(ValueError, match="p = 2"):
        next(random_pauses(np.random.default_rng(0), 2.0))


# ----- command line and faults --------------------------------------------------------------------

def _args(*tokens):
    return parser().parse_args(normalize_argv(list(tokens)))


def test_cli_make_style_overrides_and_repro():
    job, overrides = job_from_args(_args("SIM=icarus", "CONFIG=default", "LANES=4",
                                         "ROUNDING=6", "SEED=9", "N=100"))
    cfg = job.qmac_config()
    assert cfg.lanes == 4 and cfg.rounding == "half_even" and job.sim == "icarus"
    assert job.repro == "make sim CONFIG=default LANES=4 ROUNDING=half_even SEED=9 N=100 SIM=icarus"
    assert config_name(cfg).startswith("cfg-")


def test_cli_errors_name_the_problem():
    from pyref.config import ConfigError

    with pytest.raises(ConfigError, match="no named config 'nope'"):
        job_from_args(_args("CONFIG=nope"))
    with pytest.raises(ConfigError, match="N = 0"):
        job_from_args(_args("N=0"))
    with pytest.raises(ConfigError, match="lanes = 0"):
        job_from_args(_args("LANES=0"))
    with pytest.raises(ConfigError, match="VECTORS carries its own config"):
        job_from_args(_args("VECTORS=x.npz", "CONFIG=tflite"))


def test_every_fault_applies_to_the_current_rtl():
    for f in FAULTS:
        text = (RTL_DIR / f.file).read_text()
        for find, _ in f.subs:
            assert text.count(find) == 1, (f.name, find)


def test_missing_simulator_says_how_to_get_it(monkeypatch):
    import shutil

    from tb import toolchain

    toolchain.simulator_missing.cache_clear()
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    try:
        assert "apt-get install iverilog" in toolchain.simulator_missing("icarus")
        with pytest.raises(toolchain.SimulatorMissing, match="iverilog"):
            toolchain.check_simulator("icarus")
    finally:
        toolchain.simulator_missing.cache_clear()
