"""LiteRT as a second oracle for .tflite models (``--oracle litert``, ``make hil ORACLE=litert``).

LiteRT's default interpreter (the ``ai-edge-litert`` wheel) hands FULLY_CONNECTED and CONV_2D
to its XNNPACK delegate, which requantizes in binary32: ``r = rhe(fl32(fl32(acc) * scale[c]))``,
then ``clamp(r + out_zp, act_min, act_max)``, where the scale is formed in binary32 as XNNPACK's
operator creation does, ``scale[c] = fl32(fl32(in_scale * w_scale[c]) / out_scale)`` (one
``w_scale`` for a per-tensor layer). That is the datapath's ``fp32`` mode; :func:`to_xnnpack`
re-targets an imported model's layers to it. The accumulator, the folded bias, the zero points
and the activation clamp are the same integers as for TFLite Micro.

The check: the whole model on the default interpreter (the outputs), and each datapath layer as
a one-operator model cut out of the same .tflite, fed the input the network run gave that
layer (XNNPACK keeps no intermediate tensors of the operators it runs).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Sequence

import numpy as np
from tqdm import tqdm

from pyref.config import named_config
from pyref.fp32_math import scale_to_mult

from ..tflite.dilated import as_dilated_model, find_dilated
from ..tflite.graph import Graph, TfliteImportError
from ..tflite.importer import DenseLayerSpec, ImportedModel
from ..tflite.operands import TFLITE_CONFIG
from .api import LITERT, OracleResult

LITERT_OPS = ("FULLY_CONNECTED", "CONV_2D")
"""The operators this oracle runs on the datapath in ``fp32`` mode."""

FP32_CONFIG = named_config("fp32")


def xnnpack_scales(graph: Graph, spec: DenseLayerSpec) -> np.ndarray:
    """XNNPACK's binary32 requantization scale of each output channel, ``(C,)`` float32."""
    op = spec.op
    x = graph.tensor(op.inputs[0])
    w = graph.tensor(op.inputs[1])
    y = graph.tensor(op.outputs[0])
    xs, ys = np.float32(x.scale[0]), np.float32(y.scale[0])
    ws = np.asarray(w.scale, dtype=np.float32)
    return np.broadcast_to((xs * ws) / ys, (spec.c,)).astype(np.float32)


def to_xnnpack(model: ImportedModel) -> ImportedModel:
    """The same model with every FULLY_CONNECTED and CONV_2D in the ``fp32`` mode at XNNPACK's
    scales. Refuses (naming the operators) a model with other datapath operators or 16x8
    layers, which this oracle does not cover."""
    steps = []
    refused: dict[str, list[int]] = {}
    for step in model.steps:
        spec = step.dense
        if spec is None:
            steps.append(step)
            continue
        if (
            not isinstance(spec, DenseLayerSpec)
            or step.op.name not in LITERT_OPS
            or spec.config != TFLITE_CONFIG
        ):
            kind = "16x8 " if getattr(spec, "config", None) not in (None, TFLITE_CONFIG) else ""
            refused.setdefault(kind + step.op.name, []).append(step.op.index)
            continue
        try:
            mult = scale_to_mult(xnnpack_scales(model.graph, spec))
        except ValueError as exc:
            raise TfliteImportError(f"{step.op.label()}: XNNPACK's scale: {exc}") from None
        fp32 = dataclasses.replace(
            spec, mult=mult, shift=np.zeros(spec.c, dtype=np.int64), config=FP32_CONFIG
        )
        steps.append(dataclasses.replace(step, dense=fp32))
    if refused:
        raise TfliteImportError(
            f"{model.graph.name}: the LiteRT oracle runs int8 {' and '.join(LITERT_OPS)} on the "
            f"datapath; not: "
            + "; ".join(f"{name} (ops {', '.join(map(str, ops))})" for name, ops in refused.items())
            + " (use the default oracle, TFLite Micro)"
        )
    return dataclasses.replace(model, steps=steps, config=FP32_CONFIG)


def single_op_model(model_bytes: bytes, op_index: int) -> bytes:
    """The .tflite bytes of operator ``op_index`` alone: same tensors and buffers, its first
    non-constant input as the model input and its first output as the model output."""
    import flatbuffers

    from ..tflite.schema import FILE_IDENTIFIER, schema

    m = schema.ModelT.InitFromPackedBuf(model_bytes, 0)
    sub = m.subgraphs[0]
    op = sub.operators[op_index]
    x = int(op.inputs[0])
    sub.operators = [op]
    sub.inputs = np.asarray([x], dtype=np.int32)
    sub.outputs = np.asarray([int(op.outputs[0])], dtype=np.int32)
    m.subgraphs = [sub]
    fb = flatbuffers.Builder(1024)
    fb.Finish(m.Pack(fb), file_identifier=FILE_IDENTIFIER)
    return bytes(fb.Output())


def _invoke_each(
    model_bytes: bytes, inputs: Sequence[np.ndarray], desc: str, progress: bool
) -> list[np.ndarray]:
    """Run LiteRT's default interpreter once per sample; one ``(N, *shape)`` array per output."""
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=model_bytes)
    it.allocate_tensors()
    ins = it.get_input_details()
    outs = it.get_output_details()
    if len(ins) != len(inputs):
        raise ValueError(f"{desc}: the model has {len(ins)} input(s), got {len(inputs)} array(s)")
    n = inputs[0].shape[0]
    got: list[list[np.ndarray]] = [[] for _ in outs]
    for s in tqdm(
        range(n), desc=desc, unit="input", disable=None if progress else True, leave=False
    ):
        for d, x in zip(ins, inputs):
            it.set_tensor(
                d["index"], np.ascontiguousarray(x[s]).reshape(d["shape"]).astype(d["dtype"])
            )
        it.invoke()
        for j, d in enumerate(outs):
            got[j].append(np.array(it.get_tensor(d["index"])))
    return [np.stack(g) for g in got]


def run_litert(
    model: ImportedModel,
    inputs: Sequence[np.ndarray],
    layer_inputs: dict[int, np.ndarray] | None = None,
    progress: bool = False,
) -> OracleResult:
    """LiteRT (default interpreter, XNNPACK) on ``inputs``: the model outputs and, for each
    datapath layer whose input tensor is in ``layer_inputs`` (tensor index -> ``(N, *shape)``,
    e.g. the network run's kept tensors), that layer's output from its one-operator model."""
    graph = model.graph
    t0 = time.perf_counter()
    outputs = _invoke_each(graph.model_bytes, inputs, "LiteRT", progress)
    known = dict(zip(graph.inputs, inputs))
    known.update(layer_inputs or {})
    tensors = {}
    # a SPACE_TO_BATCH_ND -> CONV_2D -> BATCH_TO_SPACE_ND layer: its one dilated CONV_2D
    layer_bytes, index = as_dilated_model(graph, find_dilated(graph))
    for step in model.dense_steps:
        x = known.get(step.dense.input_index)
        if x is None:
            continue
        one = single_op_model(layer_bytes, index[step.op.index])
        tensors[step.dense.output_index] = _invoke_each(
            one, [x], f"LiteRT {step.op.label()}", progress
        )[0]
    return OracleResult(
        outputs=outputs,
        tensors=tensors,
        wall=time.perf_counter() - t0,
        engine=LITERT,
        names=[graph.tensor(i).name for i in graph.outputs],
    )


class LiteRtOracle:
    """LiteRT behind the :class:`~hil.oracles.api.Oracle` interface (on a model from
    :func:`to_xnnpack`): the model outputs, and each datapath layer fed its input from ``run``."""

    name = LITERT

    def run(self, model, inputs, run=None, progress: bool = False) -> OracleResult:
        layer_inputs = {} if run is None else {k: v.array for k, v in run.tensors.items()}
        return run_litert(model, inputs, layer_inputs, progress=progress)
