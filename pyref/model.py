"""The layer model: ``y (N,C)`` from a :class:`~pyref.layer.Layer`, as the datapath computes it.

acc = bias + sum_k x[k] * w[c][k]      (wrap: once, order-free; saturate: beat by beat)
r   = requantize(acc, mult[c], shift[c])
y   = clamp(r + out_zp, act_min, act_max)
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .arith import INT64_SAFE_BITS, clamp_output, requantize
from .config import QmacConfig
from .fixed_point import beats_per_job, saturate, wrap
from .layer import Layer, check_layer_and_config

# float64 holds every integer below 2^53 exactly, so a BLAS matmul is exact while the largest
# possible partial sum stays below that.
_FLOAT_EXACT = 1 << 53
# Inner dimensions up to this use integer einsum instead of BLAS (see exact_matmul).
_SMALL_K = 64


@dataclasses.dataclass
class LayerResult:
    """Outputs of a layer and what happened on the way."""

    y: np.ndarray  # (N, C) int64 outputs
    saturated: np.ndarray  # (N, C) bool: the output clamp changed the value
    acc: np.ndarray  # (N, C) accumulator after the last beat
    overflow: np.ndarray  # (N, C) bool: the accumulator wrapped or saturated

    @property
    def n_saturated(self) -> int:
        return int(np.count_nonzero(self.saturated))

    @property
    def n_overflow(self) -> int:
        return int(np.count_nonzero(self.overflow))


def exact_matmul(a: np.ndarray, b: np.ndarray, max_abs_product: int) -> np.ndarray:
    """``a @ b`` of integer matrices, exact. ``max_abs_product`` bounds ``|a[i,k] * b[k,j]|``.

    Short inner dimensions (a beat or a few) use numpy's integer einsum: no BLAS call, whose
    thread start-up costs more than such small products. Longer ones use a float64 BLAS matmul
    while every partial sum stays below 2^53 (so every step is exact), int64 otherwise.
    """
    k = a.shape[-1]
    if k * max_abs_product >= (1 << 63):
        raise OverflowError(
            f"a dot product of K = {k} terms of up to {max_abs_product} does not fit int64"
        )
    if k <= _SMALL_K:
        return np.einsum("...ik,...kj->...ij", a.astype(np.int64), b.astype(np.int64))
    if k * max_abs_product < _FLOAT_EXACT:
        return np.matmul(a.astype(np.float64), b.astype(np.float64)).astype(np.int64)
    return np.matmul(a.astype(np.int64), b.astype(np.int64))


def accumulate(layer: Layer, config: QmacConfig) -> tuple[np.ndarray, np.ndarray]:
    """Accumulator values ``(N, C)`` and overflow flags, in the order of the hardware's beats."""
    prod_bound = config.max_dot_magnitude(1)
    acc_lo, acc_hi = config.acc_range
    bias = layer.bias
    if config.acc_mode == "wrap":
        dot = exact_matmul(layer.x, layer.w.T, prod_bound)
        if config.acc_bits <= INT64_SAFE_BITS:
            total = bias[None, :] + dot
        else:
            total = bias[None, :].astype(object) + dot.astype(object)
        overflow = np.asarray((total < acc_lo) | (total > acc_hi), dtype=bool)
        return wrap(total, config.acc_bits), overflow

    # saturate: the order is acc_0 = bias, acc_{j+1} = sat(acc_j + beat_sum_j). Runs of beats
    # that provably cannot reach either rail from the current accumulators are summed in one
    # exact matmul (saturating them one by one would change nothing); the others go beat by beat.
    lanes = config.lanes
    k = layer.k
    beats = beats_per_job(k, lanes)
    beat_bound = lanes * prod_bound  # |beat_sum_j| <= beat_bound
    wide = config.acc_bits > INT64_SAFE_BITS
    acc = np.broadcast_to(bias[None, :], (layer.n, layer.c))
    acc = acc.astype(object) if wide else acc.astype(np.int64)
    overflow = np.zeros((layer.n, layer.c), dtype=bool)
    j = 0
    while j < beats:
        safe = min(acc_hi - int(acc.max()), int(acc.min()) - acc_lo) // beat_bound
        run = min(max(safe, 1), beats - j)
        cols = slice(j * lanes, min((j + run) * lanes, k))
        step = exact_matmul(layer.x[:, cols], layer.w[:, cols].T, prod_bound)
        step = step.astype(object) if wide else step
        if safe >= run:
            acc = acc + step  # no partial sum of this run can reach a rail
        else:
            acc, clipped = saturate(acc + step, config.acc_bits)  # run == 1: one beat
            if wide:
                acc = acc.astype(object)
            overflow |= clipped
        j += run
    return np.asarray(acc).astype(np.int64), overflow


def run_layer(layer: Layer, config: QmacConfig) -> LayerResult:
    """Compute a layer's outputs bit-exactly as the datapath of ``config`` does."""
    check_layer_and_config("run_layer(layer, config)", layer, config)
    layer.validate(config)
    acc, overflow = accumulate(layer, config)
    return finish_layer(layer, config, acc, overflow)


def finish_layer(
    layer: Layer, config: QmacConfig, acc: np.ndarray, overflow: np.ndarray
) -> LayerResult:
    """Requantize and clamp the accumulators ``acc`` (N, C) of ``layer``: the steps after the
    accumulation, shared by :func:`run_layer` and the engine emulations."""
    r = requantize(acc, layer.mult[None, :], layer.shift[None, :], config)
    y, sat = clamp_output(r, layer.out_zp[None, :], layer.act_min[None, :], layer.act_max[None, :])
    return LayerResult(y=y, saturated=sat, acc=acc, overflow=overflow)


def compute(
    config: QmacConfig, x, w, bias=0, mult=None, shift=0, out_zp=0, act_min=None, act_max=None
) -> LayerResult:
    """Validate the operands and run the layer: the one-call form of :func:`run_layer`."""
    return run_layer(Layer.build(config, x, w, bias, mult, shift, out_zp, act_min, act_max), config)
