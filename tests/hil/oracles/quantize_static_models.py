"""Float ONNX models (a small CNN and an MLP, as Keras or PyTorch would export them) quantized
by ONNX Runtime's own ``quantize_static``, as a user's converter step makes them."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _float_model(kind: str, rng: np.random.Generator):
    from onnx import TensorProto, helper, numpy_helper

    def c(name, shape, sd):
        return numpy_helper.from_array(rng.normal(0, sd, shape).astype(np.float32), name)

    if kind == "mlp":
        inits = [
            c("w1", (20, 32), 0.3),
            c("b1", 32, 0.1),
            c("w2", (32, 16), 0.2),
            c("b2", 16, 0.1),
            c("w3", (16, 10), 0.3),
            c("b3", 10, 0.1),
        ]
        nodes = [
            helper.make_node("Gemm", ["x", "w1", "b1"], ["g1"]),
            helper.make_node("Relu", ["g1"], ["r1"]),
            helper.make_node("Gemm", ["r1", "w2", "b2"], ["g2"]),
            helper.make_node("Relu", ["g2"], ["r2"]),
            helper.make_node("Gemm", ["r2", "w3", "b3"], ["y"]),
        ]
        shape = ["N", 20]
    else:
        inits = [
            c("w1", (8, 3, 3, 3), 0.3),
            c("b1", 8, 0.1),
            c("w2", (8, 8, 3, 3), 0.2),
            c("b2", 8, 0.1),
            c("w3", (8 * 4 * 4, 10), 0.2),
            c("b3", 10, 0.1),
        ]
        nodes = [
            helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["c1"], ["r1"]),
            helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], strides=[2, 2]),
            helper.make_node("Relu", ["c2"], ["r2"]),
            helper.make_node("Flatten", ["r2"], ["f"]),
            helper.make_node("Gemm", ["f", "w3", "b3"], ["y"]),
        ]
        shape = ["N", 3, 8, 8]
    graph = helper.make_graph(
        nodes,
        kind,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model, shape


def quantize_static_model(
    folder: Path,
    kind: str = "cnn",
    fmt: str = "QDQ",
    activation: str = "QInt8",
    per_channel: bool = True,
) -> Path:
    """``kind`` ("cnn" or "mlp") quantized by ``onnxruntime.quantization.quantize_static``
    (format QDQ or QOperator, activations QInt8 or QUInt8, int8 weights) on 16 random
    calibration inputs; the file's path."""
    import logging

    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    rng = np.random.default_rng(2026)
    model, shape = _float_model(kind, rng)
    folder = Path(folder)
    src = folder / f"{kind}_float.onnx"
    onnx.save(model, src)
    samples = [{"x": rng.normal(0, 1, [1] + shape[1:]).astype(np.float32)} for _ in range(16)]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(samples)

        def get_next(self):
            return next(self.it, None)

    out = folder / f"{kind}_{fmt}_{activation}_{'pc' if per_channel else 'pt'}.onnx"
    logging.getLogger().setLevel(logging.ERROR)  # its "consider pre-processing" advice
    quantize_static(
        str(src),
        str(out),
        Reader(),
        quant_format=getattr(QuantFormat, fmt),
        activation_type=getattr(QuantType, activation),
        weight_type=QuantType.QInt8,
        per_channel=per_channel,
    )
    return out
