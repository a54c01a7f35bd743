"""Test inputs for a plan (either frontend): uniformly random integer codes from a seeded
generator.

For an int8 / int16 / uint8 input the codes are the input. For a float32 input that the model
quantizes first (TFLite's QUANTIZE, ONNX's QuantizeLinear), the codes are turned into the floats
they stand for, ``(q - zp) * scale``, so that the whole code range reaches the first datapath
layer; any other float32 input gets standard normal values.
"""

from __future__ import annotations

import numpy as np

from .plan import Plan


def describe_inputs(model: Plan) -> str:
    """What :func:`random_inputs` draws, for the log, in the plan's words (``inputs_phrase``:
    "vectors of float32 at int16 code points", "int8 codes")."""
    kinds = []
    for spec in model.inputs:
        if spec.dtype == np.float32:
            kinds.append(
                "float32"
                if spec.codes is None
                else f"float32 at {np.dtype(spec.codes[2]).name} code points"
            )
        else:
            kinds.append(f"{np.dtype(spec.dtype).name} codes")
    c = model.config
    codes = f"{'' if c.in_signed else 'u'}int{c.in_bits}"
    return model.inputs_phrase.format(inputs=", ".join(dict.fromkeys(kinds)), codes=codes)


def random_inputs(model: Plan, n: int, seed: int = 0) -> list[np.ndarray]:
    """One ``(n, *input_shape)`` array per model input."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(
            f"n = {n!r} is out of range: allowed an integer >= 1 (inputs per model input)"
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed = {seed!r} is out of range: allowed an integer >= 0")
    rng = np.random.default_rng(seed)
    arrays = []
    for spec in model.inputs:
        if spec.problem is not None:
            raise model.error(spec.problem)
        shape = (n,) + tuple(spec.shape)
        dtype = np.dtype(spec.dtype)
        if dtype.kind in "iu":
            info = np.iinfo(dtype)
            arrays.append(
                rng.integers(info.min, info.max + 1, size=shape, dtype=np.int64).astype(dtype)
            )
        elif spec.codes is None:
            arrays.append(rng.standard_normal(shape).astype(np.float32))
        else:
            scale, zp, code_type = spec.codes
            info = np.iinfo(code_type)
            q = rng.integers(info.min, info.max + 1, size=shape, dtype=np.int64)
            arrays.append(((q - zp).astype(np.float32) * np.float32(scale)).astype(np.float32))
    return arrays
