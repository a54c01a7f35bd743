"""The independent oracle: TFLite Micro's own interpreter (the ``tflite-micro`` wheel, reference
kernels) run on the same .tflite bytes and inputs, one sample per invoke.

Besides the model outputs it can hand back any intermediate tensor (the interpreter is built with
``kPreserveAllTensors``), so each datapath layer's output can be checked against TFLite Micro too.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Iterable, Sequence

import numpy as np
from tqdm import tqdm

from ..tflite.dilated import as_dilated_model, find_dilated
from ..tflite.graph import Graph
from .api import TFLM, OracleResult


def _arena_size(graph: Graph) -> int:
    """A tensor arena big enough for every non-constant tensor plus the interpreter's own data."""
    total = 0
    for t in graph.tensors:
        if t.data is None and t.dtype is not None:
            total += int(np.prod(t.shape or (1,))) * t.dtype.itemsize + 16
    return max(len(graph.model_bytes) * 10, 2 * total + 256 * 1024)


def run_tflm(
    graph: Graph,
    inputs: Sequence[np.ndarray],
    tensor_indices: Iterable[int] = (),
    progress: bool = False,
) -> OracleResult:
    """Run TFLite Micro on ``inputs`` (one ``(N, *input_shape)`` array per model input)."""
    from tflite_micro import runtime

    tensor_indices = list(tensor_indices)
    config = (
        runtime.InterpreterConfig.kPreserveAllTensors
        if tensor_indices
        else runtime.InterpreterConfig.kAllocationRecording
    )
    interp = runtime.Interpreter.from_bytes(
        graph.model_bytes, arena_size=_arena_size(graph), intrepreter_config=config
    )
    if len(inputs) != len(graph.inputs):
        raise ValueError(f"the model has {len(graph.inputs)} input(s), got {len(inputs)} array(s)")
    n = inputs[0].shape[0]
    shapes = [graph.tensor(i).shape for i in graph.inputs]
    dtypes = [graph.tensor(i).dtype for i in graph.inputs]
    outputs: list[list[np.ndarray]] = [[] for _ in graph.outputs]
    tensors: dict[int, list[np.ndarray]] = {i: [] for i in tensor_indices}
    t0 = time.perf_counter()
    bar = tqdm(
        range(n), desc="TFLite Micro", unit="input", disable=None if progress else True, leave=False
    )
    for s in bar:
        for j, (x, shape, dtype) in enumerate(zip(inputs, shapes, dtypes)):
            interp.set_input(np.ascontiguousarray(x[s].reshape(shape), dtype=dtype), j)
        interp.invoke()
        for j in range(len(graph.outputs)):
            outputs[j].append(np.array(interp.get_output(j)))
        for i in tensor_indices:
            tensors[i].append(np.array(interp.GetTensor(i, 0)["tensor_data"]))
    return OracleResult(
        outputs=[np.stack(o) for o in outputs],
        tensors={i: np.stack(v) for i, v in tensors.items()},
        wall=time.perf_counter() - t0,
        engine=TFLM,
        names=[graph.tensor(i).name for i in graph.outputs],
    )


class TflmOracle:
    """TFLite Micro behind the :class:`~hil.oracles.api.Oracle` interface: the model outputs
    and every datapath layer's output tensor."""

    name = TFLM

    def run(self, model, inputs, run=None, progress: bool = False) -> OracleResult:
        dense = [s.dense.output_index for s in model.dense_steps]
        graph = model.graph
        patterns = find_dilated(graph)
        if patterns:
            # TFLite Micro keeps the declared batch (1) of the SPACE_TO_BATCH_ND ->
            # CONV_2D -> BATCH_TO_SPACE_ND tensors and so computes one block offset of the
            # batch's four (the rest is arena bytes): it runs the dilated CONV_2D instead.
            graph = dataclasses.replace(graph, model_bytes=as_dilated_model(graph, patterns)[0])
        return run_tflm(graph, inputs, dense, progress=progress)
