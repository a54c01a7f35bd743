"""Boundary-directed stimulus: jobs built exactly on each side of every edge of the datapath.

:func:`gen_boundaries` cycles through :data:`VARIANTS`; each variant builds one job whose value
lands exactly on (or one past) an edge, with the requantization and ``out_zp`` chosen so that an
off-by-one there changes the output:

- the accumulator's limits: the running sum reaches exactly ``2^(acc_bits-1) - 1`` (``-2^(acc_bits
  -1)``) or one past it at a beat end, then products of the other sign bring it back to a small
  value shown at the output (saturate mode: a bound one off shifts that value by one);
- the requantizer's intermediate clamp to ``out_bits + 2`` bits: ``r`` on and one past each end;
- the bias at its extremes, shift 1, multiplier 1;
- beats with every lane at each corner of (x, w): min/max x times min/max w;
- the neighbours of a rounding tie (one below and one above, visible in the output) and, in
  gemmlowp mode, of the tie of its doubling high multiply: ``x' * M`` one below, on and one above
  ``odd * 2^30``, built with the inverse of an odd ``M`` modulo ``2^31``.

A variant the config cannot build raises :class:`Unrealizable` and is left out; coverage
(:mod:`tb.shared.coverage`) says which boundary bins a config can reach and why not.
"""

from __future__ import annotations

import numpy as np

from pyref.arith import requantize
from pyref.config import QmacConfig

from .exact_values import (OVERFLOW_K_CAP, Unrealizable, acc_cap, exact_requant, fit_requant,
                           realize_acc)
from .fp32_values import pow2_mult
from .stimulus import Stimulus, assemble_jobs


def _centred(cfg: QmacConfig, r: int) -> dict:
    lo, hi = cfg.out_range
    return {"out_zp": int(min(max(-r, lo), hi)), "act_min": lo, "act_max": hi}


def same_sign_products(cfg: QmacConfig, amount: int, cap: int = OVERFLOW_K_CAP
                       ) -> tuple[list[int], list[int]]:
    """Products, all of the sign of ``amount``, that sum to exactly ``amount`` (x > 0, so this
    works for unsigned x too); :class:`Unrealizable` when more than ``cap`` are needed."""
    xhi = cfg.in_range[1]
    wlo, whi = cfg.w_range
    sgn = 1 if amount >= 0 else -1
    wmag = whi if sgn > 0 else -wlo
    if xhi < 1 or wmag < 1:
        raise Unrealizable(f"no product of sign {sgn}")
    n_full, rest = divmod(abs(int(amount)), xhi * wmag)
    if n_full > cap:
        raise Unrealizable(f"{amount} needs more than {cap} products")
    xs, ws = [xhi] * n_full, [sgn * wmag] * n_full
    part, rest = divmod(rest, wmag)
    if part:
        xs.append(part)
        ws.append(sgn * wmag)
    while rest:
        step = min(xhi, rest)
        xs.append(step)
        ws.append(sgn)
        rest -= step
    return xs, ws


def _pad_to_beat(cfg: QmacConfig, rng: np.random.Generator, xs: list[int], ws: list[int]) -> None:
    """Zero products (x = 0, random w) up to the end of the current beat."""
    extra = (-len(xs)) % cfg.lanes
    xs += [0] * extra
    ws += [int(v) for v in rng.integers(cfg.w_range[0], cfg.w_range[1] + 1, extra)]


def _acc_limit_job(cfg: QmacConfig, rng: np.random.Generator, high: bool, past: int) -> dict:
    """The running sum lands exactly on the accumulator's limit (``past`` = 0) or one past it
    (``past`` = 1) at a beat end; then, when the length cap allows, products of the other sign
    bring the sum back to a small value whose requantized output is visible."""
    lo, hi = cfg.acc_range
    peak = hi + past if high else lo - past
    xs, ws, bias = realize_acc(cfg, rng, peak)
    _pad_to_beat(cfg, rng, xs, ws)
    # Requantization by exactly 1, so the accumulator's last bit shows in the output.
    target = int(rng.integers(-(1 << (cfg.out_bits - 2)), (1 << (cfg.out_bits - 2)) + 1))
    mult, shift = unit_requant(cfg)
    r = target
    held = hi if high else lo   # what a saturating accumulator holds after the peak
    try:
        bx, bw = same_sign_products(cfg, target - held, OVERFLOW_K_CAP - len(xs))
    except Unrealizable:
        bx, bw = [], []
    if bx and len(xs) + len(bx) <= OVERFLOW_K_CAP:
        xs += bx
        ws += bw
        return {"x": xs, "w": ws, "bias": bias, "mult": mult, "shift": shift,
                **_centred(cfg, r)}
    # No way back within the cap: show the accumulator (the limit, or where the peak wrapped
    # to) through a large shift.
    final = held if cfg.acc_mode == "saturate" else (lo if high else hi) if past else peak
    r_peak = _visible_r(cfg, rng, final)
    return {"x": xs, "w": ws, "bias": bias, **r_peak}


def unit_requant(cfg: QmacConfig) -> tuple[int, int]:
    """``(mult, shift)`` that requantize every accumulator to itself (r = acc)."""
    if cfg.rounding == "gemmlowp":
        return 1 << 30, 1          # x' = 2 acc, h = 2 acc * 2^30 / 2^31 = acc
    if cfg.rounding == "fp32":
        return pow2_mult(0), 0     # scale 1.0 (exact while |acc| < 2^24)
    return (1 if cfg.mult_bits else 0), 0


def _visible_r(cfg: QmacConfig, rng: np.random.Generator, acc: int) -> dict:
    """Requantization that scales ``acc`` into reach of ``out_zp``, and the ``out_zp`` that
    brings it to 0 (so the output shows it, unclamped)."""
    lo, hi = cfg.out_range
    tries = [lambda: fit_requant(cfg, rng, np.array([acc]))] * 32
    if cfg.mult_bits and cfg.rounding not in ("gemmlowp", "fp32"):
        # The smallest multiplier and the largest shift reach the widest accumulators.
        tries.append(lambda: (np.array([1]), np.array([cfg.shift_range[1]])))
    for requant in tries:
        mult, shift = requant()
        r = int(np.asarray(requantize(np.array([acc]), mult, shift, cfg))[0])
        if -hi <= r <= -lo:
            return {"mult": int(mult[0]), "shift": int(shift[0]), **_centred(cfg, r)}
    raise Unrealizable(f"no multiplier and shift bring {acc} into the output range unclamped")


def _requant_clamp_job(cfg: QmacConfig, rng: np.random.Generator, high: bool, past: int
                       ) -> dict:
    """``r`` exactly on (``past`` = 0) or one past each end of the requantizer's intermediate
    clamp to ``out_bits + 2`` bits."""
    edge = (1 << (cfg.out_bits + 1)) - 1 if high else -(1 << (cfg.out_bits + 1))
    r = edge + past if high else edge - past
    acc, mult, shift = exact_requant(cfg, rng, r)
    if not cfg.acc_range[0] <= acc <= cfg.acc_range[1]:
        raise Unrealizable(f"r = {r} needs an accumulator of {acc}")
    x, w, bias = realize_acc(cfg, rng, acc)
    lo, hi = cfg.out_range
    return {"x": x, "w": w, "bias": bias, "mult": mult, "shift": shift,
            "out_zp": hi if not high else lo, "act_min": lo, "act_max": hi}


def _bias_job(cfg: QmacConfig, rng: np.random.Generator, high: bool) -> dict:
    """The bias at its largest (smallest) value, with a few small products."""
    blo, bhi = cfg.bias_range
    bias = bhi if high else blo
    n = int(rng.integers(1, 2 * cfg.lanes + 1))
    x = [int(v) for v in rng.integers(cfg.in_range[0], cfg.in_range[1] + 1, n)]
    w = [int(v) for v in rng.integers(-1, 2, n)]
    acc = bias + sum(a * b for a, b in zip(x, w))
    if not cfg.acc_range[0] <= acc <= cfg.acc_range[1]:
        w = [0] * n
        acc = bias
    return {"x": x, "w": w, "bias": bias, **_visible_r(cfg, rng, acc)}


def _shift_one_job(cfg: QmacConfig, rng: np.random.Generator) -> dict:
    """Shift 1 with a small accumulator (an odd one: a tie for the shift modes)."""
    if cfg.rounding == "fp32" or cfg.shift_range[1] < 1:
        raise Unrealizable("no shift 1")
    a = 2 * int(rng.integers(-(1 << (cfg.out_bits - 2)), 1 << (cfg.out_bits - 2))) + 1
    if cfg.rounding == "gemmlowp":
        mult, r = 1 << 30, a        # x' = 2a, h = 2a * 2^30 / 2^31 = a exactly
    else:
        mult = 1 if cfg.mult_bits else 0
        r = a // 2
    x, w, bias = realize_acc(cfg, rng, a)
    return {"x": x, "w": w, "bias": bias, "mult": mult, "shift": 1, **_centred(cfg, r)}


def _mult_one_job(cfg: QmacConfig, rng: np.random.Generator) -> dict:
    """Multiplier 1 with an accumulator that shows it."""
    if cfg.mult_bits == 0 or cfg.rounding == "fp32":
        raise Unrealizable("no multiplier 1")
    if cfg.rounding == "gemmlowp":
        # x' = a * 2^s near 2^31 times a small r: h = round(x' / 2^31).
        r = int(rng.choice([-1, 1]))
        s = int(rng.integers(0, 31))
        a = (r << 30) >> s if s <= 30 else r
        a = a or r
        x, w, bias = realize_acc(cfg, rng, a)
        rr = int(np.asarray(requantize(np.array([a]), np.array([1]), np.array([s]), cfg))[0])
        return {"x": x, "w": w, "bias": bias, "mult": 1, "shift": s, **_centred(cfg, rr)}
    a = int(rng.integers(-(1 << (cfg.out_bits - 1)), 1 << (cfg.out_bits - 1)))
    x, w, bias = realize_acc(cfg, rng, a)
    return {"x": x, "w": w, "bias": bias, "mult": 1, "shift": 0, **_centred(cfg, a)}


def _lane_corner_job(cfg: QmacConfig, rng: np.random.Generator, corner: int) -> dict:
    """Whole beats with every lane at one corner of (x, w): min/max x times min/max w."""
    xv = cfg.in_range[corner // 2]
    wv = cfg.w_range[corner % 2]
    n = cfg.lanes * int(rng.integers(1, 3))
    acc = n * xv * wv
    bias = 0
    if not cfg.acc_range[0] <= acc <= cfg.acc_range[1]:
        raise Unrealizable("the corner beats overflow the accumulator")
    return {"x": [xv] * n, "w": [wv] * n, "bias": bias, **_visible_r(cfg, rng, acc)}


def _tie_neighbour_job(cfg: QmacConfig, rng: np.random.Generator, side: int) -> dict:
    """An accumulator one below (``side`` = -1) or one above (+1) a rounding tie of the shift
    modes, at a shift >= 2 so the neighbour is itself rounded; visible in the output."""
    if cfg.rounding in ("gemmlowp", "fp32"):
        raise Unrealizable("the shift modes only")
    if cfg.shift_range[1] < 2:
        raise Unrealizable("no shift >= 2")
    mult = 1 if cfg.mult_bits else 0
    cap = acc_cap(cfg)
    t_hi = min(cfg.shift_range[1], max(2, cap.bit_length() - cfg.out_bits))
    t = int(rng.integers(2, t_hi + 1))
    c = 2 * int(rng.integers(-(1 << (cfg.out_bits - 2)), 1 << (cfg.out_bits - 2))) + 1
    acc = (c << (t - 1)) + side
    if abs(acc) > cap:
        raise Unrealizable("tie too large")
    x, w, bias = realize_acc(cfg, rng, acc)
    return {"x": x, "w": w, "bias": bias, "mult": mult, "shift": t, **_centred(cfg, c // 2)}


def _nudge_job(cfg: QmacConfig, rng: np.random.Generator, offset: int) -> dict:
    """gemmlowp: ``x' * M = c * 2^30 + offset`` with c odd (a tie of the doubling high multiply
    and its neighbours), at shift 0 and a small odd M so ``h`` is shown in the output.
    x' = (c * 2^30 + offset) / M is exact: x' = (2^30 + offset) * M^-1 mod 2^31."""
    if cfg.rounding != "gemmlowp":
        raise Unrealizable("gemmlowp only")
    acc_lo, acc_hi = cfg.acc_range
    for _ in range(64):
        m = 2 * int(rng.integers(0, 1 << (cfg.out_bits - 1))) + 1
        inv = pow(m, -1, 1 << 31)
        x = ((1 << 30) + offset) * inv % (1 << 31)
        if rng.random() < 0.5:
            x -= 1 << 31
        if acc_lo <= x <= acc_hi and -(1 << 31) <= x < (1 << 31):
            break
    else:
        raise Unrealizable("no x' in the accumulator's range")
    assert (x * m - offset) % (1 << 31) == 1 << 30
    r = int(np.asarray(requantize(np.array([x]), np.array([m]), np.array([0]), cfg))[0])
    xs, ws, bias = realize_acc(cfg, rng, x)
    return {"x": xs, "w": ws, "bias": bias, "mult": m, "shift": 0, **_centred(cfg, r)}


VARIANTS = (
    ("acc_max_on", lambda c, g: _acc_limit_job(c, g, True, 0)),
    ("acc_max_past", lambda c, g: _acc_limit_job(c, g, True, 1)),
    ("acc_min_on", lambda c, g: _acc_limit_job(c, g, False, 0)),
    ("acc_min_past", lambda c, g: _acc_limit_job(c, g, False, 1)),
    ("requant_clamp_max_on", lambda c, g: _requant_clamp_job(c, g, True, 0)),
    ("requant_clamp_max_past", lambda c, g: _requant_clamp_job(c, g, True, 1)),
    ("requant_clamp_min_on", lambda c, g: _requant_clamp_job(c, g, False, 0)),
    ("requant_clamp_min_past", lambda c, g: _requant_clamp_job(c, g, False, 1)),
    ("bias_max", lambda c, g: _bias_job(c, g, True)),
    ("bias_min", lambda c, g: _bias_job(c, g, False)),
    ("shift_one", _shift_one_job),
    ("mult_one", _mult_one_job),
    ("lanes_xmin_wmin", lambda c, g: _lane_corner_job(c, g, 0)),
    ("lanes_xmin_wmax", lambda c, g: _lane_corner_job(c, g, 1)),
    ("lanes_xmax_wmin", lambda c, g: _lane_corner_job(c, g, 2)),
    ("lanes_xmax_wmax", lambda c, g: _lane_corner_job(c, g, 3)),
    ("tie_below", lambda c, g: _tie_neighbour_job(c, g, -1)),
    ("tie_above", lambda c, g: _tie_neighbour_job(c, g, 1)),
    ("nudge_below", lambda c, g: _nudge_job(c, g, -1)),
    ("nudge_on", lambda c, g: _nudge_job(c, g, 0)),
    ("nudge_above", lambda c, g: _nudge_job(c, g, 1)),
)
"""The boundary jobs, one builder per edge and side."""


def gen_boundaries(cfg: QmacConfig, rng: np.random.Generator, m: int) -> Stimulus:
    """``m`` boundary jobs, cycling through :data:`VARIANTS` (those the config can build)."""
    jobs = []
    for i in range(m):
        _, build = VARIANTS[i % len(VARIANTS)]
        try:
            jobs.append(build(cfg, rng))
        except Unrealizable:
            continue
    return assemble_jobs(cfg, rng, jobs, "boundaries")
