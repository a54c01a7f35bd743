"""The stimulus generators (tb/shared/generators.py, stimulus.py, exact_values.py), checked with
exact fractions, not with pyref."""

from __future__ import annotations

import math
import struct
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyref.beats import predict_jobs
from pyref.config import NAMED_CONFIGS, QmacConfig
from pyref.layer import Layer
from tb.shared import exact_values as EV
from tb.shared import generators as S
from tb.shared import stimulus as ST
from tb.shared.coverage import reachable

CONFIGS = list(NAMED_CONFIGS.items())


def _jobs(stim):
    """Per job: (elements x, w, bias, mult, shift, out_zp, act_min, act_max) as Python ints."""
    s = stim.stream
    out = []
    for j, (b0, nb, k) in enumerate(zip(stim.job_starts, stim.beats_per_job, stim.k)):
        x = s.x[b0 : b0 + nb].reshape(-1).tolist()
        w = s.w[b0 : b0 + nb].reshape(-1).tolist()
        vals = {
            n: int(getattr(s, n)[b0])
            for n in ("bias", "mult", "shift", "out_zp", "act_min", "act_max")
        }
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
    x, w, bias = EV.realize_acc(cfg, rng, target)
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
            assert step1 - int(step1 // 1) == Fraction(1, 2) or step2 - int(step2 // 1) == Fraction(
                1, 2
            )
            signs.add(acc > 0)
        elif cfg.rounding == "fp32":
            # acc * scale within 2^-16 of a half-integer: exactly on it (a tie of the last
            # rounding), or just off it (a tie of acc's or the product's rounding to binary32,
            # the double-rounding cases, the tie neighbours); or, one job in 13, within 2^-24
            # below a power of two 2^p (a product whose rounding carries into the next binade).
            q = acc * _binary32(v["mult"])
            near_half = abs(q - math.floor(q) - Fraction(1, 2)) <= Fraction(1, 2**16)
            a = abs(q)
            p2 = Fraction(2) ** (a.numerator.bit_length() - a.denominator.bit_length() + 1)
            carry = p2 >= 1 and 0 < p2 - a <= p2 / 2**25 and a < p2
            assert near_half or carry, (acc, v)
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
            assert abs(acc) <= 2**24  # acc is a binary32 (no rounding of acc)
        else:
            r = Fraction(acc * (v["mult"] if cfg.mult_bits else 1), 2 ** v["shift"])
        assert r.denominator == 1  # built exactly, no rounding involved
        z = int(r) + v["out_zp"]
        hit = [
            (b, d)
            for b, d in (("max", z - v["act_max"]), ("min", z - v["act_min"]))
            if d in (-1, 0, 1)
        ]
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
        for b in range(0, len(x), cfg.lanes):  # the hardware adds beat by beat
            run += sum(a * c for a, c in zip(x[b : b + cfg.lanes], w[b : b + cfg.lanes]))
            crossed |= not lo <= run <= hi
        assert crossed
        came_back += lo <= run <= hi
    assert came_back >= 4


def test_overflow_unreachable_for_a_wide_accumulator():
    cfg = QmacConfig(acc_bits=64, bias_bits=16)
    # 2^63 / (128 * 128) products are needed: far beyond the cap.
    assert EV.overflow_lengths(cfg) == (None, None)
    assert S.gen_overflow(cfg, np.random.default_rng(0), 8).n_jobs == 0
    why = reachable(cfg)
    assert why["acc_overflow_high"] and why["acc_overflow_low"] and why["acc_overflow_back"]
    # default: bias 2^31 - 1 plus one product of 2^14 passes the top
    assert EV.overflow_lengths(NAMED_CONFIGS["default"]) == (1, 1)


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
    assert np.all(long_k.beats_per_job >= ST.LONG_JOB_BEATS)
    if cfg.lanes > 1:
        assert np.all(long_k.k % cfg.lanes != 0)


def test_padding_lanes_carry_zero_products_with_random_other_operand():
    cfg = NAMED_CONFIGS["default"]
    stim = S.gen_long_k(cfg, np.random.default_rng(9), 50)
    s = stim.stream
    nonzero_pad = 0
    for j, (b0, nb, k) in enumerate(zip(stim.job_starts, stim.beats_per_job, stim.k)):
        x, w = s.x[b0 : b0 + nb].reshape(-1), s.w[b0 : b0 + nb].reshape(-1)
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
        assert np.count_nonzero(a.kind == ST.KINDS.index(kind)) >= S.MIN_DIRECTED_JOBS


def test_plan_resets_picks_multibeat_jobs_apart():
    cfg = NAMED_CONFIGS["default"]
    stim = S.mixed_stimulus(cfg, np.random.default_rng(4), 300)
    cuts = S.plan_resets(stim, np.random.default_rng(1), 3)
    assert len(cuts) == 3
    assert np.all(stim.beats_per_job[cuts] >= 2) and np.all(np.diff(cuts) >= 3) and cuts[0] >= 2


def test_from_layer_orders_jobs_like_y():
    cfg = NAMED_CONFIGS["per_channel"]
    rng = np.random.default_rng(2)
    layer = Layer.build(
        cfg,
        rng.integers(-128, 128, (3, 21)),
        rng.integers(-128, 128, (4, 21)),
        bias=rng.integers(-1000, 1000, 4),
        mult=rng.integers(1, 65535, 4),
        shift=rng.integers(10, 20, 4),
    )
    stim = ST.from_layer(cfg, layer)
    y = predict_jobs(stim.stream, cfg).y.reshape(3, 4)
    for n in range(3):
        for c in range(4):
            acc = int(layer.bias[c]) + int(np.dot(layer.x[n], layer.w[c]))
            p = acc * int(layer.mult[c])
            t = int(layer.shift[c])
            q, rem = divmod(p, 2**t)  # half_even by hand
            r = q + (rem * 2 > 2**t or (rem * 2 == 2**t and q % 2 == 1))
            assert y[n, c] == max(-128, min(127, r))


@pytest.mark.parametrize("name,cfg", CONFIGS)
def test_realize_accs_is_exact(name, cfg):
    """The vectorized builder: bias + sum(x * w) == target for every job, every value in range,
    the products after the random prefix all of the target's sign side; past the length cap a
    job is marked and holds nothing."""
    rng = np.random.default_rng(11)
    cap = EV.acc_cap(cfg)
    lo, hi = cfg.acc_range
    targets = np.concatenate([rng.integers(-cap, cap + 1, 3000), [0, 1, -1, cap, -cap, lo, hi]])
    rz = EV.realize_accs(cfg, rng, targets)
    assert rz.ok.all()
    starts = np.cumsum(rz.k) - rz.k
    for j in range(0, len(targets), 7):
        x = rz.x[starts[j] : starts[j] + rz.k[j]].tolist()
        w = rz.w[starts[j] : starts[j] + rz.k[j]].tolist()
        assert rz.k[j] >= 1 and _acc(x, w, int(rz.bias[j])) == targets[j]
    assert np.all((rz.x >= cfg.in_range[0]) & (rz.x <= cfg.in_range[1]))
    assert np.all((rz.w >= cfg.w_range[0]) & (rz.w <= cfg.w_range[1]))
    assert np.all((rz.bias >= cfg.bias_range[0]) & (rz.bias <= cfg.bias_range[1]))
    assert np.array_equal(rz.bias + EV.job_sums(rz.k, rz.x * rz.w), targets)
    # A cap of 3 products: the far targets cannot be built and hold no elements.
    capped = EV.realize_accs(cfg, np.random.default_rng(1), targets, k_cap=3)
    assert not capped.ok.all() or cfg.bias_bits >= cfg.acc_bits
    assert np.all(capped.k[~capped.ok] == 0) and np.all(capped.k[capped.ok] <= 3)
    ok = capped.ok
    assert np.array_equal(
        (capped.bias + EV.job_sums(capped.k, capped.x * capped.w))[ok], targets[ok]
    )


@pytest.mark.parametrize("name,cfg", CONFIGS)
def test_exact_requants_hit_r_exactly(name, cfg):
    from pyref.arith import requantize

    rng = np.random.default_rng(12)
    lim = min(1 << (cfg.out_bits + 1), EV.acc_cap(cfg) - 1)  # r itself must fit the cap
    r = np.concatenate([rng.integers(-lim - 1, lim + 1, 2000), [0, 1, -1, lim, -lim - 1]])
    acc, mult, shift = EV.exact_requants(cfg, rng, r)
    assert np.all(np.abs(acc) <= EV.acc_cap(cfg))
    assert np.array_equal(np.asarray(requantize(acc, mult, shift, cfg)).astype(np.int64), r)
    if cfg.rounding not in ("gemmlowp", "fp32"):
        for a, mu, t in zip(acc.tolist(), mult.tolist(), shift.tolist()):
            p = a * mu if cfg.mult_bits else a
            assert p % (1 << t) == 0  # no rounding involved


@pytest.mark.parametrize("name,cfg", CONFIGS)
def test_tie_jobs_are_visible(name, cfg):
    """Each tie job's out_zp brings its r next to 0: the output shows which way it rounded
    (r + out_zp is -1, 0 or 1, inside the clamp), for the jobs built at once and the pooled
    fp32 ones alike."""
    from pyref.arith import requantize

    for seed in (5, 6):
        stim = S.gen_ties(cfg, np.random.default_rng(seed), 300)
        res = predict_jobs(stim.stream, cfg)
        ends = stim.stream.job_ends
        r = np.asarray(requantize(res.acc, stim.stream.mult[ends], stim.stream.shift[ends], cfg))
        z = r.astype(np.int64) + stim.stream.out_zp[ends]
        assert np.all(np.abs(z) <= 1), (name, np.flatnonzero(np.abs(z) > 1)[:5])
        assert not res.saturated.any()


def test_concat_take_is_concat_then_take():
    cfg = NAMED_CONFIGS["narrow_acc"]
    rng = np.random.default_rng(21)
    parts = [S.gen_uniform(cfg, rng, 50), S.gen_long_k(cfg, rng, 7), S.gen_boundaries(cfg, rng, 30)]
    n = sum(p.n_jobs for p in parts)
    for perm in (np.arange(n), rng.permutation(n), np.arange(n)[::-1]):
        a = ST.Stimulus.concat(parts).take(perm)
        b = ST.Stimulus.concat_take(parts, perm)
        for name in (
            "x",
            "w",
            "first",
            "last",
            "bias",
            "mult",
            "shift",
            "out_zp",
            "act_min",
            "act_max",
        ):
            assert np.array_equal(getattr(a.stream, name), getattr(b.stream, name)), name
        assert np.array_equal(a.k, b.k) and np.array_equal(a.kind, b.kind)
    with pytest.raises(ValueError):
        ST.Stimulus.concat_take(parts, np.arange(n - 1))
