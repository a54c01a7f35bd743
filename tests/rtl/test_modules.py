"""Each rtl/ module on its own, exhaustive at small widths (tests/rtl/module_sim.py on Icarus),
against pyref's definitions or plain Python formulas written from docs/arithmetic.md."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from module_sim import run_module, signed
from sim_skip import require_simulator

from pyref.config import ROUNDING_MODES as ROUNDINGS
from pyref.rounding import round_shift_scalar

pytestmark = pytest.mark.rtl

SHIFT_MODES = [m for m in ROUNDINGS if m not in ("gemmlowp", "fp32")]


@pytest.fixture(autouse=True)
def _icarus():
    require_simulator("icarus")


@pytest.mark.parametrize("mode", SHIFT_MODES)
def test_round_shift_every_10_bit_value_and_shift(mode, tmp_path):
    """qmac_round_shift, W = 10: every value, every shift 0 .. 15 (past W + 1 = 11 too)."""
    code = ROUNDINGS.index(mode)
    vin, vout = run_module(
        "qmac_round_shift",
        {"W": 10, "T_BITS": 4, "ROUNDING": code},
        [("v_i", 10), ("t_i", 4)],
        [("r_o", 10)],
        tmp_path,
    )
    v, t, r = signed(vin["v_i"], 10), vin["t_i"], signed(vout["r_o"], 10)
    want = np.array([round_shift_scalar(int(a), int(b), mode) for a, b in zip(v, t)], object)
    bad = np.flatnonzero(r != want)
    assert len(v) == 1 << 14 and not len(bad), [
        (int(v[i]), int(t[i]), int(r[i]), int(want[i])) for i in bad[:5]
    ]
    # hand-worked: 6 / 4 and -6 / 4 (ties), 7 / 4
    hand = {
        "floor": (1, -2, 1),
        "trunc": (1, -1, 1),
        "half_up": (2, -1, 2),
        "half_down": (1, -2, 2),
        "half_zero": (1, -1, 2),
        "half_away": (2, -2, 2),
        "half_even": (2, -2, 2),
    }[mode]
    got = tuple(int(r[(t == 2) & (v == a)][0]) for a in (6, -6, 7))
    assert got == hand


@pytest.mark.parametrize("in_w,out_w", [(7, 4), (7, 7), (5, 8), (6, 2)])
def test_sat_every_value(in_w, out_w, tmp_path):
    """qmac_sat: clip (IN_W > OUT_W), equal width, sign extension."""
    vin, vout = run_module(
        "qmac_sat", {"IN_W": in_w, "OUT_W": out_w}, [("v_i", in_w)], [("s_o", out_w)], tmp_path
    )
    v, s = signed(vin["v_i"], in_w), signed(vout["s_o"], out_w)
    lo, hi = -(1 << (out_w - 1)), (1 << (out_w - 1)) - 1
    want = np.array([min(max(int(a), lo), hi) for a in v], object)
    assert (s == want).all()
    assert len(v) == 1 << in_w


@pytest.mark.parametrize("mode", SHIFT_MODES)
def test_requant_round_shift_modes(mode, tmp_path):
    """qmac_requant_round, shift modes: round_shift then saturate to OUT_BITS + 2 bits; every
    10-bit product and shift 0 .. 7, OUT_BITS = 3 (so the intermediate clamp is hit both ways)."""
    code = ROUNDINGS.index(mode)
    vin, vout = run_module(
        "qmac_requant_round",
        {"P_BITS": 10, "SHIFT_BITS": 3, "ROUNDING": code, "OUT_BITS": 3},
        [("p_i", 10), ("shift_i", 3)],
        [("r_o", 5)],
        tmp_path,
    )
    p, t, r = signed(vin["p_i"], 10), vin["shift_i"], signed(vout["r_o"], 5)
    want = np.array(
        [min(max(round_shift_scalar(int(a), int(b), mode), -16), 15) for a, b in zip(p, t)], object
    )
    assert (r == want).all()
    assert (want == 15).any() and (want == -16).any() and (want == 14).any()


def test_requant_round_gemmlowp_nudge_edges(tmp_path):
    """qmac_requant_round, gemmlowp: random products and the ones one below / on / one above a
    tie of the nudge (p mod 2^31 = 2^30 - 1, 2^30, 2^30 + 1), against the formula
    h = floor((p + 2^30) / 2^31), r = round half away (h / 2^-s), saturated."""
    from pyref.fixed_point import rounding_divide_by_pot_scalar

    def half_away(h: int, e: int) -> int:  # also for e = 32, past gemmlowp's own range
        if e <= 31:
            return rounding_divide_by_pot_scalar(h, e)
        q = (abs(h) + (1 << (e - 1))) >> e
        return q if h >= 0 else -q

    vin, vout = run_module(
        "qmac_requant_round",
        {"P_BITS": 40, "SHIFT_BITS": 6, "ROUNDING": 7, "OUT_BITS": 8},
        [("p_i", 40), ("shift_i", 6)],
        [("r_o", 10)],
        tmp_path,
        count=20000,
        seed=3,
    )
    p, s, r = signed(vin["p_i"], 40), signed(vin["shift_i"], 6), signed(vout["r_o"], 10)
    want = []
    for a, b in zip(p, s):
        h = (int(a) + (1 << 30)) >> 31
        want.append(min(max(half_away(h, max(-int(b), 0)), -512), 511))
    # p + 2^30 wraps in P_BITS bits at the very top (never for a real 32 x 32 product)
    fits = np.array([int(a) + (1 << 30) < (1 << 39) for a in p])
    assert fits.mean() > 0.99
    assert (r[fits] == np.array(want, object)[fits]).all()


def test_requant_round_gemmlowp_nudge_exact(tmp_path):
    """Every edge of the nudge near zero and far out: p = c * 2^31 + 2^30 + d for d in -2 .. 2,
    c in -200 .. 199, shift 0 and -1 (hand-worked: d < 0 rounds h down, d >= 0 up)."""
    values = [
        {"p_i": c * (1 << 31) + (1 << 30) + d, "shift_i": s}
        for c in range(-200, 200)
        for d in range(-2, 3)
        for s in (0, 63)
    ]
    vin, vout = run_module(
        "qmac_requant_round",
        {"P_BITS": 40, "SHIFT_BITS": 6, "ROUNDING": 7, "OUT_BITS": 8},
        [("p_i", 40), ("shift_i", 6)],
        [("r_o", 10)],
        tmp_path,
        values=values,
    )
    r = signed(vout["r_o"], 10)
    for i, v in enumerate(values):
        c, d = divmod(v["p_i"] - (1 << 30) + 2, 1 << 31)
        d -= 2  # p = c 2^31 + 2^30 + d, d in -2 .. 2
        h = c + (1 if d >= 0 else 0)  # floor((c 2^31 + 2^30 + d + 2^30) / 2^31)
        if v["shift_i"] == 63:  # s = -1: h / 2 rounded half away from zero
            h = (abs(h) + 1) // 2 * (1 if h >= 0 else -1)
        assert int(r[i]) == min(max(h, -512), 511), (v, int(r[i]), h)


@pytest.mark.parametrize("out_bits", [3])
def test_out_stage_every_input(out_bits, tmp_path):
    """qmac_out_stage: y = clamp(r + out_zp, act_min, act_max), sat when clamped; every r,
    out_zp, act_min <= act_max at OUT_BITS = 3."""
    vin, vout = run_module(
        "qmac_out_stage",
        {"OUT_BITS": out_bits},
        [
            ("r_i", out_bits + 2),
            ("out_zp_i", out_bits),
            ("act_min_i", out_bits),
            ("act_max_i", out_bits),
        ],
        [("y_o", out_bits), ("sat_o", 1)],
        tmp_path,
    )
    r = signed(vin["r_i"], out_bits + 2)
    zp, lo, hi = (signed(vin[k], out_bits) for k in ("out_zp_i", "act_min_i", "act_max_i"))
    y, sat = signed(vout["y_o"], out_bits), vout["sat_o"]
    ok = lo <= hi
    z = r + zp
    want_y = np.array([min(max(int(a), int(b)), int(c)) for a, b, c in zip(z, lo, hi)], object)
    want_sat = np.array([int(a < b or a > c) for a, b, c in zip(z, lo, hi)], object)
    assert (y[ok] == want_y[ok]).all() and (sat[ok] == want_sat[ok]).all()
    assert ok.sum() == 32 * 8 * 36


@pytest.mark.parametrize("acc_mode", [0, 1])
def test_accum_every_input(acc_mode, tmp_path):
    """qmac_accum, ACC_BITS = 6, BIAS_BITS = 5, SUM_BITS = 5: every first, bias, acc, sum."""
    vin, vout = run_module(
        "qmac_accum",
        {"ACC_BITS": 6, "ACC_MODE": acc_mode, "BIAS_BITS": 5, "SUM_BITS": 5},
        [("first_i", 1), ("bias_i", 5), ("acc_i", 6), ("sum_i", 5)],
        [("acc_d_o", 6)],
        tmp_path,
    )
    first = vin["first_i"]
    base = np.where(first == 1, signed(vin["bias_i"], 5), signed(vin["acc_i"], 6))
    total = base + signed(vin["sum_i"], 5)
    if acc_mode:
        want = np.array([min(max(int(v), -32), 31) for v in total], object)
    else:
        want = np.array([(int(v) + 32) % 64 - 32 for v in total], object)
    got = signed(vout["acc_d_o"], 6)
    assert (got == want).all()
    assert (total == 32).any() and (total == -33).any()  # one past each limit is swept


@pytest.mark.parametrize("lanes,signed_x", [(1, 1), (2, 0), (3, 1), (3, 0), (5, 0), (6, 0), (6, 1)])
def test_beat_sum(lanes, signed_x, tmp_path):
    """qmac_beat_sum, 2-bit x and w: every beat for up to 3 lanes, 50 000 random beats above
    (unsigned x with LANES % 4 != 0 exercises the remainder lanes' zero extension)."""
    in_bits, w_bits = 2, 2
    # in_bits + w_bits hold one product for unsigned x too: 3 * -2 = -6 >= -8.
    sum_bits = in_bits + w_bits + max(lanes - 1, 0).bit_length()
    total = lanes * (in_bits + w_bits)
    vin, vout = run_module(
        "qmac_beat_sum",
        {"LANES": lanes, "IN_BITS": in_bits, "IN_SIGNED": signed_x, "W_BITS": w_bits},
        [("x_i", lanes * in_bits), ("w_i", lanes * w_bits)],
        [("sum_o", sum_bits)],
        tmp_path,
        count=None if total <= 12 else 50000,
        seed=lanes,
    )
    want = []
    for xv, wv in zip(vin["x_i"], vin["w_i"]):
        s = 0
        for lane in range(lanes):
            x = (int(xv) >> (lane * in_bits)) & 3
            w = (int(wv) >> (lane * w_bits)) & 3
            x = x - 4 if signed_x and x >= 2 else x
            w = w - 4 if w >= 2 else w
            s += x * w
        want.append(s)
    got = signed(vout["sum_o"], sum_bits)
    assert (got == np.array(want, object)).all()


def test_module_sweeps_catch_boundary_faults(tmp_path):
    """The saturator's bound one off and gemmlowp's nudge one off (faults of the fault table)
    fail the module sweeps that cover them."""
    from tb.shared.faults import apply_fault, fault_by_name

    rtl = apply_fault(fault_by_name("sat_max_one_off"), tmp_path / "sat")
    vin, vout = run_module(
        "qmac_sat",
        {"IN_W": 6, "OUT_W": 4},
        [("v_i", 6)],
        [("s_o", 4)],
        tmp_path / "sat_run",
        rtl=rtl,
    )
    s = dict(zip(signed(vin["v_i"], 6).tolist(), signed(vout["s_o"], 4).tolist()))
    assert s[7] == 7 and s[8] == 6  # 8 must saturate to 7: one off
    rtl = apply_fault(fault_by_name("gemmlowp_nudge_plus_one"), tmp_path / "nudge")
    p = 5 * (1 << 31) + (1 << 30) - 1  # one below a tie: h = 5, not 6
    vin, vout = run_module(
        "qmac_requant_round",
        {"P_BITS": 40, "SHIFT_BITS": 6, "ROUNDING": 7, "OUT_BITS": 8},
        [("p_i", 40), ("shift_i", 6)],
        [("r_o", 10)],
        tmp_path / "nudge_run",
        values=[{"p_i": p, "shift_i": 0}],
        rtl=rtl,
    )
    assert int(signed(vout["r_o"], 10)[0]) == 6


def _fp32_acc_values(rng: np.random.Generator) -> list[int]:
    """Random 32-bit accumulators of every magnitude, and the rounding edges of binary32:
    2^k, 2^k +- 1, (2^24 + 1) * 2^j (ties), (2^24 + 1) * 2^j +- 1, -2^31, 0."""
    vals = [0, -(1 << 31), (1 << 31) - 1, 1, -1]
    for k in range(31):
        vals += [(1 << k) + d for d in (-1, 0, 1)]
    for j in range(7):
        for base in ((1 << 24) + 1, (1 << 24) + 3, (1 << 25) - 1):
            vals += [base * (1 << j) + d for d in (-1, 0, 1) if base * (1 << j) + d < 1 << 31]
    vals += [-v for v in vals if 0 < v < 1 << 31]
    bits = rng.integers(0, 32, 6000)
    vals += [int(v) for v in rng.integers(-(1 << 62), 1 << 62, 6000) >> (62 - bits)]
    return vals


def test_fp32_normalize(tmp_path):
    """qmac_fp32_normalize: fl32(|acc|) = mant * 2^(exp - 23), against numpy's float32
    conversion (round to nearest, ties to even)."""
    vals = _fp32_acc_values(np.random.default_rng(4))
    _, vout = run_module(
        "qmac_fp32_normalize",
        {},
        [("acc_i", 32)],
        [("sign_o", 1), ("mant_o", 24), ("exp_o", 6)],
        tmp_path,
        values=[{"acc_i": v} for v in vals],
    )
    for i, v in enumerate(vals):
        mant, exp = int(vout["mant_o"][i]), int(vout["exp_o"][i])
        fl = int(np.float32(abs(v)))
        assert int(vout["sign_o"][i]) == (v < 0), v
        if v == 0:
            assert mant == 0 and exp == 0
            continue
        assert (1 << 23) <= mant < (1 << 24), (v, mant)
        got = mant << (exp - 23) if exp >= 23 else Fraction(mant, 1 << (23 - exp))
        assert got == fl, (v, mant, exp, fl)


def test_fp32_mul_then_fp32_round(tmp_path):
    """qmac_fp32_mul then qmac_fp32_round (through qmac_requant_mul / _round's fp32 word):
    r = round_half_even(fl32(fl32(acc) * scale)), saturated to OUT_BITS + 2 bits, against
    numpy float32 arithmetic and Fraction."""
    from tb.shared import fp32_values

    rng = np.random.default_rng(6)
    accs = _fp32_acc_values(rng)[:4000]
    exps = rng.integers(100, 135, len(accs))
    scales = [int(e) << 23 | int(m) for e, m in zip(exps, rng.integers(0, 1 << 23, len(accs)))]
    # directed: ties of the final rounding and of the product's rounding, and their neighbours
    # (the stimulus's builders; the expected values below do not use them)
    for i in range(600):
        n, sign = int(rng.integers(0, 100)), (1, -1)[i % 2]
        for pair in (
            fp32_values.final_tie(rng, n, sign, (1 << 31) - 1),
            fp32_values.near_half(
                rng, n, sign, ("below", "tie_below", "tie_above")[i % 3], (1 << 31) - 1
            ),
        ):
            if pair is not None:
                accs.append(int(pair[0]))
                scales.append(int(pair[1]))
    # exact products one ulp from n + 1/2, a quarter ulp above a product tie (both product
    # shapes), and products whose rounding carries into the next binade
    for i in range(240):
        kind, top, sign = fp32_values.ULP_KINDS[i % 3], (i // 3) % 2, (1, -1)[(i // 6) % 2]
        ns = fp32_values.tie_neighbour_ns(kind, top, 127, (1 << 31) - 1)
        for pair in (
            fp32_values.tie_neighbour(rng, kind, ns[i % len(ns)], sign, top, (1 << 31) - 1),
            fp32_values.product_carry(rng, i % 7, sign, (1 << 31) - 1),
        ):
            accs.append(int(pair[0]))
            scales.append(int(pair[1]))
    _, vmul = run_module(
        "qmac_fp32_mul",
        {},
        [("acc_i", 32), ("scale_i", 32)],
        [("sign_o", 1), ("exp_o", 9), ("prod_o", 48)],
        tmp_path / "mul",
        values=[{"acc_i": a, "scale_i": s} for a, s in zip(accs, scales)],
    )
    words = [
        {
            "sign_i": int(vmul["sign_o"][i]),
            "exp_i": int(vmul["exp_o"][i]),
            "prod_i": int(vmul["prod_o"][i]),
        }
        for i in range(len(accs))
    ]
    _, vr = run_module(
        "qmac_fp32_round",
        {"OUT_BITS": 8},
        [("sign_i", 1), ("exp_i", 9), ("prod_i", 48)],
        [("r_o", 10)],
        tmp_path / "round",
        values=words,
    )
    r = signed(vr["r_o"], 10)
    for i, (a, s) in enumerate(zip(accs, scales)):
        scale = np.frombuffer(np.uint32(s).tobytes(), dtype=np.float32)[0]
        v = np.float32(a) * scale  # binary32 product, rounded once
        q = Fraction(float(v))
        n = q.numerator // q.denominator  # floor, then half to even
        rem = q - n
        n += 1 if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and n % 2) else 0
        assert int(r[i]) == min(max(n, -512), 511), (a, hex(s), float(v), int(r[i]))
