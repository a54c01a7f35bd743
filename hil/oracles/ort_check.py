"""ONNX Runtime as an oracle (:class:`OrtOracle`, the engine in :mod:`hil.oracles.ort`) and
the check of a run against it (:func:`check_with_ort`): each dense layer against the kernel ONNX
Runtime's optimized graph runs for it, fed the same input, explained by this CPU's kernel
behaviour where it clips product pairs (:mod:`hil.oracles.ort_kernels`); the unmodified model's
outputs against the run, or, where a kernel clips, against the run with those kernels emulated
(the executor on an :class:`~hil.backends.pyref.EmulatedBackend`).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Sequence

import numpy as np

from ..backends.pyref import EmulatedBackend
from ..executor import Mismatch, NetworkRun, first_mismatch, run_network
from ..onnx.dense import OnnxDense
from ..plan import Plan
from .api import ORT, OracleResult
from .ort import (
    emulation_for,
    float_layer_reference,
    integer_kernels,
    layer_reference,
    optimized_model,
    run_model,
)
from .ort_kernels import probe_kernels


def _rows_of(d: OnnxDense, t: np.ndarray) -> np.ndarray:
    t = np.asarray(t).astype(np.int64)
    if d.conv is None:
        return t.reshape(-1, d.c)
    return np.moveaxis(t, 1, -1).reshape(-1, d.c)  # NC... -> rows of channels


@dataclasses.dataclass
class OrtLayerCheck:
    """One dense layer against ONNX Runtime's own kernel for it, fed the same input."""

    node: int
    fused: bool
    """ONNX Runtime runs it as an integer kernel (False: float kernels, not required to match)."""
    kernel: str
    """The kernel and what it does here: ``QLinearConv u8 x s8: pairs16`` or ``float Conv``."""
    outputs: int
    differ: int
    """Outputs where the hardware and ONNX Runtime differ."""
    explained: int
    """Of those, the ones this CPU's kernel behaviour (emulated in pyref) accounts for."""
    first: Mismatch | None = None
    """The first unexplained difference."""

    @property
    def unexplained(self) -> int:
        return self.differ - self.explained


@dataclasses.dataclass
class OrtOutputCheck:
    """One model output of the unmodified model against the run."""

    name: str
    size: int
    differ: int
    """Values where the hardware's output and ONNX Runtime's differ."""
    unexplained: int
    """Values where ONNX Runtime differs from the run with its kernels emulated (= ``differ``
    when no kernel here clips)."""


@dataclasses.dataclass
class OrtCheck:
    probe: object
    """The :class:`~hil.oracles.ort_kernels.KernelProbe` of this CPU."""
    layers: list[OrtLayerCheck]
    outputs: list[OrtOutputCheck]

    @property
    def all_fused(self) -> bool:
        return all(layer.fused for layer in self.layers)


class OrtOracle:
    """ONNX Runtime behind the :class:`~hil.oracles.api.Oracle` interface: the unmodified
    model's outputs (default optimizations, as the user runs it), and each datapath layer's
    output tensor from the kernel ONNX Runtime's optimized graph runs for it (a fused integer
    node; a pattern it leaves in float: the float nodes), fed the layer's input from ``run``.
    After :meth:`run`, ``optimized`` and ``kernels`` hold that graph and its integer nodes."""

    name = ORT

    def __init__(self) -> None:
        self.optimized = None
        self.kernels: dict = {}

    def run(
        self,
        model: Plan,
        inputs: Sequence[np.ndarray],
        run: NetworkRun | None = None,
        progress: bool = False,
    ) -> OracleResult:
        t0 = time.perf_counter()
        graph = model.graph
        self.optimized = optimized_model(graph.model_bytes, model.session_config)
        self.kernels = integer_kernels(self.optimized)
        tensors = {}
        for step in model.dense_steps if run is not None else ():
            d = step.dense
            x = run.tensors[d.input].array
            kernel = self.kernels.get(d.weight)
            tensors[d.output] = (
                float_layer_reference(graph, d, x)
                if kernel is None
                else layer_reference(self.optimized, kernel, x)
            )
        fixed_batch = any(spec.shape and spec.shape[0] is not None for spec in graph.inputs)
        outputs = run_model(
            graph.model_bytes,
            [spec.name for spec in graph.inputs],
            inputs,
            fixed_batch,
            model.session_config,
        )
        return OracleResult(
            outputs, tensors, time.perf_counter() - t0, ORT, [spec.name for spec in graph.outputs]
        )


def check_with_ort(model: Plan, run: NetworkRun, inputs: Sequence[np.ndarray]) -> OrtCheck:
    """Check ``run`` (of ``inputs``) against ONNX Runtime (:class:`OrtOracle`): each dense
    layer against its own kernel on the same input, explained by this CPU's kernel behaviour
    where it clips, and the unmodified model's outputs against the run (or, where a kernel
    clips, against the run with those kernels emulated). Fills each layer's ``tflm_*`` fields
    (here: ONNX Runtime) with the unexplained differences."""
    probe = probe_kernels()
    oracle = OrtOracle()
    result = oracle.run(model, inputs, run)
    emulate = {}
    layers = []
    for layer, step in zip(run.layers, model.dense_steps):
        d = step.dense
        x = run.tensors[d.input].array
        got = _rows_of(d, run.tensors[d.output].array)
        kernel = oracle.kernels.get(d.weight)
        ref = _rows_of(d, result.tensors[d.output])
        if kernel is None:
            bad = got != ref
            layers.append(
                OrtLayerCheck(
                    step.index,
                    False,
                    f"float {d.node.op_type}",
                    got.size,
                    int(np.count_nonzero(bad)),
                    0,
                )
            )
            layer.tflm_mismatches, layer.tflm_first = first_mismatch(got, ref)
            continue
        emu = emulation_for(d, kernel, probe)
        bad = got != ref
        explained = np.zeros_like(bad)
        if emu.clips:
            emulate[step.index] = emu
            parts = d.layers(d.rows(np.asarray(x)))
            em = np.concatenate([emu.run(p, model.config).y for p in parts], axis=1)
            explained = bad & (em == ref)
        mm, first = first_mismatch(np.where(explained, ref, got), ref)
        layer.tflm_mismatches, layer.tflm_first = mm, first
        layers.append(
            OrtLayerCheck(
                step.index,
                True,
                f"{kernel.name()}: {emu.path}",
                got.size,
                int(np.count_nonzero(bad)),
                int(np.count_nonzero(explained)),
                first,
            )
        )
    emulated = (
        run_network(model, inputs, EmulatedBackend(emulate), check_against_pyref=False).outputs
        if emulate
        else run.outputs
    )
    outputs = []
    for spec, got_v, emu_v, exp in zip(model.graph.outputs, run.outputs, emulated, result.outputs):
        got, emu_got = got_v.array, emu_v.array
        exp = np.asarray(exp).reshape(got.shape)
        outputs.append(
            OrtOutputCheck(spec.name, int(got.size), _differ(got, exp), _differ(emu_got, exp))
        )
    return OrtCheck(probe, layers, outputs)


def _differ(got: np.ndarray, exp: np.ndarray) -> int:
    if got.dtype == np.float32:
        same = got.view(np.uint32) == exp.astype(np.float32).view(np.uint32)
    else:
        same = got == exp
    return int(got.size - np.count_nonzero(same))


def ort_layer_outputs(model: Plan, run: NetworkRun) -> dict[str, np.ndarray]:
    """``{layer output name: ONNX Runtime's value}``: each fused layer's own kernel on the
    layer's input from ``run``."""
    optimized = optimized_model(model.graph.model_bytes, model.session_config)
    kernels = integer_kernels(optimized)
    return {
        s.dense.output: layer_reference(
            optimized, kernels[s.dense.weight], run.tensors[s.dense.input].array
        )
        for s in model.dense_steps
        if s.dense.weight in kernels
    }
