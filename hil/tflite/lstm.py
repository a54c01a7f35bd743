"""UNIDIRECTIONAL_SEQUENCE_LSTM (int8) with its gate matrix multiplies on the datapath, the rest
in numpy as TFLite Micro's integer kernel computes it (``lstm_eval.h`` ``LstmStep``).

Per time step, each gate ``g`` (input, forget, cell, output) is

    gate_g = act_g(sat16(FC_in_g(x_t) + FC_rec_g(h_{t-1})))

where both FCs are int8 x int8 -> int16 at the fixed scale 2^-12 (``MultiplyByQuantizedMultiplier``,
clamp to int16): the input FC with the gate bias and the input zero point, the recurrent FC with
no bias and the hidden state's zero point. On the datapath (config ``tflite`` with
``out_bits = 16``) the four input FCs are one layer over every time step of every sample (they do
not depend on the state), and the four recurrent FCs one layer per time step (``B`` rows). In
numpy, exactly as TFLite Micro: the saturating int16 add; ``reference_integer_ops::Logistic``
(input, forget, output gates) and ``Tanh`` (the cell gate) on Q3.12; the cell update
``c = sat16(MBQM(f * c) + MBQM(i * g))`` (``MulElementwise`` with the scales of
``CreateInterGateMulParams``), the optional cell clip; ``h = clamp(zp_h + MBQM(tanh(c) * o))``
with ``tanh`` rescaled from the cell state's power-of-two scale.

TFLite Micro's kernel has no peephole, projection, layer norm or CIFG variant; those are refused
by name. The hidden and cell states are variable tensors that persist between invokes, so hil's
samples are consecutive invokes (the state starts at the hidden zero point and 0).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pyref.config import QmacConfig
from pyref.fixed_point import multiply_by_quantized_multiplier
from pyref.layer import Layer
from pyref.tflite_math import quantize_multiplier

from ..kernels.activations import checked_log2, logistic_int16, tanh_int16
from ..kernels.base import UnsupportedOpError, Value
from .graph import Graph, OpSpec
from .operands import TFLITE_CONFIG, fold_bias
from .params import fully_connected_multipliers
from .schema import ACTIVATION_NAMES

LSTM_CONFIG: QmacConfig = TFLITE_CONFIG.replace(out_bits=16)
"""The gate FCs: TFLite's int8 FULLY_CONNECTED arithmetic with an int16 output."""

GATES = ("input", "forget", "cell", "output")
_INPUT_WEIGHTS = (1, 2, 3, 4)  # input_to_{input,forget,cell,output}_weights
_RECURRENT_WEIGHTS = (5, 6, 7, 8)  # recurrent_to_{...}_weights
_BIASES = (12, 13, 14, 15)  # {input,forget,cell,output}_gate_bias
_VARIANTS = {
    9: "peephole (cell_to_input_weights)",
    10: "peephole (cell_to_forget_weights)",
    11: "peephole (cell_to_output_weights)",
    16: "projection (projection_weights)",
    17: "projection (projection_bias)",
    20: "layer norm (input_layer_norm_coefficients)",
    21: "layer norm (forget_layer_norm_coefficients)",
    22: "layer norm (cell_layer_norm_coefficients)",
    23: "layer norm (output_layer_norm_coefficients)",
}
GATE_INPUT_SCALE = 2.0**-12  # Q3.12, the nonlinearities' input
GATE_OUTPUT_SCALE = 2.0**-15  # Q0.15, their output


def mul_elementwise(
    a: np.ndarray, b: np.ndarray, mult: tuple[int, int], out_zp: int, lo: int, hi: int
) -> np.ndarray:
    """``reference_integer_ops::MulElementwise`` with zero input offsets."""
    prod = a.astype(np.int64) * b.astype(np.int64)
    return np.clip(out_zp + multiply_by_quantized_multiplier(prod, mult[0], mult[1]), lo, hi)


def inter_gate_multiplier(s1: float, s2: float, s_out: float) -> tuple[int, int]:
    """``CreateInterGateMulParams``: ``double(s1) * double(s2) / double(s_out)`` quantized."""
    return quantize_multiplier(
        float(np.float32(s1)) * float(np.float32(s2)) / float(np.float32(s_out))
    )


@dataclasses.dataclass
class LstmSpec:
    """One int8 UNIDIRECTIONAL_SEQUENCE_LSTM in the datapath's terms."""

    op: OpSpec
    input_index: int
    output_index: int
    time_major: bool
    batch: int
    steps: int
    n_input: int
    n_state: int
    w_in: np.ndarray  # (4S, I): the four gates' input weights, in GATES order
    in_bias: np.ndarray  # (4S,): gate bias with the input zero point folded in
    in_mult: np.ndarray
    in_shift: np.ndarray
    w_rec: np.ndarray  # (4S, S)
    rec_bias: np.ndarray  # (4S,): the hidden zero point folded in
    rec_mult: np.ndarray
    rec_shift: np.ndarray
    cell_activation: str  # "TANH" (the only one a .tflite file can ask of this kernel)
    cell_scale_power: int
    cell_clip: int  # quantized; 0: none
    forget_mul: tuple[int, int]
    input_mul: tuple[int, int]
    output_mul: tuple[int, int]
    hidden_zp: int
    out_shape: tuple[int, ...]
    config: QmacConfig = LSTM_CONFIG
    per_channel: bool = False

    @property
    def c(self) -> int:
        return 4 * self.n_state

    @property
    def k(self) -> int:
        return self.n_input

    @property
    def quant(self) -> str:
        return "per-tensor"

    def describe(self) -> str:
        layout = "time-major" if self.time_major else "batch-major"
        return (
            f"lstm {layout} T={self.steps} B={self.batch} I={self.n_input} -> S={self.n_state}: "
            f"input FCs {self.n_input} -> 4x{self.n_state}, recurrent FCs {self.n_state} -> "
            f"4x{self.n_state} per step"
        )

    def _layer(self, rows: np.ndarray, w, bias, mult, shift) -> Layer:
        return Layer.build(
            self.config, rows.astype(np.int64), w, bias, mult, shift, 0, -32768, 32767
        )

    def step(
        self, gin: np.ndarray, grec: np.ndarray, cell: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """One time step from the two FCs' ``(B, 4S)`` outputs: the new ``(hidden, cell)``."""
        s = self.n_state
        pre = np.clip(gin.astype(np.int64) + grec, -32768, 32767)
        i_g, f_g, c_g, o_g = (pre[:, j * s : (j + 1) * s] for j in range(4))
        i_g, f_g, o_g = (logistic_int16(g, 0, 0) for g in (i_g, f_g, o_g))
        # The cell gate's tanh takes Q3.12 (scale power -12: no input shift).
        c_g = tanh_int16(c_g, 0, 0)
        cell = mul_elementwise(f_g, cell, self.forget_mul, 0, -32768, 32767)
        cell = np.clip(
            cell + mul_elementwise(i_g, c_g, self.input_mul, 0, -32768, 32767), -32768, 32767
        )
        if self.cell_clip > 0:
            cell = np.clip(cell, -self.cell_clip, self.cell_clip)
        shift = 15 + self.cell_scale_power - 3
        mult = 0
        if shift < 0:
            shift, mult = -shift, 3
        hidden = mul_elementwise(
            tanh_int16(cell, mult, shift), o_g, self.output_mul, self.hidden_zp, -128, 127
        )
        return hidden, cell

    def stages(self, v: Value):
        """Stage 0: the input FCs of every time step; then one stage per time step (in order,
        sample after sample): its recurrent FCs. Returns the ``(N*T, B, S)`` hidden states."""
        a = v.array if v.batched else v.array[None]
        n = a.shape[0]
        seq = a if self.time_major else a.transpose(0, 2, 1, 3)  # (N, T, B, I)
        rows = seq.reshape(-1, self.n_input)
        (gin,) = yield (
            self.config,
            [self._layer(rows, self.w_in, self.in_bias, self.in_mult, self.in_shift)],
        )
        gin = np.asarray(gin).reshape(n * self.steps, self.batch, self.c)
        hidden = np.full((self.batch, self.n_state), self.hidden_zp, dtype=np.int64)
        cell = np.zeros((self.batch, self.n_state), dtype=np.int64)
        out = np.empty((n * self.steps, self.batch, self.n_state), dtype=np.int64)
        for t in range(n * self.steps):
            (grec,) = yield (
                self.config,
                [self._layer(hidden, self.w_rec, self.rec_bias, self.rec_mult, self.rec_shift)],
            )
            hidden, cell = self.step(gin[t], np.asarray(grec), cell)
            out[t] = hidden
        return out

    def output_value(self, y: np.ndarray, n_samples: int) -> Value:
        y = np.asarray(y).reshape(n_samples, self.steps, self.batch, self.n_state)
        if not self.time_major:
            y = y.transpose(0, 2, 1, 3)
        return Value(
            np.ascontiguousarray(y).reshape((n_samples,) + self.out_shape).astype(np.int8), True
        )


def lower_lstm(op: OpSpec, graph: Graph) -> LstmSpec:
    """Turn one int8 UNIDIRECTIONAL_SEQUENCE_LSTM into an :class:`LstmSpec`, with TFLite Micro's
    checks; refuses (naming the feature) what its integer kernel does not implement."""
    where = op.label()

    def refuse(why: str) -> UnsupportedOpError:
        return UnsupportedOpError(f"{where}: {why}")

    if len(op.inputs) != 24:
        raise refuse(f"needs 24 inputs (TFLite Micro's kernel), has {len(op.inputs)}")
    present = lambda i: op.inputs[i] >= 0  # noqa: E731
    variants = [name for i, name in _VARIANTS.items() if present(i)]
    if variants:
        raise refuse(f"TFLite Micro's integer LSTM kernel has no {', '.join(variants)}")
    if not present(1) or not present(5):
        raise refuse("CIFG (no input gate weights) is not supported by TFLite Micro's kernel")
    for i in (0, 18, 19) + _INPUT_WEIGHTS + _RECURRENT_WEIGHTS + _BIASES:
        if not present(i):
            raise refuse(f"input {i} is missing")
    x, hidden, cell = (graph.tensor(op.inputs[i]) for i in (0, 18, 19))
    y = graph.tensor(op.outputs[0])
    if x.type_name == "INT16":
        raise refuse("int16 activations (16x8 LSTM) are not implemented; int8 only")
    for which, t, want in (
        ("input", x, "INT8"),
        ("hidden state", hidden, "INT8"),
        ("cell state", cell, "INT16"),
        ("output", y, "INT8"),
    ):
        if t.type_name != want:
            raise refuse(
                f"{which} tensor {t.name!r} is {t.type_name}; implemented for {want} "
                f"(int8 LSTM with an int16 cell state)"
            )
    ws = [graph.tensor(op.inputs[i]) for i in _INPUT_WEIGHTS + _RECURRENT_WEIGHTS]
    bs = [graph.tensor(op.inputs[i]) for i in _BIASES]
    for t in ws:
        if t.type_name != "INT8" or t.data is None:
            raise refuse(
                f"weight tensor {t.name!r} must be a constant INT8 tensor, is "
                f"{t.type_name}{'' if t.data is not None else ' (not constant)'}"
            )
    for t in bs:
        if t.type_name != "INT32" or t.data is None:
            raise refuse(f"gate bias {t.name!r} must be a constant INT32 tensor, is {t.type_name}")
    for j, t in enumerate([x, hidden, cell] + ws):
        if t.scale.size != 1:
            raise refuse(f"tensor {t.name!r} needs one (per-tensor) scale, has {t.scale.size}")
        if j >= 3 and int(t.zero_point[0]) != 0:
            raise refuse(
                f"weight tensor {t.name!r} has zero point {int(t.zero_point[0])}; TFLite needs 0"
            )
    opts = op.options
    time_major = bool(getattr(opts, "timeMajor", False)) if opts is not None else False
    if len(x.shape) != 3:
        raise refuse(f"input {list(x.shape)} must be 3-D ([T, B, I] or [B, T, I])")
    t_steps, batch = (x.shape[0], x.shape[1]) if time_major else (x.shape[1], x.shape[0])
    n_input = x.shape[2]
    n_state = ws[4].data.shape[0]
    for t in ws[:4]:
        if t.data.shape != (n_state, n_input):
            raise refuse(f"input weights {t.name!r} {list(t.data.shape)} != [{n_state}, {n_input}]")
    for t in ws[4:]:
        if t.data.shape != (n_state, n_state):
            raise refuse(
                f"recurrent weights {t.name!r} {list(t.data.shape)} != [{n_state}, {n_state}]"
            )
    for t in bs:
        if t.data.size != n_state:
            raise refuse(f"gate bias {t.name!r} has {t.data.size} values, needs {n_state}")
    if tuple(y.shape) != tuple(x.shape[:2]) + (n_state,):
        raise refuse(f"output {list(y.shape)} != {list(x.shape[:2]) + [n_state]}")
    act = int(getattr(opts, "fusedActivationFunction", 0)) if opts is not None else 0
    if act != 4:
        raise refuse(
            f"cell gate activation {ACTIVATION_NAMES.get(act, act)} is not supported "
            f"(TFLite Micro's kernel: TANH)"
        )
    cell_activation = "TANH"
    clip = float(getattr(opts, "cellClip", 0.0)) if opts is not None else 0.0
    if clip < 0:
        raise refuse(f"cell_clip {clip} is negative")
    hidden_zp = int(hidden.zero_point[0])
    s_x, s_h, s_c = (float(np.float32(t.scale[0])) for t in (x, hidden, cell))
    in_zp = int(x.zero_point[0])
    w_in = np.concatenate([t.data.astype(np.int64) for t in ws[:4]])
    w_rec = np.concatenate([t.data.astype(np.int64) for t in ws[4:]])
    in_m, in_s, rec_m, rec_s = [], [], [], []
    for t_in, t_rec in zip(ws[:4], ws[4:]):
        m, s = fully_connected_multipliers(s_x, t_in.scale, GATE_INPUT_SCALE)
        in_m.append(np.full(n_state, int(m[0])))
        in_s.append(np.full(n_state, int(s[0])))
        m, s = fully_connected_multipliers(s_h, t_rec.scale, GATE_INPUT_SCALE)
        rec_m.append(np.full(n_state, int(m[0])))
        rec_s.append(np.full(n_state, int(s[0])))
    bias = np.concatenate([t.data.astype(np.int64).ravel() for t in bs])
    _, power = checked_log2(s_c)
    qclip = (
        int(min(max(np.float64(np.float32(clip)) / np.float64(s_c), -32768.0), 32767.0))
        if clip > 0
        else 0
    )
    return LstmSpec(
        op=op,
        input_index=op.inputs[0],
        output_index=op.outputs[0],
        time_major=time_major,
        batch=batch,
        steps=t_steps,
        n_input=n_input,
        n_state=n_state,
        w_in=w_in,
        in_bias=fold_bias(bias, w_in, in_zp, LSTM_CONFIG, where),
        in_mult=np.concatenate(in_m),
        in_shift=np.concatenate(in_s),
        w_rec=w_rec,
        rec_bias=fold_bias(np.zeros(4 * n_state, np.int64), w_rec, hidden_zp, LSTM_CONFIG, where),
        rec_mult=np.concatenate(rec_m),
        rec_shift=np.concatenate(rec_s),
        cell_activation=cell_activation,
        cell_scale_power=power,
        cell_clip=qclip,
        forget_mul=inter_gate_multiplier(GATE_OUTPUT_SCALE, s_c, s_c),
        input_mul=inter_gate_multiplier(GATE_OUTPUT_SCALE, GATE_OUTPUT_SCALE, s_c),
        output_mul=inter_gate_multiplier(GATE_OUTPUT_SCALE, GATE_OUTPUT_SCALE, s_h),
        hidden_zp=hidden_zp,
        out_shape=tuple(y.shape),
    )
