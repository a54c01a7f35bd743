"""The TFLite flatbuffer schema as shipped by the ``tflite-micro`` wheel, and name tables for it.

The wheel carries the generated Python bindings (``schema_py_generated``, with the object API:
``ModelT``, ``SubGraphT``, ``OperatorT``, ``TensorT``, ``BufferT``, ...) at a path inside its own
package; this module is the one place that knows that path.
"""

from __future__ import annotations

import numpy as np

try:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema
except ImportError as exc:  # pragma: no cover - the dependency is declared in pyproject.toml
    raise ImportError(
        "hil needs the 'tflite-micro' package (it ships the TFLite schema bindings and the "
        "TFLite Micro interpreter): pip install tflite-micro"
    ) from exc

FILE_IDENTIFIER = b"TFL3"
"""The four bytes at offset 4 of every .tflite file."""


def _enum_names(enum_class: type) -> dict[int, str]:
    return {
        v: k for k, v in vars(enum_class).items() if not k.startswith("_") and isinstance(v, int)
    }


OP_NAMES: dict[int, str] = _enum_names(schema.BuiltinOperator)
"""Builtin operator code -> name, e.g. 9 -> 'FULLY_CONNECTED'."""

OP_CODES: dict[str, int] = {name: code for code, name in OP_NAMES.items()}

TYPE_NAMES: dict[int, str] = _enum_names(schema.TensorType)
"""Tensor type code -> name, e.g. 9 -> 'INT8'."""

ACTIVATION_NAMES: dict[int, str] = _enum_names(schema.ActivationFunctionType)
"""Fused activation code -> name, e.g. 1 -> 'RELU'."""

NUMPY_DTYPES: dict[int, np.dtype] = {
    schema.TensorType.FLOAT32: np.dtype(np.float32),
    schema.TensorType.INT32: np.dtype(np.int32),
    schema.TensorType.UINT8: np.dtype(np.uint8),
    schema.TensorType.INT64: np.dtype(np.int64),
    schema.TensorType.BOOL: np.dtype(np.bool_),
    schema.TensorType.INT16: np.dtype(np.int16),
    schema.TensorType.INT8: np.dtype(np.int8),
    schema.TensorType.FLOAT64: np.dtype(np.float64),
    schema.TensorType.UINT32: np.dtype(np.uint32),
    schema.TensorType.UINT16: np.dtype(np.uint16),
}
"""Tensor types that have a numpy equivalent (little-endian in the file)."""

TENSOR_TYPES: dict[np.dtype, int] = {dt: code for code, dt in NUMPY_DTYPES.items()}
