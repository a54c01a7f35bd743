"""Counterexamples a user can replay: the failing module's input values, from the witness sby
writes, turned into a one-job vector file (pyref.vectors) whose job reaches the module with
those values, with pyref's expected y; ``make sim VECTORS=<file>`` replays it."""

from __future__ import annotations

import json
from pathlib import Path

from pyref.config import QmacConfig
from pyref.fixed_point import multiply_by_quantized_multiplier_scalar
from pyref.layer import Layer
from pyref.rounding import round_shift_scalar
from pyref.vectors import save_vectors

from . import miter, sby
from .plan import Check

SHIFT_MODES = ("floor", "trunc", "half_up", "half_down", "half_zero", "half_away", "half_even")


def witness_inputs(workdir: Path) -> dict[str, int]:
    """The input values of the counterexample (step 0 of ``engine_0/trace.yw``), by port name
    (``v_i``); the witness lists its bits last signal first, bit 0 of the first signal last."""
    data = json.loads((Path(workdir) / "engine_0" / "trace.yw").read_text())
    bits = data["steps"][0]["bits"][::-1]
    out, lo = {}, 0
    for sig in data["signals"]:
        name, width = sig["path"][-1].lstrip("\\").rsplit(".", 1)[-1], sig["width"]
        out[name.removeprefix("in_")] = int(bits[lo : lo + width][::-1] or "0", 2)
        lo += width
    return out


def signed(v: int, bits: int) -> int:
    """The two's complement value of a ``bits``-bit unsigned integer."""
    return v - (1 << bits) if v >> (bits - 1) & 1 else v


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


def layer_for(check: Check, cfg: QmacConfig, vals: dict[str, int]) -> Layer | None:
    """A one-job, one-beat layer (x = 0: the accumulator is the bias) whose job gives the
    failing module ``vals``, or None when this module or these values are not reached so."""
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


def gemmlowp_layer(
    check: Check, cfg: QmacConfig, rtl_dir: Path, work: Path, timeout: float = 300
) -> Layer | None:
    """gemmlowp's rounding stage: the proof run again with the spec's QMAC_REPLAY assumptions
    (the product is acc * M, shift <= 0), whose counterexample is a layer's bias, mult, shift."""
    if check.module != "qmac_requant_round" or cfg.rounding != "gemmlowp":
        return None
    out = sby.run(
        Path(work) / (check.slug + "_replay"),
        miter.task_text(check, rtl_dir, "yices", replay=True),
        timeout=timeout,
        complete=True,
    )
    if out.status != sby.FAILED:
        return None
    vals = witness_inputs(out.workdir)
    acc, m = signed(vals["replay_acc"], 32), vals["replay_m"]
    s = signed(vals["shift_i"], cfg.shift_bits)
    lo, hi = cfg.out_range
    r = multiply_by_quantized_multiplier_scalar(acc, m, s)
    return Layer.build(
        cfg,
        x=[[0] * cfg.lanes],
        w=[[0] * cfg.lanes],
        bias=[acc],
        mult=[m],
        shift=[s],
        out_zp=min(max(-r, lo), hi),
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
    vals = witness_inputs(result.workdir)
    for name in result.check.configs:
        cfg = configs.get(name)
        layer = layer_for(result.check, cfg, vals) if cfg else None
        if layer is None and cfg and rtl_dir is not None:
            layer = gemmlowp_layer(result.check, cfg, rtl_dir, result.workdir.parent)
        if layer is None:
            continue
        out_dir.mkdir(parents=True, exist_ok=True)
        path = save_vectors(
            out_dir / f"{result.check.slug}_{name}.npz", cfg, layer, compute_expected=True
        )
        return f"make sim VECTORS={path}" + (f" RTL={rtl}" if rtl else "")
    return ""
