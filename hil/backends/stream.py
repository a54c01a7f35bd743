"""Several small layers of one operator through a backend in one go.

A DEPTHWISE_CONV_2D is one small layer per input channel (short dot products, a few channels
each), an ONNX grouped convolution one per group, an SVDF's time stage one per unit. A backend
that can play a stream of jobs (``run_stream(stream, config)``, the RTL backend) gets them all
as one stream: the beats of each layer in turn, one request, batches filled to the brim. Any
other backend runs them one by one through ``run(layer, config)``.
"""

from __future__ import annotations

import time

import numpy as np

from pyref.beats import BeatStream, layer_to_beats
from pyref.config import QmacConfig
from pyref.layer import Layer

from .select import BackendResult, DenseBackend, check_result


def run_layers(
    backend: DenseBackend, layers: list[Layer], config: QmacConfig
) -> list[BackendResult]:
    """One :class:`BackendResult` per layer (``y (N, C)``, flags when the backend gives them)."""
    play = getattr(backend, "run_stream", None)
    if len(layers) == 1 or play is None:
        results = [backend.run(layer, config) for layer in layers]
        for r, layer in zip(results, layers):
            r.y = check_result(r, layer, backend.name)
        return results
    t0 = time.perf_counter()
    stream = BeatStream.concat([layer_to_beats(layer, config) for layer in layers])
    res = play(stream, config)
    y = np.asarray(res.y).reshape(-1)
    sat = None if res.saturated is None else np.asarray(res.saturated).reshape(-1)
    jobs = sum(layer.n * layer.c for layer in layers)
    if y.shape != (jobs,):
        raise ValueError(
            f"backend {backend.name!r} returned {y.size} outputs for a stream of {jobs} jobs"
        )
    out = []
    start = 0
    for i, layer in enumerate(layers):
        end = start + layer.n * layer.c
        shape = (layer.n, layer.c)
        # The stream's cycles and wall time belong to the whole operator: given to the first.
        out.append(
            BackendResult(
                y=y[start:end].reshape(shape).astype(np.int64),
                cycles=res.cycles if i == 0 else 0,
                wall=(time.perf_counter() - t0) if i == 0 else 0.0,
                saturated=None if sat is None else sat[start:end].reshape(shape),
            )
        )
        start = end
    return out
