"""What one HIL request carries, as arrays for :mod:`tb.stream.channel`: the jobs (a layer, or
given beats) and pyref's prediction for them, made once in the parent.

The simulator side turns them back into a :class:`~tb.shared.stimulus.Stimulus` (a layer's beats
with :func:`pyref.beats.layer_to_beats`: job ``n * C + c`` computes ``y[n, c]``) and the
:class:`pyref.beats.JobResult` its scoreboard checks against; it predicts nothing itself.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pyref.beats import JOB_FIELDS, BeatStream, JobResult
from pyref.config import QmacConfig
from pyref.fixed_point import beats_per_job, ceil_div
from pyref.layer import Layer
from tb.batch import pack
from tb.shared.stimulus import KINDS, Stimulus, from_beats


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
    return cls(
        **{
            f.name: arrays[f"{prefix}.{f.name}"].astype(np.int64)
            if arrays[f"{prefix}.{f.name}"].dtype != bool
            else arrays[f"{prefix}.{f.name}"]
            for f in dataclasses.fields(cls)
        }
    )


def layer_arrays(layer: Layer, expected: JobResult) -> dict[str, np.ndarray]:
    """A layer request: the layer's operands and the expected result of each of its jobs."""
    return {**_fields("layer", layer), **_fields("expected", expected)}


def beats_arrays(stream: BeatStream, expected: JobResult) -> dict[str, np.ndarray]:
    """A beats request: the beats and the expected result of each job."""
    return {**_fields("beats", stream), **_fields("expected", expected)}


def _layer(arrays: dict[str, np.ndarray]) -> Layer:
    """The request's layer, its arrays kept in the narrow types they came in."""
    layer = object.__new__(Layer)
    for f in dataclasses.fields(Layer):
        setattr(layer, f.name, arrays[f"layer.{f.name}"])
    return layer


def layer_beats(config: QmacConfig, layer: Layer, operands: bool = True) -> BeatStream:
    """:func:`pyref.beats.layer_to_beats` in the operands' own narrow integer types (an int8
    layer of 3 M beats: 50 MB of beats, not 400 MB of int64), for a layer already validated
    (:meth:`pyref.layer.Layer.validate`): the same beats, value for value. Without
    ``operands`` the beats' ``x`` and ``w`` have no lanes (``(beats, 0)``): for a caller that
    has the packed words already (:func:`layer_words`) and reads the operands from the layer
    (:class:`LayerStimulus`)."""
    n, k = layer.x.shape
    c = layer.w.shape[0]
    lanes = config.lanes
    per_job = beats_per_job(k, lanes)
    pad = per_job * lanes - k

    def padded(a: np.ndarray) -> np.ndarray:
        a = np.asarray(a)
        if a.dtype.kind not in "iu":
            a = a.astype(np.int64)
        if pad:
            a = np.concatenate([a, np.zeros((a.shape[0], pad), a.dtype)], axis=1)
        return a.reshape(a.shape[0], per_job, lanes)

    beats = n * c * per_job
    if operands:
        x, w = padded(layer.x), padded(layer.w)
        xb = np.broadcast_to(x[:, None], (n, c, per_job, lanes)).reshape(beats, lanes)
        wb = np.broadcast_to(w[None], (n, c, per_job, lanes)).reshape(beats, lanes)
    else:
        xb = wb = np.empty((beats, 0), np.int8)
    pos = np.broadcast_to(np.arange(per_job), (n * c, per_job)).reshape(-1)
    fields = {"x": xb, "w": wb, "first": pos == 0, "last": pos == per_job - 1}
    for name in JOB_FIELDS:
        v = _compact(np.asarray(getattr(layer, name)).reshape(-1))
        fields[name] = np.broadcast_to(v[None, :, None], (n, c, per_job)).reshape(-1)
    # Built from a validated layer: skip BeatStream's int64 conversion of every array.
    stream = object.__new__(BeatStream)
    for name, value in fields.items():
        setattr(stream, name, value)
    return stream


def layer_words(config: QmacConfig, layer: Layer) -> np.ndarray | None:
    """The beat words of ``layer`` (:func:`tb.batch.pack.pack_beats` of its beats, no cuts),
    written straight from the operands when the lanes are whole bytes (8- or 16-bit ``x`` and
    ``w``); None otherwise. One pass over the words instead of one per field."""
    if config.in_bits not in (8, 16) or config.w_bits not in (8, 16):
        return None
    n, k = layer.x.shape
    c = layer.w.shape[0]
    lanes = config.lanes
    per_job = beats_per_job(k, lanes)
    pad = per_job * lanes - k

    def lane_bytes(a: np.ndarray, bits: int) -> np.ndarray:
        a = np.asarray(a).astype(f"<i{bits // 8}")
        if pad:
            a = np.concatenate([a, np.zeros((a.shape[0], pad), a.dtype)], axis=1)
        return a.reshape(a.shape[0], per_job, lanes).view(np.uint8)

    xb, wb = lane_bytes(layer.x, config.in_bits), lane_bytes(layer.w, config.w_bits)
    nx, nw = xb.shape[-1], wb.shape[-1]
    words = ceil_div(pack.beat_bits(config), 32)
    out = np.zeros((n, c, per_job, 4 * words), np.uint8)
    out[..., :nx] = xb[:, None]
    out[..., nx : nx + nw] = wb[None]
    pos = np.arange(per_job)
    out[..., nx + nw] = (pos == 0).astype(np.uint8) | ((pos == per_job - 1).astype(np.uint8) << 1)
    return out.reshape(n * c * per_job, 4 * words).view("<u4")


@dataclasses.dataclass
class LayerStimulus(Stimulus):
    """A layer's jobs whose beats may carry no operands: a failure report reads job ``j``'s
    ``x`` and ``w`` from the layer (row ``j // C``, channel ``j % C``)."""

    layer: Layer | None = None

    def job_detail(self, j: int, max_elems: int = 64) -> dict:
        d = super().job_detail(j, max_elems)
        n, c = divmod(int(j), self.layer.c)
        d["x"] = [int(v) for v in np.asarray(self.layer.x[n])[:max_elems]]
        d["w"] = [int(v) for v in np.asarray(self.layer.w[c])[:max_elems]]
        return d


def decode(
    config: QmacConfig, arrays: dict[str, np.ndarray]
) -> tuple[Stimulus, JobResult, np.ndarray | None]:
    """The stimulus, the expected results and the packed beat words (None: the player packs
    them) of a request. A layer is validated, then made into beats in its own narrow types
    (with byte lanes: its words written straight from the operands, its beats without them);
    given beats are validated as beats."""
    words = None
    if "layer.x" in arrays:
        layer = _layer(arrays)
        layer.validate(config)
        words = layer_words(config, layer)
        m = layer.n * layer.c
        stim = LayerStimulus(
            config,
            layer_beats(config, layer, operands=words is None),
            np.full(m, layer.k),
            np.full(m, KINDS.index("vectors"), np.int8),
            layer=layer,
        )
    else:
        stim = from_beats(config, _take("beats", BeatStream, arrays))
        stim.validate()
    expected = _take("expected", JobResult, arrays)
    if len(expected.y) != stim.n_jobs:
        raise ValueError(
            f"the request has {stim.n_jobs} jobs but {len(expected.y)} expected results"
        )
    return stim, expected, words


def predict_layer(layer: Layer, config: QmacConfig) -> JobResult:
    """pyref's result for each job of ``layer`` (job ``n * C + c`` is ``y[n, c]``)."""
    from pyref.model import run_layer

    res = run_layer(layer, config)
    return JobResult(
        y=res.y.reshape(-1),
        saturated=res.saturated.reshape(-1),
        acc=res.acc.reshape(-1),
        overflow=res.overflow.reshape(-1),
    )
