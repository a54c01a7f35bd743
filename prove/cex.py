"""Counterexamples a user can replay: the failing module's input values, from the witness sby
writes, turned into a one-job vector file (pyref.vectors) whose job reaches the module with
those values, with pyref's expected y; ``make sim VECTORS=<file>`` replays it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pyref.arith import requantize
from pyref.config import QmacConfig
from pyref.fp32_math import scale_to_mult
from pyref.layer import Layer
from pyref.rounding import round_shift_scalar
from pyref.vectors import save_vectors

from .fp32_replay import fp32_layer
from .gemmlowp_replay import gemmlowp_layer
from .plan import Check
from .replay_layer import one_job_layer
from .requant_replay import SHIFT_MODES, mul_pipe_layer, requant_layer
from .witness import signed, trace_outputs, witness_inputs


def _acc_mult(cfg: QmacConfig, p: int) -> tuple[int, int] | None:
    """``(acc, mult)`` with ``acc * mult = p`` in their ranges (acc through the bias), if any."""
    lo, hi = cfg.bias_range
    if not cfg.mult_bits:
        return (p, 0) if lo <= p <= hi else None
    for m in range(1, min(1 << cfg.mult_bits, 1 << 16)):
        if p % m == 0 and lo <= p // m <= hi:
            return p // m, m
    return (0, 0) if p == 0 else None


def _requant_input(check: Check, cfg: QmacConfig, vals: dict[str, int]):
    """``(p, shift)`` reaching the requantizer when ``check``'s module is the requantizer's
    rounding shift, rounding stage or saturator at ``cfg``'s widths; None otherwise."""
    params, p_bits = dict(check.params), cfg.acc_bits + cfg.mult_bits
    if cfg.rounding not in SHIFT_MODES:
        return None
    if check.module == "qmac_round_shift" and params.get("W") == p_bits:
        return signed(vals["v_i"], p_bits), vals["t_i"]
    if check.module == "qmac_requant_round":
        return signed(vals["p_i"], p_bits), vals["shift_i"]
    if (
        check.module == "qmac_sat"
        and params.get("IN_W") == p_bits
        and params.get("OUT_W") == cfg.out_bits + 2
    ):
        return signed(vals["v_i"], p_bits), 0
    return None


def _requant_candidates(cfg: QmacConfig) -> list[tuple[int, int]]:
    """``(mult, shift)`` pairs from r = acc down to the accumulator's top bits."""
    if cfg.rounding == "fp32":
        return [((127 - k) << 23, 0) for k in range(0, 40)]
    if cfg.rounding == "gemmlowp":
        return [(1 << 30, 1)] + [(1 << 30, -t) for t in range(0, 32)]
    return [(1 if cfg.mult_bits else 0, t) for t in range(0, cfg.shift_range[1] + 1)]


def _separating(cfg: QmacConfig, right: int, wrong: int) -> tuple[int, int, int] | None:
    """``(mult, shift, out_zp)`` under which the accumulator ``right`` gives y = 0 unclamped
    and ``wrong`` another y (pyref's requantization of both), or None."""
    lo, hi = cfg.out_range
    cands = _requant_candidates(cfg)
    if cfg.rounding == "fp32" and right != wrong:
        # n + 1/2 between the two binary32 values times the scale (fp32: a one-ulp difference)
        mid = (abs(right) + abs(wrong)) / 2
        for n in range(0, min(hi, 40)):
            base = int(scale_to_mult(np.array([(n + 0.5) / max(mid, 1.0)]))[0])
            cands += [(base + d, 0) for d in (0, -1, 1, -2, 2)]
    for mult, shift in cands:
        rr = requantize(np.array([right, wrong], np.int64), mult, shift, cfg)
        r1, r2 = (int(v) for v in np.asarray(rr))
        zp = -r1
        if lo <= zp <= hi and min(max(r2 + zp, lo), hi) != 0:
            return mult, shift, zp
    return None


def _products(cfg: QmacConfig, amount: int) -> tuple[list[int], list[int]] | None:
    """Products of one sign summing to ``amount`` (x >= 0, w carries the sign), padded to
    whole beats; None past 64 beats."""
    xhi, (wlo, whi) = cfg.in_range[1], cfg.w_range
    w = whi if amount >= 0 else wlo
    if xhi < 1 or w == 0:
        return None
    xs, ws, rest = [], [], abs(amount)
    while rest:
        big = min(xhi * abs(w), rest)
        x = big // abs(w)
        if x == 0:
            x, w1 = min(xhi, rest), (1 if amount > 0 else -1)
            xs.append(x)
            ws.append(w1)
            rest -= x
            continue
        xs.append(x)
        ws.append(w)
        rest -= x * abs(w)
        if len(xs) > 64 * cfg.lanes:
            return None
    pad = (-len(xs)) % cfg.lanes or (cfg.lanes if not xs else 0)
    return xs + [0] * pad, ws + [0] * pad


def _acc_value(cfg: QmacConfig, v: int) -> int:
    """``v`` wrapped or saturated to the accumulator, as one beat of qmac_accum would."""
    lo, hi = cfg.acc_range
    if cfg.acc_mode == "saturate":
        return min(max(v, lo), hi)
    return (v - lo) % (hi - lo + 1) + lo


def _further_beats(cfg: QmacConfig, right: int, wrong: int):
    """Beats after the witness's that take the accumulators ``right`` and ``wrong`` (the spec's
    and the RTL's) by the same sum to where a requantization separates them, neither wrapping
    nor saturating: ``((x, w), (mult, shift, out_zp))`` of the smallest such sum, or None. A
    shift mode's boundaries are the multiples of ``2^(t-1)`` (its ties and its integers):
    one accumulator is put on one, with ``r`` inside the output range. For ``32767`` against
    ``32766`` (a saturating bound one off), which no shift of int4_sat's tells apart."""
    if cfg.rounding not in SHIFT_MODES:
        return None
    d, (alo, ahi), (lo, hi) = wrong - right, cfg.acc_range, cfg.out_range
    # r within the output range at shift t: |j| / 2 of the boundary j * 2^(t-1); a bounded
    # number of the nearest (16-bit outputs and 127 shifts would be millions)
    span = min(2 * (max(hi, -lo) + 1), 64)
    targets = {
        b - off
        for t in range(1, min(cfg.shift_range[1], cfg.acc_bits + 1) + 1)
        for b in (j << (t - 1) for j in range(-span, span + 1))
        for off in (0, d)
    }
    fits = [v for v in targets if alo <= min(v, v + d) and max(v, v + d) <= ahi and v != right]
    for target in sorted(fits, key=lambda v: (abs(v - right), v))[:256]:
        sep = _separating(cfg, target, target + d)
        beats = _products(cfg, target - right) if sep else None
        if beats is not None:
            return beats, sep
    return None


def _accumulator_layer(check: Check, cfg: QmacConfig, vals, outs) -> Layer | None:
    """A job reaching qmac_beat_sum, qmac_accum or qmac_fp32_normalize with the witness's
    inputs, and a requantization under which the spec's result and the RTL's differ in y."""
    params, gold, gate = dict(check.params), outs["gold"], outs["gate"]
    lanes = cfg.lanes
    if check.module == "qmac_beat_sum":
        if params.get("LANES") != lanes or params.get("IN_BITS") != cfg.in_bits:
            return None
        ib, wb, sb = cfg.in_bits, cfg.w_bits, cfg.in_bits + cfg.w_bits + (lanes - 1).bit_length()
        x = [(vals["x_i"] >> (k * ib)) & ((1 << ib) - 1) for k in range(lanes)]
        x = [signed(v, ib) for v in x] if cfg.in_signed else x
        w = [signed((vals["w_i"] >> (k * wb)) & ((1 << wb) - 1), wb) for k in range(lanes)]
        right, wrong = signed(gate["sum_o"], sb), signed(gold["sum_o"], sb)
        blo, bhi = cfg.bias_range
        bias = min(max(-right, blo), bhi)
        xs, ws = [x], [w]
        right, wrong = _acc_value(cfg, bias + right), _acc_value(cfg, bias + wrong)
    elif check.module == "qmac_accum":
        if params.get("ACC_BITS") != cfg.acc_bits or params.get("BIAS_BITS") != cfg.bias_bits:
            return None
        sb = params["SUM_BITS"]
        beats = _products(cfg, signed(vals["sum_i"], sb))
        if beats is None:
            return None
        px, pw = beats
        if vals["first_i"]:
            bias, head_x, head_w = signed(vals["bias_i"], cfg.bias_bits), [], []
        else:
            bias = signed(vals["acc_i"], cfg.acc_bits)
            if not cfg.bias_range[0] <= bias <= cfg.bias_range[1]:
                return None
            head_x, head_w = [0] * lanes, [0] * lanes
        flat_x, flat_w = head_x + px, head_w + pw
        xs = [flat_x[i : i + lanes] for i in range(0, len(flat_x), lanes)]
        ws = [flat_w[i : i + lanes] for i in range(0, len(flat_w), lanes)]
        right = signed(gate["acc_d_o"], cfg.acc_bits)
        wrong = signed(gold["acc_d_o"], cfg.acc_bits)
    elif check.module == "qmac_fp32_normalize" and cfg.rounding == "fp32":
        bias = signed(vals["acc_i"], 32)
        xs, ws = [[0] * lanes], [[0] * lanes]

        def value(o):
            v = o["mant_o"] << o["exp_o"] >> 23 if o["exp_o"] >= 23 else None
            return None if v is None else (-v if o["sign_o"] else v)

        right, wrong = value(gate), value(gold)
        if right is None or wrong is None or abs(wrong) > 1 << 31:
            return None
    else:
        return None
    if right == wrong:
        return None
    sep = _separating(cfg, right, wrong)
    if sep is None and check.module != "qmac_fp32_normalize":
        further = _further_beats(cfg, right, wrong)
        if further is None:
            return None
        (px, pw), sep = further
        xs += [px[i : i + lanes] for i in range(0, len(px), lanes)]
        ws += [pw[i : i + lanes] for i in range(0, len(pw), lanes)]
    if sep is None:
        return None
    mult, shift, zp = sep
    lo, hi = cfg.out_range
    return Layer.build(
        cfg,
        x=[sum(xs, [])],
        w=[sum(ws, [])],
        bias=[bias],
        mult=[mult] if cfg.mult_bits else None,
        shift=[shift],
        out_zp=zp,
        act_min=lo,
        act_max=hi,
    )


def _requant_mul_layer(check: Check, cfg: QmacConfig, vals, outs) -> Layer | None:
    """qmac_requant_mul in a shift mode with a multiplier: the witness's accumulator (the bias)
    and multiplier exactly, and the first shift (the witness's, then 0 up) under which pyref's
    r of the spec's product lands where an output zero point brings it to y = 0 and the RTL's
    product (read from the trace) rounds to another r; the spec's product ignores the shift."""
    params = dict(check.params)
    if (
        check.module != "qmac_requant_mul"
        or cfg.rounding not in SHIFT_MODES
        or not cfg.mult_bits
        or params.get("ACC_BITS") != cfg.acc_bits
        or params.get("MULT_BITS") != cfg.mult_bits
    ):
        return None
    p_bits, r_bits = cfg.acc_bits + cfg.mult_bits, cfg.out_bits + 2
    acc, mult = signed(vals["acc_i"], cfg.acc_bits), vals["mult_i"]
    if not cfg.bias_range[0] <= acc <= cfg.bias_range[1]:
        return None
    wrong = signed(outs["gold"]["p_o"], p_bits)
    lo, hi = cfg.out_range
    r_max = (1 << (r_bits - 1)) - 1
    for t in dict.fromkeys([vals.get("shift_i", 0), *range(cfg.shift_range[1] + 1)]):
        if not cfg.shift_range[0] <= t <= cfg.shift_range[1]:
            continue
        right = int(np.asarray(requantize(np.array([acc], np.int64), mult, t, cfg))[0])
        r_wrong = min(max(round_shift_scalar(wrong, t, cfg.rounding), -r_max - 1), r_max)
        if -hi <= right <= -lo and r_wrong != right:
            return one_job_layer(cfg, acc, mult, t, -right)
    return None


def _wrong_r(check: Check, cfg: QmacConfig, outs) -> int | None:
    """The RTL's r (saturated to ``out_bits + 2`` bits, as qmac_requant_round does) of the
    failing requantizer module, read from the trace's ``gold`` side; None if not there."""
    gold, params = outs.get("gold", {}), dict(check.params)
    port, width = {
        "qmac_round_shift": ("r_o", params.get("W")),
        "qmac_requant_round": ("r_o", cfg.out_bits + 2),
        "qmac_sat": ("s_o", params.get("OUT_W")),
    }.get(check.module, (None, None))
    if port not in gold or not width:
        return None
    r_max = (1 << (cfg.out_bits + 1)) - 1
    return min(max(signed(gold[port], width), -r_max - 1), r_max)


def layer_for(check: Check, cfg: QmacConfig, vals: dict[str, int], outs=None) -> Layer | None:
    """A one-job, one-beat layer (x = 0: the accumulator is the bias) whose job gives the
    failing module ``vals``, or None when this module or these values are not reached so, or
    (``outs``: the trace's outputs) when the requantizer's right r is outside the window an
    output zero point brings to y = 0 or the RTL's r (``gold``) equals it there."""
    lanes, lo, hi = cfg.lanes, *cfg.out_range
    zero = dict(x=[[0] * lanes], w=[[0] * lanes])
    if check.module == "qmac_out_stage":
        r = signed(vals["r_i"], cfg.out_bits + 2)
        am = _acc_mult(cfg, r)
        if am is None or cfg.rounding not in SHIFT_MODES:
            return None
        return Layer.build(
            cfg,
            **zero,
            bias=[am[0]],
            mult=[am[1]] if cfg.mult_bits else None,
            shift=[0],
            out_zp=signed(vals["out_zp_i"], cfg.out_bits),
            act_min=signed(vals["act_min_i"], cfg.out_bits),
            act_max=signed(vals["act_max_i"], cfg.out_bits),
        )
    got = _requant_input(check, cfg, vals)
    if got is None:
        return None
    p, t = got
    am = _acc_mult(cfg, p)
    if am is None or t >= 1 << cfg.shift_bits:
        return None
    # out_zp brings the right result into the output range, where a wrong one shows
    r = round_shift_scalar(p, t, cfg.rounding)
    zp = min(max(-r, lo), hi)
    if outs is not None and (zp != -r or _wrong_r(check, cfg, outs) in (None, r)):
        return None
    return Layer.build(
        cfg,
        **zero,
        bias=[am[0]],
        mult=[am[1]] if cfg.mult_bits else None,
        shift=[t],
        out_zp=zp,
        act_min=lo,
        act_max=hi,
    )


def replay_command(
    result,
    configs: dict[str, QmacConfig],
    out_dir: Path,
    rtl: Path | None = None,
    rtl_dir: Path | None = None,
) -> str:
    """Write the vector file of ``result``'s counterexample and return the ``make sim`` line
    that replays it ('' when the module's values cannot be reached by a one-job layer);
    ``rtl``: the RTL= of the command (None: rtl/), ``rtl_dir``: the RTL proven."""
    vals, outs = witness_inputs(result.workdir), trace_outputs(result.workdir)
    check, work = result.check, result.workdir.parent
    # a multiplier ladder's check has no config (its widths are no config's): each given config
    # is tried, by the chunked multiplier's search only
    for name in check.configs or tuple(configs):
        cfg = configs.get(name)
        if cfg is None:
            continue
        if not check.configs:
            layer = mul_pipe_layer(check, cfg, rtl_dir, work) if rtl_dir is not None else None
        else:
            layer = layer_for(check, cfg, vals, outs)
            layer = layer or _accumulator_layer(check, cfg, vals, outs)
            layer = layer or _requant_mul_layer(check, cfg, vals, outs)
        if layer is None and check.configs and rtl_dir is not None:
            layer = gemmlowp_layer(check, cfg, rtl_dir, result.workdir)
            layer = layer or fp32_layer(check, cfg, rtl_dir, result.workdir)
            layer = layer or requant_layer(check, cfg, rtl_dir, work)
        if layer is None:
            continue
        out_dir.mkdir(parents=True, exist_ok=True)
        path = save_vectors(out_dir / f"{check.slug}_{name}.npz", cfg, layer, compute_expected=True)
        return f"make sim VECTORS={path}" + (f" RTL={rtl}" if rtl else "")
    return ""
