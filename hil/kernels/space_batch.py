"""SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND in numpy, as TFLite Micro's ``space_to_batch_nd.cc``
and ``batch_to_space_nd.cc`` (the pair a converter puts around a dilated convolution whose
batch it does not know). Output batch ``(dy * block_w + dx) * B + b`` holds the positions
``(y * block_h + dy, x * block_w + dx)`` of image ``b``. A SPACE_TO_BATCH_ND that pads is
refused: TFLite Micro's kernel pads with ``params.output_offset``, which it never sets (the
padding holds whatever its arena held)."""

from __future__ import annotations

import numpy as np

from .base import SoftwareOp, Value


class _SpaceBatch(SoftwareOp):
    def __init__(self, op, graph):
        super().__init__(op, graph)
        x, y = self.ins[0], self.outs[0]
        if x is None or len(x.shape) != 4:
            raise self.refuse("implemented for 4-D NHWC input")
        blocks = [self.ins[i] for i in (1, 2)]
        if any(t is None or t.data is None for t in blocks):
            raise self.refuse("block shape and paddings/crops must be constants")
        self.block = [int(b) for b in np.asarray(blocks[0].data).ravel()]
        self.pads = np.asarray(blocks[1].data, dtype=np.int64).reshape(-1, 2)
        if len(self.block) != 2 or self.pads.shape != (2, 2):
            raise self.refuse(f"implemented for 2 spatial dimensions, block {self.block}")
        if (
            x.is_quantized
            and y.is_quantized
            and (
                np.float32(x.scale[0]) != np.float32(y.scale[0])
                or int(x.zero_point[0]) != int(y.zero_point[0])
            )
        ):
            raise self.refuse("input and output quantization differ (TFLite Micro refuses this)")


class SpaceToBatchNd(_SpaceBatch):
    """SPACE_TO_BATCH_ND: pad, then move each block offset into the batch."""

    names = ("SPACE_TO_BATCH_ND",)
    summary = "space to batch (no arithmetic)"

    def __init__(self, op, graph):
        super().__init__(op, graph)
        _, h, w, _ = self.ins[0].shape
        (pt, pb), (pl, pr) = self.pads
        bh, bw = self.block
        batch, declared = self.ins[0].shape[0] * bh * bw, self.outs[0].shape[0]
        if batch != declared:
            raise self.refuse(
                f"makes a batch of {batch} but its output tensor declares {declared}: TFLite "
                f"Micro keeps the declared shapes, so the operators after it (a dilated "
                f"convolution's CONV_2D) would run on the wrong batch; convert with a fixed "
                f"batch (keras.Input(..., batch_size=1)), which gives one dilated CONV_2D"
            )
        if self.pads.any():
            raise self.refuse(
                f"pads {self.pads.tolist()}: TFLite Micro fills padding with a "
                f"value it never sets (its output_offset), so no result is "
                f"defined; only unpadded SPACE_TO_BATCH_ND runs"
            )
        if (h + pt + pb) % bh or (w + pl + pr) % bw:
            raise self.refuse(f"padded size is not a multiple of the block {self.block}")

    def run(self, inputs):
        v = inputs[0]
        a = v.array if v.batched else v.array[None]
        s, b, h, w, c = a.shape
        bh, bw = self.block
        hp, wp = h // bh, w // bw
        a = a.reshape(s, b, hp, bh, wp, bw, c).transpose(0, 3, 5, 1, 2, 4, 6)
        out = a.reshape(s, bh * bw * b, hp, wp, c)
        return [Value(out if v.batched else out[0], v.batched)]


class BatchToSpaceNd(_SpaceBatch):
    """BATCH_TO_SPACE_ND: move the batch's block offsets back into space, then crop."""

    names = ("BATCH_TO_SPACE_ND",)
    summary = "batch to space (no arithmetic)"

    def run(self, inputs):
        v = inputs[0]
        a = v.array if v.batched else v.array[None]
        s, bb, h, w, c = a.shape
        bh, bw = self.block
        b = bb // (bh * bw)
        a = a.reshape(s, bh, bw, b, h, w, c).transpose(0, 3, 4, 1, 5, 2, 6)
        a = a.reshape(s, b, h * bh, w * bw, c)
        (ct, cb), (cl, cr) = self.pads
        out = np.ascontiguousarray(a[:, :, ct : h * bh - cb, cl : w * bw - cr, :])
        return [Value(out if v.batched else out[0], v.batched)]


OPS = (SpaceToBatchNd, BatchToSpaceNd)
"""The kernels of this module."""
