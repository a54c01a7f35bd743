"""Quantized elementwise Mul, and the QDQ Add / Mul between DequantizeLinear and QuantizeLinear,
as ONNX Runtime computes them.

``QLinearMul`` (com.microsoft) is MLAS's ``MlasQLinearMulKernel`` (SSE2 on x86, the only x86
path): the product ``(a - zp_a) * (b - zp_b)`` exact in int32, converted to binary32, times
``fl32(fl32(s_a * s_b) / s_c)``, plus ``zp_c`` (a separate binary32 add), rounded half to even
(``cvtps2dq``: out of int32 range is ``INT32_MIN``), saturated to int16 then to the code type.

A QDQ Add / Mul (``DequantizeLinear`` inputs, one ``QuantizeLinear`` consumer) is what the graph
ONNX Runtime runs makes of it: fused into ``QLinearAdd`` / ``QLinearMul`` (on int8 codes, or on
uint8: an int8 pattern is often turned into uint8 first, every code and zero point + 128), or
left in float (one binary32 operation, then ``QuantizeLinear``). :func:`read_fusion` reads which
from the optimized graph."""

from __future__ import annotations

import numpy as np

from ..kernels.base import Value
from .graph import Node, OnnxGraph, OnnxImportError
from .ops import dequantize_linear, quantize_linear
from .pool import _RANGES, qlinear_add


def qlinear_mul(
    a: np.ndarray, a_s, a_zp: int, b: np.ndarray, b_s, b_zp: int, c_s, c_zp: int, dtype: np.dtype
) -> np.ndarray:
    """MLAS's QLinearMul (x86): codes ``a`` and ``b`` (broadcast as numpy does) -> codes."""
    f32 = np.float32
    ratio = f32(f32(f32(a_s) * f32(b_s)) / f32(c_s))
    prod = (np.asarray(a, np.int64) - a_zp) * (np.asarray(b, np.int64) - b_zp)
    v = (prod.astype(f32) * ratio).astype(f32)
    v = (v + f32(c_zp)).astype(f32).astype(np.float64)
    r = np.rint(v)
    r = np.where(np.isfinite(r) & (np.abs(r) < 2.0**31), r, -(2.0**31))  # cvtps2dq's "invalid"
    lo, hi = _RANGES[np.dtype(dtype)]
    return np.clip(r, lo, hi).astype(dtype)


def _scalar(graph: OnnxGraph, name: str, node: Node, what: str) -> np.ndarray:
    v = graph.constant(name, node, what)
    if v.size != 1:
        raise OnnxImportError(f"{node.label()}: a per-axis {what} is not supported")
    return v.reshape(-1)[0]


class QLinearMul:
    """QLinearMul (com.microsoft) of two int8 / uint8 tensors (numpy broadcasting)."""

    def __init__(self, graph: OnnxGraph, node: Node) -> None:
        self.node = node
        i = node.inputs
        if len(i) < 7:
            raise OnnxImportError(f"{node.label()}: needs A, its scale and zero point, B, ...")
        names = ("A_scale", "A_zero_point", "", "B_scale", "B_zero_point", "C_scale")
        a_s, a_zp, _, b_s, b_zp, c_s = (
            _scalar(graph, i[k], node, w) if w else None for k, w in enumerate(names, 1)
        )
        c_zp = _scalar(graph, i[7], node, "C_zero_point") if len(i) > 7 and i[7] else None
        self.dtype = np.dtype(np.asarray(a_zp).dtype)
        if self.dtype not in _RANGES:
            raise OnnxImportError(f"{node.label()}: {self.dtype} codes (int8 / uint8 only)")
        self.args = (a_s, int(a_zp), b_s, int(b_zp), c_s, 0 if c_zp is None else int(c_zp))

    def run(self, inputs: list[Value | None]) -> list[Value]:
        a, b = inputs[0], inputs[3]
        a_s, a_zp, b_s, b_zp, c_s, c_zp = self.args
        y = qlinear_mul(
            np.asarray(a.array),
            a_s,
            a_zp,
            np.asarray(b.array),
            b_s,
            b_zp,
            c_s,
            c_zp,
            self.dtype,
        )
        return [Value(y, a.batched or b.batched)]


def qdq_binary(graph: OnnxGraph, node: Node) -> tuple[QdqBinary, Node] | None:
    """The QDQ form of an Add / Mul (both inputs from DequantizeLinear, one QuantizeLinear
    consumer) and that QuantizeLinear; None for any other Add / Mul."""
    dqs = [graph.producer(name) for name in node.inputs[:2]]
    users = graph.consumers(node.outputs[0])
    if (
        any(d is None or d.op_type != "DequantizeLinear" for d in dqs)
        or len(users) != 1
        or users[0].op_type != "QuantizeLinear"
        or node.outputs[0] in {o.name for o in graph.outputs}
    ):
        return None
    return QdqBinary(graph, node, dqs, users[0]), users[0]


class QdqBinary:
    """DequantizeLinear (x2) -> Add / Mul -> QuantizeLinear: the codes in, the codes out,
    computed as ONNX Runtime's optimized graph does (``fused``: ``None`` float, else the code
    type of the QLinear kernel it runs: ``"uint8"`` for an int8 pattern means the int8 -> uint8
    conversion)."""

    def __init__(self, graph: OnnxGraph, node: Node, dqs: list[Node], q: Node) -> None:
        self.graph, self.node, self.dqs, self.q = graph, node, dqs, q
        self.fused: str | None = None
        self.inputs = tuple(d.inputs[0] for d in dqs)
        self.dtype = np.dtype(graph.constant(q.inputs[2], q, "zero point").dtype)

    def describe(self) -> str:
        """Where the plan says this node runs."""
        if self.fused is None:
            return f"software (numpy: binary32 {self.node.op_type}, then QuantizeLinear)"
        turned = self.fused == "uint8" and self.scalars()[-1] == np.int8
        conv = ", int8 turned into uint8" if turned else ""
        return (
            f"software (numpy: MLAS's QLinear{self.node.op_type}{conv}, as ONNX Runtime fuses it)"
        )

    def scalars(self) -> tuple:
        """``(a_s, a_zp, b_s, b_zp, c_s, c_zp, dtype)``, per-tensor as the QLinear kernel needs."""
        g, out = self.graph, []
        for d in (*self.dqs, self.q):
            s = _scalar(g, d.inputs[1], d, "scale")
            zp = _scalar(g, d.inputs[2], d, "zero point") if len(d.inputs) > 2 else np.uint8(0)
            out += [s, zp]
        dtype = np.dtype(np.asarray(out[-1]).dtype)
        if dtype not in _RANGES:
            raise OnnxImportError(f"{self.node.label()}: {dtype} codes (int8 / uint8 only)")
        return (*out[:5], int(out[5]), dtype)

    def run(self, inputs: list[Value | None]) -> list[Value]:
        a, b = inputs[0], inputs[1]
        batched = a.batched or b.batched
        if self.fused is None:
            fa, fb = (
                dequantize_linear(self.graph, d, [np.asarray(v.array), None, self._zp(d)])[0]
                for d, v in zip(self.dqs, (a, b))
            )
            op = np.multiply if self.node.op_type == "Mul" else np.add
            f = op(fa, fb, dtype=np.float32)
            return [Value(quantize_linear(self.graph, self.q, [f])[0], batched)]
        a_s, a_zp, b_s, b_zp, c_s, c_zp, dtype = self.scalars()
        xa, xb = np.asarray(a.array).astype(np.int64), np.asarray(b.array).astype(np.int64)
        # ONNX Runtime's int8 -> uint8 conversion: every code and zero point + 128
        shift = 128 if dtype == np.int8 and self.fused == "uint8" else 0
        a_zp, b_zp, c_zp = int(a_zp) + shift, int(b_zp) + shift, c_zp + shift
        xa, xb = xa + shift, xb + shift
        kind = np.dtype(self.fused)
        if self.node.op_type == "Mul":
            y = qlinear_mul(xa, a_s, a_zp, xb, b_s, b_zp, c_s, c_zp, kind)
        else:
            xa, xb = np.broadcast_arrays(xa, xb)
            y = qlinear_add(xa, a_s, a_zp, xb, b_s, b_zp, c_s, c_zp, kind)
        return [Value((y.astype(np.int64) - shift).astype(dtype), batched)]

    def _zp(self, dq: Node):
        return self.graph.constants.get(dq.inputs[2]) if len(dq.inputs) > 2 else None


_OUT_SCALE = {"QLinearAdd": 6, "QLinearMul": 6, "QLinearAveragePool": 3}


def read_fusion(binaries: list, optimized) -> None:
    """Set each QDQ Add / Mul's (or AveragePool's, :class:`hil.onnx.pool.AveragePool`)
    ``fused`` from ONNX Runtime's optimized graph (an ``onnx`` ModelProto): the QLinear node
    whose output scale is the QuantizeLinear's scale, and the code type it runs on."""
    from onnx import numpy_helper

    inits = {t.name: t for t in optimized.graph.initializer}
    by_scale = {
        n.input[_OUT_SCALE[n.op_type]]: n for n in optimized.graph.node if n.op_type in _OUT_SCALE
    }
    for b in binaries:
        fused = by_scale.get(b.q.inputs[1])
        if fused is None or fused.op_type != f"QLinear{b.node.op_type}":
            b.fused = None
            continue
        at = _OUT_SCALE[fused.op_type] + 1
        zp = fused.input[at] if len(fused.input) > at else ""
        kind = numpy_helper.to_array(inits[zp]).dtype if zp in inits else np.dtype(np.uint8)
        if kind not in _RANGES or (kind == np.int8 and np.dtype(b.dtype) != np.int8):
            raise OnnxImportError(f"{b.node.label()}: ONNX Runtime fuses it on {kind} codes")
        b.fused = kind.name
