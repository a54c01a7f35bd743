"""What one HIL request carries, as arrays for :mod:`tb.stream.channel`: the jobs (a layer, or
given beats) and pyref's prediction for them, made once in the parent.

The simulator side turns them back into a :class:`~tb.shared.stimulus.Stimulus` (a layer's beats
with :func:`pyref.beats.layer_to_beats`: job ``n * C + c`` computes ``y[n, c]``) and the
:class:`pyref.beats.JobResult` its scoreboard checks against; it predicts nothing itself.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pyref.beats import BeatStream, JobResult
from pyref.config import QmacConfig
from pyref.layer import Layer
from tb.shared.stimulus import Stimulus, from_beats, from_layer


def _compact(a: np.ndarray) -> np.ndarray:
    """``a`` in the narrowest signed integer type that holds it (bools stay bools)."""
    a = np.asarray(a)
    if a.dtype == bool or a.size == 0:
        return a
    lo, hi = int(a.min()), int(a.max())
    for t in (np.int8, np.int16, np.int32):
        if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max:
            return a.astype(t)
    return a


def _fields(prefix: str, obj) -> dict[str, np.ndarray]:
    return {f"{prefix}.{f.name}": _compact(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def _take(prefix: str, cls, arrays: dict[str, np.ndarray]):
    return cls(**{f.name: arrays[f"{prefix}.{f.name}"].astype(np.int64)
                  if arrays[f"{prefix}.{f.name}"].dtype != bool else arrays[f"{prefix}.{f.name}"]
                  for f in dataclasses.fields(cls)})


def layer_arrays(layer: Layer, expected: JobResult) -> dict[str, np.ndarray]:
    """A layer request: the layer's operands and the expected result of each of its jobs."""
    return {**_fields("layer", layer), **_fields("expected", expected)}


def beats_arrays(stream: BeatStream, expected: JobResult) -> dict[str, np.ndarray]:
    """A beats request: the beats and the expected result of each job."""
    return {**_fields("beats", stream), **_fields("expected", expected)}


def decode(config: QmacConfig, arrays: dict[str, np.ndarray]) -> tuple[Stimulus, JobResult]:
    """The stimulus and the expected results of a request."""
    if "layer.x" in arrays:
        stim = from_layer(config, _take("layer", Layer, arrays))
    else:
        stim = from_beats(config, _take("beats", BeatStream, arrays))
    stim.validate()
    expected = _take("expected", JobResult, arrays)
    if len(expected.y) != stim.n_jobs:
        raise ValueError(f"the request has {stim.n_jobs} jobs but {len(expected.y)} expected "
                         f"results")
    return stim, expected


def predict_layer(layer: Layer, config: QmacConfig) -> JobResult:
    """pyref's result for each job of ``layer`` (job ``n * C + c`` is ``y[n, c]``)."""
    from pyref.model import run_layer

    res = run_layer(layer, config)
    return JobResult(y=res.y.reshape(-1), saturated=res.saturated.reshape(-1),
                     acc=res.acc.reshape(-1), overflow=res.overflow.reshape(-1))
