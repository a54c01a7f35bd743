"""The layer model (run_layer) and the beat model (predict_jobs) against a plain-integer triple
loop that follows the contract, on every named config, hand-worked layers and random configs."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import spec_reference as ref
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyref.beats import layer_to_beats, predict_jobs
from pyref.config import NAMED_CONFIGS, ROUNDING_MODES, QmacConfig
from pyref.layer import Layer
from pyref.model import compute, exact_matmul, run_layer
from pyref.tflite_math import quantize_multiplier


def run_both(cfg, ops):
    """run_layer and predict_jobs on the same operands; both must agree with the reference."""
    layer = Layer.build(cfg, **ops)
    res = run_layer(layer, cfg)
    jobs = predict_jobs(layer_to_beats(layer, cfg), cfg)
    n, c = layer.n, layer.c
    for field in ("y", "saturated", "acc", "overflow"):
        assert np.array_equal(getattr(jobs, field).reshape(n, c), getattr(res, field)), field
    return res


def reference(cfg, ops):
    c = len(ops["w"])
    out_lo, out_hi = cfg.out_range
    given = dict(bias=0, mult=0, shift=0, out_zp=0, act_min=out_lo, act_max=out_hi)
    given.update({k: v for k, v in ops.items() if k not in ("x", "w")})
    per_ch = {k: (list(v) if np.ndim(v) else [v] * c) for k, v in given.items()}
    return ref.layer(
        cfg,
        ops["x"],
        ops["w"],
        per_ch["bias"],
        per_ch["mult"],
        per_ch["shift"],
        per_ch["out_zp"],
        per_ch["act_min"],
        per_ch["act_max"],
    )


def assert_matches_reference(cfg, ops):
    res = run_both(cfg, ops)
    y, sat, acc, ovf = reference(cfg, ops)
    assert res.y.tolist() == y
    assert res.saturated.tolist() == sat
    assert res.acc.tolist() == acc
    assert res.overflow.tolist() == ovf
    assert res.n_saturated == sum(map(sum, sat))
    assert res.n_overflow == sum(map(sum, ovf))
    return res


# ----- hand-worked layers -----------------------------------------------------------------------

S4 = dict(in_bits=4, w_bits=4, acc_bits=8, bias_bits=8, out_bits=8, rounding="floor")


@pytest.mark.parametrize(
    "lanes, acc_mode, want_y, want_overflow",
    [
        # products 49, -56, 1 and bias 100; the exact sum is 94.
        (1, "saturate", 72, True),  # 100+49 = 149 -> 127; 127-56 = 71; 71+1 = 72
        (2, "saturate", 94, False),  # beats (49-56), (1 + padding): 100-7 = 93; 94
        (3, "saturate", 94, False),  # one beat: 100-6
        (1, "wrap", 94, False),  # wrap is order-free: the intermediate 149 wraps back
    ],
)
def test_saturate_order_is_beat_by_beat(lanes, acc_mode, want_y, want_overflow):
    cfg = QmacConfig(lanes=lanes, acc_mode=acc_mode, **S4)
    ops = dict(x=[[7, -8, 1]], w=[[7, 7, 1]], bias=[100], shift=[0])
    res = assert_matches_reference(cfg, ops)
    assert res.y.tolist() == [[want_y]]
    assert res.acc.tolist() == [[want_y]]
    assert res.overflow.tolist() == [[want_overflow]]


@pytest.mark.parametrize(
    "acc_mode, bias, x, want_acc",
    [
        ("wrap", 100, [7, 7], 198 - 256),  # 100 + 98 wraps to -58
        ("saturate", 100, [7, 7], 127),  # 149 -> 127, 176 -> 127
        ("wrap", -100, [-8, -8], 44),  # -100 - 112 = -212 wraps to 44
        ("saturate", -100, [-8, -8], -128),
    ],
)
def test_accumulator_overflow_hand_worked(acc_mode, bias, x, want_acc):
    cfg = QmacConfig(lanes=1, acc_mode=acc_mode, **S4)
    res = assert_matches_reference(cfg, dict(x=[x], w=[[7, 7]], bias=[bias], shift=[0]))
    assert res.acc.tolist() == [[want_acc]]
    assert res.overflow.tolist() == [[True]]
    assert res.n_overflow == 1


def test_requantize_and_clamp_hand_worked():
    # dot = 3*10 - 5*20 = -70. Channel 0: (-70 + 6) / 8 = -8, + out_zp 5 = -3, clamped to
    # act_min -2. Channel 1: (-70 - 6) / 8 = -9.5 -> half_up -9, + 5 = -4.
    cfg = QmacConfig()
    ops = dict(
        x=[[3, -5]],
        w=[[10, 20], [10, 20]],
        bias=[6, -6],
        shift=[3, 3],
        out_zp=5,
        act_min=[-2, -128],
        act_max=[127, 127],
    )
    res = assert_matches_reference(cfg, ops)
    assert res.y.tolist() == [[-2, -4]]
    assert res.saturated.tolist() == [[True, False]]
    assert res.n_saturated == 1
    # ties to even instead: -9.5 -> -10, + 5 = -5
    res = assert_matches_reference(cfg.replace(rounding="half_even"), ops)
    assert res.y.tolist() == [[-2, -5]]


def test_saturate_long_runs_then_recovery():
    # 12-bit accumulator, 2 lanes: 24 beats of +98 then 8 beats of -98. The sum clips at 2047
    # on beat 21 and stays there to beat 24, then comes down by 8 * 98 to 1263 (exact: 1568).
    cfg = QmacConfig(
        lanes=2,
        in_bits=4,
        w_bits=4,
        acc_bits=12,
        bias_bits=12,
        out_bits=12,
        acc_mode="saturate",
        rounding="floor",
    )
    w = [[7] * 48 + [-7] * 16]
    res = assert_matches_reference(cfg, dict(x=[[7] * 64], w=w, bias=[0], shift=[0]))
    assert res.acc.tolist() == [[1263]] and res.y.tolist() == [[1263]]
    assert res.overflow.tolist() == [[True]]
    # Without the clip the same layer is exact: start low enough that nothing reaches a rail.
    res = assert_matches_reference(cfg, dict(x=[[7] * 64], w=w, bias=[-1000], shift=[0]))
    assert res.acc.tolist() == [[568]] and not res.overflow.any()


WIDE = dict(
    lanes=2,
    in_bits=16,
    w_bits=16,
    acc_bits=64,
    bias_bits=64,
    mult_bits=32,
    shift_bits=8,
    rounding="half_away",
    out_bits=16,
)


@pytest.mark.parametrize(
    "acc_mode, want_acc, want_y",
    [
        # bias 2^63 - 1 plus two products of 2^30: wraps to -2^63 + 2^31 - 1, or saturates.
        # r = acc * (2^32 - 1) / 2^95: about -0.99999 -> -1, or +0.99999 -> 1.
        ("wrap", -(1 << 63) + (1 << 31) - 1, -1),
        ("saturate", (1 << 63) - 1, 1),
    ],
)
def test_64_bit_accumulator_and_96_bit_product(acc_mode, want_acc, want_y):
    cfg = QmacConfig(acc_mode=acc_mode, **WIDE)
    ops = dict(
        x=[[-32768, -32768]],
        w=[[-32768, -32768]],
        bias=[(1 << 63) - 1],
        mult=[(1 << 32) - 1],
        shift=[95],
    )
    res = assert_matches_reference(cfg, ops)
    assert res.acc.tolist() == [[want_acc]]
    assert res.y.tolist() == [[want_y]]
    assert res.overflow.tolist() == [[True]]


def test_shift_zero_of_64_bit_accumulator_clamps_exactly():
    # acc = -2^63 - 1 wraps to 2^63 - 1; r + out_zp = 2^63 + 99 is past int64 and must clamp.
    cfg = QmacConfig(in_bits=16, w_bits=16, acc_bits=64, bias_bits=64, out_bits=16)
    ops = dict(x=[[1]], w=[[-1]], bias=[-(1 << 63)], shift=[0], out_zp=100)
    res = assert_matches_reference(cfg, ops)
    assert res.y.tolist() == [[32767]] and res.saturated.tolist() == [[True]]


def test_double_rounding_tie_through_the_layer():
    # acc = 1, M = 2^30, s = -1: gemmlowp gives 1; single rounding (shift 31 - s) gives 0.
    ops = dict(x=[[1]], w=[[1]], bias=[0], mult=[1 << 30], shift=[-1])
    assert assert_matches_reference(NAMED_CONFIGS["tflite"], ops).y.tolist() == [[1]]
    single = QmacConfig(mult_bits=32, rounding="half_up")
    ops["shift"] = [32]
    assert assert_matches_reference(single, ops).y.tolist() == [[0]]


def test_compute_is_build_then_run():
    cfg = NAMED_CONFIGS["per_channel"]
    ops = dict(
        x=[[1, 2, 3]],
        w=[[4, 5, 6], [-7, 8, -9]],
        bias=[10, -10],
        mult=[4000, 3],
        shift=[12, 1],
        out_zp=-3,
    )
    a = compute(cfg, **ops)
    b = run_layer(Layer.build(cfg, **ops), cfg)
    # by hand: acc = 32 + 10 = 42 and -18 - 10 = -28; 42 * 4000 / 2^12 = 41.02 -> 41,
    # -28 * 3 / 2 = -42; plus out_zp -3
    assert a.y.tolist() == b.y.tolist() == [[38, -45]]


def test_exact_matmul_never_loses_bits():
    # Products of (2^26 + 1)^2 sum past 2^53, where a float64 matmul would round them; short
    # (einsum) and long (matmul) inner dimensions.
    big = (1 << 26) + 1
    for k in (4, 100):
        a = np.full((2, k), big, dtype=np.int64)
        a[1] = -big
        got = exact_matmul(a, a[:1].T, big * big)
        assert got.tolist() == [[k * big * big], [-k * big * big]]
    # Long and small: the float64 BLAS path, exact below 2^53.
    rng = np.random.default_rng(5)
    a, b = rng.integers(-128, 128, (3, 300)), rng.integers(-128, 128, (300, 4))
    want = [
        [sum(int(a[i, t]) * int(b[t, j]) for t in range(300)) for j in range(4)] for i in range(3)
    ]
    assert exact_matmul(a, b, 128 * 128).tolist() == want
    with pytest.raises(OverflowError, match="K = 4"):
        exact_matmul(a[:, :4], b[:4], 1 << 62)


# ----- every named config, random operands ------------------------------------------------------


def random_operands(cfg: QmacConfig, rng: np.random.Generator, n: int, c: int, k: int) -> dict:
    """Operands that reach every corner: extremes of every range, overflowing biases, and
    shifts/multipliers that give outputs inside the output range as well as clamped ones."""

    def ints(lo, hi, shape):
        vals = (
            rng.integers(lo, hi, size=shape, endpoint=True, dtype=np.int64)
            if hi - lo < (1 << 62)
            else np.array(
                [
                    int(rng.integers(0, 1 << 62)) * (hi - lo) // (1 << 62) + lo
                    for _ in range(int(np.prod(shape)))
                ],
                dtype=object,
            ).reshape(shape)
        )
        corners = rng.random(shape) < 0.15
        pick = np.where(rng.random(shape) < 0.5, lo, hi)
        return np.where(corners, pick, vals).tolist()

    x = ints(*cfg.in_range, (n, k))
    w = ints(*cfg.w_range, (c, k))
    dot_bits = cfg.in_bits + cfg.w_bits + int(np.ceil(np.log2(k)))
    b_lo, b_hi = cfg.bias_range
    bias = ints(max(b_lo, -(1 << dot_bits)), min(b_hi, 1 << dot_bits), (c,))
    bias[-1] = int(rng.choice([b_lo, b_hi]))  # one channel at the bias extremes
    out_lo, out_hi = cfg.out_range
    if cfg.rounding == "gemmlowp":
        scales = 2.0 ** rng.uniform(-dot_bits + cfg.out_bits - 4, 0, size=c)
        ms, ss = zip(*(quantize_multiplier(float(s)) for s in scales))
        mult, shift = list(ms), list(ss)
        mult[-1], shift[-1] = int(rng.integers(0, 1 << 31)), int(rng.integers(-31, 31))
    elif cfg.rounding == "fp32":
        scales = 2.0 ** rng.uniform(-dot_bits + cfg.out_bits - 4, 0, size=c)
        mult, shift = [_binary32_bits(s) for s in scales], [0] * c
        mult[-1] = int(rng.integers(*cfg.mult_range, endpoint=True))
    else:
        s_lo, s_hi = cfg.shift_range
        m_lo, m_hi = cfg.mult_range if cfg.mult_bits else (0, 0)
        mult = ints(m_lo, m_hi, (c,)) if cfg.mult_bits else [0] * c
        want = dot_bits + cfg.mult_bits - cfg.out_bits
        shift = [int(np.clip(want + rng.integers(-3, 4), s_lo, s_hi)) for _ in range(c)]
        shift[-1] = int(rng.integers(s_lo, s_hi, endpoint=True))
    # Channel 0 is scaled from its own accumulators so that its outputs land inside the range.
    acc_max = max(abs(bias[0] + sum(a * b for a, b in zip(row, w[0]))) for row in x) or 1
    if cfg.rounding == "gemmlowp":
        mult[0], shift[0] = quantize_multiplier(2.0 ** (cfg.out_bits - 3) / acc_max)
    elif cfg.rounding == "fp32":
        mult[0] = _binary32_bits(2.0 ** (cfg.out_bits - 3) / acc_max)
    else:
        bits = (acc_max * (mult[0] if cfg.mult_bits else 1)).bit_length()
        shift[0] = int(np.clip(bits - cfg.out_bits + 3, *cfg.shift_range))
    out_zp = int(rng.integers(out_lo // 4, out_hi // 4, endpoint=True))
    lo = rng.integers(out_lo, out_hi, size=c, endpoint=True)
    hi = rng.integers(out_lo, out_hi, size=c, endpoint=True)
    act_min, act_max = np.minimum(lo, hi).tolist(), np.maximum(lo, hi).tolist()
    act_min[0], act_max[0] = out_lo, out_hi
    return dict(
        x=x, w=w, bias=bias, mult=mult, shift=shift, out_zp=out_zp, act_min=act_min, act_max=act_max
    )


def _binary32_bits(value: float) -> int:
    """The bit pattern of ``value`` rounded to binary32 (struct, not pyref)."""
    return struct.unpack("<I", struct.pack("<f", value))[0]


@pytest.mark.parametrize("name", sorted(NAMED_CONFIGS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_named_config_matches_reference(name, seed):
    cfg = NAMED_CONFIGS[name]
    rng = np.random.default_rng([seed, sorted(NAMED_CONFIGS).index(name)])
    k = 2 * cfg.lanes + 3  # not a multiple of lanes
    res = assert_matches_reference(cfg, random_operands(cfg, rng, n=3, c=5, k=k))
    # Outputs inside the range, not only clamped ones, or the test proves little.
    assert not res.saturated.all()


@pytest.mark.parametrize("name", ["default", "int4_sat", "tflite"])
def test_named_config_extreme_operands(name):
    # Every x and w at a corner of its range: the largest accumulations the config can see.
    cfg = NAMED_CONFIGS[name]
    x_lo, x_hi = cfg.in_range
    w_lo, w_hi = cfg.w_range
    k = 3 * cfg.lanes + 1
    x = [[x_lo] * k, [x_hi] * k, [x_lo, x_hi] * (k // 2) + [x_lo]]
    w = [[w_lo] * k, [w_hi] * k]
    b_lo, b_hi = cfg.bias_range
    mult = [1 << 30, (1 << 31) - 1] if cfg.mult_bits else [0, 0]
    shift = [-1, 0] if cfg.rounding == "gemmlowp" else [0, 1]
    assert_matches_reference(cfg, dict(x=x, w=w, bias=[b_lo, b_hi], mult=mult, shift=shift))


# ----- random valid configs (hypothesis) --------------------------------------------------------


@st.composite
def configs(draw):
    in_bits, w_bits = draw(st.integers(2, 16)), draw(st.integers(2, 16))
    rounding = draw(st.sampled_from(ROUNDING_MODES))
    if rounding == "gemmlowp":
        acc_bits, mult_bits, shift_bits = 32, 32, draw(st.integers(6, 8))
    elif rounding == "fp32":
        acc_bits, mult_bits, shift_bits = 32, 32, draw(st.integers(1, 8))
    else:
        narrow = in_bits + w_bits
        acc_bits = draw(
            st.one_of(
                st.integers(narrow, min(64, narrow + 3)), st.integers(narrow, 64), st.just(64)
            )
        )
        mult_bits = draw(st.one_of(st.just(0), st.integers(1, 32), st.just(32)))
        shift_bits = draw(st.integers(1, 8))
    return QmacConfig(
        lanes=draw(st.sampled_from([1, 2, 3, 4, 5, 8, 16, 64])),
        in_bits=in_bits,
        in_signed=draw(st.booleans()),
        w_bits=w_bits,
        acc_bits=acc_bits,
        acc_mode=draw(st.sampled_from(("wrap", "saturate"))),
        bias_bits=draw(st.one_of(st.integers(1, acc_bits), st.just(acc_bits))),
        mult_bits=mult_bits,
        shift_bits=shift_bits,
        rounding=rounding,
        out_bits=draw(st.integers(2, min(16, acc_bits))),
    )


def in_range(lo, hi):
    return st.one_of(st.integers(lo, hi), st.sampled_from([lo, hi, 0, min(hi, 1), max(lo, -1)]))


@st.composite
def layers(draw):
    cfg = draw(configs())
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    k = draw(st.integers(1, min(40, 2 * cfg.lanes + 3)))
    x = draw(
        st.lists(st.lists(in_range(*cfg.in_range), min_size=k, max_size=k), min_size=n, max_size=n)
    )
    w = draw(
        st.lists(st.lists(in_range(*cfg.w_range), min_size=k, max_size=k), min_size=c, max_size=c)
    )
    per_ch = lambda s: draw(st.lists(s, min_size=c, max_size=c))  # noqa: E731
    bias = per_ch(in_range(*cfg.bias_range))
    if cfg.rounding == "fp32":
        # Any positive normal binary32, and scales that keep the outputs in range.
        mult = per_ch(
            st.one_of(
                st.integers(*cfg.mult_range),
                st.sampled_from(cfg.mult_range),
                st.floats(2.0**-30, 1.0).map(_binary32_bits),
            )
        )
    elif cfg.mult_bits:
        mult = per_ch(in_range(*cfg.mult_range))
    else:
        mult = [0] * c
    s_lo, s_hi = cfg.shift_range
    if cfg.rounding == "gemmlowp":
        shift = per_ch(in_range(s_lo, s_hi))
    else:
        # Around the shift that brings the accumulator to the output width, and anywhere.
        aim = cfg.in_bits + cfg.w_bits + cfg.mult_bits - cfg.out_bits
        near_lo = min(max(s_lo, aim - 4), s_hi)
        near = st.integers(near_lo, min(s_hi, max(near_lo, aim + 4)))
        shift = per_ch(st.one_of(near, in_range(s_lo, s_hi)))
    out = in_range(*cfg.out_range)
    out_zp = draw(out)
    lims = [sorted(draw(st.lists(out, min_size=2, max_size=2))) for _ in range(c)]
    return cfg, dict(
        x=x,
        w=w,
        bias=bias,
        mult=mult,
        shift=shift,
        out_zp=out_zp,
        act_min=[a for a, _ in lims],
        act_max=[b for _, b in lims],
    )


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=layers())
def test_random_config_matches_reference(case):
    cfg, ops = case
    assert_matches_reference(cfg, ops)


@pytest.mark.slow
@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=layers())
def test_random_config_matches_reference_long(case):
    cfg, ops = case
    assert_matches_reference(cfg, ops)
