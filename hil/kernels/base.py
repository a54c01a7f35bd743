"""The base of hil's numpy kernels: the value that flows through the graph, the kernel class
with its checks, and the refusal for what no kernel implements."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np

from ..tflite.graph import Graph, OpSpec, TensorSpec, TfliteImportError


class UnsupportedOpError(TfliteImportError):
    """An operator (or a type/option of it) that neither the datapath nor software can run."""


@dataclasses.dataclass
class Value:
    """A tensor's contents during a run; ``batched`` means axis 0 is the sample index."""

    array: np.ndarray
    batched: bool

    def per_sample_shape(self) -> tuple[int, ...]:
        return self.array.shape[1:] if self.batched else self.array.shape


class SoftwareOp:
    """Base of the numpy kernels: holds the op and its tensors, checks types."""

    names: ClassVar[tuple[str, ...]] = ()
    summary: ClassVar[str] = ""

    def __init__(self, op: OpSpec, graph: Graph) -> None:
        self.op = op
        self.graph = graph
        self.ins: list[TensorSpec | None] = [graph.tensor(i) if i >= 0 else None for i in op.inputs]
        self.outs: list[TensorSpec] = [graph.tensor(i) for i in op.outputs]

    def refuse(self, why: str) -> UnsupportedOpError:
        return UnsupportedOpError(f"{self.op.label()}: {why}")

    def need_types(self, which: str, tensor: TensorSpec | None, allowed: tuple[str, ...]) -> None:
        if tensor is None or tensor.type_name not in allowed:
            got = "absent" if tensor is None else tensor.type_name
            raise self.refuse(f"{which} tensor is {got}; implemented for {', '.join(allowed)}")

    def need_per_tensor(self, which: str, tensor: TensorSpec) -> tuple[float, int]:
        if tensor.scale.size != 1:
            raise self.refuse(
                f"{which} tensor {tensor.name!r} needs one (per-tensor) scale, "
                f"has {tensor.scale.size}"
            )
        return float(tensor.scale[0]), int(tensor.zero_point[0])

    def run(self, inputs: list[Value | None]) -> list[Value]:
        raise NotImplementedError


def clip_to(a: np.ndarray, dtype) -> np.ndarray:
    """Saturate ``a`` to the range of the integer ``dtype`` and cast."""
    info = np.iinfo(dtype)
    return np.clip(a, info.min, info.max).astype(dtype)


def _int8(a: np.ndarray) -> np.ndarray:
    return clip_to(a, np.int8)


def as_nhwc(v: Value) -> tuple[np.ndarray, tuple[int, ...]]:
    """Fold the sample axis into TFLite's batch axis: (S, B, H, W, C) -> (S*B, H, W, C)."""
    a = v.array
    if v.batched:
        return a.reshape((-1,) + a.shape[2:]), a.shape[:2]
    return a, a.shape[:1]


def broadcast_pair(va: Value, vb: Value) -> tuple[np.ndarray, np.ndarray, bool]:
    """Both values as int64 arrays that broadcast as TFLite broadcasts one sample's tensors
    (shapes aligned at the right, each after the sample axis); a constant gets a sample axis
    of 1."""
    rank = max(len(va.per_sample_shape()), len(vb.per_sample_shape()))
    batched = va.batched or vb.batched

    def lift(v: Value) -> np.ndarray:
        shape = v.per_sample_shape()
        lead = v.array.shape[:1] if v.batched else (1,) if batched else ()
        return v.array.astype(np.int64).reshape(lead + (1,) * (rank - len(shape)) + shape)

    return lift(va), lift(vb), batched
