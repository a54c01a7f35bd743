"""Run an int8 ONNX model with its dense layers on a backend (the RTL, or pyref) and check it
against ONNX Runtime: ``make hil MODEL=x.onnx``.

:func:`import_onnx` plans the nodes (:mod:`hil.onnx.dense` for the dense layers, config
``fp32``; :mod:`hil.onnx.ops` for the rest), :func:`run_onnx` executes them in order on a batch
of inputs (each dense layer's output, as the backend computed it, feeds the next node; with a
backend other than pyref every layer is also compared with pyref), and :func:`check_with_ort`
checks every layer and model output against ONNX Runtime (:mod:`hil.oracles.ort`: the unmodified
model for the outputs, each fused integer node alone for the layers, and this CPU's kernel
behaviour from :mod:`hil.oracles.ort_kernels`).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from pyref.config import QmacConfig
from pyref.vectors import save_vectors
from tb.cli.errors import UsageError
from tb.run.build import config_name

from ..backends.select import BackendResult, DenseBackend, PyrefBackend, as_backend
from ..backends.stream import run_layers
from ..executor import LayerRun, Mismatch, first_mismatch
from .graph import Node, OnnxGraph, OnnxImportError, read_onnx
from .dense import OnnxDense, lower_qdq, lower_qlinear, to_shift_only
from .ops import SOFTWARE_OPS

QLINEAR_OPS = ("QLinearConv", "QLinearMatMul", "QGemm")
QDQ_OPS = ("Conv", "MatMul", "Gemm")


@dataclasses.dataclass
class OnnxStep:
    """One node of the plan: a dense layer, a numpy kernel, or absorbed into a QDQ layer."""

    node: Node
    dense: OnnxDense | None = None
    kernel: Callable | None = None

    @property
    def where(self) -> str:
        if self.dense is not None:
            return "datapath"
        return "software" if self.kernel is not None else "absorbed"


@dataclasses.dataclass
class OnnxModel:
    graph: OnnxGraph
    steps: list[OnnxStep]
    config: QmacConfig
    session_config: dict[str, str] | None = None
    """ONNX Runtime session config entries the oracle runs the model with."""

    @property
    def dense_steps(self) -> list[OnnxStep]:
        return [s for s in self.steps if s.dense is not None]

    def describe_ops(self) -> str:
        lines = [f"{self.graph.name}: {len(self.steps)} nodes, {len(self.dense_steps)} on the "
                 f"datapath ({self.config.describe()})"]
        rows: dict[str, list] = {}
        for s in self.steps:
            key = s.dense.pattern if s.dense is not None else s.node.op_type
            how = {"datapath": "datapath (dense backend)", "software": "software (numpy)",
                   "absorbed": "absorbed into a QDQ layer"}[s.where]
            if s.dense is not None and s.dense.float_output:
                how += ("; ONNX Runtime fuses it" if s.dense.fused_by_ort else
                        "; ONNX Runtime does NOT fuse it (float kernel + QuantizeLinear)")
            rows.setdefault(key + how, [key, 0, how])[1] += 1
        lines += [f"  {k:<18} x{n:<3} {how}" for k, n, how in rows.values()]
        return "\n".join(lines)


def ort_fusion(graph: OnnxGraph, session_config: dict[str, str] | None = None) -> dict:
    """``{weight name: OrtKernel}``: the integer nodes of the graph ONNX Runtime runs (CPU
    provider, default optimizations, ``session_config`` entries); a QDQ layer whose weight no
    integer node reads is computed in float there."""
    from ..oracles.ort import integer_kernels, optimized_model

    return integer_kernels(optimized_model(graph.model_bytes, session_config))


def import_onnx(source, *, check_fusion: bool = True,
                session_config: dict[str, str] | None = None, shift_only: bool = False
                ) -> OnnxModel:
    """Read a model and plan every node; refuse a model with a node nothing can run, naming
    each such node. With ``check_fusion`` (needs onnxruntime), QDQ patterns that ONNX Runtime
    (with ``session_config`` entries, e.g. ``{"session.qdqisint8allowed": "1"}``) leaves in float are marked
    (``OnnxDense.fused_by_ort``). With ``shift_only``, a model whose scales are all powers of
    two runs on the shift-only config (:func:`~hil.onnx.dense.to_shift_only`)."""
    graph = source if isinstance(source, OnnxGraph) else read_onnx(source)
    steps: list[OnnxStep] = []
    absorbed: set[int] = set()
    problems: list[str] = []
    for node in graph.nodes:
        if node.index in absorbed:
            steps.append(OnnxStep(node))
            continue
        try:
            if node.op_type in QLINEAR_OPS and node.domain in ("", "ai.onnx", "com.microsoft"):
                steps.append(OnnxStep(node, dense=lower_qlinear(graph, node)))
            elif node.op_type in QDQ_OPS:
                dense = lower_qdq(graph, node)
                if dense is None:
                    raise OnnxImportError(f"{node.label()}: a float {node.op_type}; only the "
                                          "QDQ form (int8 DequantizeLinear inputs, one int8 "
                                          "QuantizeLinear output) runs on the datapath")
                absorbed.update(dense.absorbed)
                steps.append(OnnxStep(node, dense=dense))
            elif node.op_type in SOFTWARE_OPS:
                steps.append(OnnxStep(node, kernel=SOFTWARE_OPS[node.op_type]))
            else:
                raise OnnxImportError(f"{node.label()}: operator {node.op_type} is not "
                                      "supported (datapath: " + ", ".join(QLINEAR_OPS + QDQ_OPS)
                                      + "; software: " + ", ".join(SOFTWARE_OPS) + ")")
        except OnnxImportError as exc:
            problems.append(str(exc))
    if problems and not any(s.dense for s in steps) and any(
            n.op_type in QDQ_OPS for n in graph.nodes) and not any(
            n.op_type in QLINEAR_OPS or n.op_type == "DequantizeLinear" for n in graph.nodes):
        raise OnnxImportError(
            f"{graph.name}: a float model (no quantized node; {len(problems)} node(s) cannot "
            "run): quantize it first, e.g. with onnxruntime.quantization.quantize_static")
    if len(problems) == 1:
        raise OnnxImportError(f"{graph.name}: cannot run this model: {problems[0]}")
    if problems:
        raise OnnxImportError(f"{graph.name}: cannot run this model: {len(problems)} nodes "
                              "nothing here runs\n  " + "\n  ".join(problems))
    dense = [s.dense for s in steps if s.dense is not None]
    if not dense:
        raise OnnxImportError(f"{graph.name}: no node runs on the datapath")
    configs = {d.config for d in dense}
    if len(configs) > 1:
        raise OnnxImportError(f"{graph.name}: mixes int8 and uint8 activations; the datapath "
                              "runs one config per model")
    if shift_only:
        configs = {to_shift_only(dense)}
    if check_fusion and any(d.float_output for d in dense):
        kernels = ort_fusion(graph, session_config)
        for d in dense:
            d.fused_by_ort = not d.float_output or d.weight in kernels
    return OnnxModel(graph, steps, configs.pop(), session_config)


def random_inputs(graph: OnnxGraph, n: int, seed: int = 0) -> list[np.ndarray]:
    """``(n, ...)`` inputs: random int8 codes, or for a float input that a QuantizeLinear reads,
    the floats those codes stand for (so the whole int8 range reaches the first layer)."""
    rng = np.random.default_rng(seed)
    arrays = []
    for spec in graph.inputs:
        if any(d is None for d in spec.shape[1:]):
            raise OnnxImportError(f"input {spec.name!r} has shape {spec.shape}: only the batch "
                                  "dimension may be symbolic")
        shape = (n,) + tuple(spec.shape[1:])
        q = rng.integers(-128, 128, size=shape)
        if spec.dtype == np.int8:
            arrays.append(q.astype(np.int8))
            continue
        if spec.dtype != np.float32:
            raise OnnxImportError(f"input {spec.name!r} is {spec.dtype}: int8 or float32 only")
        quant = [c for c in graph.consumers(spec.name) if c.op_type == "QuantizeLinear"]
        if quant and quant[0].inputs[1] in graph.constants:
            scale = graph.constants[quant[0].inputs[1]].astype(np.float32)
            zp = graph.constants.get(quant[0].inputs[2] if len(quant[0].inputs) > 2 else "",
                                     np.zeros((), np.uint8))
            if scale.size == 1 and zp.dtype in (np.int8, np.uint8):
                if zp.dtype == np.uint8:
                    q = q + 128
                arrays.append(((q - int(zp.reshape(-1)[0])).astype(np.float32)
                               * np.float32(scale.reshape(-1)[0])).astype(np.float32))
                continue
        arrays.append(rng.standard_normal(shape).astype(np.float32))
    return arrays


@dataclasses.dataclass
class OnnxRun:
    outputs: list[np.ndarray]
    layers: list[LayerRun]
    tensors: dict[str, np.ndarray]
    backend: str
    wall: float


def run_onnx(model: OnnxModel, inputs: Sequence[np.ndarray],
             backend: DenseBackend | Callable | None = None, *,
             check_against_pyref: bool = True, vector_dir: str | Path | None = None,
             vector_rows: int = 256, emulate: dict | None = None) -> OnnxRun:
    """Execute every node in order; the dense layers on ``backend`` (default pyref), or, for a
    node index in ``emulate``, on that :class:`~hil.oracles.ort.KernelEmulation` (ONNX Runtime's
    kernel on this CPU, in pyref; not compared with pyref).
    ``vector_dir`` writes each dense layer's first ``vector_rows`` rows as a vector file
    ``node<index>.npz`` (a grouped convolution: ``node<index>_g<group>.npz``) with pyref's
    expected outputs, for ``make sim VECTORS=``."""
    be = as_backend(backend)
    ref = PyrefBackend() if check_against_pyref and not isinstance(be, PyrefBackend) else None
    graph = model.graph
    values: dict[str, np.ndarray] = dict(graph.constants)
    for spec, arr in zip(graph.inputs, inputs):
        values[spec.name] = np.asarray(arr)
    layers: list[LayerRun] = []
    t0 = time.perf_counter()
    for step in model.steps:
        node = step.node
        if step.dense is None and step.kernel is None:
            continue
        ins = [values.get(name) if name else None for name in node.inputs]
        missing = [name for name, v in zip(node.inputs, ins) if name and v is None]
        if step.dense is not None:
            d = step.dense
            x = values.get(d.input)
            if x is None:
                raise OnnxImportError(f"{node.label()}: input {d.input!r} has no value")
            parts = d.layers(d.rows(x))
            if vector_dir is not None:
                for j, part in enumerate(parts):
                    suffix = f"_g{j}" if len(parts) > 1 else ""
                    Path(vector_dir).mkdir(parents=True, exist_ok=True)
                    save_vectors(Path(vector_dir) / f"node{node.index}{suffix}.npz", model.config,
                                 dataclasses.replace(part, x=part.x[:vector_rows]),
                                 compute_expected=True)
            emu = (emulate or {}).get(node.index)
            if emu is not None:
                results = [_emulated(emu, part, model.config) for part in parts]
            else:
                results = run_layers(be, parts, model.config)
            y = np.concatenate([r.y for r in results], axis=1)
            sats = [r.saturated for r in results]
            ref_mm, ref_first = None, None
            if ref is not None and emu is None:
                ref_res = [ref.run(part, model.config) for part in parts]
                ref_mm, ref_first = first_mismatch(
                    y, np.concatenate([r.y for r in ref_res], axis=1))
                sats = [s if s is not None else r.saturated for s, r in zip(sats, ref_res)]
            sat = (None if any(s is None for s in sats)
                   else int(sum(np.count_nonzero(s) for s in sats)))
            cycles = [r.cycles for r in results]
            values[d.output] = d.to_tensor(y, x.shape)
            n_rows = parts[0].n
            layers.append(LayerRun(
                op_index=node.index, op=d.pattern, n=n_rows, k=d.k, c=d.c,
                quant=d.quant, detail=d.describe(), outputs=n_rows * d.c, saturated=sat,
                cycles=None if any(c is None for c in cycles) else sum(cycles),
                beats=sum(p.n * p.c * -(-p.k // model.config.lanes) for p in parts),
                wall=sum(r.wall for r in results), ref_mismatches=ref_mm, ref_first=ref_first))
            continue
        if missing:
            raise OnnxImportError(f"{node.label()}: input(s) {missing} have no value")
        for name, v in zip(node.outputs, step.kernel(graph, node, ins)):
            values[name] = v
    outputs = [values[o.name] for o in graph.outputs]
    return OnnxRun(outputs, layers, values, be.name, time.perf_counter() - t0)


def _emulated(emu, layer, config: QmacConfig) -> BackendResult:
    t0 = time.perf_counter()
    res = emu.run(layer, config)
    return BackendResult(y=res.y, wall=time.perf_counter() - t0, saturated=res.saturated)


def _rows_of(d: OnnxDense, t: np.ndarray) -> np.ndarray:
    t = np.asarray(t).astype(np.int64)
    if d.conv is None:
        return t.reshape(-1, d.c)
    return t.transpose(0, 2, 3, 1).reshape(-1, d.c)


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


def check_with_ort(model: OnnxModel, run: OnnxRun, inputs: Sequence[np.ndarray]) -> OrtCheck:
    """Check ``run`` (of ``inputs``) against ONNX Runtime (:mod:`hil.oracles.ort`): each dense
    layer against its own kernel on the same input, explained by this CPU's kernel behaviour
    where it clips, and the unmodified model's outputs against the run (or, where a kernel
    clips, against the run with those kernels emulated). Fills each layer's ``tflm_*`` fields
    (here: ONNX Runtime) with the unexplained differences."""
    from ..oracles.ort_kernels import probe_kernels
    from ..oracles.ort import (emulation_for, float_layer_reference, integer_kernels,
                             layer_reference, optimized_model, run_model)

    graph = model.graph
    probe = probe_kernels()
    optimized = optimized_model(graph.model_bytes, model.session_config)
    kernels = integer_kernels(optimized)
    emulate = {}
    layers = []
    for layer, step in zip(run.layers, model.dense_steps):
        d = step.dense
        x = run.tensors[d.input]
        got = _rows_of(d, run.tensors[d.output])
        kernel = kernels.get(d.weight)
        if kernel is None:
            ref = _rows_of(d, float_layer_reference(graph, d, x))
            bad = got != ref
            layers.append(OrtLayerCheck(step.node.index, False, f"float {d.node.op_type}",
                                        got.size, int(np.count_nonzero(bad)), 0))
            layer.tflm_mismatches, layer.tflm_first = first_mismatch(got, ref)
            continue
        emu = emulation_for(d, kernel, probe)
        ref = _rows_of(d, layer_reference(optimized, kernel, x))
        bad = got != ref
        explained = np.zeros_like(bad)
        if emu.clips:
            emulate[step.node.index] = emu
            parts = d.layers(d.rows(np.asarray(x)))
            em = np.concatenate([emu.run(p, model.config).y for p in parts], axis=1)
            explained = bad & (em == ref)
        mm, first = first_mismatch(np.where(explained, ref, got), ref)
        layer.tflm_mismatches, layer.tflm_first = mm, first
        layers.append(OrtLayerCheck(step.node.index, True, f"{kernel.name()}: {emu.path}",
                                    got.size, int(np.count_nonzero(bad)),
                                    int(np.count_nonzero(explained)), first))
    fixed_batch = any(spec.shape and spec.shape[0] is not None for spec in graph.inputs)
    ort_out = run_model(graph.model_bytes, [spec.name for spec in graph.inputs], inputs,
                        fixed_batch, model.session_config)
    emulated = run_onnx(model, inputs, None, check_against_pyref=False,
                        emulate=emulate).outputs if emulate else run.outputs
    outputs = []
    for spec, got, emu_got, exp in zip(graph.outputs, run.outputs, emulated, ort_out):
        exp = np.asarray(exp).reshape(got.shape)
        outputs.append(OrtOutputCheck(spec.name, int(got.size), _differ(got, exp),
                                      _differ(emu_got, exp)))
    return OrtCheck(probe, layers, outputs)


def _differ(got: np.ndarray, exp: np.ndarray) -> int:
    if got.dtype == np.float32:
        same = got.view(np.uint32) == exp.astype(np.float32).view(np.uint32)
    else:
        same = got == exp
    return int(got.size - np.count_nonzero(same))


def ort_layer_outputs(model: OnnxModel, run: OnnxRun) -> dict[str, np.ndarray]:
    """``{layer output name: ONNX Runtime's value}``: each fused layer's own kernel on the
    layer's input from ``run``."""
    from ..oracles.ort import integer_kernels, layer_reference, optimized_model

    optimized = optimized_model(model.graph.model_bytes, model.session_config)
    kernels = integer_kernels(optimized)
    return {s.dense.output: layer_reference(optimized, kernels[s.dense.weight],
                                            run.tensors[s.dense.input])
            for s in model.dense_steps if s.dense.weight in kernels}


def report(run: OnnxRun, check: OrtCheck | None) -> tuple[bool, str]:
    """The per-layer table and the verdict lines: ``(passed, text)``. A layer ONNX Runtime runs
    in float, and every layer after it, is reported but not required to match."""
    fused = [True] * len(run.layers) if check is None else [c.fused for c in check.layers]
    chain = list(fused)
    for i in range(1, len(chain)):
        chain[i] = chain[i] and chain[i - 1]
    by_node = {} if check is None else {c.node: c for c in check.layers}
    head = ["node", "layer", "shape N x K -> C", "quant", "checked", "vs pyref", "vs ORT",
            "explained", "saturated", "cycles", "wall s"]
    rows = []
    for l in run.layers:
        c = by_node.get(l.op_index)
        rows.append([str(l.op_index), l.op, f"{l.n} x {l.k} -> {l.c}", l.quant, str(l.outputs),
                     "self" if l.ref_mismatches is None else str(l.ref_mismatches),
                     "-" if c is None else str(c.differ),
                     "-" if c is None else str(c.explained),
                     "-" if l.saturated is None else str(l.saturated),
                     "-" if l.cycles is None else str(l.cycles), f"{l.wall:.3f}"])
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    ok = True
    total = sum(l.outputs for l in run.layers)
    if run.backend != "pyref":
        bad = sum(l.ref_mismatches or 0 for l in run.layers)
        lines.append(f"{run.backend} vs pyref: {bad} mismatches in {total} outputs")
        ok &= bad == 0
    if check is None:
        lines.append("ONNX Runtime oracle: not run")
        lines.append("VERDICT: PASS" if ok else "VERDICT: FAIL")
        return ok, "\n".join(lines)
    required = [c for c, f in zip(check.layers, chain) if f]
    differ = sum(c.differ for c in required)
    explained = sum(c.explained for c in required)
    lines.append(f"layers vs ONNX Runtime: {differ - explained} unexplained differences in "
                 f"{sum(c.outputs for c in required)} outputs over {len(required)} layers"
                 + (f" ({explained} differ where this CPU's kernel clips product pairs, each "
                    "reproduced by its emulation; the hardware adds exactly)" if explained else ""))
    ok &= differ == explained
    for c, f in zip(check.layers, chain):
        if not f:
            why = ("ONNX Runtime computes it in float (pattern not fused)" if not c.fused else
                   "its input comes from a layer ONNX Runtime computes in float")
            lines.append(f"  node {c.node} ({c.kernel}): {why}; {c.differ} of {c.outputs} "
                         "differ (reported, not required to match)")
        elif c.first is not None:
            m = c.first
            lines.append(f"  node {c.node} ({c.kernel}): first unexplained difference at row "
                         f"{m.row} channel {m.channel}: {run.backend} {m.got}, ONNX Runtime "
                         f"{m.expected}")
    for o in check.outputs:
        text = f"output {o.name!r} ({o.size} values) vs ONNX Runtime (unmodified model): "
        if o.differ and o.unexplained == 0:
            text += (f"{o.differ} differ, all reproduced by the run with this CPU's kernels "
                     "emulated")
        else:
            text += f"{o.unexplained} differ"
        lines.append(text)
        ok &= o.unexplained == 0 or not check.all_fused
    lines.append("VERDICT: PASS" if ok else "VERDICT: FAIL")
    return ok, "\n".join(lines)


def run_onnx_cli(args, make_backend: Callable[[QmacConfig], DenseBackend]) -> int:
    """``python -m hil.cli run x.onnx``: plan, run on the backend, check against ONNX Runtime,
    print the table and the verdict; the exit status."""
    if getattr(args, "oracle", "tflm") != "tflm":
        raise UsageError(f"--oracle {args.oracle} is for .tflite models; an ONNX model is "
                         "checked against ONNX Runtime")
    model = import_onnx(args.model, shift_only=getattr(args, "shift_only", False))
    print(model.describe_ops())
    if not args.no_oracle:
        from ..oracles.ort_kernels import probe_kernels

        print(f"oracle: {probe_kernels().describe()}")
    backend = make_backend(model.config)
    try:
        print(f"backend: {getattr(backend, 'description', backend.name)}  "
              f"config: {config_name(model.config)} ({model.config.describe()})")
        inputs = random_inputs(model.graph, args.n, args.seed)
        kind = f"{'' if model.config.in_signed else 'u'}int{model.config.in_bits}"
        print(f"inputs: {args.n} random {kind} codes, seed {args.seed}", flush=True)
        run = run_onnx(model, inputs, backend, vector_dir=args.vectors,
                       vector_rows=args.vector_rows)
    finally:
        close = getattr(backend, "close", None)
        if close is not None:
            close()
    check = None
    if not args.no_oracle:
        t0 = time.perf_counter()
        check = check_with_ort(model, run, inputs)
        print(f"ONNX Runtime: {args.n} inputs in {time.perf_counter() - t0:.2f} s")
    ok, text = report(run, check)
    if args.vectors:
        print(f"vector files: {len(list(Path(args.vectors).glob('node*.npz')))} in "
              f"{args.vectors}/ (first {args.vector_rows} rows of each layer, pyref's expected y)")
    print(text)
    return 0 if ok else 1
