"""The executor: runs a plan's steps (:mod:`hil.plan`, from a TFLite or an ONNX model) in order
on a batch of inputs, each datapath operator's layers through a dense backend (its output feeds
the next step), every other step in numpy.

When the backend is not pyref itself, every datapath layer is also run on pyref with the same
operands and the two outputs are compared bit for bit (the RTL-vs-model leg of the check).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Callable, Hashable, Sequence

import numpy as np
from tqdm import tqdm

from pyref.config import QmacConfig
from pyref.fixed_point import beats_per_job
from pyref.layer import Layer
from pyref.vectors import save_vectors

from .backends import DenseBackend, PyrefBackend, as_backend
from .backends.stream import run_layers
from .kernels.base import Value
from .plan import Plan, PlanInput, Step, stages_of


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
    n: int  # rows (input vectors) the backend ran
    k: int
    c: int
    quant: str
    detail: str
    outputs: int  # n * c
    saturated: int | None  # outputs the clamp changed, activation's included (None: no flags)
    cycles: int | None  # from the backend, if it reports them
    beats: int  # n * c * ceil(k / lanes): cycles at one beat per clock
    wall: float
    ref_mismatches: int | None  # backend vs pyref; None when the backend is pyref
    ref_first: Mismatch | None = None
    beyond_activation: int | None = None
    """Of the clamped outputs, those clamped at a limit of the ``out_bits`` range that the fused
    activation leaves as it is: true overflow, not the activation's clamp (a ReLU's clamp at the
    zero point is not counted, a clamp at 127 is)."""
    tflm_mismatches: int | None = None  # filled in by the oracle comparison
    tflm_first: Mismatch | None = None


@dataclasses.dataclass
class NetworkRun:
    """A run of the whole graph: model outputs (per sample), per-layer records, kept tensors."""

    outputs: list[Value]
    layers: list[LayerRun]
    tensors: dict[Hashable, Value]
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


def run_network(
    model: Plan,
    inputs: Sequence[np.ndarray],
    backend: DenseBackend | Callable | None = None,
    *,
    check_against_pyref: bool = True,
    keep_tensors: bool = False,
    progress: bool = False,
    vector_dir: str | Path | None = None,
    vector_rows: int = 256,
) -> NetworkRun:
    """Run every step of ``model`` (a :class:`~hil.plan.Plan` from either frontend) on
    ``inputs`` (one ``(N, *shape)`` array per model input).

    ``backend`` runs the datapath layers (default pyref; a backend with ``for_step(step)`` picks
    one per step). With ``check_against_pyref`` and a backend other than pyref, each layer is
    also run on pyref and the outputs compared. Every datapath layer's input and output tensor
    is kept in ``tensors``; ``keep_tensors`` keeps every tensor's value. ``vector_dir`` writes
    each datapath layer's first ``vector_rows`` rows as a vector file.
    """
    be = as_backend(backend)
    ref = PyrefBackend() if (check_against_pyref and not isinstance(be, PyrefBackend)) else None
    if len(inputs) != len(model.inputs):
        raise ValueError(f"the model has {len(model.inputs)} input(s), got {len(inputs)} array(s)")
    n = int(np.asarray(inputs[0]).shape[0])
    values: dict[Hashable, Value] = dict(model.constants)
    for spec, arr in zip(model.inputs, inputs):
        values[spec.key] = Value(_checked_input(spec, np.asarray(arr), n), True)
    layers: list[LayerRun] = []
    kept: dict[Hashable, Value] = {}
    vectors = Path(vector_dir) if vector_dir is not None else None
    t_start = time.perf_counter()
    desc = f"{be.name} layers"
    for step in tqdm(
        model.steps, desc=desc, unit="op", disable=None if progress else True, leave=False
    ):
        if step.dense is None and step.kernel is None:
            continue  # absorbed into a datapath layer
        needed = (step.dense_input,) if step.dense is not None else step.inputs
        missing = [i for i in needed if i is not None and values.get(i) is None]
        if missing:
            raise model.error(
                f"{step.label()}: input tensor(s) {missing} have no value "
                f"(graph not in execution order?)"
            )
        if step.dense is not None:
            x = values[step.dense_input]
            step_be = be.for_step(step) if hasattr(be, "for_step") else be
            out, record = _run_dense(step, x, step_be, ref, n, vectors, vector_rows)
            layers.append(record)
            outs = [out]
            kept[step.dense_input] = x
            kept[step.outputs[0]] = out
        else:
            outs = step.kernel.run([values.get(i) if i is not None else None for i in step.inputs])
        for key, v in zip(step.outputs, outs):
            values[key] = v
            if keep_tensors:
                kept[key] = v
    wall = time.perf_counter() - t_start
    outputs = [values[o.key] for o in model.outputs]
    return NetworkRun(outputs, layers, kept, be.name, n, wall)


def _checked_input(spec: PlanInput, arr: np.ndarray, n: int) -> np.ndarray:
    """``arr`` when it has the input's shape (after the sample axis) and type."""
    want = (n,) + tuple(spec.shape)
    if len(arr.shape) != len(want) or any(
        w is not None and w != a for w, a in zip(want, arr.shape)
    ):
        raise ValueError(
            f"input {spec.name!r}: expected shape (N,) + {tuple(spec.shape)} = "
            f"{want}, got {arr.shape}"
        )
    if spec.dtype is not None and arr.dtype != spec.dtype:
        raise ValueError(f"input {spec.name!r}: expected dtype {spec.dtype}, got {arr.dtype}")
    return arr


def save_layer_vectors(path: Path, layer: Layer, config: QmacConfig, rows: int) -> Path:
    """The layer's first ``rows`` input rows as a vector file with pyref's expected outputs,
    for the testbench to replay on the RTL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = dataclasses.replace(layer, x=layer.x[:rows])
    return Path(save_vectors(path, config, part, compute_expected=True))


def _save_vectors(
    directory: Path, step: Step, layers: list[Layer], config: QmacConfig, rows: int
) -> None:
    """``<stem>.npz`` for a one-layer stage; an operator whose layers are groups
    (``vector_parts``) also ``<stem>_g<j>.npz`` per group."""
    if len(layers) == 1:
        save_layer_vectors(directory / f"{step.vector_stem}.npz", layers[0], config, rows)
    elif getattr(step.dense, "vector_parts", False):
        for j, layer in enumerate(layers):
            save_layer_vectors(directory / f"{step.vector_stem}_g{j}.npz", layer, config, rows)


LOWER_BOUND_ACTIVATIONS = ("RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1")
"""Fused activations that clamp from below: their clamp at the bottom is the activation's."""


def overflow_clamps(
    y, saturated, layer: Layer, config: QmacConfig, activation: str = "NONE"
) -> int:
    """Clamped outputs of ``layer`` that overflow the ``out_bits`` range rather than meet the
    fused ``activation``'s bound: on the top limit where the channel's upper bound is that limit,
    or on the bottom limit when the activation has no lower bound (a ReLU's clamp at its zero
    point, -128 included, is the activation's)."""
    lo, hi = -(1 << (config.out_bits - 1)), (1 << (config.out_bits - 1)) - 1
    y, sat = np.asarray(y), np.asarray(saturated, dtype=bool)
    at_hi = (y == hi) & (np.asarray(layer.act_max)[None, :] == hi)
    at_lo = (y == lo) & (np.asarray(layer.act_min)[None, :] == lo)
    if activation in LOWER_BOUND_ACTIVATIONS:
        at_lo = np.zeros_like(at_lo)
    return int(np.count_nonzero(sat & (at_lo | at_hi)))


def _run_dense(
    step: Step,
    x: Value,
    be: DenseBackend,
    ref: DenseBackend | None,
    n_samples: int,
    vector_dir: Path | None = None,
    vector_rows: int = 256,
) -> tuple[Value, LayerRun]:
    """Run one multiply-accumulate operator: each of its stages (a config and a set of layers,
    built from the previous stage's outputs) on the backend, each layer also on pyref when
    ``ref``; one record for the operator."""
    spec = step.dense
    stages = stages_of(spec, x)
    config, layers = next(stages)
    ref_mm, ref_first = (0, None) if ref is not None else (None, None)
    sat_total: int | None = 0
    beyond = 0
    cycles: int | None = 0
    beats = 0
    wall = 0.0
    rows = None
    while True:
        if vector_dir is not None:
            _save_vectors(vector_dir, step, layers, config, vector_rows)
        results = run_layers(be, layers, config)
        ys = [r.y for r in results]
        sats = [r.saturated for r in results]
        if ref is not None:
            ref_res = [
                r.reference if r.reference is not None else ref.run(layer, config)
                for r, layer in zip(results, layers)
            ]
            for got, want in zip(ys, ref_res):
                count, first = first_mismatch(got, want.y)
                ref_mm += count
                ref_first = ref_first or first
            sats = [s if s is not None else r.saturated for s, r in zip(sats, ref_res)]
        if sat_total is not None and all(s is not None for s in sats):
            sat_total += sum(int(np.count_nonzero(s)) for s in sats)
            act = str(getattr(spec, "activation", "NONE") or "NONE")
            beyond += sum(
                overflow_clamps(y, s, layer, config, act) for y, s, layer in zip(ys, sats, layers)
            )
        else:
            sat_total = None
        step_cycles = [r.cycles for r in results]
        cycles = (
            None
            if cycles is None or any(c is None for c in step_cycles)
            else cycles + sum(step_cycles)
        )
        beats += sum(layer.n * layer.c * beats_per_job(layer.k, config.lanes) for layer in layers)
        wall += sum(r.wall for r in results)
        if rows is None:
            rows = layers[0].n  # the first stage's rows (an LSTM's: every time step)
        try:
            config, layers = stages.send(ys)
        except StopIteration as done:
            y = done.value
            break
    record = LayerRun(
        op_index=step.index,
        op=step.name,
        n=rows,
        k=spec.k,
        c=spec.c,
        quant=spec.quant,
        detail=spec.describe(),
        outputs=int(np.asarray(y).size),
        saturated=sat_total,
        cycles=cycles,
        beats=beats,
        wall=wall,
        ref_mismatches=ref_mm,
        ref_first=ref_first,
        beyond_activation=None if sat_total is None else beyond,
    )
    return spec.output_value(y, n_samples), record
