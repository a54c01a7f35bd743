"""The HDL specification (prove/spec/) beside pyref: each spec module run on Icarus over every
input at small widths, or many random ones at full width, with tests/rtl/module_sim.py."""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from pyref.config import ROUNDING_MODES as ROUNDINGS
from pyref.fixed_point import (
    rounding_divide_by_pot_scalar,
    saturating_rounding_doubling_high_mul_scalar,
)
from pyref.fp32_math import R_LIMIT, fp32_requantize, fp32_stages
from pyref.rounding import round_shift_scalar

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rtl"))
from module_sim import run_module, signed  # noqa: E402
from sim_skip import require_simulator  # noqa: E402

pytestmark = pytest.mark.rtl
SPEC = Path(__file__).resolve().parents[2] / "prove" / "spec"
SHIFT_MODES = [m for m in ROUNDINGS if m not in ("gemmlowp", "fp32")]


@pytest.fixture(autouse=True)
def _icarus():
    require_simulator("icarus")


def clip(v: int, bits: int) -> int:
    return min(max(v, -(1 << (bits - 1))), (1 << (bits - 1)) - 1)


@pytest.mark.parametrize("mode", SHIFT_MODES)
def test_round_shift_every_value(mode, tmp_path):
    """spec_round_shift, W = 9: every value and shift 0 .. 15 against pyref's rounding."""
    vin, vout = run_module(
        "spec_round_shift",
        {"W": 9, "T_BITS": 4, "ROUNDING": ROUNDINGS.index(mode)},
        [("v_i", 9), ("t_i", 4)],
        [("r_o", 9)],
        tmp_path,
        rtl=SPEC,
    )
    v, t, r = signed(vin["v_i"], 9), vin["t_i"], signed(vout["r_o"], 9)
    want = [round_shift_scalar(int(a), int(b), mode) for a, b in zip(v, t)]
    assert list(r) == want


@pytest.mark.parametrize("in_w,out_w", [(7, 4), (4, 4), (4, 6)])
def test_sat_every_value(in_w, out_w, tmp_path):
    """spec_sat: clipping, equal width and sign extension."""
    vin, vout = run_module(
        "spec_sat",
        {"IN_W": in_w, "OUT_W": out_w},
        [("v_i", in_w)],
        [("s_o", out_w)],
        tmp_path,
        rtl=SPEC,
    )
    assert list(signed(vout["s_o"], out_w)) == [
        clip(int(v), out_w) for v in signed(vin["v_i"], in_w)
    ]


def test_out_stage_every_input(tmp_path):
    """spec_out_stage, OUT_BITS = 3: every r, out_zp, act_min <= act_max."""
    vin, vout = run_module(
        "spec_out_stage",
        {"OUT_BITS": 3},
        [("r_i", 5), ("out_zp_i", 3), ("act_min_i", 3), ("act_max_i", 3)],
        [("y_o", 3), ("sat_o", 1)],
        tmp_path,
        rtl=SPEC,
    )
    r, zp = signed(vin["r_i"], 5), signed(vin["out_zp_i"], 3)
    lo, hi = signed(vin["act_min_i"], 3), signed(vin["act_max_i"], 3)
    y = signed(vout["y_o"], 3)
    checked = 0
    for i in np.flatnonzero(lo <= hi):
        exact = int(r[i]) + int(zp[i])
        want = min(max(exact, int(lo[i])), int(hi[i]))
        assert (int(y[i]), int(vout["sat_o"][i])) == (want, int(want != exact))
        checked += 1
    assert checked == 32 * 8 * 36


@pytest.mark.parametrize("mode", [0, 1])
def test_accum_every_input(mode, tmp_path):
    """spec_accum, 5-bit accumulator, 3-bit bias, 4-bit sum: wrap and saturate."""
    vin, vout = run_module(
        "spec_accum",
        {"ACC_BITS": 5, "ACC_MODE": mode, "BIAS_BITS": 3, "SUM_BITS": 4},
        [("first_i", 1), ("bias_i", 3), ("acc_i", 5), ("sum_i", 4)],
        [("acc_d_o", 5)],
        tmp_path,
        rtl=SPEC,
    )
    base = np.where(vin["first_i"] == 1, signed(vin["bias_i"], 3), signed(vin["acc_i"], 5))
    exact = base + signed(vin["sum_i"], 4)
    want = [clip(int(e), 5) if mode else ((int(e) + 16) % 32) - 16 for e in exact]
    assert list(signed(vout["acc_d_o"], 5)) == want


@pytest.mark.parametrize("in_signed", [0, 1])
def test_beat_sum_every_input(in_signed, tmp_path):
    """spec_beat_sum, 3 lanes of 2-bit x and 2-bit w: every input."""
    vin, vout = run_module(
        "spec_beat_sum",
        {"LANES": 3, "IN_BITS": 2, "IN_SIGNED": in_signed, "W_BITS": 2},
        [("x_i", 6), ("w_i", 6)],
        [("sum_o", 6)],
        tmp_path,
        rtl=SPEC,
    )
    want = []
    for xv, wv in zip(vin["x_i"], vin["w_i"]):
        xs = [(int(xv) >> (2 * k)) & 3 for k in range(3)]
        ws = [(int(wv) >> (2 * k)) & 3 for k in range(3)]
        xs = [x - 4 if in_signed and x >= 2 else x for x in xs]
        ws = [w - 4 if w >= 2 else w for w in ws]
        want.append(sum(x * w for x, w in zip(xs, ws)))
    assert list(signed(vout["sum_o"], 6)) == want


def test_requant_mul_and_round_gemmlowp(tmp_path):
    """spec_requant_mul and spec_requant_round, gemmlowp: random (acc, M, s) and ties, against
    pyref's SaturatingRoundingDoublingHighMul and RoundingDivideByPOT."""
    rng = np.random.default_rng(7)
    vals = [
        {"acc_i": int(a) & 0xFFFFFFFF, "mult_i": int(m), "shift_i": int(s) & 63}
        for a, m, s in zip(
            rng.integers(-(2**31), 2**31, 3000),
            rng.integers(0, 2**31, 3000),
            rng.integers(-31, 31, 3000),
        )
    ]
    vals += [
        {"acc_i": 1, "mult_i": 1 << 30, "shift_i": 63},
        {"acc_i": 2**32 - 3, "mult_i": 3 << 29, "shift_i": 62},
    ]
    params = {"ACC_BITS": 32, "MULT_BITS": 32, "SHIFT_BITS": 6, "ROUNDING": 7}
    _, p = run_module(
        "spec_requant_mul",
        params,
        [("acc_i", 32), ("mult_i", 32), ("shift_i", 6)],
        [("p_o", 64)],
        tmp_path / "mul",
        values=vals,
        rtl=SPEC,
    )
    rv = [{"p_i": int(pp), "shift_i": v["shift_i"]} for pp, v in zip(p["p_o"], vals)]
    _, r = run_module(
        "spec_requant_round",
        {"P_BITS": 64, "SHIFT_BITS": 6, "ROUNDING": 7, "OUT_BITS": 8},
        [("p_i", 64), ("shift_i", 6)],
        [("r_o", 10)],
        tmp_path / "round",
        values=rv,
        rtl=SPEC,
    )
    for v, got in zip(vals, signed(r["r_o"], 10)):
        acc = v["acc_i"] - (1 << 32) * (v["acc_i"] >> 31)
        s = v["shift_i"] - 64 * (v["shift_i"] >> 5)
        x = ((acc << max(s, 0)) + 2**31) % 2**32 - 2**31
        h = saturating_rounding_doubling_high_mul_scalar(x, v["mult_i"])
        assert int(got) == clip(rounding_divide_by_pot_scalar(h, max(-s, 0)), 10), v
    assert list(signed(r["r_o"], 10)[-2:]) == [1, -1]  # arithmetic.md's double rounding


def test_fp32_against_pyref(tmp_path):
    """spec_fp32_mul (through spec_fp32_normalize) and spec_fp32_round against
    pyref.fp32_math: random accumulators of every magnitude and scales."""
    rng = np.random.default_rng(3)
    bits = rng.integers(0, 32, 4000)
    acc = (rng.integers(0, 2**31, 4000) >> (31 - bits)) * rng.choice([-1, 1], 4000)
    acc = np.concatenate([acc, [0, -(2**31), 2**31 - 1, 2**24 + 1, 2**24 + 3, 8463219, 25]])
    mult = rng.integers(0x00800000, 0x7F7FFFFF, len(acc))
    mult[-3:] = [
        0x4B7FBABB - (0x4B7FBABB & 0x7FFFFF) + (16759227 & 0x7FFFFF),
        0x3E2AAAAA,
        0x3EA3D70A,
    ]
    mult = (mult & 0x7FFFFF) | (rng.integers(90, 140, len(acc)) << 23)
    vals = [{"acc_i": int(a) & 0xFFFFFFFF, "scale_i": int(m)} for a, m in zip(acc, mult)]
    _, out = run_module(
        "spec_fp32_mul",
        {},
        [("acc_i", 32), ("scale_i", 32)],
        [("sign_o", 1), ("exp_o", 9), ("prod_o", 48)],
        tmp_path / "mul",
        values=vals,
        rtl=SPEC,
    )
    st = fp32_stages(acc, mult)
    # |fl32(acc) * scale| = prod * 2^(exp - 173), the same number as pyref's
    spec = [
        Fraction(int(p)) * Fraction(2) ** (int(e) - 173)
        for p, e in zip(out["prod_o"], out["exp_o"])
    ]
    ref = [Fraction(int(p)) * Fraction(2) ** int(e) for p, e in zip(st["prod"], st["prod_exp"])]
    assert spec == ref
    assert list(out["sign_o"]) == [int(a < 0) for a in acc]
    rv = [
        {"sign_i": int(s), "exp_i": int(e), "prod_i": int(p)}
        for s, e, p in zip(out["sign_o"], out["exp_o"], out["prod_o"])
    ]
    _, r = run_module(
        "spec_fp32_round",
        {"OUT_BITS": 16},
        [("sign_i", 1), ("exp_i", 9), ("prod_i", 48)],
        [("r_o", 18)],
        tmp_path / "round",
        values=rv,
        rtl=SPEC,
    )
    want = [clip(int(v), 18) for v in np.clip(fp32_requantize(acc, mult), -R_LIMIT, R_LIMIT)]
    assert list(signed(r["r_o"], 18)) == want
