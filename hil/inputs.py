"""Test inputs for a model: uniformly random int8 codes from a seeded generator.

For an int8 (int16) input tensor the codes are the input. For a float32 input that the model
quantizes first (QUANTIZE), the codes are turned into the floats they stand for,
``(q - zp) * scale``, so that the whole int8 (int16) range reaches the first datapath layer.
"""

from __future__ import annotations

import numpy as np

from .tflite.graph import Graph


def describe_inputs(graph: Graph) -> str:
    """What :func:`random_inputs` draws for each model input, for the log ("int16 codes")."""
    kinds = []
    for idx in graph.inputs:
        t = graph.tensor(idx)
        if t.type_name == "FLOAT32":
            scale, _, info = _quantize_params_of_consumer(graph, idx)
            kinds.append("float32" if scale is None
                         else f"float32 at {np.dtype(info.dtype).name} code points")
        else:
            kinds.append(f"{t.type_name.lower()} codes")
    return ", ".join(dict.fromkeys(kinds))


def random_inputs(graph: Graph, n: int, seed: int = 0) -> list[np.ndarray]:
    """One ``(n, *input_shape)`` array per model input."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n = {n!r} is out of range: allowed an integer >= 1 (inputs per model "
                         f"input)")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed = {seed!r} is out of range: allowed an integer >= 0")
    rng = np.random.default_rng(seed)
    arrays = []
    for idx in graph.inputs:
        t = graph.tensor(idx)
        shape = (n,) + t.shape
        if t.type_name in ("INT8", "INT16"):
            info = np.iinfo(t.dtype)
            arrays.append(rng.integers(info.min, info.max + 1, size=shape, dtype=np.int64).astype(t.dtype))
        elif t.type_name == "UINT8":
            arrays.append(rng.integers(0, 256, size=shape, dtype=np.int64).astype(np.uint8))
        elif t.type_name == "FLOAT32":
            scale, zp, info = _quantize_params_of_consumer(graph, idx)
            if scale is None:
                arrays.append(rng.standard_normal(shape).astype(np.float32))
            else:
                q = rng.integers(info.min, info.max + 1, size=shape, dtype=np.int64)
                arrays.append(((q - zp).astype(np.float32) * np.float32(scale)).astype(np.float32))
        else:
            raise ValueError(f"cannot make inputs for {t.type_name} input tensor {t.name!r}")
    return arrays


def _quantize_params_of_consumer(graph: Graph, tensor: int):
    """Scale, zero point and integer range of the QUANTIZE that reads ``tensor`` (or None)."""
    for op in graph.ops:
        if op.name == "QUANTIZE" and op.inputs and op.inputs[0] == tensor:
            out = graph.tensor(op.outputs[0])
            if out.scale.size == 1 and out.dtype is not None:
                return float(out.scale[0]), int(out.zero_point[0]), np.iinfo(out.dtype)
    return None, 0, None
