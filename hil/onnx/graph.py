"""Read an ONNX model for the hardware-in-the-loop run: its nodes in order, its constant tensors
(initializers and Constant nodes) as numpy arrays, its inputs and outputs with shapes and
element types. Thin over the ``onnx`` package; every model problem is an
:class:`OnnxImportError` naming the node."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np


class OnnxImportError(ValueError):
    """A model that cannot be read or run."""


@dataclasses.dataclass(frozen=True)
class ValueSpec:
    """A graph input or output: name, numpy dtype and shape (None for a symbolic dimension)."""

    name: str
    dtype: np.dtype
    shape: tuple[int | None, ...]


@dataclasses.dataclass
class Node:
    """One node: its index in the graph, op type, domain, inputs ("" = left out), outputs and
    attributes (as Python values)."""

    index: int
    op_type: str
    domain: str
    name: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any]

    def label(self) -> str:
        return f"node {self.index} ({self.op_type}{' ' + repr(self.name) if self.name else ''})"


@dataclasses.dataclass
class OnnxGraph:
    """A model's main graph."""

    name: str
    nodes: list[Node]
    constants: dict[str, np.ndarray]
    inputs: list[ValueSpec]
    outputs: list[ValueSpec]
    model_bytes: bytes
    values: dict[str, ValueSpec] = dataclasses.field(default_factory=dict)
    """Every tensor ONNX's shape inference could type (inputs, outputs, intermediates)."""

    def shape(self, name: str) -> tuple[int | None, ...] | None:
        v = self.values.get(name)
        return None if v is None else v.shape

    def dtype(self, name: str) -> np.dtype | None:
        if name in self.constants:
            return self.constants[name].dtype
        v = self.values.get(name)
        return None if v is None else v.dtype

    def producer(self, tensor: str) -> Node | None:
        for n in self.nodes:
            if tensor in n.outputs:
                return n
        return None

    def consumers(self, tensor: str) -> list[Node]:
        return [n for n in self.nodes if tensor in n.inputs]

    def constant(self, tensor: str, node: Node, what: str) -> np.ndarray:
        """The value of a constant input of ``node``, or an error saying it must be constant."""
        if tensor not in self.constants:
            raise OnnxImportError(
                f"{node.label()}: {what} {tensor!r} must be a constant (an initializer)"
            )
        return self.constants[tensor]


def _value_spec(vi) -> ValueSpec:
    from onnx import helper

    t = vi.type.tensor_type
    dims = tuple(d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim)
    return ValueSpec(vi.name, np.dtype(helper.tensor_dtype_to_np_dtype(t.elem_type)), dims)


def read_onnx(source: str | os.PathLike | bytes) -> OnnxGraph:
    """Load a model file (or its bytes); the nodes stay in the file's (topological) order."""
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError as exc:
        raise OnnxImportError(
            "ONNX models need the onnx package: pip install -e '.[onnx]'"
        ) from exc
    try:
        model = (
            onnx.load_from_string(source)
            if isinstance(source, bytes)
            else onnx.load(os.fspath(source))
        )
    except Exception as exc:  # onnx raises DecodeError, OSError, ...
        raise OnnxImportError(
            f"{source if not isinstance(source, bytes) else 'model bytes'}: "
            f"not a readable ONNX model ({exc})"
        ) from None
    g = model.graph
    constants = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    nodes = []
    for i, n in enumerate(g.node):
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        if n.op_type == "Constant" and n.domain in ("", "ai.onnx"):
            if "value" not in attrs:
                raise OnnxImportError(f"node {i} (Constant): only the 'value' form is supported")
            constants[n.output[0]] = numpy_helper.to_array(attrs["value"])
            continue
        nodes.append(Node(i, n.op_type, n.domain, n.name, list(n.input), list(n.output), attrs))
    inputs = [_value_spec(v) for v in g.input if v.name not in constants]
    outputs = [_value_spec(v) for v in g.output]
    try:
        inferred = onnx.shape_inference.infer_shapes(model).graph
        typed = [*inferred.input, *inferred.value_info, *inferred.output]
    except Exception:  # a model shape inference cannot handle still runs; shapes come later
        typed = [*g.input, *g.output]
    values = {}
    for vi in typed:
        if vi.type.HasField("tensor_type") and vi.type.tensor_type.elem_type:
            values[vi.name] = _value_spec(vi)
    return OnnxGraph(
        g.name or "model", nodes, constants, inputs, outputs, model.SerializeToString(), values
    )
