"""A dilated convolution written as SPACE_TO_BATCH_ND -> CONV_2D (or DEPTHWISE_CONV_2D) ->
BATCH_TO_SPACE_ND, as TFLiteConverter writes it when the batch size is left open, rewritten at
import into one dilated convolution on the datapath.

With block ``(bh, bw)``, paddings ``((pt, pb), (pl, pr))`` and crops ``((ct, cb), (cl, cr))``,
output row ``y`` (after the crop) is full row ``Y = y + ct = oy * bh + dy``: batch ``dy``'s row
``oy``, whose VALID window reads that batch's rows ``oy + i``, i.e. padded rows
``Y + i * bh``, i.e. input rows ``y + (ct - pt) + i * bh``. So the pattern is one convolution
with dilation ``bh`` and top padding ``pt - ct`` (columns alike), padded with the input zero
point as LiteRT's SPACE_TO_BATCH_ND pads (a quantized padded position adds nothing).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..kernels.base import UnsupportedOpError
from .graph import Graph, OpSpec
from .params import Padding2D, window_padding
from .windows import ConvGeometry

CONV_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D")


@dataclasses.dataclass(frozen=True)
class DilatedPattern:
    """The three operators of one dilated convolution and its geometry in the input's terms."""

    space_to_batch: OpSpec
    conv: OpSpec
    batch_to_space: OpSpec
    block: tuple[int, int]
    pad_top: int
    pad_left: int


def _constant(graph: Graph, index: int) -> np.ndarray | None:
    if index < 0:
        return None
    t = graph.tensor(index)
    return None if t.data is None else np.asarray(t.data, dtype=np.int64)


def _only_reader(graph: Graph, tensor: int) -> OpSpec | None:
    readers = [op for op in graph.ops if tensor in op.inputs]
    if len(readers) != 1 or tensor in graph.outputs:
        return None
    return readers[0]


def find_dilated(graph: Graph) -> dict[int, DilatedPattern]:
    """Every SPACE_TO_BATCH_ND -> CONV_2D / DEPTHWISE_CONV_2D -> BATCH_TO_SPACE_ND chain with
    constant block shape, paddings and crops, keyed by each of its three op indices. Raise
    :class:`UnsupportedOpError` for a chain that cannot be one dilated convolution."""
    found: dict[int, DilatedPattern] = {}
    for s in graph.ops:
        if s.name != "SPACE_TO_BATCH_ND" or len(s.inputs) < 3:
            continue
        conv = _only_reader(graph, s.outputs[0])
        if conv is None or conv.name not in CONV_OPS or conv.inputs[0] != s.outputs[0]:
            continue
        b = _only_reader(graph, conv.outputs[0])
        if b is None or b.name != "BATCH_TO_SPACE_ND" or b.inputs[0] != conv.outputs[0]:
            continue
        block, pads = _constant(graph, s.inputs[1]), _constant(graph, s.inputs[2])
        block2, crops = _constant(graph, b.inputs[1]), _constant(graph, b.inputs[2])
        if block is None or pads is None or block2 is None or crops is None:
            continue  # the numpy kernels refuse non-constant block shapes, with the reason
        p = _pattern(graph, s, conv, b, block.ravel(), pads, block2.ravel(), crops)
        for op in (s, conv, b):
            found[op.index] = p
    return found


def _pattern(graph, s, conv, b, block, pads, block2, crops) -> DilatedPattern:
    where = f"{s.label()} -> {conv.label()} -> {b.label()} (a dilated convolution)"

    def refuse(why: str) -> UnsupportedOpError:
        return UnsupportedOpError(f"{where}: {why}")

    if block.size != 2 or pads.size != 4 or crops.size != 4:
        raise refuse(f"implemented for 2 spatial dimensions, block {block.tolist()}")
    if block.tolist() != block2.tolist():
        raise refuse(f"block shapes differ: {block.tolist()} and {block2.tolist()}")
    bh, bw = int(block[0]), int(block[1])
    if bh < 1 or bw < 1:
        raise refuse(f"block shape {[bh, bw]} must be positive")
    pads, crops = pads.reshape(2, 2), crops.reshape(2, 2)
    if (pads < 0).any() or (crops < 0).any():
        raise refuse(f"negative paddings {pads.tolist()} or crops {crops.tolist()}")
    opts = conv.options
    if (
        int(opts.padding) != 1
        or (int(opts.strideH), int(opts.strideW)) != (1, 1)
        or ((int(opts.dilationHFactor) or 1), (int(opts.dilationWFactor) or 1)) != (1, 1)
    ):
        raise refuse(
            "the convolution between them must be VALID, stride 1, dilation 1 (as converters "
            "write it); it is not"
        )
    x, y = graph.tensor(s.inputs[0]), graph.tensor(b.outputs[0])
    if len(x.shape) != 4 or len(y.shape) != 4:
        raise refuse(f"needs 4-D input and output, got {list(x.shape)} and {list(y.shape)}")
    for t_in, t_out in ((x, graph.tensor(s.outputs[0])), (graph.tensor(conv.outputs[0]), y)):
        if (
            t_in.is_quantized
            and t_out.is_quantized
            and (
                np.float32(t_in.scale[0]) != np.float32(t_out.scale[0])
                or int(t_in.zero_point[0]) != int(t_out.zero_point[0])
            )
        ):
            raise refuse("input and output quantization of a layout operator differ")
    filt = graph.tensor(conv.inputs[1]).shape
    kh, kw = int(filt[1]), int(filt[2])
    (pt, pb), (pl, pr) = pads.tolist()
    (ct, cb), (cl, cr) = crops.tolist()
    h, w = x.shape[1] + pt + pb, x.shape[2] + pl + pr
    if h % bh or w % bw:
        raise refuse(f"padded size {h}x{w} is not a multiple of the block {[bh, bw]}")
    full_h, full_w = (h // bh - kh + 1) * bh, (w // bw - kw + 1) * bw
    if (full_h - ct - cb, full_w - cl - cr) != (y.shape[1], y.shape[2]):
        raise refuse(
            f"output tensor is {list(y.shape)} but block, paddings and crops give "
            f"{full_h - ct - cb}x{full_w - cl - cr}"
        )
    if ct > pt or cl > pl:
        raise refuse(f"crops {crops.tolist()} exceed the paddings {pads.tolist()}")
    p = DilatedPattern(s, conv, b, (bh, bw), pt - ct, pl - cl)
    if tflite_padding(p, graph) is None:
        raise refuse(
            f"its window (padding {p.pad_top} top, {p.pad_left} left) is neither SAME nor "
            f"VALID, so no oracle can run it as one dilated convolution"
        )
    return p


def as_dilated(spec, pattern: DilatedPattern, graph: Graph):
    """The lowered CONV_2D / DEPTHWISE_CONV_2D ``spec`` of the batch-domain convolution, made
    the dilated convolution of the pattern's input."""
    x = graph.tensor(pattern.space_to_batch.inputs[0])
    y = graph.tensor(pattern.batch_to_space.outputs[0])
    g = spec.conv
    geom = ConvGeometry(
        g.kh,
        g.kw,
        g.cin,
        1,
        1,
        pattern.block[0],
        pattern.block[1],
        x.shape[1],
        x.shape[2],
        Padding2D(y.shape[1], y.shape[2], pattern.pad_top, pattern.pad_left),
        "EXPLICIT",
    )
    return dataclasses.replace(
        spec, input_index=x.index, output_index=y.index, out_shape=tuple(y.shape), conv=geom
    )


def tflite_padding(pattern: DilatedPattern, graph: Graph) -> int | None:
    """The TFLite padding code (SAME 0, VALID 1) whose window equals the pattern's, or None."""
    x = graph.tensor(pattern.space_to_batch.inputs[0])
    y = graph.tensor(pattern.batch_to_space.outputs[0])
    filt = graph.tensor(pattern.conv.inputs[1]).shape
    want = Padding2D(y.shape[1], y.shape[2], pattern.pad_top, pattern.pad_left)
    for code in (0, 1):
        got = window_padding(code, x.shape[1], x.shape[2], filt[1], filt[2], 1, 1, *pattern.block)
        if got == want:
            return code
    return None


def as_dilated_model(graph: Graph, patterns: dict[int, DilatedPattern]) -> tuple[bytes, dict]:
    """The model's .tflite bytes with each pattern written as the one dilated CONV_2D /
    DEPTHWISE_CONV_2D it stands for (what the converter writes for a fixed batch), tensors
    unchanged; and the new index of each kept operator."""
    import flatbuffers

    from .schema import FILE_IDENTIFIER, schema

    m = schema.ModelT.InitFromPackedBuf(graph.model_bytes, 0)
    sub = m.subgraphs[0]
    kept, index = [], {}
    for i, op in enumerate(sub.operators):
        p = patterns.get(i)
        if p is not None and i != p.conv.index:
            continue
        if p is not None:
            code = tflite_padding(p, graph)  # SAME or VALID: find_dilated checked
            op.inputs = np.asarray(op.inputs, dtype=np.int32).copy()
            op.inputs[0] = p.space_to_batch.inputs[0]
            op.outputs = np.asarray([p.batch_to_space.outputs[0]], dtype=np.int32)
            op.builtinOptions.padding = code
            op.builtinOptions.dilationHFactor, op.builtinOptions.dilationWFactor = p.block
        index[i] = len(kept)
        kept.append(op)
    sub.operators = kept
    fb = flatbuffers.Builder(1024)
    fb.Finish(m.Pack(fb), file_identifier=FILE_IDENTIFIER)
    return bytes(fb.Output()), index
