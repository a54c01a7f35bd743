"""Functional coverage: which interesting cases the checked outputs actually went through.

Value bins are computed for every job at once from the stimulus and pyref's intermediate values
(accumulator, requantized value, clamp input), then counted over the jobs whose output the
scoreboard checked. Handshake and reset bins are counts kept by the driver, the monitor and the
testbench. Which bins a config *can* reach is derived from the config (and from the handshake
patterns and resets of the run); a reachable bin left empty is a coverage hole, and the
regression fails on holes.

This is a small vectorized module rather than ``cocotb-coverage``: that library samples one
transaction per Python call, while here a whole run (or a whole captured batch) is binned in a
few numpy operations, the same way for the per-cycle and the batch transports.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Mapping

import numpy as np

from pyref.arith import INT64_SAFE_BITS, requantize
from pyref.beats import JobResult, beat_sums
from pyref.config import QmacConfig
from pyref.fixed_point import saturating_rounding_doubling_high_mul_scalar
from pyref.fp32_math import fp32_stages
from pyref.rounding import round_shift, round_shift_scalar

from . import fp32_acc_rounding, fp32_product_rounding, gemmlowp_rounding
from .bins import BINS, EVENT_BINS  # noqa: F401 (declared in tb/shared/bins.py, used here)
from .boundaries import VARIANTS as BOUNDARY_VARIANTS
from .exact_values import OVERFLOW_K_CAP, Unrealizable, acc_cap, extreme_x, overflow_lengths
from .fp32_values import product_carry_pairs, product_sticky, tie_neighbour_ns
from .stimulus import LONG_JOB_BEATS, Stimulus


@dataclasses.dataclass(frozen=True)
class RunShape:
    """What a run can do besides its config: handshake patterns and resets."""

    idle_pauses: bool = True
    idle_runs: bool = True
    ready_pauses: bool = True
    ready_runs: bool = True
    resets: int = 0
    replay: bool = False
    """Replaying a vector file: what it covers depends on the file, no bin is required."""


@functools.lru_cache(maxsize=None)
def tie_outcomes(mode: str) -> frozenset[tuple[str, str]]:
    """``(sign, direction)`` pairs a rounding mode produces on exact ties, found by rounding
    ties with pyref's scalar definition (both parities of the lower neighbour)."""
    out = set()
    for t in (1, 2, 3):
        for odd in (1, 3, 5, 7):
            for sign in (1, -1):
                v = (sign * odd) << (t - 1)
                r = round_shift_scalar(v, t, mode)
                out.add(("pos" if sign > 0 else "neg", "up" if r == (v >> t) + 1 else "down"))
    return frozenset(out)


def reachable(cfg: QmacConfig, run: RunShape = RunShape()) -> dict[str, str | None]:
    """For each bin: None when ``cfg`` (with ``run``) can reach it, else the reason it cannot."""
    why: dict[str, str | None] = {name: None for name in BINS}
    gemm = cfg.rounding == "gemmlowp"
    fp32 = cfg.rounding == "fp32"
    # The last rounding step: gemmlowp rounds half away, fp32 half to even.
    step_mode = "half_away" if gemm else ("half_even" if fp32 else cfg.rounding)
    outcomes = tie_outcomes(step_mode)
    for sign in ("pos", "neg"):
        for d in ("up", "down"):
            if (sign, d) not in outcomes:
                why[f"tie_{sign}_{d}"] = f"{cfg.rounding!r} never rounds a {sign} tie {d}"
    if cfg.shift_range[1] < 1 and not fp32:
        for sign in ("pos", "neg"):
            for d in ("up", "down"):
                why[f"tie_{sign}_{d}"] = "no shift > 0, so no ties"
    if not gemm:
        for name in ("tie_high_mul_pos", "tie_high_mul_neg", "shift_min"):
            why[name] = f"only in gemmlowp mode (rounding is {cfg.rounding!r})"
    if not fp32:
        for name in FP32_BINS:
            why[name] = f"only in fp32 mode (rounding is {cfg.rounding!r})"
    else:
        n_max = (1 << (cfg.out_bits - 1)) - 1
        for name, kind, tops in FP32_NEIGHBOUR_BINS:
            if not any(tie_neighbour_ns(kind, top, n_max, acc_cap(cfg)) for top in tops):
                why[name] = (
                    f"no {kind} product of this shape at n + 1/2 with 0 <= n <= "
                    f"{n_max} (out_bits = {cfg.out_bits}) and |acc| <= {acc_cap(cfg)}"
                )
        if not product_carry_pairs(acc_cap(cfg)):
            why["fp32_product_carry"] = (
                f"no odd |acc| <= {acc_cap(cfg)} has a scale whose "
                "product rounds up to the next binade"
            )
    if (
        fp32
        and product_sticky(np.random.default_rng(0), (1 << (cfg.out_bits - 1)) - 2, 1, acc_cap(cfg))
        is None
    ):
        why["fp32_product_sticky"] = (
            f"no product one LSB above a tie at n + 1/2 with an even 2 <= n <= "
            f"2^(out_bits-1) - 2 (out_bits = {cfg.out_bits}) and an odd 24-bit |acc| <= "
            f"{acc_cap(cfg)}"
        )
    if fp32 and acc_cap(cfg) <= 1 << 24:
        for name in ("fp32_acc_rounded", "fp32_acc_tie"):
            why[name] = (
                f"directed jobs keep |acc| <= {acc_cap(cfg)} (bias_bits = "
                f"{cfg.bias_bits}, {cfg.lanes} lanes): fl32(acc) first rounds above "
                f"2^24"
            )
    if not (gemm or fp32):
        why["double_rounding"] = f"only in gemmlowp and fp32 modes (rounding is {cfg.rounding!r})"
    n_up, n_down = overflow_lengths(cfg)
    if n_up is None:
        why["acc_overflow_high"] = (
            f"bias_bits = {cfg.bias_bits} plus {OVERFLOW_K_CAP} extreme "
            f"products cannot pass the top of acc_bits = {cfg.acc_bits}"
        )
    if n_down is None:
        why["acc_overflow_low"] = (
            f"bias_bits = {cfg.bias_bits} plus {OVERFLOW_K_CAP} extreme "
            f"products cannot pass the bottom of acc_bits = {cfg.acc_bits}"
        )
    if n_up is None and n_down is None:
        why["acc_overflow_back"] = "the accumulator cannot overflow (see acc_overflow_high)"
    if cfg.mult_bits == 0:
        why["mult_zero"] = why["mult_max"] = "mult_bits = 0: no multiplier"
    if fp32:
        why["mult_zero"] = "fp32: the scale is a positive normal binary32, never 0"
    if cfg.lanes == 1:
        why["padded_job"] = "lanes = 1: every K fills whole beats"
    if not run.idle_runs:
        why["back_to_back_jobs"] = "the idle pattern never leaves two cycles free in a row"
        why["back_to_back_outputs"] = why["back_to_back_jobs"]
    if not run.ready_runs:
        why["back_to_back_outputs"] = "the ready pattern never stays high two cycles in a row"
    if not run.idle_pauses:
        why["idle_gap"] = "the idle pattern never pauses"
    if not run.ready_pauses:
        why["out_stall"] = why["in_stall"] = "the ready pattern never lowers out_ready_i"
    why.update(boundary_reasons(cfg))
    if run.resets <= 0:
        for name in ("reset_mid_job", "orphan_beats", "exact_after_reset"):
            why[name] = "the run asserts no reset mid-job"
    return why


FP32_BINS = (
    "fp32_acc_rounded",
    "fp32_acc_tie",
    "fp32_product_tie",
    "fp32_product_sticky",
    "fp32_ulp_below_p47",
    "fp32_ulp_below_p48",
    "fp32_ulp_above",
    "fp32_sticky_high_p47",
    "fp32_sticky_high_p48",
    "fp32_product_carry",
)
"""The bins only the fp32 mode reaches."""

FP32_NEIGHBOUR_BINS = (
    ("fp32_ulp_below_p47", "ulp_below", (0,)),
    ("fp32_ulp_below_p48", "ulp_below", (1,)),
    ("fp32_ulp_above", "ulp_above", (0, 1)),
    ("fp32_sticky_high_p47", "sticky_high", (0,)),
    ("fp32_sticky_high_p48", "sticky_high", (1,)),
)
"""``(bin, kind of tb.shared.fp32_values.tie_neighbour, product shapes that hit it)``."""


BOUNDARY_BINS = tuple(name for name, _ in BOUNDARY_VARIANTS)
"""The bins of the boundary stimulus, one per variant of :mod:`tb.shared.boundaries`."""


@functools.lru_cache(maxsize=None)
def _boundary_reasons(cfg: QmacConfig) -> tuple[tuple[str, str | None], ...]:
    out = []
    for name, build in BOUNDARY_VARIANTS:
        reason = None
        for seed in range(4):  # the builders draw values: a few tries decide
            try:
                build(cfg, np.random.default_rng(seed))
                reason = None
                break
            except Unrealizable as e:
                reason = f"the config cannot build it: {e}"
        out.append((name, reason))
    return tuple(out)


def boundary_reasons(cfg: QmacConfig) -> dict[str, str | None]:
    """For each boundary bin: None when :mod:`tb.shared.boundaries` can build it for ``cfg``,
    else why not (the builder's reason)."""
    return dict(_boundary_reasons(cfg))


def job_features(stim: Stimulus, expected: JobResult) -> dict[str, np.ndarray]:
    """A boolean ``(M,)`` array per value bin: does job j fall into the bin.

    Computed for all jobs at once, in int64 where every value of the run fits (Python integers
    in object arrays where it does not); :func:`job_features_reference` is the same definition
    job by job."""
    cfg = stim.config
    s = stim.stream
    m = stim.n_jobs
    starts, ends = s.job_starts, s.job_ends
    mult, shift = s.mult[ends], s.shift[ends]
    zp, amin, amax = s.out_zp[ends], s.act_min[ends], s.act_max[ends]
    acc = np.asarray(expected.acc)
    r = np.asarray(requantize(acc, mult, shift, cfg))
    r64 = _as_int64(r, 1 << 61)
    if r64 is not None:
        z, amin_, amax_ = r64 + zp, amin, amax
        rr = r64
    else:
        z, amin_, amax_ = (
            r.astype(object) + zp.astype(object),
            amin.astype(object),
            amax.astype(object),
        )
        rr = r.astype(object)
    visible = ~np.asarray(expected.saturated, dtype=bool)
    f: dict[str, np.ndarray] = {}
    f.update(_tie_features(cfg, acc, mult, shift, r, visible))
    f["sat_high"] = np.asarray(z > amax_, dtype=bool)
    f["sat_low"] = np.asarray(z < amin_, dtype=bool)
    f["clamp_max_in"] = np.asarray(z == amax_, dtype=bool)
    f["clamp_max_out"] = np.asarray(z == amax_ + 1, dtype=bool)
    f["clamp_min_in"] = np.asarray(z == amin_, dtype=bool)
    f["clamp_min_out"] = np.asarray(z == amin_ - 1, dtype=bool)
    f.update(_overflow_features(stim, visible))
    redge = 1 << (cfg.out_bits + 1)
    f["requant_clamp_max_on"] = np.asarray(rr == redge - 1, dtype=bool)
    f["requant_clamp_max_past"] = np.asarray(rr == redge, dtype=bool)
    f["requant_clamp_min_on"] = np.asarray(rr == -redge, dtype=bool)
    f["requant_clamp_min_past"] = np.asarray(rr == -redge - 1, dtype=bool)
    bias = s.bias[starts] if m else s.bias[:0]
    f["bias_max"] = bias == cfg.bias_range[1]
    f["bias_min"] = bias == cfg.bias_range[0]
    f["shift_one"] = (shift == 1) & (cfg.rounding != "fp32")
    f["mult_one"] = (mult == 1) & (cfg.mult_bits > 0) & (cfg.rounding != "fp32")
    f.update(fp32_acc_rounding.features(cfg, acc, mult, r, visible))
    f.update(fp32_product_rounding.features(cfg, acc, mult, visible))
    f.update(gemmlowp_rounding.features(cfg, acc, mult, shift, expected.y, zp, amin, amax, visible))
    # Per beat: is every x at its min / max, every w at its min / max (one pass over the lanes
    # each: all lanes equal to lane 0, then lane 0's value).
    x_same = np.all(s.x == s.x[:, :1], axis=1)
    w_same = np.all(s.w == s.w[:, :1], axis=1)
    x_at = [x_same & (s.x[:, 0] == v) for v in cfg.in_range]
    w_at = [w_same & (s.w[:, 0] == v) for v in cfg.w_range]

    def any_beat(beat: np.ndarray) -> np.ndarray:
        return (np.logical_or.reduceat(beat, starts) if m else beat[:0]).astype(bool)

    for xi, xname in ((0, "xmin"), (1, "xmax")):
        for wi, wname in ((0, "wmin"), (1, "wmax")):
            f[f"lanes_{xname}_{wname}"] = any_beat(x_at[xi] & w_at[wi])
    slo, shi = cfg.shift_range
    f["shift_zero"] = shift == 0
    f["shift_max"] = shift == shi
    f["shift_min"] = (shift == slo) & (slo < 0)
    mhi = cfg.mult_range[1] if cfg.mult_bits else -1
    f["mult_zero"] = (mult == 0) & (cfg.mult_bits > 0)
    f["mult_max"] = mult == mhi
    ext_x = x_at[0] if extreme_x(cfg) == cfg.in_range[0] else x_at[1]
    f["extreme_beat"] = any_beat(ext_x & w_at[0])
    beats = stim.beats_per_job
    f["single_beat_job"] = beats == 1
    f["long_job"] = beats >= LONG_JOB_BEATS
    f["padded_job"] = stim.k % cfg.lanes != 0
    return f


def _as_int64(v: np.ndarray, limit: int) -> np.ndarray | None:
    """``v`` as int64 when every value is within ``[-limit, limit]``, else None."""
    v = np.asarray(v)
    if v.dtype != object:
        v = v.astype(np.int64, copy=False)
        if v.size and (int(v.min()) < -limit or int(v.max()) > limit):
            return None
        return v
    if v.size and (min(v) < -limit or max(v) > limit):
        return None
    return v.astype(np.int64)


TIE_BINS = (
    "tie_pos_up",
    "tie_pos_down",
    "tie_neg_up",
    "tie_neg_down",
    "tie_high_mul_pos",
    "tie_high_mul_neg",
    "double_rounding",
    "tie_below",
    "tie_above",
    "nudge_below",
    "nudge_on",
    "nudge_above",
)
"""The rounding-tie bins that :func:`_tie_features` and :func:`_tie_features_reference` set
(the fp32 mode's own are :data:`FP32_BINS`)."""


def _tie_features(cfg, acc, mult, shift, r, visible) -> dict[str, np.ndarray]:
    """:func:`_tie_features_reference` for all jobs at once."""
    m = len(acc)
    out = {n: np.zeros(m, bool) for n in TIE_BINS}
    if cfg.rounding == "fp32":
        out.update(_fp32_features(acc, mult, r, visible))
        return out
    out.update({n: np.zeros(m, bool) for n in FP32_BINS})
    if not m:
        return out
    vis = np.asarray(visible, dtype=bool)
    if cfg.rounding == "gemmlowp":
        r64 = _as_int64(r, 1 << 62)
        if r64 is None:
            return _tie_features_reference(
                cfg, acc, mult, shift, np.asarray(r).astype(object), visible
            )
        s = shift.astype(np.int64)
        left, right = np.maximum(s, 0), np.maximum(-s, 0)
        if (
            int(left.max()) > 31
            or int(right.max()) > 31
            or int(mult.min()) < 0
            or int(mult.max()) >= 1 << 31
        ):
            return _tie_features_reference(cfg, acc, mult, shift, r.astype(object), visible)
        # (acc << left) wrapped to int32, on the low 32 bits of acc (uint64: no overflow).
        low32 = np.asarray(acc).astype(np.int64).view(np.uint64) & np.uint64(0xFFFF_FFFF)
        u = (low32 << left.astype(np.uint64)) & np.uint64(0xFFFF_FFFF)
        xs = u.astype(np.int64) - np.where(u >= np.uint64(1 << 31), np.int64(1 << 32), 0)
        ab = xs * mult.astype(np.int64)  # |ab| < 2^62
        mod31 = ab % (1 << 31)
        on_tie = vis & (mod31 == 1 << 30)
        out["tie_high_mul_pos"] = on_tie & (ab > 0)
        out["tie_high_mul_neg"] = on_tie & ~(ab > 0)
        for off, name in ((-1, "nudge_below"), (0, "nudge_on"), (1, "nudge_above")):
            out[name] = vis & (s == 0) & (mod31 == (1 << 30) + off)
        num = ab + np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
        q = np.abs(num) >> 31
        v = np.where(num >= 0, q, -q)  # the doubling high multiply
        t = right
        den = np.int64(1) << (31 + right)  # <= 2^62
        qa = np.abs(ab)
        single = (qa >> (31 + right)) + (2 * (qa & (den - 1)) >= den)
        out["double_rounding"] = vis & (np.where(ab < 0, -single, single) != r64)
        r_t = r64
    else:
        wide = cfg.product_bits > INT64_SAFE_BITS if cfg.mult_bits else cfg.acc_bits > 62
        r_t = None if wide else _as_int64(r, 1 << 62)
        if r_t is None:
            # Python integers (object arrays): the same operations, exact at every width.
            a = np.asarray(acc).astype(object)
            v = a * mult.astype(object) if cfg.mult_bits else a
            t = shift.astype(object)
            r_t = np.asarray(r).astype(object)
            in_reach = np.ones(m, bool)
        else:
            a = np.asarray(acc).astype(np.int64)
            v = a * mult.astype(np.int64) if cfg.mult_bits else a  # |v| <= 2^61
            # A shift past 62 leaves |v| <= 2^61 far from any tie (v % 2^t is v or 2^t + v).
            in_reach = shift <= 62
            t = np.minimum(shift, 62).astype(np.int64)
        tp = np.maximum(t, 1)
        mod = v % (1 << tp) if r_t.dtype == object else v % (np.int64(1) << tp)
        half = (1 << (tp - 1)) if r_t.dtype == object else (np.int64(1) << (tp - 1))
        ok = vis & in_reach
        two = ok & np.asarray(t >= 2, dtype=bool)
        below = two & np.asarray(mod == half - 1, dtype=bool)
        out["tie_below"] = below
        out["tie_above"] = two & ~below & np.asarray(mod == half + 1, dtype=bool)
    # The last rounding step's ties (t = right for gemmlowp).
    tp = np.maximum(t, 1)
    if r_t.dtype == object:
        mod, half = v % (1 << tp), 1 << (tp - 1)
    else:
        mod, half = v % (np.int64(1) << tp), np.int64(1) << (tp - 1)
    tie = vis & np.asarray((t > 0) & (mod == half), dtype=bool)
    if cfg.rounding != "gemmlowp":
        tie &= in_reach
    pos = np.asarray(v > 0, dtype=bool)
    up = np.asarray(r_t == (v >> t) + 1, dtype=bool)
    out["tie_pos_up"] = tie & pos & up
    out["tie_pos_down"] = tie & pos & ~up
    out["tie_neg_up"] = tie & ~pos & up
    out["tie_neg_down"] = tie & ~pos & ~up
    return out


def _bitlen(v: np.ndarray) -> np.ndarray:
    """Bit length of non-negative int64 values below 2^53."""
    return np.frexp(v.astype(np.float64))[1].astype(np.int64)


def _fp32_features(acc, mult, r, visible) -> dict[str, np.ndarray]:
    """:func:`_fp32_features_reference` for all jobs at once (int64: |acc| < 2^31 in fp32 mode,
    mantissa products < 2^48)."""
    m = len(acc)
    acc = np.asarray(acc).astype(np.int64)
    mult = np.asarray(mult).astype(np.int64)
    r = np.asarray(r)
    names = (
        "tie_pos_up",
        "tie_pos_down",
        "tie_neg_up",
        "tie_neg_down",
        "double_rounding",
        "fp32_acc_rounded",
        "tie_below",
        "tie_above",
        "nudge_below",
        "nudge_on",
        "nudge_above",
        *FP32_BINS,
    )
    out = {n: np.zeros(m, bool) for n in names}
    if not m:
        return out
    if int(np.abs(acc).max()) > 1 << 31 or r.dtype == object:
        return _fp32_features_reference(acc, mult, r.astype(object), visible)
    r = r.astype(np.int64)
    one = np.int64(1)
    st = fp32_stages(acc, mult)

    def pow2(t):
        return one << t

    def tie(v, t):
        """t > 0 and v % 2^t == 2^(t-1), for |v| < 2^26 (a shift past 27 cannot be a tie)."""
        tc = np.clip(t, 1, 62)
        return (t > 0) & (v % pow2(tc) == pow2(tc - 1))

    a = np.abs(acc)
    drop = st["acc_exp"]
    am = st["acc_mant"]
    out["fp32_acc_rounded"] = (am << drop) != a
    out["fp32_acc_tie"] = tie(a, drop)
    prod = st["prod"]
    am_bl = _bitlen(am)
    p = (prod << np.maximum(24 - am_bl, 0)) >> np.maximum(am_bl - 24, 0)
    p_bl = _bitlen(p)
    e_p = st["prod_exp"] + _bitlen(prod) - p_bl
    k = np.maximum(p_bl - 24, 0)
    low, kept, e = p & (pow2(k) - 1), p >> k, e_p + k
    p48 = p_bl == 48
    out["fp32_product_tie"] = tie(p, k)
    vis = np.asarray(visible, dtype=bool)
    neg = st["neg"]
    sign = np.where(neg, -1, 1)

    def r_differs(mant):
        """r of sign * mant * 2^e, rounded half to even, != the job's r (mant < 2^25)."""
        sm = sign * mant
        down = round_shift(sm, np.minimum(np.maximum(-e, 0), 62), "half_even")
        upv = sm << np.clip(e, 0, 30)
        val = np.where(e < 0, down, upv)
        # e > 30: |mant * 2^e| >= 2^53 (mant >= 2^23 here), past every r (|r| <= 2^31).
        return np.where(e > 30, True, val != r)

    has = vis & (p != 0)
    kk = np.maximum(k, 2)
    rounded_tie = r_differs(kept + (kept & 1))
    sticky = has & (low == pow2(kk - 1) + 1)
    out["fp32_product_sticky"] = sticky & rounded_tie
    sh = has & (low == 3 * pow2(kk - 2))
    out["fp32_sticky_high_p48"] = sh & p48 & rounded_tie
    out["fp32_sticky_high_p47"] = sh & ~p48 & rounded_tie
    out["fp32_product_carry"] = has & (kept == (1 << 24) - 1) & ((low >> (kk - 1)) != 0) & (r != 0)
    exact0 = has & (low == 0)
    nb = kept + 1
    hit = exact0 & (nb >= 1 << 23) & tie(nb, -e) & r_differs(nb)
    out["fp32_ulp_below_p48"] = hit & p48
    out["fp32_ulp_below_p47"] = hit & ~p48
    nb = kept - 1
    out["fp32_ulp_above"] = exact0 & (nb >= 1 << 23) & tie(nb, -e) & r_differs(nb)
    v, t = sign * st["fl_mant"], -st["fl_exp"]
    tie_v = vis & tie(v, t)
    pos = v > 0
    up = r == (v >> np.clip(t, 0, 62)) + 1
    out["tie_pos_up"] = tie_v & pos & up
    out["tie_pos_down"] = tie_v & pos & ~up
    out["tie_neg_up"] = tie_v & ~pos & up
    out["tie_neg_down"] = tie_v & ~pos & ~up
    # The exact acc * scale, rounded once: acc * ms / 2^(150 - es).
    ms = (mult & 0x7FFFFF) | 0x800000
    sh_ = 150 - ((mult >> 23) & 0xFF)
    prod_x = acc * ms  # |.| < 2^55
    exact_down = round_shift(prod_x, np.clip(sh_, 0, 62), "half_even")
    exact_up = prod_x << np.clip(-sh_, 0, 7)
    exact_diff = np.where(sh_ > 0, exact_down != r, exact_up != r)
    for j in np.flatnonzero(vis & (-sh_ > 7)).tolist():  # a scale of 2^8 or more: rare
        exact_diff[j] = int(prod_x[j]) << int(-sh_[j]) != int(r[j])
    out["double_rounding"] = vis & exact_diff
    return out


def _overflow_features(stim: Stimulus, visible: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`_overflow_features_reference` for all jobs at once: int64 running sums (a cumulative
    sum per job in wrap mode; beat by beat over the jobs still running in saturate mode)."""
    cfg = stim.config
    s = stim.stream
    m = stim.n_jobs
    lo, hi = cfg.acc_range
    # pyref's beat_sums, without its int64 copies of x and w when they are int64 already.
    int64 = s.x.dtype == np.int64 and s.w.dtype == np.int64
    sums = np.einsum("jl,jl->j", s.x, s.w) if int64 else beat_sums(s)
    starts = s.job_starts
    bias = s.bias[starts]
    names = ("acc_max_on", "acc_max_past", "acc_min_on", "acc_min_past")
    if not m:
        out = {name: np.zeros(0, bool) for name in names}
        out.update(
            {
                n: np.zeros(0, bool)
                for n in ("acc_overflow_high", "acc_overflow_low", "acc_overflow_back")
            }
        )
        return out
    bound = float(np.abs(bias).max()) + float(np.abs(sums).sum()) + 2.0**40
    if cfg.acc_bits > 60 or bound >= 2.0**62 or sums.dtype == object or bias.dtype == object:
        return _overflow_features_reference(stim, visible)
    sums = sums.astype(np.int64, copy=False)
    bias = bias.astype(np.int64, copy=False)
    edges = (
        ("acc_max_on", hi),
        ("acc_max_past", hi + 1),
        ("acc_min_on", lo),
        ("acc_min_past", lo - 1),
    )
    lengths = stim.beats_per_job
    if cfg.acc_mode == "saturate":
        high = np.zeros(m, bool)
        low = np.zeros(m, bool)
        edge = {name: np.zeros(m, bool) for name, _ in edges}
        run = bias.copy()
        exact = bias.copy()
        order = np.argsort(-lengths, kind="stable")  # the jobs still running come first
        n_live = np.searchsorted(-lengths[order], -np.arange(int(lengths.max())), side="left")
        for p, n in enumerate(n_live.tolist()):
            live = order[:n]
            step = sums[starts[live] + p]
            exact[live] += step
            v = run[live] + step
            high[live] |= v > hi
            low[live] |= v < lo
            run[live] = np.minimum(np.maximum(v, lo), hi)
            for name, value in edges:
                edge[name][live] |= v == value
    else:
        # The exact running sum at every beat end: bias + the job's beat sums so far.
        cs = np.cumsum(sums)
        job = np.repeat(np.arange(m), lengths)
        run = cs + (bias - (cs[starts] - sums[starts]))[job]
        high = np.maximum.reduceat(run, starts) > hi
        low = np.minimum.reduceat(run, starts) < lo
        edge = {name: np.logical_or.reduceat(run == value, starts) for name, value in edges}
        exact = run[s.job_ends]
    back = (high | low) & (exact >= lo) & (exact <= hi)
    out = {name: hit & visible for name, hit in edge.items()}
    out.update({"acc_overflow_high": high, "acc_overflow_low": low, "acc_overflow_back": back})
    return out


def job_features_reference(stim: Stimulus, expected: JobResult) -> dict[str, np.ndarray]:
    """The readable definition of :func:`job_features`: the same bins, job by job on Python
    integers (exact at every width). :func:`job_features` must give the same arrays
    (tests/tb/shared/test_coverage.py checks it on random and directed jobs)."""
    cfg = stim.config
    s = stim.stream
    m = stim.n_jobs
    ends = s.job_ends
    mult, shift = s.mult[ends], s.shift[ends]
    zp, amin, amax = s.out_zp[ends], s.act_min[ends], s.act_max[ends]
    acc = np.asarray(expected.acc)
    r = np.asarray(requantize(acc, mult, shift, cfg)).astype(object)
    z = r + zp.astype(object)
    visible = ~np.asarray(expected.saturated, dtype=bool)
    f: dict[str, np.ndarray] = {}
    f.update(_tie_features_reference(cfg, acc, mult, shift, r, visible))
    f["sat_high"] = np.asarray(z > amax.astype(object), dtype=bool)
    f["sat_low"] = np.asarray(z < amin.astype(object), dtype=bool)
    f["clamp_max_in"] = np.asarray(z == amax.astype(object), dtype=bool)
    f["clamp_max_out"] = np.asarray(z == amax.astype(object) + 1, dtype=bool)
    f["clamp_min_in"] = np.asarray(z == amin.astype(object), dtype=bool)
    f["clamp_min_out"] = np.asarray(z == amin.astype(object) - 1, dtype=bool)
    f.update(_overflow_features_reference(stim, visible))
    redge = 1 << (cfg.out_bits + 1)
    f["requant_clamp_max_on"] = np.asarray(r == redge - 1, dtype=bool)
    f["requant_clamp_max_past"] = np.asarray(r == redge, dtype=bool)
    f["requant_clamp_min_on"] = np.asarray(r == -redge, dtype=bool)
    f["requant_clamp_min_past"] = np.asarray(r == -redge - 1, dtype=bool)
    bias = s.bias[s.job_starts] if m else s.bias[:0]
    f["bias_max"] = bias == cfg.bias_range[1]
    f["bias_min"] = bias == cfg.bias_range[0]
    f["shift_one"] = (shift == 1) & (cfg.rounding != "fp32")
    f["mult_one"] = (mult == 1) & (cfg.mult_bits > 0) & (cfg.rounding != "fp32")
    f.update(fp32_acc_rounding.features(cfg, acc, mult, r, visible))
    f.update(fp32_product_rounding.features(cfg, acc, mult, visible))
    f.update(gemmlowp_rounding.features(cfg, acc, mult, shift, expected.y, zp, amin, amax, visible))
    for xi, xname in ((0, "xmin"), (1, "xmax")):
        for wi, wname in ((0, "wmin"), (1, "wmax")):
            beat = np.all(s.x == cfg.in_range[xi], axis=1) & np.all(s.w == cfg.w_range[wi], axis=1)
            f[f"lanes_{xname}_{wname}"] = (
                np.logical_or.reduceat(beat, s.job_starts) if m else beat[:0]
            ).astype(bool)
    slo, shi = cfg.shift_range
    f["shift_zero"] = shift == 0
    f["shift_max"] = shift == shi
    f["shift_min"] = (shift == slo) & (slo < 0)
    mhi = cfg.mult_range[1] if cfg.mult_bits else -1
    f["mult_zero"] = (mult == 0) & (cfg.mult_bits > 0)
    f["mult_max"] = mult == mhi
    ext = np.all(s.x == extreme_x(cfg), axis=1) & np.all(s.w == cfg.w_range[0], axis=1)
    f["extreme_beat"] = (np.logical_or.reduceat(ext, s.job_starts) if m else ext[:0]).astype(bool)
    beats = stim.beats_per_job
    f["single_beat_job"] = beats == 1
    f["long_job"] = beats >= LONG_JOB_BEATS
    f["padded_job"] = stim.k % cfg.lanes != 0
    return f


def _tie_features_reference(cfg, acc, mult, shift, r, visible, jobs=None) -> dict[str, np.ndarray]:
    """The tie bins job by job (``jobs``: only these indices; the others stay False)."""
    m = len(acc)
    out = {n: np.zeros(m, bool) for n in TIE_BINS}
    if cfg.rounding == "fp32":
        out.update(_fp32_features_reference(acc, mult, r, visible, jobs))
        return out
    out.update({n: np.zeros(m, bool) for n in FP32_BINS})
    accs, mults, shifts, rs = (a.tolist() for a in (np.asarray(acc), mult, shift, r))
    gemm = cfg.rounding == "gemmlowp"
    for j in range(m) if jobs is None else jobs:
        if not visible[j]:
            continue  # the clamp hides how the value was rounded
        if gemm:
            s = shifts[j]
            left, right = max(s, 0), max(-s, 0)
            xs = ((accs[j] << left) + (1 << 31)) % (1 << 32) - (1 << 31)
            ab = xs * mults[j]
            if ab % (1 << 31) == 1 << 30:
                out["tie_high_mul_pos" if ab > 0 else "tie_high_mul_neg"][j] = True
            if s == 0:
                for off, name in ((-1, "nudge_below"), (0, "nudge_on"), (1, "nudge_above")):
                    if ab % (1 << 31) == (1 << 30) + off:
                        out[name][j] = True
            h = saturating_rounding_doubling_high_mul_scalar(xs, mults[j])
            v, t = h, right
            den = 1 << (31 + right)
            q, rem = divmod(abs(ab), den)
            single = q + (2 * rem >= den)
            if (-single if ab < 0 else single) != rs[j]:
                out["double_rounding"][j] = True
        else:
            v = accs[j] * mults[j] if cfg.mult_bits else accs[j]
            t = shifts[j]
        if t >= 2 and not gemm:
            if v % (1 << t) == (1 << (t - 1)) - 1:
                out["tie_below"][j] = True
            elif v % (1 << t) == (1 << (t - 1)) + 1:
                out["tie_above"][j] = True
        if t > 0 and v % (1 << t) == 1 << (t - 1):
            sign = "pos" if v > 0 else "neg"
            up = rs[j] == (v >> t) + 1
            out[f"tie_{sign}_{'up' if up else 'down'}"][j] = True
    return out


def _fp32_features_reference(acc, mult, r, visible, jobs=None) -> dict[str, np.ndarray]:
    """fp32 mode: ties of the final rounding (of fl32(fl32(acc) * scale)), of the rounding of
    acc and of the product to 24 bits, products one LSB (or half plus the bit right below the
    half) above such a tie where that decides the output, exact binary32 products one ulp from
    n + 1/2 where the ulp decides it, and results that differ from rounding the exact
    acc * scale once. The product's bits are those of the RTL (normalized mantissas)."""
    m = len(acc)
    st = {k: np.asarray(v).tolist() for k, v in fp32_stages(np.asarray(acc), mult).items()}
    out = {
        n: np.zeros(m, bool)
        for n in (
            "tie_pos_up",
            "tie_pos_down",
            "tie_neg_up",
            "tie_neg_down",
            "double_rounding",
            "fp32_acc_rounded",
            "tie_below",
            "tie_above",
            "nudge_below",
            "nudge_on",
            "nudge_above",
            *FP32_BINS,
        )
    }
    accs, mults, rs = np.asarray(acc).tolist(), np.asarray(mult).tolist(), list(r)

    def tie(v: int, t: int) -> bool:
        return t > 0 and v % (1 << t) == 1 << (t - 1)

    for j in range(m) if jobs is None else jobs:
        a = abs(accs[j])
        drop = st["acc_exp"][j]
        out["fp32_acc_rounded"][j] = st["acc_mant"][j] << drop != a
        out["fp32_acc_tie"][j] = tie(a, drop)
        # The RTL's product of the two normalized 24-bit mantissas (prod_i of qmac_fp32_round):
        # 48 bits ("p48") or 47 ("p47"), k = 24 or 23 bits dropped by its rounding; |acc * scale|
        # = p * 2^e_p. pyref's prod is that without the normalization of a small accumulator.
        prod = st["prod"][j]
        am = st["acc_mant"][j]
        p = prod << max(24 - am.bit_length(), 0) >> max(am.bit_length() - 24, 0)
        e_p = st["prod_exp"][j] + prod.bit_length() - p.bit_length()
        k = max(p.bit_length() - 24, 0)
        low, kept, e = p % (1 << k), p >> k, e_p + k
        shape = "p48" if p.bit_length() == 48 else "p47"
        out["fp32_product_tie"][j] = tie(p, k)
        if not visible[j]:
            continue  # the clamp hides how the value was rounded
        sign = -1 if st["neg"][j] else 1
        v, t = sign * st["fl_mant"][j], -st["fl_exp"][j]

        def r_of(mant: int) -> int:
            """r of sign * mant * 2^e, rounded half to even."""
            return round_shift_scalar(sign * mant, -e, "half_even") if e < 0 else sign * mant << e

        # Would the tie (the kept bits rounded to even) give another r than the job's? For
        # dropped bits one LSB above the half, and half plus the bit right below it.
        if p and low == (1 << (k - 1)) + 1:
            out["fp32_product_sticky"][j] = r_of(kept + (kept & 1)) != rs[j]
        if p and low == 3 << (k - 2):
            out[f"fp32_sticky_high_{shape}"][j] = r_of(kept + (kept & 1)) != rs[j]
        # The rounding carries out of the 24 kept bits (all ones, guard set: kept is odd).
        if p and kept == (1 << 24) - 1 and low >> (k - 1):
            out["fp32_product_carry"][j] = rs[j] != 0
        # An exact binary32 product one ulp below / above n + 1/2: would that half give another
        # r than the job's?
        if p and low == 0:
            for nb, name in ((kept + 1, f"fp32_ulp_below_{shape}"), (kept - 1, "fp32_ulp_above")):
                if nb >= 1 << 23 and tie(nb, -e):
                    out[name][j] = r_of(nb) != rs[j]
        if tie(v, t):
            up = rs[j] == (v >> t) + 1
            out[f"tie_{'pos' if v > 0 else 'neg'}_{'up' if up else 'down'}"][j] = True
        # The exact acc * scale, rounded once: acc * ms / 2^(150 - es).
        ms = (mults[j] & 0x7FFFFF) | 0x800000
        shift = 150 - ((mults[j] >> 23) & 0xFF)
        exact = (
            round_shift_scalar(accs[j] * ms, shift, "half_even")
            if shift > 0
            else accs[j] * ms << -shift
        )
        out["double_rounding"][j] = exact != rs[j]
    return out


def _overflow_features_reference(stim: Stimulus, visible: np.ndarray) -> dict[str, np.ndarray]:
    """Per job: did the running sum (beat by beat, as the hardware adds) pass the top or the
    bottom of the accumulator, and is the exact final sum back in range; did it land exactly
    on a limit or one past it at a beat end (with the output not clamped)."""
    cfg = stim.config
    s = stim.stream
    m = stim.n_jobs
    lo, hi = cfg.acc_range
    sums = beat_sums(s).astype(object)
    starts = s.job_starts
    lengths = stim.beats_per_job
    run = s.bias[starts].astype(object)
    exact = run.copy()
    high = np.zeros(m, bool)
    low = np.zeros(m, bool)
    edge = {
        name: np.zeros(m, bool)
        for name in ("acc_max_on", "acc_max_past", "acc_min_on", "acc_min_past")
    }
    for p in range(int(lengths.max(initial=0))):
        live = lengths > p
        step = sums[starts[live] + p]
        exact[live] = exact[live] + step
        if cfg.acc_mode == "saturate":
            v = run[live] + step
            high[live] |= np.asarray(v > hi, bool)
            low[live] |= np.asarray(v < lo, bool)
            run[live] = np.minimum(np.maximum(v, lo), hi)
        else:
            v = exact[live]
            high[live] |= np.asarray(v > hi, bool)
            low[live] |= np.asarray(v < lo, bool)
        for name, value in (
            ("acc_max_on", hi),
            ("acc_max_past", hi + 1),
            ("acc_min_on", lo),
            ("acc_min_past", lo - 1),
        ):
            edge[name][live] |= np.asarray(v == value, bool)
    back = (high | low) & np.asarray((exact >= lo) & (exact <= hi), bool)
    out = {name: hit & visible for name, hit in edge.items()}
    out.update({"acc_overflow_high": high, "acc_overflow_low": low, "acc_overflow_back": back})
    return out


@dataclasses.dataclass
class CoverageReport:
    """Hits per bin, with what is reachable for the config and the run."""

    hits: dict[str, int]
    unreachable: dict[str, str]
    required: list[str]

    @property
    def holes(self) -> list[str]:
        """Required bins with no hit."""
        return [b for b in self.required if self.hits.get(b, 0) == 0]

    @property
    def n_hit(self) -> int:
        return sum(1 for b in self.required if self.hits.get(b, 0) > 0)

    def summary(self) -> str:
        if not self.required:
            hit = sum(1 for b in BINS if self.hits.get(b, 0) and b not in self.unreachable)
            return f"{hit} bins hit (informational: the vector file decides what it covers)"
        s = f"{self.n_hit}/{len(self.required)} reachable bins hit"
        if self.unreachable:
            s += f" ({len(self.unreachable)} unreachable for this config/run)"
        if self.holes:
            s += f"; EMPTY: {', '.join(self.holes)}"
        return s

    def table(self) -> str:
        """One line per bin: hits, or why it cannot be reached."""
        lines = []
        for name, desc in BINS.items():
            if name in self.unreachable:
                state = f"   -  unreachable: {self.unreachable[name]}"
            else:
                n = self.hits.get(name, 0)
                state = f"{n:6d}" + ("" if n or name not in self.required else "  <-- EMPTY")
            lines.append(f"  {name:22s}{state}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "hits": self.hits,
            "unreachable": self.unreachable,
            "required": self.required,
            "holes": self.holes,
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> "CoverageReport":
        return cls(dict(d["hits"]), dict(d["unreachable"]), list(d["required"]))


class CoverageModel:
    """Bins for one run: job features from the stimulus, event counts from the testbench."""

    def __init__(self, stim: Stimulus, expected: JobResult, run: RunShape = RunShape()):
        self.features = job_features(stim, expected)
        why = reachable(stim.config, run)
        self.unreachable = {b: r for b, r in why.items() if r is not None}
        # A replayed file decides what it covers: its bins are reported, none is required.
        self.required = [] if run.replay else [b for b in BINS if b not in self.unreachable]
        self.events: dict[str, int] = {b: 0 for b in EVENT_BINS}

    def add_event(self, name: str, count: int = 1) -> None:
        if name not in self.events:
            raise KeyError(f"{name!r} is not an event bin; event bins: {', '.join(EVENT_BINS)}")
        self.events[name] += count

    def report(self, checked: np.ndarray) -> CoverageReport:
        """Hits counted over the jobs in the boolean mask ``checked``."""
        hits = {b: int(np.count_nonzero(f & checked)) for b, f in self.features.items()}
        hits.update(self.events)
        return CoverageReport(hits, dict(self.unreachable), list(self.required))
