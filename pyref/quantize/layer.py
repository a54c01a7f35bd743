"""From quantized pieces to a :class:`~pyref.layer.Layer` a :class:`~pyref.config.QmacConfig` runs:
the requantizer's ``(mult, shift)`` from a real multiplier, the input zero point folded into the
bias, and the layer itself."""

from __future__ import annotations

import math

import numpy as np

from ..checks import ValueRangeError, _fmt_index, as_int_array, as_real_array, check_shape
from ..config import QmacConfig
from ..layer import Layer, check_config
from ..tflite_math import quantize_multiplier, std_round


def real_multiplier(s_in, s_w, s_out) -> np.ndarray:
    """``s_in * s_w / s_out`` in float64, per channel when ``s_w`` is (for TFLite's exact float
    formulas see :func:`pyref.quantize.tflite.tflite_real_multipliers`)."""
    return as_real_array("s_in", s_in) * as_real_array("s_w", s_w) / as_real_array("s_out", s_out)


def _mult_shift_one(real: float, mult_bits: int, shift_max: int) -> tuple[int, int]:
    """Largest-precision ``(mult, shift)`` with ``mult < 2^mult_bits``, ``shift <= shift_max``."""
    if real == 0.0:
        return 0, 0
    q, e = math.frexp(real)  # real = q * 2^e, q in [0.5, 1)
    shift = mult_bits - e  # mult = q * 2^mult_bits in [2^(mb-1), 2^mb)
    if shift > shift_max:
        shift = shift_max
    mult = std_round(math.ldexp(real, shift))  # exact scaling by a power of two
    if mult >= 1 << mult_bits:  # rounding carried into a new bit
        mult = std_round(math.ldexp(real, shift - 1))
        shift -= 1
    return mult, shift


def requant_params(
    real, config: QmacConfig, *, tflite_single_rounding: bool = False, name: str = "real multiplier"
) -> tuple[np.ndarray, np.ndarray]:
    """``(mult, shift)`` arrays that make the config's requantizer compute ``acc * real``.

    - ``rounding='gemmlowp'``: TFLite's ``QuantizeMultiplier`` pairs ``(M, s)``.
    - ``mult_bits == 0``: ``real`` must be ``2^-t`` exactly; ``mult = 0``, ``shift = t``.
    - ``mult_bits > 0``: ``mult * 2^-shift ~= real`` with the most precision ``mult_bits`` and
      ``shift_bits`` allow (``mult`` rounded half away from zero). With
      ``tflite_single_rounding`` (needs ``mult_bits >= 31``): TFLite's ``M`` and ``31 - s``, so
      that ``rounding='half_up'`` is TFLite's single-rounding ``MultiplyByQuantizedMultiplier``.

    Raises naming the channel when ``real`` cannot be represented (too large for a right shift,
    or so small that ``mult`` would be 0).
    """
    check_config(config)
    real = as_real_array(name, real)
    mult = np.zeros(real.shape, dtype=np.int64)
    shift = np.zeros(real.shape, dtype=np.int64)
    shift_lo, shift_hi = config.shift_range
    for idx, r in np.ndenumerate(real):
        r = float(r)
        where = f"{name}{_fmt_index(idx)} = {r!r}"
        if not math.isfinite(r) or r < 0:
            raise ValueError(f"{where} must be finite and >= 0")
        if config.rounding == "gemmlowp":
            m, s = quantize_multiplier(r)
        elif config.mult_bits == 0:
            q, e = math.frexp(r)
            if q != 0.5:
                raise ValueError(
                    f"{where} is not a power of two: mult_bits = 0 can only shift; "
                    f"use power-of-two scales or a config with mult_bits > 0"
                )
            m, s = 0, 1 - e
        elif tflite_single_rounding:
            if config.mult_bits < 31:
                raise ValueError(
                    f"tflite_single_rounding needs mult_bits >= 31, got {config.mult_bits}"
                )
            m, s = quantize_multiplier(r)
            s = 31 - s
        else:
            m, s = _mult_shift_one(r, config.mult_bits, shift_hi)
            if r > 0 and m == 0:
                raise ValueError(
                    f"{where} is too small for shift <= {shift_hi} "
                    f"(shift_bits = {config.shift_bits}): mult rounds to 0"
                )
        if not shift_lo <= s <= shift_hi:
            raise ValueError(
                f"{where} needs shift = {s}, outside the allowed {shift_lo} .. {shift_hi} "
                f"(shift_bits = {config.shift_bits}"
                f"{'' if config.rounding == 'gemmlowp' else '; a negative shift is a left shift'})"
            )
        mult[idx], shift[idx] = m, s
    return mult, shift


def fold_input_zero_point(bias, w, in_zp: int, bias_bits: int = 32) -> np.ndarray:
    """Fold an input zero point into the bias: ``bias'[c] = bias[c] - in_zp * sum_k w[c][k]``.

    Then ``bias' + sum_k x[k] w[c][k] == bias + sum_k (x[k] - in_zp) w[c][k]`` exactly, so an
    asymmetric input runs on the symmetric datapath bit for bit (TFLite's ``input_offset`` is
    ``-in_zp``). Refuses, naming the channel, a folded bias that does not fit ``bias_bits``.
    """
    w = as_int_array("w", w)
    check_shape("w", w, (None, None))
    bias = as_int_array("bias", bias)
    if bias.ndim == 0:
        bias = np.full(w.shape[0], bias, dtype=np.int64)
    check_shape("bias", bias, (w.shape[0],))
    in_zp = int(in_zp)
    folded = bias.astype(object) - in_zp * w.astype(object).sum(axis=1)
    lo, hi = -(1 << (bias_bits - 1)), (1 << (bias_bits - 1)) - 1
    bad = (folded < lo) | (folded > hi)
    if np.any(bad):
        c = int(np.argmax(bad))
        raise ValueRangeError(
            f"folded bias[{c}] = {bias[c]} - {in_zp} * {int(w[c].sum())} = {folded[c]} does not "
            f"fit bias_bits = {bias_bits}: allowed {lo} .. {hi}"
        )
    return folded.astype(np.int64)


def make_layer(
    config: QmacConfig,
    x,
    w,
    *,
    bias=0,
    real=None,
    mult=None,
    shift=None,
    in_zp: int = 0,
    out_zp=0,
    act_min=None,
    act_max=None,
    tflite_single_rounding: bool = False,
) -> Layer:
    """A validated :class:`Layer` for ``config`` from integer ``x (N,K)``, ``w (C,K)``, ``bias``.

    Give the requantizer either as ``real`` multipliers (scalar or per channel; turned into
    ``(mult, shift)`` by :func:`requant_params`) or as ``mult``/``shift`` directly. A nonzero
    ``in_zp`` is folded into the bias (:func:`fold_input_zero_point`); ``x`` then holds the raw
    asymmetric integers.
    """
    check_config(config)
    if real is not None:
        if mult is not None or shift is not None:
            raise ValueError("give either real or mult/shift, not both")
        mult, shift = requant_params(real, config, tflite_single_rounding=tflite_single_rounding)
    elif shift is None:
        raise ValueError("give real (the real multiplier) or shift (and mult when mult_bits > 0)")
    if config.mult_bits == 0 and mult is not None and np.all(np.asarray(mult) == 0):
        mult = None
    if in_zp:
        bias = fold_input_zero_point(bias, w, in_zp, config.bias_bits)
    return Layer.build(
        config,
        x,
        w,
        bias=bias,
        mult=mult,
        shift=shift,
        out_zp=out_zp,
        act_min=act_min,
        act_max=act_max,
    )
