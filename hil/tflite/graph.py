"""Read a .tflite file into plain Python objects: tensors (type, shape, quantization, constant
data) and operators (name, inputs, outputs, options), in execution order.

Only the first subgraph is read (TFLite Micro runs that one; control-flow subgraphs are refused
where an operator needs them).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np

from .schema import FILE_IDENTIFIER, NUMPY_DTYPES, OP_NAMES, TYPE_NAMES, schema


class TfliteImportError(ValueError):
    """A model that cannot be imported."""


class TfliteFormatError(TfliteImportError):
    """The bytes are not a readable TFLite flatbuffer."""


@dataclasses.dataclass(frozen=True)
class TensorSpec:
    """One tensor of the graph. ``data`` holds the contents of a constant tensor, else None."""

    index: int
    name: str
    type_name: str
    dtype: np.dtype | None
    shape: tuple[int, ...]
    scale: np.ndarray  # float32, empty when not quantized
    zero_point: np.ndarray  # int64, empty when not quantized
    quantized_dimension: int
    data: np.ndarray | None

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def is_quantized(self) -> bool:
        return self.scale.size > 0

    @property
    def per_channel(self) -> bool:
        return self.scale.size > 1

    def describe(self) -> str:
        q = ""
        if self.is_quantized:
            q = (
                f" scale={float(self.scale[0]):.6g} zp={int(self.zero_point[0])}"
                if self.scale.size == 1
                else f" per-axis({self.quantized_dimension}) x{self.scale.size}"
            )
        return f"{self.type_name}{list(self.shape)}{q}"


@dataclasses.dataclass(frozen=True)
class OpSpec:
    """One operator: ``inputs``/``outputs`` are tensor indices, -1 for an absent optional input."""

    index: int
    name: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: Any

    def label(self) -> str:
        return f"op {self.index} ({self.name})"


@dataclasses.dataclass
class Graph:
    """The first subgraph of a TFLite model."""

    tensors: list[TensorSpec]
    ops: list[OpSpec]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    description: str
    model_bytes: bytes
    name: str = "model"

    def tensor(self, index: int) -> TensorSpec:
        return self.tensors[index]

    def per_sample(self) -> set[int]:
        """The tensors whose values differ per sample: the model inputs and everything computed
        from them, except a SHAPE's output (the shape is the same for every sample)."""
        found = set(self.inputs)
        for op in self.ops:
            if op.name != "SHAPE" and any(i in found for i in op.inputs if i >= 0):
                found.update(op.outputs)
        return found

    def op_counts(self) -> dict[str, int]:
        """How many times each operator occurs, in order of first use."""
        counts: dict[str, int] = {}
        for op in self.ops:
            counts[op.name] = counts.get(op.name, 0) + 1
        return counts


def read_tflite(source: str | os.PathLike | bytes | bytearray, name: str | None = None) -> Graph:
    """Parse a .tflite file (a path or the bytes) into a :class:`Graph`.

    Raises :class:`TfliteFormatError` for anything that is not a well-formed TFLite flatbuffer.
    """
    if isinstance(source, (bytes, bytearray)):
        buf = bytes(source)
        name = name or "model"
    else:
        path = Path(source)
        if not path.is_file():
            raise TfliteFormatError(f"model file {str(path)!r} does not exist")
        buf = path.read_bytes()
        name = name or path.name
    if len(buf) < 8 or buf[4:8] != FILE_IDENTIFIER:
        found = buf[4:8] if len(buf) >= 8 else b""
        raise TfliteFormatError(
            f"{name}: not a TFLite flatbuffer (expected file identifier {FILE_IDENTIFIER!r} at "
            f"bytes 4..8, found {found!r}; file is {len(buf)} bytes)"
        )
    try:
        model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(buf, 0))
    except Exception as exc:  # the generated reader raises whatever a bad offset causes
        raise TfliteFormatError(
            f"{name}: corrupt TFLite flatbuffer ({type(exc).__name__}: {exc})"
        ) from exc
    try:
        return _graph_from_model(model, buf, name)
    except TfliteImportError:
        raise
    except (IndexError, TypeError, ValueError, AttributeError) as exc:
        raise TfliteFormatError(
            f"{name}: inconsistent TFLite model ({type(exc).__name__}: {exc})"
        ) from exc


def _graph_from_model(model: Any, buf: bytes, name: str) -> Graph:
    if not model.subgraphs:
        raise TfliteFormatError(f"{name}: the model has no subgraph")
    sub = model.subgraphs[0]
    buffers = model.buffers or []
    tensors = [_tensor_spec(i, t, buffers, buf, name) for i, t in enumerate(sub.tensors or [])]
    ops = []
    codes = model.operatorCodes or []
    for i, op in enumerate(sub.operators or []):
        if not 0 <= op.opcodeIndex < len(codes):
            raise TfliteFormatError(
                f"{name}: op {i} has opcode index {op.opcodeIndex}, "
                f"but the model has {len(codes)} operator codes"
            )
        oc = codes[op.opcodeIndex]
        code = max(oc.builtinCode, oc.deprecatedBuiltinCode)
        op_name = OP_NAMES.get(code, f"BUILTIN_{code}")
        if op_name == "CUSTOM":
            custom = oc.customCode.decode() if isinstance(oc.customCode, bytes) else oc.customCode
            op_name = f"CUSTOM:{custom}"
        ins = tuple(int(t) for t in (op.inputs if op.inputs is not None else []))
        outs = tuple(int(t) for t in (op.outputs if op.outputs is not None else []))
        for t in ins + outs:
            if t >= len(tensors) or t < -1:
                raise TfliteFormatError(
                    f"{name}: op {i} ({op_name}) refers to tensor {t}, "
                    f"but the subgraph has {len(tensors)} tensors"
                )
        ops.append(OpSpec(i, op_name, ins, outs, op.builtinOptions))
    desc = (
        model.description.decode()
        if isinstance(model.description, bytes)
        else (model.description or "")
    )
    return Graph(
        tensors=tensors,
        ops=ops,
        inputs=tuple(int(t) for t in (sub.inputs if sub.inputs is not None else [])),
        outputs=tuple(int(t) for t in (sub.outputs if sub.outputs is not None else [])),
        description=desc,
        model_bytes=buf,
        name=name,
    )


def _tensor_spec(index: int, t: Any, buffers: list, buf: bytes, model_name: str) -> TensorSpec:
    tname = t.name.decode() if isinstance(t.name, bytes) else (t.name or f"tensor{index}")
    type_name = TYPE_NAMES.get(t.type, f"TYPE_{t.type}")
    dtype = NUMPY_DTYPES.get(t.type)
    shape = tuple(int(d) for d in (t.shape if t.shape is not None else []))
    q = t.quantization
    scale = np.asarray(q.scale if q is not None and q.scale is not None else [], dtype=np.float32)
    zp = np.asarray(
        q.zeroPoint if q is not None and q.zeroPoint is not None else [], dtype=np.int64
    )
    if zp.size == 0 and scale.size:
        zp = np.zeros(scale.size, dtype=np.int64)
    qdim = int(q.quantizedDimension) if q is not None else 0
    data = None
    if 0 < t.buffer < len(buffers):
        b = buffers[t.buffer]
        raw = None
        if b.data is not None and len(b.data):
            raw = np.asarray(b.data, dtype=np.uint8).tobytes()
        elif b.offset > 1 and b.size:
            raw = buf[b.offset : b.offset + b.size]
        if raw is not None:
            if dtype is None:
                raise TfliteImportError(
                    f"{model_name}: constant tensor {index} ({tname!r}) has type {type_name}, "
                    f"which hil cannot read"
                )
            count = int(np.prod(shape)) if shape else 1
            if len(raw) != count * dtype.itemsize:
                raise TfliteFormatError(
                    f"{model_name}: tensor {index} ({tname!r}) of shape {list(shape)} and type "
                    f"{type_name} needs {count * dtype.itemsize} bytes, its buffer has {len(raw)}"
                )
            data = np.frombuffer(raw, dtype=dtype.newbyteorder("<")).astype(dtype).reshape(shape)
    return TensorSpec(index, tname, type_name, dtype, shape, scale, zp, qdim, data)
