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

import dataclasses

import numpy as np

from pyref.arith import requantize
from pyref.beats import JOB_FIELDS
from pyref.config import QmacConfig
from pyref.fixed_point import ceil_div

from . import fp32_acc_rounding, fp32_product_rounding, gemmlowp_rounding
from .exact_values import (
    OVERFLOW_K_CAP,
    Unrealizable,
    acc_cap,
    exact_requant,
    exact_requants,
    fit_requant,
    int64_exact,
    job_sums,
    place,
    realize_acc,
    realize_accs,
)
from .fp32_values import odd_inverses, pow2_mult
from .stimulus import Stimulus, assemble, assemble_jobs, empty_stimulus


def _centred(cfg: QmacConfig, r: int) -> dict:
    lo, hi = cfg.out_range
    return {"out_zp": int(min(max(-r, lo), hi)), "act_min": lo, "act_max": hi}


def _job_at(cfg: QmacConfig, rng: np.random.Generator, acc: int, mult: int, shift: int, r: int):
    """A one-output job whose accumulator is ``acc`` (:func:`realize_acc`), requantized by
    ``mult`` and ``shift`` to ``r``, with out_zp centring ``r`` in the output range."""
    x, w, bias = realize_acc(cfg, rng, acc)
    return {"x": x, "w": w, "bias": bias, "mult": mult, "shift": shift, **_centred(cfg, r)}


def same_sign_products(
    cfg: QmacConfig, amount: int, cap: int = OVERFLOW_K_CAP
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
    held = hi if high else lo  # what a saturating accumulator holds after the peak
    try:
        bx, bw = same_sign_products(cfg, target - held, OVERFLOW_K_CAP - len(xs))
    except Unrealizable:
        bx, bw = [], []
    if bx and len(xs) + len(bx) <= OVERFLOW_K_CAP:
        xs += bx
        ws += bw
        return {"x": xs, "w": ws, "bias": bias, "mult": mult, "shift": shift, **_centred(cfg, r)}
    # No way back within the cap: show the accumulator (the limit, or where the peak wrapped
    # to) through a large shift.
    final = held if cfg.acc_mode == "saturate" else (lo if high else hi) if past else peak
    r_peak = _visible_r(cfg, rng, final)
    return {"x": xs, "w": ws, "bias": bias, **r_peak}


def unit_requant(cfg: QmacConfig) -> tuple[int, int]:
    """``(mult, shift)`` that requantize every accumulator to itself (r = acc)."""
    if cfg.rounding == "gemmlowp":
        return 1 << 30, 1  # x' = 2 acc, h = 2 acc * 2^30 / 2^31 = acc
    if cfg.rounding == "fp32":
        return pow2_mult(0), 0  # scale 1.0 (exact while |acc| < 2^24)
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


def _requant_clamp_job(cfg: QmacConfig, rng: np.random.Generator, high: bool, past: int) -> dict:
    """``r`` exactly on (``past`` = 0) or one past each end of the requantizer's intermediate
    clamp to ``out_bits + 2`` bits."""
    edge = (1 << (cfg.out_bits + 1)) - 1 if high else -(1 << (cfg.out_bits + 1))
    r = edge + past if high else edge - past
    acc, mult, shift = exact_requant(cfg, rng, r)
    if not cfg.acc_range[0] <= acc <= cfg.acc_range[1]:
        raise Unrealizable(f"r = {r} needs an accumulator of {acc}")
    x, w, bias = realize_acc(cfg, rng, acc)
    lo, hi = cfg.out_range
    return {
        "x": x,
        "w": w,
        "bias": bias,
        "mult": mult,
        "shift": shift,
        "out_zp": hi if not high else lo,
        "act_min": lo,
        "act_max": hi,
    }


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
        mult, r = 1 << 30, a  # x' = 2a, h = 2a * 2^30 / 2^31 = a exactly
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


RETRY_DRAWS = 32
"""Candidates drawn at once when an fp32 rounding job's first draw shows nothing."""


def _fp32_acc_rounding_job(cfg: QmacConfig, rng: np.random.Generator, combo) -> dict:
    """fp32: an accumulator whose rounding to 24 bits has the (guard, sticky, LSB) ``combo``,
    and a scale under which rounding it the other way changes the output
    (:func:`tb.shared.fp32_acc_rounding.rounding_jobs`)."""
    acc, mult, r, ok = fp32_acc_rounding.rounding_jobs(cfg, rng, 1, combo)
    if not ok[0]:
        # At out_bits = 2 about one draw in eight finds no scale; more draws, only then, so
        # the stimulus of every run whose first draw works stays the same.
        acc, mult, r, ok = fp32_acc_rounding.rounding_jobs(cfg, rng, RETRY_DRAWS, combo)
    ok &= np.abs(acc) <= acc_cap(cfg)
    if not ok.any():
        raise Unrealizable("no scale shows this accumulator's rounding")
    i = int(np.flatnonzero(ok)[0])
    return _job_at(cfg, rng, int(acc[i]), int(mult[i]), 0, int(r[i]))


def _fp32_product_rounding_job(cfg: QmacConfig, rng: np.random.Generator, combo) -> dict:
    """fp32: a product ``fl32(acc) * scale`` whose rounding to 24 bits has the (guard, sticky,
    LSB) ``combo``, the other direction changing the output
    (:func:`tb.shared.fp32_product_rounding.rounding_jobs`)."""
    acc, mult, r, ok = fp32_product_rounding.rounding_jobs(cfg, rng, 1, combo)
    if not ok[0]:
        acc, mult, r, ok = fp32_product_rounding.rounding_jobs(cfg, rng, RETRY_DRAWS, combo)
    if not ok.any():
        raise Unrealizable("no accumulator and scale show this product's rounding")
    i = int(np.flatnonzero(ok)[0])
    return _job_at(cfg, rng, int(acc[i]), int(mult[i]), 0, int(r[i]))


def _fp32_acc_min_job(cfg: QmacConfig, rng: np.random.Generator) -> dict:
    """fp32: the accumulator -2^31 (the leading one at bit 31), scaled to a small power of two."""
    acc, mult, r = fp32_acc_rounding.acc_min_jobs(cfg, rng, 1)
    return _job_at(cfg, rng, int(acc[0]), int(mult[0]), 0, int(r[0]))


def _fp32_carry_sat_job(cfg: QmacConfig, rng: np.random.Generator) -> dict:
    """fp32: a product whose rounding to 24 bits carries into the next binade at 2^24 or more
    (:func:`tb.shared.fp32_product_rounding.carry_sat_jobs`); out_zp at the far end of the
    output range, so the clamp and a lost carry's r = 0 give different outputs."""
    acc, mult, r = fp32_product_rounding.carry_sat_jobs(cfg, rng, 1)
    return _job_at(cfg, rng, int(acc[0]), int(mult[0]), 0, int(r[0]))


def _gemmlowp_rounding_job(cfg: QmacConfig, rng: np.random.Generator, step: str, combo) -> dict:
    """gemmlowp: the (guard, sticky, LSB) ``combo`` in the doubling high multiply (``step`` =
    ``mul``) or the divide (``div``), shown in the output
    (:mod:`tb.shared.gemmlowp_rounding`)."""
    build = gemmlowp_rounding.mul_jobs if step == "mul" else gemmlowp_rounding.div_jobs
    acc, mult, shift, r, ok = build(cfg, rng, 1, combo)
    if not ok[0]:
        raise Unrealizable("the accumulator or the shift is out of range")
    return _job_at(cfg, rng, int(acc[0]), int(mult[0]), int(shift[0]), int(r[0]))


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
    *(
        (
            fp32_acc_rounding.bin_name(*combo),
            lambda c, g, combo=combo: _fp32_acc_rounding_job(c, g, combo),
        )
        for combo in fp32_acc_rounding.COMBOS
    ),
    (fp32_acc_rounding.ACC_MIN_BIN, _fp32_acc_min_job),
    *(
        (
            fp32_product_rounding.bin_name(*combo),
            lambda c, g, combo=combo: _fp32_product_rounding_job(c, g, combo),
        )
        for combo in fp32_product_rounding.COMBOS
    ),
    (fp32_product_rounding.CARRY_SAT_BIN, _fp32_carry_sat_job),
    *(
        (
            gemmlowp_rounding.bin_name(step, *combo),
            lambda c, g, step=step, combo=combo: _gemmlowp_rounding_job(c, g, step, combo),
        )
        for step in gemmlowp_rounding.STEPS
        for combo in gemmlowp_rounding.COMBOS
    ),
)
"""The boundary jobs, one builder per edge and side."""


def gen_boundaries(cfg: QmacConfig, rng: np.random.Generator, m: int) -> Stimulus:
    """``m`` boundary jobs, cycling through :data:`VARIANTS` (those the config can build).

    Built variant by variant for all its jobs at once (:data:`BATCH_VARIANTS`, the same jobs as
    the builders of :data:`VARIANTS`, which stay the readable definition, decide reachability
    and build every job past int64: :func:`gen_boundaries_by_job`); a job its builder cannot
    build is left out, as there."""
    if not int64_exact(cfg):
        return gen_boundaries_by_job(cfg, rng, m)
    idx_all = np.arange(m)
    parts = []
    for v, (name, _) in enumerate(VARIANTS):
        idx = idx_all[idx_all % len(VARIANTS) == v]
        if not idx.size:
            continue
        batch = BATCH_VARIANTS[name](cfg, rng, idx.size)
        if batch is None:
            continue
        parts.append((idx[batch.keep], batch.select(batch.keep)))
    if not parts:
        return empty_stimulus(cfg, "boundaries")
    order = np.argsort(np.concatenate([i for i, _ in parts]), kind="stable")
    k = np.concatenate([b.k for _, b in parts])
    x = np.concatenate([b.x for _, b in parts])
    w = np.concatenate([b.w for _, b in parts])
    values = {
        name: np.concatenate(
            [np.broadcast_to(np.asarray(b.values[name], np.int64), b.k.shape) for _, b in parts]
        )[order]
        for name in JOB_FIELDS
    }
    starts = np.cumsum(k) - k
    ko = k[order]
    elem = np.repeat(starts[order] - (np.cumsum(ko) - ko), ko) + np.arange(int(ko.sum()))
    return assemble(cfg, rng, ko, x[elem], w[elem], values, "boundaries")


@dataclasses.dataclass
class JobBatch:
    """Jobs of one variant: ``k[j]`` elements each in ``x``/``w`` (back to back), the job
    values (arrays or scalars), and ``keep``: False for a job the variant could not build."""

    k: np.ndarray
    x: np.ndarray
    w: np.ndarray
    values: dict
    keep: np.ndarray

    def select(self, keep: np.ndarray) -> "JobBatch":
        elem = np.repeat(keep, self.k)
        vals = {n: (np.asarray(v)[keep] if np.ndim(v) else v) for n, v in self.values.items()}
        return JobBatch(
            self.k[keep],
            self.x[elem],
            self.w[elem],
            vals,
            np.ones(int(np.count_nonzero(keep)), bool),
        )


def _centred_many(cfg: QmacConfig, r: np.ndarray) -> dict:
    lo, hi = cfg.out_range
    return {"out_zp": np.clip(-np.asarray(r, np.int64), lo, hi), "act_min": lo, "act_max": hi}


def _realized(
    cfg: QmacConfig,
    rng: np.random.Generator,
    acc: np.ndarray,
    values: dict,
    keep: np.ndarray | None = None,
) -> JobBatch:
    """Jobs whose accumulator is exactly ``acc`` (:func:`realize_accs`); ``keep`` also drops
    jobs (their accumulator is replaced by 0 before realizing)."""
    keep = np.ones(len(acc), bool) if keep is None else np.asarray(keep, bool)
    rz = realize_accs(cfg, rng, np.where(keep, acc, 0))
    return JobBatch(rz.k, rz.x, rz.w, {**values, "bias": rz.bias}, keep & rz.ok)


def same_sign_products_many(
    cfg: QmacConfig, amount: np.ndarray, cap: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`same_sign_products` for many amounts: ``(ok, k, x, w)``, ``ok`` False where there
    is no product of that sign or more than ``cap`` are needed (those jobs hold nothing)."""
    amount = np.asarray(amount, np.int64)
    xhi = cfg.in_range[1]
    wlo, whi = cfg.w_range
    sgn = np.where(amount >= 0, 1, -1)
    wmag = np.where(sgn > 0, whi, -wlo)
    ok = (xhi >= 1) & (wmag >= 1)
    big = np.maximum(xhi * wmag, 1)
    n_full, rest = np.divmod(np.abs(amount), big)
    ok &= n_full <= cap
    part, rest = np.divmod(rest, np.maximum(wmag, 1))
    n_part = (part > 0).astype(np.int64)
    n_unit = ceil_div(rest, max(xhi, 1))
    keep = ok.astype(np.int64)
    n_full, n_part, n_unit = n_full * keep, n_part * keep, n_unit * keep
    unit_x = np.full(int(n_unit.sum()), xhi, np.int64)
    has = n_unit > 0
    unit_x[np.cumsum(n_unit)[has] - 1] = (rest - (n_unit - 1) * xhi)[has]
    sw = sgn * wmag
    k, x, w = place(
        [n_full, n_part, n_unit],
        [
            (np.full(int(n_full.sum()), xhi, np.int64), np.repeat(sw, n_full)),
            (part[n_part > 0], sw[n_part > 0]),
            (unit_x, np.repeat(sgn, n_unit)),
        ],
    )
    return ok, k, x, w


def _visible_rs(
    cfg: QmacConfig, rng: np.random.Generator, acc: np.ndarray
) -> tuple[dict, np.ndarray]:
    """:func:`_visible_r` for many accumulators: ``(values, ok)``; 32 rounds of
    :func:`fit_requant` for the jobs still without a visible r, then the smallest multiplier
    with the largest shift (shift modes with a multiplier)."""
    lo, hi = cfg.out_range
    acc = np.asarray(acc, np.int64)
    n = acc.shape[0]
    mult, shift, r = (np.zeros(n, np.int64) for _ in range(3))
    done = np.zeros(n, bool)
    rounds = [None] * 32
    if cfg.mult_bits and cfg.rounding not in ("gemmlowp", "fp32"):
        rounds.append((1, cfg.shift_range[1]))
    for fixed in rounds:
        pend = np.flatnonzero(~done)
        if not pend.size:
            break
        if fixed is None:
            mu, sh = fit_requant(cfg, rng, acc[pend])
        else:
            mu, sh = np.full(pend.size, fixed[0], np.int64), np.full(pend.size, fixed[1], np.int64)
        rr = np.asarray(requantize(acc[pend], mu, sh, cfg))
        good = np.asarray((rr >= -hi) & (rr <= -lo), dtype=bool)
        g = pend[good]
        mult[g], shift[g], r[g] = mu[good], sh[good], rr[good].astype(np.int64)
        done[g] = True
    return {"mult": mult, "shift": shift, **_centred_many(cfg, r)}, done


def _acc_limit_batch(
    cfg: QmacConfig, rng: np.random.Generator, n: int, high: bool, past: int
) -> JobBatch:
    lo, hi = cfg.acc_range
    peak = hi + past if high else lo - past
    rz = realize_accs(cfg, rng, np.full(n, peak, np.int64))
    pad = (-rz.k) % cfg.lanes
    pad_w = rng.integers(cfg.w_range[0], cfg.w_range[1] + 1, int(pad.sum()))
    quarter = 1 << (cfg.out_bits - 2)
    target = rng.integers(-quarter, quarter + 1, n)
    mult, shift = unit_requant(cfg)
    held = hi if high else lo
    used = rz.k + pad
    ok_b, kb, xb, wb = same_sign_products_many(cfg, target - held, OVERFLOW_K_CAP - used)
    back = ok_b & (kb > 0) & (used + kb <= OVERFLOW_K_CAP)
    kb_used = np.where(back, kb, 0)
    elem_b = np.repeat(back, kb)
    xb, wb = xb[elem_b], wb[elem_b]
    k, x, w = place(
        [rz.k, pad, kb_used], [(rz.x, rz.w), (np.zeros(pad_w.shape[0], np.int64), pad_w), (xb, wb)]
    )
    values = {
        "bias": rz.bias,
        "mult": np.full(n, mult, np.int64),
        "shift": np.full(n, shift, np.int64),
        **_centred_many(cfg, target),
    }
    keep = rz.ok.copy()
    if not back.all():
        # No way back within the cap: show the accumulator (the limit, or where the peak
        # wrapped to) through a large shift.
        final = held if cfg.acc_mode == "saturate" else (lo if high else hi) if past else peak
        rest = np.flatnonzero(~back)
        vis, ok_v = _visible_rs(cfg, rng, np.full(rest.size, final, np.int64))
        for name in ("mult", "shift", "out_zp"):
            values[name][rest] = vis[name]
        keep[rest] &= ok_v
    return JobBatch(k, x, w, values, keep)


def _requant_clamp_batch(
    cfg: QmacConfig, rng: np.random.Generator, n: int, high: bool, past: int
) -> JobBatch:
    edge = (1 << (cfg.out_bits + 1)) - 1 if high else -(1 << (cfg.out_bits + 1))
    r = edge + past if high else edge - past
    acc, mult, shift = exact_requants(cfg, rng, np.full(n, r, np.int64))
    lo, hi = cfg.out_range
    fits = (acc >= cfg.acc_range[0]) & (acc <= cfg.acc_range[1])
    return _realized(
        cfg,
        rng,
        acc,
        {
            "mult": mult,
            "shift": shift,
            "out_zp": hi if not high else lo,
            "act_min": lo,
            "act_max": hi,
        },
        fits,
    )


def _bias_batch(cfg: QmacConfig, rng: np.random.Generator, n: int, high: bool) -> JobBatch:
    blo, bhi = cfg.bias_range
    bias = bhi if high else blo
    k = rng.integers(1, 2 * cfg.lanes + 1, n)
    x = rng.integers(cfg.in_range[0], cfg.in_range[1] + 1, int(k.sum()))
    w = rng.integers(-1, 2, x.shape[0])
    acc = bias + job_sums(k, x * w)
    out = ~((acc >= cfg.acc_range[0]) & (acc <= cfg.acc_range[1]))
    w = np.where(np.repeat(out, k), 0, w)
    acc = np.where(out, bias, acc)
    vis, ok = _visible_rs(cfg, rng, acc)
    return JobBatch(k, x, w, {"bias": bias, **vis}, ok)


def _shift_one_batch(cfg: QmacConfig, rng: np.random.Generator, n: int) -> JobBatch | None:
    if cfg.rounding == "fp32" or cfg.shift_range[1] < 1:
        return None
    q = 1 << (cfg.out_bits - 2)
    a = 2 * rng.integers(-q, q, n) + 1
    if cfg.rounding == "gemmlowp":
        mult, r = 1 << 30, a
    else:
        mult, r = (1 if cfg.mult_bits else 0), a // 2
    return _realized(cfg, rng, a, {"mult": mult, "shift": 1, **_centred_many(cfg, r)})


def _mult_one_batch(cfg: QmacConfig, rng: np.random.Generator, n: int) -> JobBatch | None:
    if cfg.mult_bits == 0 or cfg.rounding == "fp32":
        return None
    if cfg.rounding == "gemmlowp":
        r = rng.choice(np.array([-1, 1]), n)
        s = rng.integers(0, 31, n)
        a = (r << 30) >> s
        a = np.where(a == 0, r, a)
        rr = np.asarray(requantize(a, np.ones(n, np.int64), s, cfg)).astype(np.int64)
        return _realized(cfg, rng, a, {"mult": 1, "shift": s, **_centred_many(cfg, rr)})
    h = 1 << (cfg.out_bits - 1)
    a = rng.integers(-h, h, n)
    return _realized(cfg, rng, a, {"mult": 1, "shift": 0, **_centred_many(cfg, a)})


def _lane_corner_batch(cfg: QmacConfig, rng: np.random.Generator, n: int, corner: int) -> JobBatch:
    xv = cfg.in_range[corner // 2]
    wv = cfg.w_range[corner % 2]
    k = cfg.lanes * rng.integers(1, 3, n)
    acc = k * xv * wv
    fits = (acc >= cfg.acc_range[0]) & (acc <= cfg.acc_range[1])
    vis, ok = _visible_rs(cfg, rng, np.where(fits, acc, 0))
    total = int(k.sum())
    return JobBatch(
        k, np.full(total, xv, np.int64), np.full(total, wv, np.int64), {"bias": 0, **vis}, ok & fits
    )


def _tie_neighbour_batch(
    cfg: QmacConfig, rng: np.random.Generator, n: int, side: int
) -> JobBatch | None:
    if cfg.rounding in ("gemmlowp", "fp32") or cfg.shift_range[1] < 2:
        return None
    mult = 1 if cfg.mult_bits else 0
    cap = acc_cap(cfg)
    t_hi = min(cfg.shift_range[1], max(2, cap.bit_length() - cfg.out_bits))
    t = rng.integers(2, t_hi + 1, n)
    q = 1 << (cfg.out_bits - 2)
    c = 2 * rng.integers(-q, q, n) + 1
    acc = (c << (t - 1)) + side
    return _realized(
        cfg, rng, acc, {"mult": mult, "shift": t, **_centred_many(cfg, c // 2)}, np.abs(acc) <= cap
    )


def _nudge_batch(cfg: QmacConfig, rng: np.random.Generator, n: int, offset: int) -> JobBatch | None:
    if cfg.rounding != "gemmlowp":
        return None
    acc_lo, acc_hi = cfg.acc_range
    mults = np.zeros(n, np.int64)
    xs = np.zeros(n, np.int64)
    done = np.zeros(n, bool)
    for _ in range(64):
        pend = np.flatnonzero(~done)
        if not pend.size:
            break
        mm = 2 * rng.integers(0, 1 << (cfg.out_bits - 1), pend.size) + 1
        inv = (odd_inverses(mm) & np.uint64((1 << 31) - 1)).astype(np.int64)
        x = (((1 << 30) + offset) * inv) % (1 << 31)  # < 2^62: exact
        x = np.where(rng.random(pend.size) < 0.5, x - (1 << 31), x)
        good = (x >= acc_lo) & (x <= acc_hi) & (x >= -(1 << 31)) & (x < (1 << 31))
        mults[pend[good]], xs[pend[good]] = mm[good], x[good]
        done[pend[good]] = True
    if not np.all(((xs * mults - offset) % (1 << 31))[done] == 1 << 30):
        raise AssertionError("a nudge job is off its tie")
    r = np.asarray(requantize(xs, mults, np.zeros(n, np.int64), cfg)).astype(np.int64)
    return _realized(cfg, rng, xs, {"mult": mults, "shift": 0, **_centred_many(cfg, r)}, done)


def _fp32_rounding_batch(
    cfg: QmacConfig, rng: np.random.Generator, n: int, step, combo
) -> JobBatch | None:
    """Jobs of ``step`` (:mod:`.fp32_acc_rounding` or :mod:`.fp32_product_rounding`) for one
    guard / sticky / LSB ``combo``."""
    if cfg.rounding != "fp32":
        return None
    acc, mult, r, ok = step.rounding_jobs(cfg, rng, n, combo)
    ok &= np.abs(acc) <= acc_cap(cfg)
    miss = np.flatnonzero(~ok)
    if miss.size:  # more draws for the jobs that found no scale (see _fp32_acc_rounding_job)
        acc2, mult2, r2, ok2 = step.rounding_jobs(cfg, rng, RETRY_DRAWS * miss.size, combo)
        found = np.flatnonzero(ok2 & (np.abs(acc2) <= acc_cap(cfg)))[: miss.size]
        slots = miss[: found.size]
        acc[slots], mult[slots], r[slots], ok[slots] = acc2[found], mult2[found], r2[found], True
    return _realized(cfg, rng, acc, {"mult": mult, "shift": 0, **_centred_many(cfg, r)}, ok)


def _fp32_acc_min_batch(cfg: QmacConfig, rng: np.random.Generator, n: int) -> JobBatch | None:
    try:
        acc, mult, r = fp32_acc_rounding.acc_min_jobs(cfg, rng, n)
    except Unrealizable:
        return None
    return _realized(cfg, rng, acc, {"mult": mult, "shift": 0, **_centred_many(cfg, r)})


def _fp32_carry_sat_batch(cfg: QmacConfig, rng: np.random.Generator, n: int) -> JobBatch | None:
    try:
        acc, mult, r = fp32_product_rounding.carry_sat_jobs(cfg, rng, n)
    except Unrealizable:
        return None
    return _realized(cfg, rng, acc, {"mult": mult, "shift": 0, **_centred_many(cfg, r)})


def _gemmlowp_rounding_batch(
    cfg: QmacConfig, rng: np.random.Generator, n: int, step: str, combo
) -> JobBatch | None:
    if cfg.rounding != "gemmlowp":
        return None
    build = gemmlowp_rounding.mul_jobs if step == "mul" else gemmlowp_rounding.div_jobs
    acc, mult, shift, r, ok = build(cfg, rng, n, combo)
    values = {"mult": mult, "shift": shift, **_centred_many(cfg, r)}
    return _realized(cfg, rng, acc, values, ok)


BATCH_VARIANTS = {
    "acc_max_on": lambda c, g, n: _acc_limit_batch(c, g, n, True, 0),
    "acc_max_past": lambda c, g, n: _acc_limit_batch(c, g, n, True, 1),
    "acc_min_on": lambda c, g, n: _acc_limit_batch(c, g, n, False, 0),
    "acc_min_past": lambda c, g, n: _acc_limit_batch(c, g, n, False, 1),
    "requant_clamp_max_on": lambda c, g, n: _requant_clamp_batch(c, g, n, True, 0),
    "requant_clamp_max_past": lambda c, g, n: _requant_clamp_batch(c, g, n, True, 1),
    "requant_clamp_min_on": lambda c, g, n: _requant_clamp_batch(c, g, n, False, 0),
    "requant_clamp_min_past": lambda c, g, n: _requant_clamp_batch(c, g, n, False, 1),
    "bias_max": lambda c, g, n: _bias_batch(c, g, n, True),
    "bias_min": lambda c, g, n: _bias_batch(c, g, n, False),
    "shift_one": _shift_one_batch,
    "mult_one": _mult_one_batch,
    "lanes_xmin_wmin": lambda c, g, n: _lane_corner_batch(c, g, n, 0),
    "lanes_xmin_wmax": lambda c, g, n: _lane_corner_batch(c, g, n, 1),
    "lanes_xmax_wmin": lambda c, g, n: _lane_corner_batch(c, g, n, 2),
    "lanes_xmax_wmax": lambda c, g, n: _lane_corner_batch(c, g, n, 3),
    "tie_below": lambda c, g, n: _tie_neighbour_batch(c, g, n, -1),
    "tie_above": lambda c, g, n: _tie_neighbour_batch(c, g, n, 1),
    "nudge_below": lambda c, g, n: _nudge_batch(c, g, n, -1),
    "nudge_on": lambda c, g, n: _nudge_batch(c, g, n, 0),
    "nudge_above": lambda c, g, n: _nudge_batch(c, g, n, 1),
    **{
        fp32_acc_rounding.bin_name(*combo): (
            lambda c, g, n, combo=combo: _fp32_rounding_batch(c, g, n, fp32_acc_rounding, combo)
        )
        for combo in fp32_acc_rounding.COMBOS
    },
    fp32_acc_rounding.ACC_MIN_BIN: _fp32_acc_min_batch,
    **{
        fp32_product_rounding.bin_name(*combo): (
            lambda c, g, n, combo=combo: _fp32_rounding_batch(c, g, n, fp32_product_rounding, combo)
        )
        for combo in fp32_product_rounding.COMBOS
    },
    fp32_product_rounding.CARRY_SAT_BIN: _fp32_carry_sat_batch,
    **{
        gemmlowp_rounding.bin_name(step, *combo): (
            lambda c, g, n, step=step, combo=combo: _gemmlowp_rounding_batch(c, g, n, step, combo)
        )
        for step in gemmlowp_rounding.STEPS
        for combo in gemmlowp_rounding.COMBOS
    },
}
"""The variants of :data:`VARIANTS`, each building ``n`` jobs at once (None: the config has no
such job)."""


def gen_boundaries_by_job(cfg: QmacConfig, rng: np.random.Generator, m: int) -> Stimulus:
    """:func:`gen_boundaries` job by job, with the builders of :data:`VARIANTS`."""
    jobs = []
    for i in range(m):
        _, build = VARIANTS[i % len(VARIANTS)]
        try:
            jobs.append(build(cfg, rng))
        except Unrealizable:
            continue
    return assemble_jobs(cfg, rng, jobs, "boundaries")
