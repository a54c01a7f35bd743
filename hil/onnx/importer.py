"""Plan an ONNX model: every node becomes a step of a :class:`~hil.plan.Plan` (``make hil
MODEL=x.onnx``): QLinearConv / QLinearMatMul / QGemm and the QDQ patterns around Conv / MatMul /
Gemm run on the datapath (:mod:`hil.onnx.dense`, config ``fp32``), the other nodes in numpy
(:mod:`hil.onnx.ops`), the QDQ nodes a layer stands for are absorbed.
"""

from __future__ import annotations

import numpy as np

from ..kernels.base import Value
from ..plan import Plan, PlanInput, PlanOutput, Step
from .binary import QdqBinary, QLinearMul, qdq_binary, read_fusion
from .conv_transpose import ConvTransposeFloat
from .dense import OnnxDense, lower_qdq, lower_qlinear, to_shift_only
from .graph import Node, OnnxGraph, OnnxImportError, read_onnx
from .ops import NODE_KERNELS, NodeKernel
from .pool import (
    AveragePool,
    GlobalAveragePool,
    QLinearAdd,
    add,
    check_float_add,
    mul,
    qdq_average_pool,
    qdq_global_average,
)
from .reduce_mean import FloatReduceMean
from .shape_ops import INDEX_OPS

QLINEAR_OPS = ("QLinearConv", "QLinearMatMul", "QGemm")
QDQ_OPS = ("Conv", "MatMul", "Gemm")


def ort_fusion(graph: OnnxGraph, session_config: dict[str, str] | None = None) -> dict:
    """``{weight name: OrtKernel}``: the integer nodes of the graph ONNX Runtime runs (CPU
    provider, default optimizations, ``session_config`` entries); a QDQ layer whose weight no
    integer node reads is computed in float there."""
    from ..oracles.ort import integer_kernels, optimized_model

    return integer_kernels(optimized_model(graph.model_bytes, session_config))


def import_onnx(
    source,
    *,
    check_fusion: bool = True,
    session_config: dict[str, str] | None = None,
    shift_only: bool = False,
) -> Plan:
    """Read a model and plan every node; refuse a model with a node nothing can run, naming
    each such node. With ``check_fusion`` (needs onnxruntime), the plan follows ONNX Runtime's
    optimized graph (with ``session_config`` entries, e.g. ``{"session.qdqisint8allowed":
    "1"}``): QDQ dense patterns it leaves in float are marked (``OnnxDense.fused_by_ort``), a
    QDQ Add / Mul / AveragePool runs as it fuses it (or in float), a float ConvTranspose takes
    its weights; without it, a QDQ Add / Mul runs in float and an AveragePool on its own codes.
    With ``shift_only``, a model whose scales
    are all powers of two runs on the shift-only config (:func:`~hil.onnx.dense.to_shift_only`).
    Returns the :class:`~hil.plan.Plan`."""
    graph = source if isinstance(source, OnnxGraph) else read_onnx(source)
    steps: list[Step] = []
    absorbed: set[int] = set()
    problems: list[str] = []
    binaries: list[QdqBinary] = []
    for node in graph.nodes:
        if node.index in absorbed:
            steps.append(_step(node, how="absorbed into a QDQ layer"))
            continue
        try:
            if node.op_type in QLINEAR_OPS and node.domain in ("", "ai.onnx", "com.microsoft"):
                steps.append(_step(node, dense=lower_qlinear(graph, node)))
            elif node.op_type in QDQ_OPS:
                dense = lower_qdq(graph, node)
                if dense is None:
                    raise OnnxImportError(
                        f"{node.label()}: a float {node.op_type}; only the "
                        "QDQ form (int8 DequantizeLinear inputs, one int8 "
                        "QuantizeLinear output) runs on the datapath"
                    )
                absorbed.update(dense.absorbed)
                steps.append(_step(node, dense=dense))
            elif node.op_type == "QLinearGlobalAveragePool":
                steps.append(
                    _step(
                        node,
                        kernel=GlobalAveragePool(graph, node),
                        how="software (numpy: MLAS's integer sum, binary32 scale)",
                    )
                )
            elif node.op_type in INDEX_OPS and node.domain in ("", "ai.onnx"):
                steps.append(
                    _step(
                        node,
                        kernel=INDEX_OPS[node.op_type](graph, node),
                        how="software (numpy: index arithmetic)",
                    )
                )
            elif node.op_type == "ReduceMean" and node.domain in ("", "ai.onnx"):
                steps.append(
                    _step(
                        node,
                        kernel=FloatReduceMean(graph, node),
                        how="software (numpy: binary32, as ONNX Runtime's Eigen sum)",
                    )
                )
            elif node.op_type == "ConvTranspose":
                steps.append(
                    _step(
                        node,
                        kernel=NodeKernel(ConvTransposeFloat(graph, node), graph, node),
                        how="software (numpy: binary32, as ONNX Runtime's float kernel)",
                    )
                )
            elif node.op_type == "QLinearAveragePool":
                steps.append(
                    _step(
                        node,
                        kernel=AveragePool(graph, node),
                        how="software (numpy: binary32, as ONNX Runtime's kernel)",
                    )
                )
            elif node.op_type == "AveragePool":
                pool, dq, q = qdq_average_pool(graph, node)
                absorbed.add(q.index)
                binaries.append(pool)
                steps.append(
                    Step(
                        node,
                        node.index,
                        "QDQ AveragePool",
                        (dq.inputs[0],),
                        (q.outputs[0],),
                        kernel=pool,
                        how="software (numpy: as ONNX Runtime's fused QLinearAveragePool)",
                    )
                )
            elif node.op_type == "QLinearAdd":
                steps.append(
                    _step(
                        node,
                        kernel=QLinearAdd(graph, node),
                        how="software (numpy: MLAS's binary32 QLinearAdd)",
                    )
                )
            elif node.op_type == "GlobalAveragePool":
                pool, dq, q = qdq_global_average(graph, node)
                absorbed.add(q.index)
                steps.append(
                    Step(
                        node,
                        node.index,
                        "QDQ GlobalAveragePool",
                        (dq.inputs[0],),
                        (q.outputs[0],),
                        kernel=pool,
                        how="software (numpy: as ONNX Runtime's fused QLinearGlobalAveragePool)",
                    )
                )
            elif node.op_type == "QLinearMul":
                steps.append(
                    _step(
                        node,
                        kernel=QLinearMul(graph, node),
                        how="software (numpy: MLAS's QLinearMul, binary32 scale)",
                    )
                )
            elif node.op_type in ("Add", "Mul") and qdq_binary(graph, node) is not None:
                binary, q = qdq_binary(graph, node)
                absorbed.add(q.index)
                binaries.append(binary)
                steps.append(
                    Step(
                        node,
                        node.index,
                        f"QDQ {node.op_type}",
                        binary.inputs,
                        (q.outputs[0],),
                        kernel=binary,
                        how="software (numpy)",
                    )
                )
            elif node.op_type in ("Add", "Mul") and node.domain in ("", "ai.onnx"):
                check_float_add(graph, node)
                steps.append(
                    _step(
                        node,
                        kernel=NodeKernel(add if node.op_type == "Add" else mul, graph, node),
                        how=f"software (numpy: binary32 {node.op_type} of dequantized values)",
                    )
                )
            elif node.op_type in NODE_KERNELS:
                steps.append(
                    _step(node, kernel=NodeKernel(NODE_KERNELS[node.op_type], graph, node))
                )
            else:
                raise OnnxImportError(
                    f"{node.label()}: operator {node.op_type} is not "
                    "supported (datapath: "
                    + ", ".join(QLINEAR_OPS + QDQ_OPS)
                    + "; software: "
                    + ", ".join(NODE_KERNELS)
                    + ")"
                )
        except OnnxImportError as exc:
            problems.append(str(exc))
    if (
        problems
        and not any(s.dense for s in steps)
        and any(n.op_type in QDQ_OPS for n in graph.nodes)
        and not any(
            n.op_type in QLINEAR_OPS or n.op_type == "DequantizeLinear" for n in graph.nodes
        )
    ):
        raise OnnxImportError(
            f"{graph.name}: a float model (no quantized node; {len(problems)} node(s) cannot "
            "run): quantize it first, e.g. with onnxruntime.quantization.quantize_static"
        )
    if len(problems) == 1:
        raise OnnxImportError(f"{graph.name}: cannot run this model: {problems[0]}")
    if problems:
        raise OnnxImportError(
            f"{graph.name}: cannot run this model: {len(problems)} nodes "
            "nothing here runs\n  " + "\n  ".join(problems)
        )
    dense = [s.dense for s in steps if s.dense is not None]
    if not dense:
        raise OnnxImportError(f"{graph.name}: no node runs on the datapath")
    configs = {d.config for d in dense}
    if len(configs) > 1:
        raise OnnxImportError(
            f"{graph.name}: mixes int8 and uint8 activations; the datapath "
            "runs one config per model"
        )
    if shift_only:
        configs = {to_shift_only(dense)}
    if check_fusion and any(d.float_output for d in dense):
        kernels = ort_fusion(graph, session_config)
        for d in dense:
            d.fused_by_ort = not d.float_output or d.weight in kernels
    transposed = [
        s.kernel.fn for s in steps if isinstance(getattr(s.kernel, "fn", None), ConvTransposeFloat)
    ]
    if check_fusion and (binaries or transposed):
        from ..oracles.ort import optimized_model

        optimized = optimized_model(graph.model_bytes, session_config)
        for t in transposed:
            t.read_optimized(optimized)
        try:
            read_fusion(binaries, optimized)
        except OnnxImportError as exc:
            raise OnnxImportError(f"{graph.name}: cannot run this model: {exc}") from None
    for s in steps:
        if isinstance(s.kernel, QdqBinary):
            s.how = s.kernel.describe()
    config = configs.pop()
    for s in steps:
        if s.dense is not None:
            s.how = "datapath (dense backend)"
            if s.dense.float_output:
                s.how += (
                    "; ONNX Runtime fuses it"
                    if s.dense.fused_by_ort
                    else "; ONNX Runtime does NOT fuse it (float kernel + QuantizeLinear)"
                )
    return Plan(
        graph,
        steps,
        config,
        inputs=[_plan_input(graph, spec) for spec in graph.inputs],
        outputs=[PlanOutput(spec.name, spec.name) for spec in graph.outputs],
        constants={k: Value(v, False) for k, v in graph.constants.items()},
        error=OnnxImportError,
        unit="nodes",
        header=f" ({config.describe()})",
        inputs_phrase="{codes} codes",
        session_config=session_config,
    )


def _step(node: Node, dense: OnnxDense | None = None, kernel=None, how: str | None = None) -> Step:
    if dense is not None:
        return Step(
            node,
            node.index,
            dense.pattern,
            tuple(i or None for i in node.inputs),
            (dense.output,),
            dense=dense,
            dense_input=dense.input,
            vector_stem=f"node{node.index}",
        )
    return Step(
        node,
        node.index,
        node.op_type,
        tuple(i or None for i in node.inputs),
        tuple(node.outputs),
        kernel=kernel,
        how=how or "software (numpy)",
    )


def _plan_input(graph: OnnxGraph, spec) -> PlanInput:
    """A model input: int8 codes, or the floats of the codes its QuantizeLinear reads."""
    problem, codes = None, None
    if any(d is None for d in spec.shape[1:]):
        problem = (
            f"input {spec.name!r} has shape {spec.shape}: only the batch dimension may be symbolic"
        )
    elif spec.dtype not in (np.int8, np.float32):
        problem = f"input {spec.name!r} is {spec.dtype}: int8 or float32 only"
    if spec.dtype == np.float32:
        quant = [c for c in graph.consumers(spec.name) if c.op_type == "QuantizeLinear"]
        if quant and quant[0].inputs[1] in graph.constants:
            scale = graph.constants[quant[0].inputs[1]].astype(np.float32)
            zp = graph.constants.get(
                quant[0].inputs[2] if len(quant[0].inputs) > 2 else "", np.zeros((), np.uint8)
            )
            if scale.size == 1 and zp.dtype in (np.int8, np.uint8):
                codes = (float(scale.reshape(-1)[0]), int(zp.reshape(-1)[0]), np.dtype(zp.dtype))
    return PlanInput(
        spec.name, spec.name, tuple(spec.shape[1:]), np.dtype(spec.dtype), codes, problem
    )
