"""ONNX Runtime's integer dot products on x86 CPUs without VNNI: an oracle-side emulation.

This is **not** a datapath mode. The hardware (and every qmac config) adds exact products; this
module reproduces what one engine computes instead, so that the ONNX Runtime oracle can tell an
engine artefact from a hardware bug.

On x86 CPUs with AVX2 but neither AVX-VNNI nor AVX512-VNNI, MLAS (ONNX Runtime's kernel library)
multiplies uint8 activations by int8 weights with ``vpmaddubsw``: the products of two neighbouring
positions of the kernel's inner dimension are added in 16 bits **with saturation**, and only then
widened to 32 bits and accumulated. ``255 * 127 + 255 * 127 = 64 770`` becomes ``32 767``.
The zero points are handled afterwards with exact sums, so the clipping acts on the raw codes
the kernel sees (an int8 activation that ONNX Runtime turned into uint8 is ``x + 128``).

The kernel's inner dimension is the weight row in memory order: ``K`` for MatMul / Gemm, and for a
convolution the NHWC patch ``(kh, kw, cin)`` of one group, while qmac's im2col rows are NCHW
``(cin, kh, kw)``; :func:`nhwc_patch_order` gives that permutation. Neighbours ``2j, 2j + 1`` of
that order form a pair; an odd last position is alone. With VNNI (``vpdpbusd``), four products are
added exactly in 32 bits and nothing clips.
"""

from __future__ import annotations

import numpy as np

from .config import QmacConfig
from .fixed_point import saturate
from .layer import Layer
from .model import LayerResult, accumulate, finish_layer


def nhwc_patch_order(cin: int, kh: int, kw: int) -> np.ndarray:
    """Positions of an NCHW patch ``(cin, kh, kw)`` (flattened) in the order of the NHWC patch
    ``(kh, kw, cin)``: ``order[j]`` is the NCHW index of the ``j``-th position MLAS reads."""
    return np.arange(cin * kh * kw).reshape(cin, kh, kw).transpose(1, 2, 0).reshape(-1)


def pair_clip_offset(a: np.ndarray, w: np.ndarray, order: np.ndarray | None = None) -> np.ndarray:
    """``(R, C)``: the kernel's sum minus the exact sum of ``a (R, K) . w (C, K)`` when each pair
    of neighbouring products (in ``order``, default ``0 .. K-1``) is saturated to int16.

    ``a`` are the raw unsigned codes the kernel multiplies (0 .. 255), ``w`` the int8 weights.
    The result is 0 where no pair saturates, negative where a pair exceeded +32 767 and positive
    where one went below -32 768.
    """
    a = np.asarray(a, dtype=np.int64)
    w = np.asarray(w, dtype=np.int64)
    if a.ndim != 2 or w.ndim != 2 or a.shape[1] != w.shape[1]:
        raise ValueError(f"a (R, K) and w (C, K) must share K: got a {a.shape}, w {w.shape}")
    if a.size and (a.min() < 0 or a.max() > 255):
        bad = np.argwhere((a < 0) | (a > 255))[0]
        raise ValueError(
            f"a[{bad[0]}, {bad[1]}] = {a[tuple(bad)]} is out of range: the kernel's "
            "activation codes are 0 .. 255"
        )
    if order is not None:
        a, w = a[:, order], w[:, order]
    k = a.shape[1]
    if k % 2:
        a = np.pad(a, ((0, 0), (0, 1)))
        w = np.pad(w, ((0, 0), (0, 1)))
    offset = np.zeros((a.shape[0], w.shape[0]), dtype=np.int64)
    # One pair position at a time keeps the memory at (R, C), whatever K is.
    for j in range(0, a.shape[1], 2):
        s = np.outer(a[:, j], w[:, j]) + np.outer(a[:, j + 1], w[:, j + 1])
        offset += saturate(s, 16)[0] - s
    return offset


def run_layer_pairs16(
    layer: Layer, config: QmacConfig, a_offset: int = 0, order: np.ndarray | None = None
) -> LayerResult:
    """:func:`pyref.model.run_layer` with the accumulator of the clipping kernel: the exact
    accumulator plus :func:`pair_clip_offset` of the codes ``layer.x + a_offset`` (``a_offset``
    is 128 where the engine turned int8 activations into uint8)."""
    layer.validate(config)
    acc, overflow = accumulate(layer, config)
    acc = acc + pair_clip_offset(layer.x + a_offset, layer.w, order)
    return finish_layer(layer, config, acc, overflow)
