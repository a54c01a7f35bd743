"""Run an int8 ONNX model with its dense layers on a backend (the RTL, or pyref) and check it
against ONNX Runtime: ``make hil MODEL=x.onnx``.

:func:`import_onnx` plans the nodes (:mod:`hil.onnx_import` for the dense layers, config
``fp32``; :mod:`hil.onnx_ops` for the rest), :func:`run_onnx` executes them in order on a batch
of inputs (each dense layer's output, as the backend computed it, feeds the next node; with a
backend other than pyref every layer is also compared with pyref), :func:`run_ort` runs ONNX
Runtime with its default graph optimizations (which fuse the QDQ patterns into QLinear kernels)
and returns every dense layer's output and the model outputs, and :func:`compare_with_ort`
checks them all bit for bit.
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

from .backend import DenseBackend, PyrefBackend, as_backend
from .layer_batch import run_layers
from .network import LayerRun, first_mismatch
from .onnx_graph import Node, OnnxGraph, OnnxImportError, read_onnx
from .onnx_import import OnnxDense, lower_qdq, lower_qlinear, to_shift_only
from .onnx_ops import SOFTWARE_OPS

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


def ort_session_options(session_config: dict[str, str] | None = None):
    """ONNX Runtime's session options: its defaults, plus ``session_config`` entries (e.g.
    ``{"session.qdqisint8allowed": "1"}``, which makes x86 fuse int8 DQ-Conv-Q / DQ-MatMul-Q
    as ARM does by default)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    for key, value in (session_config or {}).items():
        so.add_session_config_entry(key, value)
    return so


def ort_unfused(graph: OnnxGraph, session_config: dict[str, str] | None = None) -> set[str]:
    """Output tensors of the float Conv / MatMul / Gemm nodes that are still float after ONNX
    Runtime's default graph optimizations (CPU provider): the QDQ patterns it does not fuse
    into QLinearConv / QLinearMatMul / QGemm here."""
    import tempfile

    import onnx
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        so = ort_session_options(session_config)
        so.optimized_model_filepath = f"{tmp}/optimized.onnx"
        ort.InferenceSession(graph.model_bytes, so, providers=["CPUExecutionProvider"])
        optimized = onnx.load(so.optimized_model_filepath)
    return {o for n in optimized.graph.node if n.op_type in QDQ_OPS and n.domain in ("", "ai.onnx")
            for o in n.output}


def import_onnx(source, *, check_fusion: bool = True,
                session_config: dict[str, str] | None = None, shift_only: bool = False
                ) -> OnnxModel:
    """Read a model and plan every node; refuse a model with a node nothing can run, naming
    each such node. With ``check_fusion`` (needs onnxruntime), QDQ patterns that ONNX Runtime
    (with ``session_config``, see :func:`ort_session_options`) leaves in float are marked
    (``OnnxDense.fused_by_ort``). With ``shift_only``, a model whose scales are all powers of
    two runs on the shift-only config (:func:`~hil.onnx_import.to_shift_only`)."""
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
    if problems:
        raise OnnxImportError(f"{graph.name}: cannot run this model\n  " + "\n  ".join(problems))
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
        unfused = ort_unfused(graph, session_config)
        for d in dense:
            d.fused_by_ort = not (d.float_output and d.float_output in unfused)
    return OnnxModel(graph, steps, configs.pop())


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
             vector_rows: int = 256) -> OnnxRun:
    """Execute every node in order; the dense layers on ``backend`` (default pyref).
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
            results = run_layers(be, parts, model.config)
            y = np.concatenate([r.y for r in results], axis=1)
            sats = [r.saturated for r in results]
            ref_mm, ref_first = None, None
            if ref is not None:
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


def run_ort(model: OnnxModel, inputs: Sequence[np.ndarray],
            session_config: dict[str, str] | None = None) -> dict[str, np.ndarray]:
    """ONNX Runtime's values of the model outputs and of every dense layer's output (added as
    graph outputs), with its default (full) graph optimizations, on the CPU provider."""
    import onnx
    import onnxruntime as ort
    from onnx import helper

    m = onnx.load_from_string(model.graph.model_bytes)
    have = {o.name for o in m.graph.output}
    for s in model.dense_steps:
        if s.dense.output not in have:
            m.graph.output.append(helper.make_tensor_value_info(
                s.dense.output, helper.np_dtype_to_tensor_dtype(np.dtype(s.dense.dtype)), None))
    sess = ort.InferenceSession(m.SerializeToString(), ort_session_options(session_config),
                                providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    fixed_batch = any(spec.shape and spec.shape[0] is not None for spec in model.graph.inputs)
    n = int(np.asarray(inputs[0]).shape[0])
    batches = ([[a[i:i + 1] for a in inputs] for i in range(n)] if fixed_batch
               else [list(inputs)])
    runs = [sess.run(None, {spec.name: a for spec, a in zip(model.graph.inputs, b)})
            for b in batches]
    return {name: np.concatenate([r[i] for r in runs]) for i, name in enumerate(names)}


def _rows_of(d: OnnxDense, t: np.ndarray) -> np.ndarray:
    t = np.asarray(t).astype(np.int64)
    if d.conv is None:
        return t.reshape(-1, d.c)
    return t.transpose(0, 2, 3, 1).reshape(-1, d.c)


def compare_with_ort(model: OnnxModel, run: OnnxRun, ort_values: dict[str, np.ndarray]
                     ) -> list[tuple[str, int, int]]:
    """Fill each layer's oracle mismatch fields (``tflm_*``, here meaning ONNX Runtime) and
    compare the model outputs bit for bit: ``[(output, elements, mismatches)]``."""
    for layer, step in zip(run.layers, model.dense_steps):
        d = step.dense
        layer.tflm_mismatches, layer.tflm_first = first_mismatch(
            _rows_of(d, run.tensors[d.output]), _rows_of(d, ort_values[d.output]))
    checks = []
    for spec, got in zip(model.graph.outputs, run.outputs):
        exp = ort_values[spec.name].reshape(got.shape)
        same = (got.view(np.uint32) == exp.astype(np.float32).view(np.uint32)
                if got.dtype == np.float32 else got == exp)
        checks.append((spec.name, int(got.size), int(got.size - np.count_nonzero(same))))
    return checks


def report(run: OnnxRun, checks: list[tuple[str, int, int]] | None,
           fused: list[bool] | None = None) -> tuple[bool, str]:
    """The per-layer table and the verdict lines: ``(passed, text)``. ``fused`` says per layer
    whether ONNX Runtime runs it as an integer kernel (default: all); a layer it leaves in float
    and every later one are reported but not required to match."""
    own = list(fused) if fused is not None else [True] * len(run.layers)
    fused = list(own)
    for i in range(1, len(fused)):
        fused[i] = fused[i] and fused[i - 1]
    head = ["node", "layer", "shape N x K -> C", "quant", "checked", "vs pyref", "vs ORT",
            "saturated", "cycles", "wall s"]
    rows = [[str(l.op_index), l.op, f"{l.n} x {l.k} -> {l.c}", l.quant, str(l.outputs),
             "self" if l.ref_mismatches is None else str(l.ref_mismatches),
             "-" if l.tflm_mismatches is None else str(l.tflm_mismatches),
             "-" if l.saturated is None else str(l.saturated),
             "-" if l.cycles is None else str(l.cycles), f"{l.wall:.3f}"] for l in run.layers]
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
    if checks is None:
        lines.append("ONNX Runtime oracle: not run")
    else:
        exact = [l for l, f in zip(run.layers, fused) if f]
        bad = sum(l.tflm_mismatches or 0 for l in exact)
        lines.append(f"layers vs ONNX Runtime: {bad} mismatches in "
                     f"{sum(l.outputs for l in exact)} outputs over {len(exact)} layers")
        ok &= bad == 0
        for l, f, o in zip(run.layers, fused, own):
            if not f:
                why = ("ONNX Runtime computes it in float (pattern not fused)" if not o else
                       "its input comes from a layer ONNX Runtime computes in float")
                lines.append(f"  node {l.op_index} ({l.op}): {why}; {l.tflm_mismatches} of "
                             f"{l.outputs} differ (reported, not required to match)")
            elif l.tflm_first is not None:
                m = l.tflm_first
                lines.append(f"  node {l.op_index}: first mismatch at row {m.row} channel "
                             f"{m.channel}: {run.backend} {m.got}, ONNX Runtime {m.expected}")
        for name, size, bad in checks:
            lines.append(f"output {name!r} ({size} values) vs ONNX Runtime: {bad} differ")
            ok &= bad == 0 or not all(fused)
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
    checks = None
    if not args.no_oracle:
        t0 = time.perf_counter()
        checks = compare_with_ort(model, run, run_ort(model, inputs))
        print(f"ONNX Runtime: {args.n} inputs in {time.perf_counter() - t0:.2f} s")
    ok, text = report(run, checks, [s.dense.fused_by_ort for s in model.dense_steps])
    if args.vectors:
        print(f"vector files: {len(list(Path(args.vectors).glob('node*.npz')))} in "
              f"{args.vectors}/ (first {args.vector_rows} rows of each layer, pyref's expected y)")
    print(text)
    return 0 if ok else 1
