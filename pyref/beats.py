"""The work as the hardware sees it: a stream of beats, each ``lanes`` (x, w) pairs with
first/last markers and the job's channel values, and the beat-level model that predicts every
job's output from the stream alone (independently of the matmul in :mod:`pyref.model`)."""

from __future__ import annotations

import dataclasses

import numpy as np

from .arith import INT64_SAFE_BITS, clamp_output, requantize
from .checks import ShapeError, as_int_array, check_range, check_shape
from .config import QmacConfig
from .fixed_point import beats_per_job, saturate, wrap
from .layer import Layer, check_config, check_layer_and_config

JOB_FIELDS = ("bias", "mult", "shift", "out_zp", "act_min", "act_max")
"""Values that travel with a job, held on every beat of it."""


@dataclasses.dataclass
class BeatStream:
    """``J`` beats. ``x``/``w`` are ``(J, lanes)``; every other field is ``(J,)``.

    The job values (``bias`` ... ``act_max``) repeat on every beat of their job.
    """

    x: np.ndarray
    w: np.ndarray
    first: np.ndarray
    last: np.ndarray
    bias: np.ndarray
    mult: np.ndarray
    shift: np.ndarray
    out_zp: np.ndarray
    act_min: np.ndarray
    act_max: np.ndarray

    def __post_init__(self) -> None:
        # Integer arrays whatever was passed in (floats must be integral); markers as booleans.
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in ("first", "last"):
                if getattr(value, "dtype", None) == bool:  # noqa: E721 (numpy dtype == bool)
                    continue
                arr = as_int_array(f.name, value)
                check_range(f.name, arr, 0, 1, "a marker is 0 or 1")
                arr = arr.astype(bool)
            else:
                arr = as_int_array(f.name, value)
            setattr(self, f.name, arr)

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def n_jobs(self) -> int:
        return int(np.count_nonzero(self.last))

    @property
    def job_of_beat(self) -> np.ndarray:
        """Index of the job each beat belongs to."""
        return np.cumsum(self.first) - 1

    @property
    def job_starts(self) -> np.ndarray:
        return np.flatnonzero(self.first)

    @property
    def job_ends(self) -> np.ndarray:
        return np.flatnonzero(self.last)

    def job_values(self, name: str) -> np.ndarray:
        """A job field, one value per job (read on the job's last beat)."""
        return getattr(self, name)[self.job_ends]

    def validate(self, config: QmacConfig) -> None:
        """Check shapes, the first/last framing and every value's range."""
        check_config(config)
        j = self.x.shape[0]
        check_shape("x", self.x, (None, config.lanes))
        check_shape("w", self.w, (j, config.lanes))
        for name in ("first", "last") + JOB_FIELDS:
            check_shape(name, getattr(self, name), (j,))
        first = self.first.astype(bool)
        last = self.last.astype(bool)
        # Framing: a beat opens a job (first) exactly when none is open before it.
        open_before = np.concatenate([[0], np.cumsum(first.astype(np.int64) - last)[:-1]])
        bad = (open_before < 0) | (open_before > 1) | (first != (open_before == 0))
        if np.any(bad):
            i = int(np.argmax(bad))
            raise ValueError(
                f"beat {i}: first = {int(first[i])} but a job is "
                f"{'open' if open_before[i] else 'not open'} before it"
            )
        if j and not last[-1]:
            raise ValueError(f"beat {j - 1}: the stream ends inside a job (no last marker)")
        check_range("x", self.x, *config.in_range)
        check_range("w", self.w, *config.w_range)
        check_range("bias", self.bias, *config.bias_range)
        check_range("mult", self.mult, *(config.mult_range if config.mult_bits else (0, 0)))
        check_range("shift", self.shift, *config.shift_range)
        for name in ("out_zp", "act_min", "act_max"):
            check_range(name, getattr(self, name), *config.out_range)
        starts = self.job_starts
        for name in JOB_FIELDS:
            v = getattr(self, name)
            changed = v != np.repeat(v[starts], np.diff(np.append(starts, j)))
            if np.any(changed):
                i = int(np.argmax(changed))
                raise ValueError(f"{name}[{i}] changes inside a job: hold job values on every beat")

    @classmethod
    def concat(cls, streams: list["BeatStream"]) -> "BeatStream":
        fields = {
            f.name: np.concatenate([getattr(s, f.name) for s in streams])
            for f in dataclasses.fields(cls)
        }
        return cls(**fields)


def jobs_to_beats(config: QmacConfig, x: np.ndarray, w: np.ndarray, **job_values) -> BeatStream:
    """Beats of ``M`` jobs of equal length ``K``: ``x``, ``w`` are ``(M, K)``; each job value is a
    scalar or ``(M,)``. The last beat of each job is padded with zeros."""
    check_config(config)
    x = as_int_array("x", x)
    w = as_int_array("w", w)
    check_shape("x", x, (None, None))
    check_shape("w", w, x.shape)
    m, k = x.shape
    if k == 0:
        raise ShapeError("K = 0: a job needs at least one element")
    lanes = config.lanes
    per_job = beats_per_job(k, lanes)
    pad = per_job * lanes - k
    if pad:  # (np.pad copies even when there is nothing to pad)
        x, w = np.pad(x, ((0, 0), (0, pad))), np.pad(w, ((0, 0), (0, pad)))
    xb = x.reshape(m * per_job, lanes)
    wb = w.reshape(m * per_job, lanes)
    pos = np.tile(np.arange(per_job), m)
    values = {}
    defaults = {
        "bias": 0,
        "mult": 0,
        "shift": 0,
        "out_zp": 0,
        "act_min": config.out_range[0],
        "act_max": config.out_range[1],
    }
    for name in JOB_FIELDS:
        v = as_int_array(name, job_values.pop(name, defaults[name]))
        v = np.broadcast_to(v, (m,)) if v.ndim == 0 else v
        check_shape(name, v, (m,))
        values[name] = np.repeat(v, per_job)
    if job_values:
        raise TypeError(f"unknown job value(s): {sorted(job_values)}")
    return BeatStream(x=xb, w=wb, first=pos == 0, last=pos == per_job - 1, **values)


def layer_to_beats(layer: Layer, config: QmacConfig) -> BeatStream:
    """The beats of a layer in output order: job ``n * C + c`` computes ``y[n, c]``."""
    check_layer_and_config("layer_to_beats(layer, config)", layer, config)
    n, c = layer.n, layer.c
    x = np.repeat(layer.x, c, axis=0)
    w = np.tile(layer.w, (n, 1))
    values = {name: np.tile(getattr(layer, name), n) for name in JOB_FIELDS}
    return jobs_to_beats(config, x, w, **values)


@dataclasses.dataclass
class JobResult:
    """One prediction per job, in job order."""

    y: np.ndarray
    saturated: np.ndarray
    acc: np.ndarray
    overflow: np.ndarray


def beat_sums(stream: BeatStream) -> np.ndarray:
    """Exact sum of the lane products of each beat (int64: at most 64 * 2^30 in magnitude)."""
    return np.einsum("jl,jl->j", stream.x.astype(np.int64), stream.w.astype(np.int64))


def predict_jobs(stream: BeatStream, config: QmacConfig) -> JobResult:
    """Predict each job's output from its beats, in the accumulation order of the hardware.

    The stream is validated first (framing, shapes, value ranges)."""
    if not isinstance(stream, BeatStream):
        raise TypeError(
            f"predict_jobs: stream must be a pyref.BeatStream (layer_to_beats or "
            f"jobs_to_beats), got {type(stream).__name__}"
        )
    stream.validate(config)
    sums = beat_sums(stream)
    starts, ends = stream.job_starts, stream.job_ends
    bias = stream.bias[starts]
    wide = config.acc_bits > INT64_SAFE_BITS
    lo, hi = config.acc_range
    if config.acc_mode == "wrap":
        total = np.add.reduceat(sums, starts) if len(sums) else sums
        total = bias.astype(object) + total.astype(object) if wide else bias + total
        overflow = np.asarray((total < lo) | (total > hi), dtype=bool)
        acc = wrap(total, config.acc_bits)
    else:
        # Walk all jobs in step: beat p of every job that is at least p + 1 beats long.
        lengths = ends - starts + 1
        acc = bias.astype(object) if wide else bias.astype(np.int64)
        overflow = np.zeros(len(starts), dtype=bool)
        for p in range(int(lengths.max(initial=0))):
            live = lengths > p
            step = sums[starts[live] + p]
            new, clipped = saturate(
                acc[live] + (step.astype(object) if wide else step), config.acc_bits
            )
            acc[live] = new
            overflow[live] |= clipped
        acc = np.asarray(acc).astype(np.int64)
    r = requantize(acc, stream.mult[ends], stream.shift[ends], config)
    y, sat = clamp_output(r, stream.out_zp[ends], stream.act_min[ends], stream.act_max[ends])
    return JobResult(y=y, saturated=sat, acc=acc, overflow=overflow)
