"""SVDF (int8) on the datapath, as TFLite Micro's ``EvalIntegerSvdfReference`` computes it.

Per invoke (one time step) TFLite Micro shifts the activation state left by one, writes the
feature stage into its newest column and reduces it against the time weights:

1. **feature**: ``state[b, f, M-1] = zp_s + clamp(MBQM(sum_k w_f[f,k] (x[b,k] - zp_x), eff1))``
   — a FULLY_CONNECTED from the input to the ``F`` filters, one layer on the datapath; the
   interpreter of the ``tflite-micro`` wheel adds the state's zero point after the clamp, in the
   state's type (an int8 state wraps), which numpy does on the datapath's clamped outputs;
2. **time**: ``y[b, u] = clamp(zp_y + MBQM(bias[u] + sum_{r<rank} sum_{j<M} w_t[u*rank+r, j]
   (state[b, u*rank+r, j] - zp_s), eff2))`` — for each unit one dot product of length
   ``rank * M`` over the last ``M`` feature outputs of its filters: one small layer per unit, all
   of them played as one stream (as a depthwise conv is).

The state lives between invokes: hil's samples are the time steps, in order, starting from the
state TFLite Micro starts from (the zero point for int8, 0 for int16). Both stages, requantization
included, run on the datapath with config ``tflite`` (int16 state or time weights widen ``in_bits``
/ ``w_bits`` / ``out_bits``; the accumulator stays 32 bits and wraps like the C code's int32).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pyref.config import QmacConfig
from pyref.fixed_point import wrap
from pyref.layer import Layer
from pyref.tflite_math import quantize_multiplier

from ..kernels.base import UnsupportedOpError, Value
from .graph import Graph, OpSpec
from .operands import TFLITE_CONFIG, fold_bias

_BITS = {"INT8": 8, "INT16": 16}


@dataclasses.dataclass
class SvdfSpec:
    """One int8 SVDF in the datapath's terms (two stages: feature, then time)."""

    op: OpSpec
    input_index: int
    output_index: int
    batch: int
    w_feature: np.ndarray  # (F, K)
    feature_bias: np.ndarray  # (F,): the input zero point folded in
    eff1: tuple[int, int]
    w_time: np.ndarray  # (F, M)
    bias: np.ndarray  # (U,)
    eff2: tuple[int, int]
    rank: int
    state_zp: int
    state_init: int
    out_zp: int
    feature_config: QmacConfig
    time_config: QmacConfig
    out_shape: tuple[int, ...]
    config: QmacConfig = TFLITE_CONFIG  # of the feature stage (the plan's table shows it)
    per_channel: bool = False
    out_dtype: np.dtype = np.dtype(np.int8)

    @property
    def configs(self) -> tuple[QmacConfig, QmacConfig]:
        """The feature stage's config, then the time stage's."""
        return self.feature_config, self.time_config

    @property
    def units(self) -> int:
        return self.bias.shape[0]

    @property
    def memory(self) -> int:
        return self.w_time.shape[1]

    @property
    def c(self) -> int:
        return self.units

    @property
    def k(self) -> int:
        return self.rank * self.memory

    @property
    def quant(self) -> str:
        return "per-tensor"

    def describe(self) -> str:
        f, k = self.w_feature.shape
        return (
            f"svdf K={k} -> {f} filters, rank {self.rank}, memory {self.memory} -> "
            f"{self.units} units"
        )

    def feature_layer(self, v: Value) -> Layer:
        a = v.array if v.batched else v.array[None]
        rows = a.reshape(-1, self.w_feature.shape[1]).astype(np.int64)
        lo, hi = self.feature_config.out_range
        f = self.w_feature.shape[0]
        return Layer.build(
            self.feature_config,
            rows,
            self.w_feature,
            self.feature_bias,
            np.full(f, self.eff1[0]),
            np.full(f, self.eff1[1]),
            0,
            lo,
            hi,
        )

    def time_layers(self, feature: np.ndarray) -> list[Layer]:
        """One layer per unit: rows ``t * batch + b`` hold the last ``M`` feature outputs of the
        unit's ``rank`` filters at time ``t`` (older than the first sample: the initial state)."""
        m, b, rank = self.memory, self.batch, self.rank
        f = self.w_feature.shape[0]
        # TFLite Micro clamps to the state type, then adds the zero point in the state type.
        bits = self.feature_config.out_bits
        stored = wrap(feature + self.state_zp, bits)
        seq = stored.reshape(-1, b, f)  # (T, B, F)
        start = np.full((m - 1, b, f), self.state_init, dtype=np.int64)
        padded = np.concatenate([start, seq.astype(np.int64)])  # (T + M - 1, B, F)
        t = seq.shape[0]
        windows = np.stack([padded[j : j + t] for j in range(m)], axis=-1)  # (T, B, F, M)
        windows = windows.reshape(t * b, self.units, rank * m)
        w = self.w_time.reshape(self.units, rank * m)
        bias = fold_bias(self.bias, w, self.state_zp, self.time_config, self.op.label())
        return [
            Layer.build(
                self.time_config,
                windows[:, u],
                w[u : u + 1],
                bias[u : u + 1],
                self.eff2[0],
                self.eff2[1],
                self.out_zp,
                -128,
                127,
            )
            for u in range(self.units)
        ]

    def stages(self, v: Value):
        """``(config, layers)`` of each stage, in turn; receives each stage's outputs, returns
        the ``(R, U)`` outputs."""
        (feature,) = yield self.feature_config, [self.feature_layer(v)]
        ys = yield self.time_config, self.time_layers(feature)
        return np.concatenate(ys, axis=1)

    def output_value(self, y: np.ndarray, n_samples: int) -> Value:
        return Value(np.asarray(y).reshape((n_samples,) + self.out_shape).astype(np.int8), True)


def lower_svdf(op: OpSpec, graph: Graph) -> SvdfSpec:
    """Turn one int8 SVDF into an :class:`SvdfSpec`, with TFLite Micro's checks."""
    where = op.label()

    def refuse(why: str) -> UnsupportedOpError:
        return UnsupportedOpError(f"{where}: {why}")

    if len(op.inputs) != 5:
        raise refuse(
            f"needs 5 inputs (input, weights_feature, weights_time, bias, state), has "
            f"{len(op.inputs)}"
        )
    x, wf, wt = (graph.tensor(i) for i in op.inputs[:3])
    b_t = graph.tensor(op.inputs[3]) if op.inputs[3] >= 0 else None
    state = graph.tensor(op.inputs[4])
    y = graph.tensor(op.outputs[0])
    for which, t, allowed in (
        ("input", x, ("INT8",)),
        ("weights_feature", wf, ("INT8",)),
        ("weights_time", wt, ("INT8", "INT16")),
        ("activation state", state, ("INT8", "INT16")),
        ("output", y, ("INT8",)),
    ):
        if t.type_name not in allowed:
            raise refuse(
                f"{which} tensor {t.name!r} is {t.type_name}; implemented for "
                f"{' or '.join(allowed)} (int8 SVDF)"
            )
    if wf.data is None or wt.data is None:
        raise refuse("the feature and time weights must be constants")
    if b_t is None or b_t.data is None or b_t.type_name != "INT32":
        raise refuse("needs a constant INT32 bias (TFLite Micro reads its scale)")
    for which, t in (
        ("input", x),
        ("weights_feature", wf),
        ("weights_time", wt),
        ("activation state", state),
        ("output", y),
    ):
        if t.scale.size != 1:
            raise refuse(
                f"{which} tensor {t.name!r} needs one (per-tensor) scale, has {t.scale.size}"
            )
    rank = int(op.options.rank) if op.options is not None else 1
    f, k = wf.data.shape
    if rank < 1 or f % rank:
        raise refuse(f"{f} filters are not a multiple of rank {rank}")
    if len(x.shape) != 2 or x.shape[1] != k:
        raise refuse(f"input {list(x.shape)} does not match weights_feature {list(wf.data.shape)}")
    batch = x.shape[0]
    s = lambda t: np.float32(t.scale[0])  # noqa: E731 - TFLite multiplies these in float32
    eff1 = quantize_multiplier(float(np.float32(s(x) * s(wf) / s(state))))
    eff2 = quantize_multiplier(float(np.float32(s(state) * s(wt) / s(y))))
    x_zp, state_zp, out_zp = int(x.zero_point[0]), int(state.zero_point[0]), int(y.zero_point[0])
    state_bits, wt_bits = _BITS[state.type_name], _BITS[wt.type_name]
    feature_config = TFLITE_CONFIG.replace(out_bits=state_bits)
    time_config = TFLITE_CONFIG.replace(in_bits=state_bits, w_bits=wt_bits)
    w_feature = wf.data.astype(np.int64)
    return SvdfSpec(
        op=op,
        input_index=op.inputs[0],
        output_index=op.outputs[0],
        batch=batch,
        w_feature=w_feature,
        feature_bias=fold_bias(np.zeros(f, np.int64), w_feature, x_zp, feature_config, where),
        eff1=eff1,
        w_time=wt.data.astype(np.int64),
        bias=b_t.data.astype(np.int64).reshape(-1),
        eff2=eff2,
        rank=rank,
        state_zp=state_zp,
        state_init=state_zp if state.type_name == "INT8" else 0,
        out_zp=out_zp,
        feature_config=feature_config,
        time_config=time_config,
        out_shape=tuple(y.shape),
        config=feature_config,
    )
