"""One import for the quantization helpers (see docs/quantize.md):

- :mod:`pyref.quantize.symmetric` -- symmetric per-tensor / per-channel quantization, rounding,
  power-of-two scales and requant shifts;
- :mod:`pyref.quantize.layer` -- real multiplier -> ``(mult, shift)``, input zero-point folding,
  a :class:`~pyref.layer.Layer` for a config;
- :mod:`pyref.quantize.qkeras` -- QKeras ``quantized_bits`` with its integers and scale;
- :mod:`pyref.quantize.brevitas` -- Brevitas fixed-point weights and ``Int8/16/32Bias``;
- :mod:`pyref.quantize.tflite` -- TFLite's real multipliers, ``(M, s)`` pairs, activation range.
"""

from .brevitas import brevitas_bias, brevitas_fixed_point_weight
from .layer import fold_input_zero_point, make_layer, real_multiplier, requant_params
from .qkeras import QKerasQuantized, qkeras_quantized_bits
from .symmetric import (
    Quantized,
    abs_max,
    frac_bits,
    int_range,
    po2_exponent,
    po2_scale,
    quantize_symmetric,
    quantize_to_scale,
    requant_shift,
    round_real,
    symmetric_scale,
)
from .tflite import activation_range, tflite_multipliers, tflite_real_multipliers

__all__ = [
    "QKerasQuantized",
    "Quantized",
    "abs_max",
    "activation_range",
    "brevitas_bias",
    "brevitas_fixed_point_weight",
    "fold_input_zero_point",
    "frac_bits",
    "int_range",
    "make_layer",
    "po2_exponent",
    "po2_scale",
    "qkeras_quantized_bits",
    "quantize_symmetric",
    "quantize_to_scale",
    "real_multiplier",
    "requant_params",
    "requant_shift",
    "round_real",
    "symmetric_scale",
    "tflite_multipliers",
    "tflite_real_multipliers",
]
