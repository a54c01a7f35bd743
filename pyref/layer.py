"""A layer's integer operands: ``x (N,K)``, ``w (C,K)`` and the per-channel requantization values,
validated against a config so that nothing reaches the model out of range."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .checks import ShapeError, as_int_array, check_range, check_shape, describe
from .config import NAMED_CONFIGS, QmacConfig


class EmptyLayerError(ShapeError):
    """A layer with no outputs (``N = 0`` input rows or ``C = 0`` channels): refused everywhere,
    so that no check can pass on zero outputs."""


_MULT_WHAT = {
    "gemmlowp": "TFLite's int32 multiplier",
    "fp32": "rounding = 'fp32': the bit pattern of a positive normal binary32 scale",
}
_SHIFT_WHAT = {
    "gemmlowp": "TFLite's signed shift",
    "fp32": "rounding = 'fp32': the shift is unused and must be 0",
}


@dataclasses.dataclass
class Layer:
    """The integer operands of one dense layer.

    ``bias``, ``mult`` and ``shift`` hold one value per output channel (a scalar is broadcast:
    per-tensor quantization); ``out_zp``, ``act_min`` and ``act_max`` are scalars or per-channel.
    ``mult`` may be left out in shift-only configs; ``act_min``/``act_max`` default to the full
    output range and ``out_zp`` to 0.
    """

    x: np.ndarray
    w: np.ndarray
    bias: np.ndarray
    mult: np.ndarray
    shift: np.ndarray
    out_zp: np.ndarray
    act_min: np.ndarray
    act_max: np.ndarray

    @property
    def n(self) -> int:
        return self.x.shape[0]

    @property
    def k(self) -> int:
        return self.x.shape[1]

    @property
    def c(self) -> int:
        return self.w.shape[0]

    @classmethod
    def build(
        cls,
        config: QmacConfig,
        x: Any,
        w: Any,
        bias: Any = 0,
        mult: Any = None,
        shift: Any = 0,
        out_zp: Any = 0,
        act_min: Any = None,
        act_max: Any = None,
    ) -> "Layer":
        """Convert and validate every operand against ``config``; raise naming the array, the
        index and the range."""
        check_config(config)
        x = as_int_array("x", x)
        w = as_int_array("w", w)
        check_shape("x", x, (None, None))
        check_shape("w", w, (None, None))
        if x.shape[1] != w.shape[1]:
            raise ShapeError(
                f"x has K = {x.shape[1]} columns but w has K = {w.shape[1]}: x is (N,K), w is (C,K)"
            )
        if x.shape[1] == 0:
            raise ShapeError("K = 0: a dot product needs at least one element")
        check_not_empty(x, w)
        c = w.shape[0]
        out_lo, out_hi = config.out_range
        if mult is None:
            if config.mult_bits:
                raise ValueError(f"mult is required when mult_bits = {config.mult_bits}")
            mult = 0
        per_channel = {
            "bias": bias,
            "mult": mult,
            "shift": shift,
            "out_zp": out_zp,
            "act_min": out_lo if act_min is None else act_min,
            "act_max": out_hi if act_max is None else act_max,
        }
        arrays = {}
        for name, value in per_channel.items():
            arr = as_int_array(name, value)
            if arr.ndim == 0:
                arr = np.full(c, arr, dtype=arr.dtype)
            check_shape(name, arr, (c,))
            arrays[name] = arr
        layer = cls(x=x, w=w, **arrays)
        layer.validate(config)
        return layer

    def validate(self, config: QmacConfig) -> None:
        """Check every shape, and every value against the widths of ``config``."""
        check_config(config)
        x, w = np.asarray(self.x), np.asarray(self.w)
        check_shape("x", x, (None, None))
        check_shape("w", w, (None, x.shape[1]))
        if x.shape[1] == 0:
            raise ShapeError("K = 0: a dot product needs at least one element")
        check_not_empty(x, w)
        for name in ("bias", "mult", "shift", "out_zp", "act_min", "act_max"):
            check_shape(name, np.asarray(getattr(self, name)), (w.shape[0],))
        check_range(
            "x",
            self.x,
            *config.in_range,
            f"in_bits = {config.in_bits}, {'signed' if config.in_signed else 'unsigned'}",
        )
        check_range("w", self.w, *config.w_range, f"w_bits = {config.w_bits}, signed")
        check_range(
            "bias", self.bias, *config.bias_range, f"bias_bits = {config.bias_bits}, signed"
        )
        if config.mult_bits == 0:
            check_range("mult", self.mult, 0, 0, "mult_bits = 0: shift-only requantization")
        else:
            check_range(
                "mult",
                self.mult,
                *config.mult_range,
                _MULT_WHAT.get(config.rounding, f"mult_bits = {config.mult_bits}, unsigned"),
            )
        check_range(
            "shift",
            self.shift,
            *config.shift_range,
            _SHIFT_WHAT.get(config.rounding, f"shift_bits = {config.shift_bits}, unsigned"),
        )
        out_what = f"out_bits = {config.out_bits}, signed"
        check_range("out_zp", self.out_zp, *config.out_range, out_what)
        check_range("act_min", self.act_min, *config.out_range, out_what)
        check_range("act_max", self.act_max, *config.out_range, out_what)
        bad = self.act_min > self.act_max
        if np.any(bad):
            i = int(np.argmax(bad))
            raise ValueError(
                f"act_min[{i}] = {self.act_min[i]} is greater than act_max[{i}] = "
                f"{self.act_max[i]}: the clamp needs act_min <= act_max"
            )


def check_config(config: Any, name: str = "config") -> None:
    """``TypeError`` naming ``name`` unless ``config`` is a :class:`QmacConfig`."""
    if isinstance(config, QmacConfig):
        return
    hint = ""
    if isinstance(config, str) and config in NAMED_CONFIGS:
        hint = f" (for a named config use pyref.named_config({config!r}))"
    elif isinstance(config, dict):
        hint = " (use pyref.QmacConfig(**fields) or QmacConfig.from_dict(fields))"
    elif isinstance(config, Layer):
        hint = " (a Layer: are the arguments swapped?)"
    raise TypeError(
        f"{name} must be a pyref.QmacConfig (e.g. pyref.named_config('default') or "
        f"pyref.QmacConfig(lanes=4)), got {describe(config)}{hint}"
    )


def check_layer_and_config(signature: str, layer: Any, config: Any) -> None:
    """``TypeError`` unless ``layer`` is a :class:`Layer` and ``config`` a :class:`QmacConfig`;
    ``signature`` is the function's, e.g. ``"run_layer(layer, config)"``."""
    call = signature.split("(")[0]
    if isinstance(layer, QmacConfig) and isinstance(config, Layer):
        raise TypeError(
            f"{call}: got a QmacConfig as layer and a Layer as config: the arguments "
            f"are swapped, the order is {signature}"
        )
    if not isinstance(layer, Layer):
        raise TypeError(
            f"{call}: layer must be a pyref.Layer (pyref.Layer.build(config, x, w, "
            f"...) or pyref.quantize.make_layer), got {describe(layer)}"
        )
    check_config(config)


def check_not_empty(x: np.ndarray, w: np.ndarray) -> None:
    """:class:`EmptyLayerError` when ``x (N, K)`` or ``w (C, K)`` has no rows."""
    if x.shape[0] == 0 or w.shape[0] == 0:
        which = (
            f"x has N = 0 rows (shape {x.shape})"
            if x.shape[0] == 0
            else f"w has C = 0 rows (shape {w.shape})"
        )
        raise EmptyLayerError(
            f"empty layer: {which}; a layer needs N >= 1 input rows and C >= 1 "
            f"output channels, so that at least one output is checked"
        )
