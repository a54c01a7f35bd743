"""The stimulus container: jobs for the datapath as a :class:`pyref.beats.BeatStream` plus, per job,
its K and its kind (:class:`Stimulus`), and the assembly of jobs into beats.

Padding lanes carry a zero product with the other operand random (x = 0 with a random w, or the
reverse), which the interface allows and which a datapath must not mistake for data. The
generators of each kind are in :mod:`tb.shared.generators`; exact accumulator values are built
in :mod:`tb.shared.exact_values`.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

import numpy as np

from pyref.beats import JOB_FIELDS, BeatStream, layer_to_beats
from pyref.config import QmacConfig
from pyref.fixed_point import beats_per_job
from pyref.layer import Layer

KINDS = (
    "uniform",
    "extremes",
    "ties",
    "clamp_edges",
    "overflow",
    "shift_extremes",
    "mult_extremes",
    "single_beat",
    "long_k",
    "boundaries",
    "vectors",
)
"""Job kinds, in the order of their code in :attr:`Stimulus.kind`."""


LONG_JOB_BEATS = 16
"""A job of at least this many beats counts as long (coverage bin ``long_job``)."""


@dataclasses.dataclass
class Stimulus:
    """``M`` jobs for one config: the beats and, per job, its K and its kind."""

    config: QmacConfig
    stream: BeatStream
    k: np.ndarray
    """(M,) elements per job before padding."""
    kind: np.ndarray
    """(M,) index into :data:`KINDS`."""

    def __post_init__(self) -> None:
        self.k = np.asarray(self.k, dtype=np.int64)
        self.kind = np.asarray(self.kind, dtype=np.int8)

    @property
    def n_jobs(self) -> int:
        return int(self.k.shape[0])

    @property
    def n_beats(self) -> int:
        return len(self.stream)

    @property
    def job_starts(self) -> np.ndarray:
        return self.stream.job_starts

    @property
    def beats_per_job(self) -> np.ndarray:
        return self.stream.job_ends - self.stream.job_starts + 1

    def validate(self) -> None:
        """Shapes, framing and ranges of the beats (pyref), K against the beat count, and
        ``act_min <= act_max`` for every job."""
        self.stream.validate(self.config)
        self.validate_jobs()

    def validate_jobs(self) -> None:
        """The checks of :meth:`validate` beyond the stream's own (``BeatStream.validate``,
        which ``pyref.beats.predict_jobs`` runs itself): K against the beat count,
        ``act_min <= act_max``."""
        if self.stream.n_jobs != self.n_jobs:
            raise ValueError(f"{self.stream.n_jobs} jobs in the stream but {self.n_jobs} K values")
        beats = self.beats_per_job
        want = beats_per_job(self.k, self.config.lanes)
        if np.any(beats != want):
            j = int(np.argmax(beats != want))
            raise ValueError(f"job {j}: K = {self.k[j]} needs {want[j]} beats, has {beats[j]}")
        lo, hi = self.stream.job_values("act_min"), self.stream.job_values("act_max")
        if np.any(lo > hi):
            j = int(np.argmax(lo > hi))
            raise ValueError(f"job {j}: act_min = {lo[j]} > act_max = {hi[j]}")

    @classmethod
    def concat(cls, parts: list["Stimulus"]) -> "Stimulus":
        parts = [p for p in parts if p.n_jobs]
        if not parts:
            raise ValueError("no jobs to concatenate")
        return cls(
            parts[0].config,
            BeatStream.concat([p.stream for p in parts]),
            np.concatenate([p.k for p in parts]),
            np.concatenate([p.kind for p in parts]),
        )

    @classmethod
    def concat_take(cls, parts: list["Stimulus"], jobs: np.ndarray) -> "Stimulus":
        """``Stimulus.concat(parts).take(jobs)`` for a permutation ``jobs`` of all the parts'
        jobs, with one gather per field (``np.take``) and no intermediate stimulus."""
        parts = [p for p in parts if p.n_jobs]
        if not parts:
            raise ValueError("no jobs to concatenate")
        jobs = np.asarray(jobs, dtype=np.int64)
        counts = np.concatenate([p.beats_per_job for p in parts])
        n_jobs = counts.shape[0]
        if jobs.shape != (n_jobs,):
            raise ValueError(f"jobs must be a permutation of the {n_jobs} jobs")
        # Source beat (in the parts' concatenated order) of every new beat.
        old_start = np.cumsum(counts) - counts
        starts, new_counts = old_start[jobs], counts[jobs]
        src = np.repeat(starts - (np.cumsum(new_counts) - new_counts), new_counts) + np.arange(
            int(counts.sum())
        )
        fields = {
            f.name: np.take(np.concatenate([getattr(p.stream, f.name) for p in parts]), src, axis=0)
            for f in dataclasses.fields(BeatStream)
        }
        k = np.concatenate([p.k for p in parts])[jobs]
        kind = np.concatenate([p.kind for p in parts])[jobs]
        return cls(parts[0].config, BeatStream(**fields), k, kind)

    def take(self, jobs: np.ndarray) -> "Stimulus":
        """The jobs ``jobs`` (indices, any order) as a new stimulus."""
        jobs = np.asarray(jobs, dtype=np.int64)
        all_starts = self.job_starts
        starts = all_starts[jobs]
        counts = (np.append(all_starts[1:], self.n_beats) - all_starts)[jobs]
        beat_idx = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        fields = {
            f.name: np.take(getattr(self.stream, f.name), beat_idx, axis=0)
            for f in dataclasses.fields(BeatStream)
        }
        return Stimulus(self.config, BeatStream(**fields), self.k[jobs], self.kind[jobs])

    def job_values(self, name: str) -> np.ndarray:
        return self.stream.job_values(name)

    def job_detail(self, j: int, max_elems: int = 64) -> dict:
        """The inputs of job ``j`` as plain Python values (for failure reports)."""
        s = self.stream
        b0 = int(self.job_starts[j])
        nb = int(self.beats_per_job[j])
        k = int(self.k[j])
        x = s.x[b0 : b0 + nb].reshape(-1)[:k]
        w = s.w[b0 : b0 + nb].reshape(-1)[:k]
        d = {"job": int(j), "kind": KINDS[int(self.kind[j])], "K": k, "beats": nb, "first_beat": b0}
        for name in JOB_FIELDS:
            d[name] = int(getattr(s, name)[b0])
        d["x"] = [int(v) for v in x[:max_elems]]
        d["w"] = [int(v) for v in w[:max_elems]]
        if k > max_elems:
            d["truncated"] = f"first {max_elems} of {k} elements shown"
        return d


def padding_slots(cfg: QmacConfig, k: np.ndarray) -> np.ndarray:
    """The lane slots (in the beats of jobs of lengths ``k``, back to back) after each job's K
    elements: its last beat's padding, in order."""
    lanes = cfg.lanes
    k = np.asarray(k, dtype=np.int64)
    beats = beats_per_job(k, lanes)
    slot0 = (np.cumsum(beats) - beats) * lanes
    n_padj = beats * lanes - k
    n_pad = int(n_padj.sum())
    return np.repeat(slot0 + k - (np.cumsum(n_padj) - n_padj), n_padj) + np.arange(n_pad)


def assemble(
    cfg: QmacConfig,
    rng: np.random.Generator,
    k: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    values: Mapping[str, np.ndarray],
    kind: str,
) -> Stimulus:
    """Beats from jobs of varying length: ``x``/``w`` hold all jobs' elements back to back
    (job j has ``k[j]`` of them), ``values`` one entry per job for each of ``JOB_FIELDS``
    (``mult`` may be left out when ``mult_bits = 0``). Padding lanes get a zero product with a
    random other operand."""
    lanes = cfg.lanes
    k = np.asarray(k, dtype=np.int64)
    beats = beats_per_job(k, lanes)
    slots = int(beats.sum()) * lanes
    n_elem = int(k.sum())
    if n_elem == slots:  # no padding: the elements are the slots
        xx = np.array(x, dtype=np.int64)
        ww = np.array(w, dtype=np.int64)
    else:
        xx = np.empty(slots, np.int64)
        ww = np.empty(slots, np.int64)
        slot0 = (np.cumsum(beats) - beats) * lanes  # each job's first slot
        elem0 = np.cumsum(k) - k  # each job's first element in x / w
        pos = np.repeat(slot0 - elem0, k) + np.arange(n_elem)
        xx[pos] = x
        ww[pos] = w
        # Padding: the slots after each job's K, a zero product with the other operand random.
        pad = padding_slots(cfg, k)
        n_pad = pad.shape[0]
        zero_x = rng.random(n_pad) < 0.5
        xx[pad] = np.where(zero_x, 0, rng.integers(cfg.in_range[0], cfg.in_range[1] + 1, n_pad))
        ww[pad] = np.where(zero_x, rng.integers(cfg.w_range[0], cfg.w_range[1] + 1, n_pad), 0)
    return from_slots(cfg, k, xx, ww, values, kind)


def from_slots(
    cfg: QmacConfig,
    k: np.ndarray,
    xx: np.ndarray,
    ww: np.ndarray,
    values: Mapping[str, np.ndarray],
    kind: str,
) -> Stimulus:
    """A stimulus from jobs of lengths ``k`` whose lanes are already laid out in beats:
    ``xx``/``ww`` hold every lane slot (padding included, each job's beats back to back)."""
    lanes = cfg.lanes
    k = np.asarray(k, dtype=np.int64)
    m = k.shape[0]
    beats = beats_per_job(k, lanes)
    n_beats = int(beats.sum())
    beat0 = np.cumsum(beats) - beats
    first = np.zeros(n_beats, bool)
    last = np.zeros(n_beats, bool)
    first[beat0] = True
    last[beat0 + beats - 1] = True
    fields = {}
    for name in JOB_FIELDS:
        v = values.get(name)
        if v is None:
            if name != "mult":
                raise KeyError(f"job value {name!r} missing")
            v = 0
        v = np.asarray(v, dtype=np.int64)
        fields[name] = np.full(n_beats, v, np.int64) if v.ndim == 0 else np.repeat(v, beats)
    stream = BeatStream(
        x=np.asarray(xx, np.int64).reshape(n_beats, lanes),
        w=np.asarray(ww, np.int64).reshape(n_beats, lanes),
        first=first,
        last=last,
        **fields,
    )
    return Stimulus(cfg, stream, k, np.full(m, KINDS.index(kind), np.int8))


def assemble_jobs(
    cfg: QmacConfig, rng: np.random.Generator, jobs: list[dict], kind: str
) -> Stimulus:
    """``assemble`` from a list of per-job dicts with ``x``, ``w`` lists and scalar values."""
    if not jobs:
        return empty_stimulus(cfg, kind)
    k = np.array([len(j["x"]) for j in jobs], np.int64)
    x = np.concatenate([np.asarray(j["x"], np.int64) for j in jobs])
    w = np.concatenate([np.asarray(j["w"], np.int64) for j in jobs])
    values = {name: np.array([int(j.get(name, 0)) for j in jobs], np.int64) for name in JOB_FIELDS}
    return assemble(cfg, rng, k, x, w, values, kind)


def empty_stimulus(cfg: QmacConfig, kind: str) -> Stimulus:
    lanes = cfg.lanes
    z = np.zeros(0, np.int64)
    stream = BeatStream(
        x=np.zeros((0, lanes), np.int64),
        w=np.zeros((0, lanes), np.int64),
        first=z.astype(bool),
        last=z.astype(bool),
        **{name: z for name in JOB_FIELDS},
    )
    return Stimulus(cfg, stream, z, z.astype(np.int8))


def from_layer(cfg: QmacConfig, layer: Layer) -> Stimulus:
    """The jobs of a layer in output order (job ``n * C + c`` computes ``y[n, c]``)."""
    stream = layer_to_beats(layer, cfg)
    m = layer.n * layer.c
    return Stimulus(
        cfg, stream, np.full(m, layer.k, np.int64), np.full(m, KINDS.index("vectors"), np.int8)
    )


def from_beats(cfg: QmacConfig, stream: BeatStream) -> Stimulus:
    """Given beats as a stimulus (K of a job taken as its beats times ``lanes``)."""
    k = (stream.job_ends - stream.job_starts + 1) * cfg.lanes
    return Stimulus(cfg, stream, k, np.full(len(k), KINDS.index("vectors"), np.int8))
