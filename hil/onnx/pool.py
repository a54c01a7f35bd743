"""QLinearGlobalAveragePool (com.microsoft) and the DequantizeLinear -> GlobalAveragePool ->
QuantizeLinear pattern ONNX Runtime fuses into it, in numpy as MLAS computes it
(``MlasQLinearGlobalAveragePoolNchw``): the integer sum of each channel minus ``zp_x * N``,
times ``fl32(x_scale / fl32(y_scale * N))`` in binary32, clamped, rounded half to even, plus
``zp_y``. Also the float Add ONNX Runtime leaves between DequantizeLinear and QuantizeLinear
(the residual connection of an int8 QDQ model on x86): one binary32 addition."""

from __future__ import annotations

import numpy as np

from ..kernels.base import Value
from .graph import Node, OnnxGraph, OnnxImportError

_RANGES = {np.dtype(np.int8): (-128, 127), np.dtype(np.uint8): (0, 255)}


def global_average(
    x: np.ndarray, x_scale, x_zp: int, y_scale, y_zp: int, dtype: np.dtype
) -> np.ndarray:
    """``(B, C, H, W)`` codes -> ``(B, C, 1, 1)`` codes, MLAS's QLinearGlobalAveragePool."""
    n = int(np.prod(x.shape[2:]))
    if n >= 1 << 24:
        raise OnnxImportError(f"a global average over {n} values (ONNX Runtime allows < 2^24)")
    scale = np.float32(np.float32(x_scale) / np.float32(np.float32(y_scale) * np.float32(n)))
    acc = x.astype(np.int64).reshape(x.shape[:2] + (n,)).sum(axis=2) - x_zp * n
    lo, hi = _RANGES[np.dtype(dtype)]
    v = acc.astype(np.float32) * scale
    v = np.clip(v, np.float32(lo - y_zp), np.float32(hi - y_zp))
    q = np.rint(v).astype(np.int64) + y_zp
    return q.astype(dtype).reshape(x.shape[:2] + (1,) * (x.ndim - 2))


class GlobalAveragePool:
    """One global average: the QOperator node, or the fused QDQ pattern (``dq``, the node,
    ``q``); ``run`` takes the int8/uint8 codes and gives the output codes."""

    def __init__(
        self, graph: OnnxGraph, node: Node, dq: Node | None = None, q: Node | None = None
    ) -> None:
        self.node = node
        if dq is None:
            if int(node.attrs.get("channels_last", 0)):
                raise OnnxImportError(f"{node.label()}: channels_last = 1 is not supported")
            i = node.inputs
            self.x_scale = graph.constant(i[1], node, "x_scale")
            self.x_zp = int(graph.constant(i[2], node, "x_zero_point").reshape(-1)[0])
            self.y_scale = graph.constant(i[3], node, "y_scale")
            zp = graph.constant(i[4], node, "y_zero_point")
        else:
            self.x_scale = graph.constant(dq.inputs[1], dq, "x_scale")
            self.x_zp = int(graph.constant(dq.inputs[2], dq, "x_zero_point").reshape(-1)[0])
            self.y_scale = graph.constant(q.inputs[1], q, "y_scale")
            zp = graph.constant(q.inputs[2], q, "y_zero_point")
        if self.x_scale.size != 1 or self.y_scale.size != 1:
            raise OnnxImportError(f"{node.label()}: per-axis scales are not supported")
        self.y_zp = int(zp.reshape(-1)[0])
        self.dtype = np.dtype(zp.dtype)
        if self.dtype not in _RANGES:
            raise OnnxImportError(f"{node.label()}: {self.dtype} codes (int8 / uint8 only)")

    def run(self, inputs: list[Value | None]) -> list[Value]:
        v = inputs[0]
        y = global_average(
            np.asarray(v.array),
            self.x_scale.reshape(-1)[0],
            self.x_zp,
            self.y_scale.reshape(-1)[0],
            self.y_zp,
            self.dtype,
        )
        return [Value(y, v.batched)]


def qdq_global_average(graph: OnnxGraph, node: Node) -> tuple[GlobalAveragePool, Node, Node]:
    """A GlobalAveragePool between a DequantizeLinear and its only consumer, a QuantizeLinear,
    as ONNX Runtime fuses it; else refused (a float average is not computed)."""
    dq = graph.producer(node.inputs[0])
    users = graph.consumers(node.outputs[0])
    if (
        dq is None
        or dq.op_type != "DequantizeLinear"
        or len(users) != 1
        or (users[0].op_type != "QuantizeLinear")
    ):
        raise OnnxImportError(
            f"{node.label()}: a float GlobalAveragePool; only the QDQ form "
            f"(DequantizeLinear -> it -> QuantizeLinear) runs"
        )
    return GlobalAveragePool(graph, node, dq, users[0]), dq, users[0]


def check_float_add(graph: OnnxGraph, node: Node) -> None:
    """A float Add / Mul runs only on two dequantized tensors (binary32, as ONNX Runtime)."""
    for name in node.inputs:
        p = graph.producer(name)
        if p is None or p.op_type != "DequantizeLinear":
            raise OnnxImportError(
                f"{node.label()}: a float {node.op_type} runs only on the outputs of "
                f"two DequantizeLinear nodes (the QDQ form)"
            )


def add(graph: OnnxGraph, node: Node, ins: list) -> list:
    a, b = (np.asarray(v, np.float32) for v in ins[:2])
    return [np.add(a, b, dtype=np.float32)]


def mul(graph: OnnxGraph, node: Node, ins: list) -> list:
    a, b = (np.asarray(v, np.float32) for v in ins[:2])
    return [np.multiply(a, b, dtype=np.float32)]


def _fma32(x: np.ndarray, y: np.float32, z) -> np.ndarray:
    """``fl32(x * y + z)`` with one rounding (``_mm256_fmadd_ps``): the product of an 8-bit
    integer and a binary32 is exact in binary64, and so is the sum at these magnitudes."""
    return (x.astype(np.float64) * np.float64(y) + np.asarray(z, np.float64)).astype(np.float32)


def qlinear_add(
    a: np.ndarray, a_s, a_zp: int, b: np.ndarray, b_s, b_zp: int, c_s, c_zp: int, dtype: np.dtype
) -> np.ndarray:
    """MLAS's QLinearAdd (the AVX2 kernel): ``rne(fma(a, s_a/s_c, fma(b, s_b/s_c, fixed)))``
    with ``fixed = zp_c - (s_a/s_c * zp_a + s_b/s_c * zp_b)`` in binary32, saturated."""
    f32 = np.float32
    ac, bc = f32(f32(a_s) / f32(c_s)), f32(f32(b_s) / f32(c_s))
    fixed = f32(f32(c_zp) - f32(f32(ac * f32(a_zp)) + f32(bc * f32(b_zp))))
    v = _fma32(a, ac, _fma32(b, bc, fixed))
    lo, hi = _RANGES[np.dtype(dtype)]
    return np.clip(np.rint(v.astype(np.float64)), lo, hi).astype(dtype)


class QLinearAdd:
    """QLinearAdd (com.microsoft) of two int8 / uint8 tensors of the same shape."""

    def __init__(self, graph: OnnxGraph, node: Node) -> None:
        self.node = node
        i = node.inputs
        if len(i) < 7:
            raise OnnxImportError(f"{node.label()}: needs A, its scale and zero point, B, ...")
        c = [
            graph.constant(i[k], node, what)
            for k, what in (
                (1, "A_scale"),
                (2, "A_zero_point"),
                (4, "B_scale"),
                (5, "B_zero_point"),
                (6, "C_scale"),
            )
        ]
        zc = graph.constant(i[7], node, "C_zero_point") if len(i) > 7 and i[7] else None
        if any(v.size != 1 for v in c):
            raise OnnxImportError(f"{node.label()}: per-axis scales are not supported")
        self.a_s, self.a_zp, self.b_s, self.b_zp, self.c_s = (v.reshape(-1)[0] for v in c)
        self.c_zp = 0 if zc is None else int(zc.reshape(-1)[0])
        self.dtype = np.dtype(c[1].dtype)
        if self.dtype not in _RANGES:
            raise OnnxImportError(f"{node.label()}: {self.dtype} codes (int8 / uint8 only)")
        sa, sb = graph.shape(i[0]), graph.shape(i[3])
        if sa is None or sb is None or tuple(sa[1:]) != tuple(sb[1:]):
            raise OnnxImportError(
                f"{node.label()}: A {sa} and B {sb} must have one shape "
                f"(broadcasting is not implemented)"
            )

    def run(self, inputs: list[Value | None]) -> list[Value]:
        a, b = inputs[0], inputs[3]
        y = qlinear_add(
            np.asarray(a.array),
            self.a_s,
            int(self.a_zp),
            np.asarray(b.array),
            self.b_s,
            int(self.b_zp),
            self.c_s,
            self.c_zp,
            self.dtype,
        )
        return [Value(y, a.batched or b.batched)]


def average_pool(
    x: np.ndarray,
    x_scale,
    x_zp: int,
    y_scale,
    y_zp: int,
    dtype: np.dtype,
    kernel: tuple[int, int],
    strides: tuple[int, int],
    pads: tuple[int, int, int, int],
    include_pad: bool,
) -> np.ndarray:
    """ONNX Runtime's QLinearAveragePool (NCHW): each value dequantized in binary32, the
    window summed from 0 in row order in binary32, divided by the count, then
    ``nearbyint(y / y_scale + zp_y)`` clamped."""
    f32 = np.float32
    xf = (f32(x_scale) * (x.astype(np.int64) - x_zp).astype(f32)).astype(f32)
    t, left, b, r = pads
    p = np.pad(xf, ((0, 0), (0, 0), (t, b), (left, r)))
    valid = np.pad(np.ones(x.shape[2:], np.int64), ((t, b), (left, r)))
    (kh, kw), (sh, sw) = kernel, strides
    oh, ow = (p.shape[2] - kh) // sh + 1, (p.shape[3] - kw) // sw + 1
    acc = np.zeros(x.shape[:2] + (oh, ow), f32)
    count = np.zeros((oh, ow), np.int64)
    for ky in range(kh):
        for kx in range(kw):
            win = (slice(ky, ky + (oh - 1) * sh + 1, sh), slice(kx, kx + (ow - 1) * sw + 1, sw))
            acc = (acc + p[(slice(None), slice(None)) + win]).astype(f32)  # +0.0 on padding
            count += valid[win]
    n = np.full((oh, ow), kh * kw) if include_pad else count
    y = (acc / n.astype(f32)).astype(f32)
    lo, hi = _RANGES[np.dtype(dtype)]
    q = (y / f32(y_scale)).astype(f32) + f32(y_zp)
    return np.clip(np.rint(q.astype(f32)), lo, hi).astype(dtype)


class AveragePool:
    """QLinearAveragePool (com.microsoft, NCHW), or DequantizeLinear -> AveragePool ->
    QuantizeLinear, which ONNX Runtime fuses into it."""

    def __init__(
        self, graph: OnnxGraph, node: Node, dq: Node | None = None, q: Node | None = None
    ) -> None:
        self.node = node
        a = node.attrs
        where = node.label()
        if int(a.get("channels_last", 0)) or int(a.get("ceil_mode", 0)):
            raise OnnxImportError(f"{where}: channels_last / ceil_mode are not supported")
        auto = a.get("auto_pad", b"NOTSET")
        if (auto.decode() if isinstance(auto, bytes) else auto) not in ("NOTSET", "", "VALID"):
            raise OnnxImportError(f"{where}: auto_pad = {auto!r} is not supported")
        kernel = tuple(int(v) for v in a["kernel_shape"])
        if len(kernel) != 2 or tuple(a.get("dilations", (1, 1))) != (1, 1):
            raise OnnxImportError(f"{where}: only 2-D average pools without dilation")
        self.kernel = kernel
        self.strides = tuple(int(v) for v in a.get("strides", (1, 1)))
        self.pads = tuple(int(v) for v in a.get("pads", (0, 0, 0, 0)))
        self.include_pad = bool(int(a.get("count_include_pad", 0)))
        src = (dq, 1, dq, 2, q, 1, q, 2) if dq is not None else (node, 1, node, 2, node, 3, node, 4)
        xs, xz, ys, yz = (
            graph.constant(n.inputs[i], n, w)
            for n, i, w in zip(
                src[::2], src[1::2], ("x_scale", "x_zero_point", "y_scale", "y_zero_point")
            )
        )
        if xs.size != 1 or ys.size != 1:
            raise OnnxImportError(f"{where}: per-axis scales are not supported")
        self.args = (
            xs.reshape(-1)[0],
            int(xz.reshape(-1)[0]),
            ys.reshape(-1)[0],
            int(yz.reshape(-1)[0]),
            np.dtype(yz.dtype),
        )
        if self.args[4] not in _RANGES:
            raise OnnxImportError(f"{where}: {self.args[4]} codes (int8 / uint8 only)")
        self.q, self.dtype = q, self.args[4]
        self.fused: str | None = None  # the codes ONNX Runtime's fused kernel runs on

    def run(self, inputs: list[Value | None]) -> list[Value]:
        v = inputs[0]
        x = np.asarray(v.array)
        xs, xz, ys, yz, dtype = self.args
        if self.fused == "uint8" and dtype == np.int8:
            # ONNX Runtime turned the int8 pattern into uint8: codes and zero points + 128,
            # which moves the binary32 sum ``y / y_scale + zp_y`` and so its ties
            x, xz, yz = x.astype(np.int64) + 128, xz + 128, yz + 128
            y = average_pool(
                x,
                xs,
                xz,
                ys,
                yz,
                np.dtype(np.uint8),
                self.kernel,
                self.strides,
                self.pads,
                self.include_pad,
            )
            return [Value((y.astype(np.int64) - 128).astype(np.int8), v.batched)]
        y = average_pool(x, *self.args, self.kernel, self.strides, self.pads, self.include_pad)
        return [Value(y, v.batched)]


def qdq_average_pool(graph: OnnxGraph, node: Node) -> tuple[AveragePool, Node, Node]:
    """An AveragePool between a DequantizeLinear and one QuantizeLinear, as ONNX Runtime
    fuses it; a float one is refused."""
    dq = graph.producer(node.inputs[0])
    users = graph.consumers(node.outputs[0])
    if (
        dq is None
        or dq.op_type != "DequantizeLinear"
        or len(users) != 1
        or (users[0].op_type != "QuantizeLinear")
    ):
        raise OnnxImportError(
            f"{node.label()}: a float AveragePool; only the QDQ form "
            f"(DequantizeLinear -> it -> QuantizeLinear) runs"
        )
    return AveragePool(graph, node, dq, users[0]), dq, users[0]
