"""The float ConvTranspose (2-D, or 1-D as height 1) that ``quantize_static`` leaves between
DequantizeLinear and QuantizeLinear (ONNX Runtime has no integer kernel for it), in numpy as
ONNX Runtime's CPU kernel computes it (``conv_transpose.cc``): per image, ``col = W^T x`` by
MLAS's SGEMM (each value a chain of fused multiply-adds over the input channels in order, from
0, at most :data:`MAX_CHANNELS` of them), ``Col2im`` (each output the sum, from 0, of its taps
in ``(ky, kx)`` order), then the bias (one binary32 addition)."""

from __future__ import annotations

import numpy as np

from .graph import Node, OnnxGraph, OnnxImportError

MAX_CHANNELS = 128
"""MLAS's SGEMM sums at most this many input channels in one chain whatever the sizes; past it
the split depends on how the columns are shared among ONNX Runtime's threads (the CPU's core
count), so larger layers are refused."""


def fma32(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``fl32(a * b + c)`` rounded once, as ``vfmadd231ps``: the product of two binary32 values
    is exact in binary64; the sum is corrected where binary64 rounding lands on a binary32 tie."""
    p = a.astype(np.float64) * b.astype(np.float64)
    c64 = np.asarray(c, np.float64)
    s = p + c64
    bb = s - p
    err = (p - (s - bb)) + (c64 - bb)  # s + err == p + c exactly (TwoSum)
    r = s.astype(np.float32)
    rd = r.astype(np.float64)
    other = np.nextafter(r, np.where(s > rd, np.float32(np.inf), np.float32(-np.inf)))
    od = other.astype(np.float64)
    tie = (s != rd) & (2 * s == rd + od) & (err != 0)
    up = np.maximum(rd, od)
    down = np.minimum(rd, od)
    fixed = np.where(err > 0, up, down).astype(np.float32)
    return np.where(tie, fixed, r).astype(np.float32)


def sgemm_tn(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``w.T @ x`` for ``w (K, M)``, ``x (K, P)``, ``K <= MAX_CHANNELS``, as MLAS's SGEMM
    kernels (FMA3, AVX-512) sum each value: one fused multiply-add chain from 0."""
    acc = np.zeros((w.shape[1], x.shape[1]), np.float32)
    for k in range(w.shape[0]):
        acc = fma32(w[k][:, None], x[k][None, :], acc)
    return acc


def conv_transpose(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None,
    strides: tuple[int, int],
    pads: tuple[int, int, int, int],
    dilations: tuple[int, int],
    out_hw: tuple[int, int],
) -> np.ndarray:
    """``x (N, Cin, H, W)`` float32, ``w (Cin, Cout, kh, kw)`` -> ``(N, Cout, OH, OW)``."""
    n, cin, h, wd = x.shape
    _, cout, kh, kw = w.shape
    (sh, sw), (dh, dw), (oh, ow) = strides, dilations, out_hw
    top, left = pads[0], pads[1]
    wk = w.reshape(cin, cout * kh * kw).astype(np.float32)
    y = np.zeros((n, cout, oh, ow), np.float32)
    iy, ix = np.arange(h), np.arange(wd)
    for i in range(n):
        col = sgemm_tn(wk, x[i].reshape(cin, h * wd).astype(np.float32))
        col = col.reshape(cout, kh, kw, h, wd)
        for ky in range(kh):
            for kx in range(kw):
                oy, ox = iy * sh - top + ky * dh, ix * sw - left + kx * dw
                vy, vx = (oy >= 0) & (oy < oh), (ox >= 0) & (ox < ow)
                sub = np.ix_(np.arange(cout), oy[vy], ox[vx])
                tap = col[:, ky, kx][:, vy][:, :, vx]
                y[i][sub] = (y[i][sub] + tap).astype(np.float32)
    if bias is not None:
        y = (y + bias.astype(np.float32).reshape(1, -1, 1, 1)).astype(np.float32)
    return y


class ConvTransposeFloat:
    """The node's attributes, checked at import; ``__call__`` is a plan node function."""

    def __init__(self, graph: OnnxGraph, node: Node) -> None:
        a, where = node.attrs, node.label()
        auto = a.get("auto_pad", b"NOTSET")
        if (auto.decode() if isinstance(auto, bytes) else auto) not in ("NOTSET", ""):
            raise OnnxImportError(f"{where}: auto_pad = {auto!r} is not supported")
        if "output_shape" in a:
            raise OnnxImportError(f"{where}: the output_shape attribute is not supported")
        if int(a.get("group", 1)) != 1:
            raise OnnxImportError(f"{where}: group = {a.get('group')}; only group 1")
        src = graph.producer(node.inputs[0])
        if src is None or src.op_type != "DequantizeLinear":
            raise OnnxImportError(
                f"{where}: a float ConvTranspose runs only on a DequantizeLinear's output "
                "(as quantize_static leaves it)"
            )
        shape, wshape = graph.shape(node.inputs[0]), graph.shape(node.inputs[1])
        wsrc = graph.producer(node.inputs[1])
        if wshape is None and wsrc is not None and wsrc.inputs[0] in graph.constants:
            wshape = graph.constants[wsrc.inputs[0]].shape  # the weights' DequantizeLinear
        elif wshape is None and node.inputs[1] in graph.constants:
            wshape = graph.constants[node.inputs[1]].shape
        if shape is None or len(shape) not in (3, 4) or any(d is None for d in shape[1:]):
            raise OnnxImportError(f"{where}: only 1-D / 2-D ConvTranspose of a known shape")
        self.one_d = len(shape) == 3  # NCL: run as NCHW of height 1
        if int(shape[1]) > MAX_CHANNELS:
            raise OnnxImportError(
                f"{where}: {shape[1]} input channels; at most {MAX_CHANNELS} (beyond, ONNX "
                "Runtime's float sums depend on its thread count)"
            )
        if wshape is None or int(np.prod(wshape[1:])) == 1:
            raise OnnxImportError(f"{where}: a weight of unknown shape or a 1x1 to one channel")
        self.node = node
        n = 1 if self.one_d else 2
        strides = [int(v) for v in a.get("strides", (1,) * n)]
        dilations = [int(v) for v in a.get("dilations", (1,) * n)]
        pads = [int(v) for v in a.get("pads", (0,) * 2 * n)]
        out_pad = [int(v) for v in a.get("output_padding", (0,) * n)]
        if self.one_d:
            strides, dilations, out_pad = [1, *strides], [1, *dilations], [0, *out_pad]
            pads = [0, pads[0], 0, pads[1]]
            shape = (shape[0], shape[1], 1, shape[2])
        self.strides, self.dilations = tuple(strides), tuple(dilations)
        self.pads, self.out_pad = tuple(pads), tuple(out_pad)
        self.in_hw = (int(shape[2]), int(shape[3]))
        self.ort_inputs: dict[int, np.ndarray] = {}
        """Weight / bias as ONNX Runtime's optimized graph holds them (it quantizes the float
        weights of a ConvTranspose between DequantizeLinear and QuantizeLinear itself)."""

    def read_optimized(self, optimized) -> None:
        """Take the weight and bias the optimized graph (``onnx`` ModelProto) gives the node
        that reads this node's input: a constant, or a DequantizeLinear of one."""
        from onnx import helper, numpy_helper

        inits = {t.name: numpy_helper.to_array(t) for t in optimized.graph.initializer}
        nodes = optimized.graph.node
        made = {o: n for n in nodes for o in n.output}
        ct = [
            n for n in nodes if n.op_type == "ConvTranspose" and n.input[0] == self.node.inputs[0]
        ]
        if len(ct) != 1:
            return
        for i, name in enumerate(ct[0].input[1:3], 1):
            if name in inits:
                self.ort_inputs[i] = inits[name].astype(np.float32)
            elif name in made and made[name].op_type == "DequantizeLinear":
                dq = made[name]
                q = inits[dq.input[0]].astype(np.int64)
                scale = inits[dq.input[1]].astype(np.float32)
                zp = inits[dq.input[2]].astype(np.int64) if len(dq.input) > 2 and dq.input[2] else 0
                axis = next(
                    (helper.get_attribute_value(a) for a in dq.attribute if a.name == "axis"), 1
                )
                shape = [1] * q.ndim
                if np.size(scale) > 1:
                    shape[axis % q.ndim] = -1
                diff = (q - np.reshape(zp, shape if np.size(zp) > 1 else ())).astype(np.float32)
                self.ort_inputs[i] = (diff * np.reshape(scale, shape)).astype(np.float32)

    def out_hw(self, kh: int, kw: int) -> tuple[int, int]:
        k = (kh, kw)
        return tuple(
            self.strides[i] * (self.in_hw[i] - 1)
            + self.out_pad[i]
            + (k[i] - 1) * self.dilations[i]
            + 1
            - self.pads[i]
            - self.pads[i + 2]
            for i in range(2)
        )

    def __call__(self, graph: OnnxGraph, node: Node, ins: list) -> list:
        ins = [self.ort_inputs.get(i, v) for i, v in enumerate(ins)]
        x, w = np.asarray(ins[0], np.float32), np.asarray(ins[1], np.float32)
        bias = None if len(ins) < 3 or ins[2] is None else np.asarray(ins[2], np.float32)
        if self.one_d:
            x, w = x[:, :, None, :], w[:, :, None, :]
        hw = self.out_hw(w.shape[2], w.shape[3])
        y = conv_transpose(x, w, bias, self.strides, self.pads, self.dilations, hw)
        return [y[:, :, 0, :] if self.one_d else y]
