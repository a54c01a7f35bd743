"""The network executor: runs an imported model's operators in order on a batch of inputs, each
multiply-accumulate operator (FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV)
through a dense backend (its output feeds the next operator), every other operator in numpy.

When the backend is not pyref itself, every datapath layer is also run on pyref with the same
operands and the two outputs are compared bit for bit (the RTL-vs-model leg of the check).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from tqdm import tqdm

from pyref.config import QmacConfig
from pyref.layer import Layer
from pyref.vectors import save_vectors

from .backends.select import DenseBackend, PyrefBackend, as_backend
from .backends.stream import run_layers
from .kernels.base import Value
from .tflite.importer import ImportedModel, Step


@dataclasses.dataclass
class Mismatch:
    """The first differing output of a layer: row (input vector), channel, got, expected."""

    row: int
    channel: int
    got: int
    expected: int


@dataclasses.dataclass
class LayerRun:
    """What happened in one datapath layer."""

    op_index: int
    op: str
    n: int                      # rows (input vectors) the backend ran
    k: int
    c: int
    quant: str
    detail: str
    outputs: int                # n * c
    saturated: int | None      # outputs the clamp changed (None: backend gave no flags)
    cycles: int | None          # from the backend, if it reports them
    beats: int                  # n * c * ceil(k / lanes): cycles at one beat per clock
    wall: float
    ref_mismatches: int | None  # backend vs pyref; None when the backend is pyref
    ref_first: Mismatch | None = None
    tflm_mismatches: int | None = None   # filled in by the oracle comparison
    tflm_first: Mismatch | None = None


@dataclasses.dataclass
class NetworkRun:
    """A run of the whole graph: model outputs (per sample), per-layer records, kept tensors."""

    outputs: list[Value]
    layers: list[LayerRun]
    tensors: dict[int, Value]
    backend: str
    n_samples: int
    wall: float

    def output_arrays(self) -> list[np.ndarray]:
        return [v.array for v in self.outputs]


def first_mismatch(got: np.ndarray, expected: np.ndarray) -> tuple[int, Mismatch | None]:
    """Count of differing elements of two ``(R, C)`` arrays and the first one."""
    diff = got != expected
    count = int(np.count_nonzero(diff))
    if not count:
        return 0, None
    r, c = (int(i) for i in np.argwhere(diff)[0])
    return count, Mismatch(r, c, int(got[r, c]), int(expected[r, c]))


def run_network(model: ImportedModel, inputs: Sequence[np.ndarray],
                backend: DenseBackend | Callable | None = None, *, check_against_pyref: bool = True,
                keep_tensors: bool = False, progress: bool = False,
                vector_dir: str | Path | None = None, vector_rows: int = 256) -> NetworkRun:
    """Run every operator of ``model`` on ``inputs`` (one ``(N, *shape)`` array per model input).

    ``backend`` runs the datapath layers (default pyref). With ``check_against_pyref`` and a
    backend other than pyref, each layer is also run on pyref and the outputs compared.
    ``keep_tensors`` keeps every tensor's value (else only the datapath layers' outputs).
    ``vector_dir`` writes each datapath layer's first ``vector_rows`` rows as a vector file.
    """
    be = as_backend(backend)
    ref = PyrefBackend() if (check_against_pyref and not isinstance(be, PyrefBackend)) else None
    graph = model.graph
    if len(inputs) != len(graph.inputs):
        raise ValueError(f"the model has {len(graph.inputs)} input(s), got {len(inputs)} array(s)")
    n = int(np.asarray(inputs[0]).shape[0])
    values: dict[int, Value] = {}
    for idx, arr in zip(graph.inputs, inputs):
        t = graph.tensor(idx)
        arr = np.asarray(arr)
        if arr.shape != (n,) + t.shape:
            raise ValueError(f"input {t.name!r}: expected shape (N,) + {t.shape} = "
                             f"{(n,) + t.shape}, got {arr.shape}")
        if t.dtype is not None and arr.dtype != t.dtype:
            raise ValueError(f"input {t.name!r}: expected dtype {t.dtype}, got {arr.dtype}")
        values[idx] = Value(arr, True)
    for t in graph.tensors:
        if t.data is not None:
            values[t.index] = Value(t.data, False)
    layers: list[LayerRun] = []
    kept: dict[int, Value] = {}
    t_start = time.perf_counter()
    desc = f"{be.name} layers"
    for step in tqdm(model.steps, desc=desc, unit="op", disable=None if progress else True, leave=False):
        needed = (step.dense.input_index,) if step.dense is not None else step.op.inputs
        ins = [values.get(i) if i >= 0 else None for i in step.op.inputs]
        missing = [i for i in needed if i >= 0 and values.get(i) is None]
        if missing:
            raise ValueError(f"{step.op.label()}: input tensor(s) {missing} have no value "
                             f"(graph not in execution order?)")
        if step.dense is not None:
            out, record = _run_dense(step, values[step.dense.input_index], be, ref, model, n,
                                     Path(vector_dir) if vector_dir is not None else None,
                                     vector_rows)
            layers.append(record)
            outs = [out]
            kept[step.op.outputs[0]] = out
        else:
            outs = step.kernel.run(ins)
        for idx, v in zip(step.op.outputs, outs):
            values[idx] = v
            if keep_tensors:
                kept[idx] = v
    wall = time.perf_counter() - t_start
    outputs = [values[i] for i in graph.outputs]
    return NetworkRun(outputs, layers, kept, be.name, n, wall)


def save_layer_vectors(directory: Path, step: Step, layer: Layer, config: QmacConfig,
                       rows: int) -> Path:
    """The layer's first ``rows`` input rows as a vector file (``op<index>.npz``) with pyref's
    expected outputs, for the testbench to replay on the RTL."""
    directory.mkdir(parents=True, exist_ok=True)
    part = dataclasses.replace(layer, x=layer.x[:rows])
    return Path(save_vectors(directory / f"op{step.op.index}.npz", config, part,
                             compute_expected=True))


def _single_stage(spec, x: Value):
    """The stages of an operator that is one set of layers (all but SVDF)."""
    ys = yield spec.config, spec.layers(x)
    return spec.assemble(ys)


def _run_dense(step: Step, x: Value, be: DenseBackend, ref: DenseBackend | None,
               model: ImportedModel, n_samples: int, vector_dir: Path | None = None,
               vector_rows: int = 256) -> tuple[Value, LayerRun]:
    """Run one multiply-accumulate operator: each of its stages (a config and a set of layers,
    built from the previous stage's outputs) on the backend, each layer also on pyref when
    ``ref``; one record for the operator."""
    spec = step.dense
    stages = spec.stages(x) if hasattr(spec, "stages") else _single_stage(spec, x)
    config, layers = next(stages)
    ref_mm, ref_first = (0, None) if ref is not None else (None, None)
    sat_total: int | None = 0
    cycles: int | None = 0
    beats = 0
    wall = 0.0
    rows = None
    while True:
        if vector_dir is not None and len(layers) == 1:
            save_layer_vectors(vector_dir, step, layers[0], config, vector_rows)
        results = run_layers(be, layers, config)
        ys = [r.y for r in results]
        sats = [r.saturated for r in results]
        if ref is not None:
            ref_res = [r.reference if r.reference is not None else ref.run(layer, config)
                       for r, layer in zip(results, layers)]
            for got, want in zip(ys, ref_res):
                count, first = first_mismatch(got, want.y)
                ref_mm += count
                ref_first = ref_first or first
            sats = [s if s is not None else r.saturated for s, r in zip(sats, ref_res)]
        if sat_total is not None and all(s is not None for s in sats):
            sat_total += sum(int(np.count_nonzero(s)) for s in sats)
        else:
            sat_total = None
        step_cycles = [r.cycles for r in results]
        cycles = None if cycles is None or any(c is None for c in step_cycles) else cycles + sum(step_cycles)
        beats += sum(layer.n * layer.c * -(-layer.k // config.lanes) for layer in layers)
        wall += sum(r.wall for r in results)
        if rows is None:
            rows = layers[0].n       # the first stage's rows (an LSTM's: every time step)
        try:
            config, layers = stages.send(ys)
        except StopIteration as done:
            y = done.value
            break
    record = LayerRun(
        op_index=step.op.index, op=step.op.name, n=rows, k=spec.k, c=spec.c,
        quant=spec.quant, detail=spec.describe(), outputs=int(np.asarray(y).size),
        saturated=sat_total, cycles=cycles, beats=beats, wall=wall, ref_mismatches=ref_mm,
        ref_first=ref_first,
    )
    return spec.output(y, n_samples), record
