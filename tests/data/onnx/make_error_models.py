"""Writes the small ONNX files of docs/errors.md's hil rows:
``python tests/data/onnx/make_error_models.py``.

- ``not_a_model.onnx``: text, not a protobuf;
- ``float_only.onnx``: a float Gemm, never quantized;
- ``unsupported_op.onnx``: an int8 QLinearMatMul followed by a Sigmoid nothing here runs.
"""

from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

HERE = Path(__file__).resolve().parent


def _save(nodes, inits, x_type, name):
    graph = helper.make_graph(
        nodes,
        name.split(".")[0],
        [helper.make_tensor_value_info("x", x_type, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    save(model, HERE / name)


def main() -> None:
    (HERE / "not_a_model.onnx").write_text("this is not an ONNX model\n")
    _save(
        [helper.make_node("Gemm", ["x", "w"], ["y"])],
        {"w": np.ones((4, 3), np.float32)},
        TensorProto.FLOAT,
        "float_only.onnx",
    )
    one, zero = np.float32(1), np.int8(0)
    _save(
        [
            helper.make_node("QLinearMatMul", ["x", "s", "z", "w", "s", "z", "s", "z"], ["m"]),
            helper.make_node("DequantizeLinear", ["m", "s", "z"], ["f"]),
            helper.make_node("Sigmoid", ["f"], ["y"]),
        ],
        {"s": one, "z": zero, "w": np.ones((4, 3), np.int8)},
        TensorProto.INT8,
        "unsupported_op.onnx",
    )


if __name__ == "__main__":
    main()
