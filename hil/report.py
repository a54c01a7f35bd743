"""The check and its report, for every oracle: backend vs pyref per layer (done by the
executor), every datapath layer and the model outputs vs the oracle, a per-layer table and a
verdict. The oracle's name (TFLite Micro, LiteRT, ONNX Runtime) comes in as an argument."""

from __future__ import annotations

import dataclasses

import numpy as np

from .executor import NetworkRun, first_mismatch
from .oracles.api import LITERT, ORT, TFLM, OracleResult
from .oracles.ort_check import OrtCheck

SHORT_NAMES = {TFLM: "TFLM", LITERT: "LiteRT", ORT: "ORT"}
"""The table's column name of each oracle."""


@dataclasses.dataclass
class OutputCheck:
    """One model output compared with the oracle."""

    name: str
    dtype: str
    elements: int
    mismatches: int
    max_abs_diff: float


@dataclasses.dataclass
class Verdict:
    """PASS/FAIL of a network run and the lines that explain it."""

    passed: bool
    lines: list[str]


def compare_with_oracle(
    run: NetworkRun, oracle: OracleResult, output_names: list[str], dense_output_tensors: list[int]
) -> list[OutputCheck]:
    """Fill each layer's ``tflm_mismatches`` (the oracle's) and compare the model outputs (bit
    for bit; floats too, since the oracles' DEQUANTIZE is reproduced exactly)."""
    for layer, t in zip(run.layers, dense_output_tensors):
        if t in oracle.tensors and t in run.tensors:
            # (rows, channels) of the operator's output tensor: its last axis is the channels
            got_a = run.tensors[t].array
            got = got_a.reshape(-1, got_a.shape[-1]).astype(np.int64)
            exp = oracle.tensors[t].reshape(got.shape).astype(np.int64)
            layer.tflm_mismatches, layer.tflm_first = first_mismatch(got, exp)
    checks = []
    for name, got_v, exp in zip(output_names, run.outputs, oracle.outputs):
        got = got_v.array
        exp = exp.reshape(got.shape)
        if got.dtype.kind == "f":
            same = (
                (got.view(np.uint32) == exp.astype(got.dtype).view(np.uint32))
                if got.dtype == np.float32
                else (got == exp)
            )
        else:
            same = got.astype(np.int64) == exp.astype(np.int64)
        diff = np.abs(got.astype(np.float64) - exp.astype(np.float64))
        checks.append(
            OutputCheck(
                name,
                str(got.dtype),
                int(got.size),
                int(got.size - np.count_nonzero(same)),
                float(diff.max()) if diff.size else 0.0,
            )
        )
    return checks


CLAMP_NOTE = (
    "* clamped: outputs the output clamp changed, the fused activation's clamp (RELU, "
    "RELU6, ...) included; beyond act.: those clamped at a limit of the output range "
    "that the activation leaves open (overflow)"
)


def _fmt(v, width: int = 0) -> str:
    return "-" if v is None else str(v)


def layer_table(run: NetworkRun, oracle: str = TFLM) -> str:
    """The per-layer table: shape, quantization, outputs checked, mismatches (vs pyref, vs the
    ``oracle``), saturation, cycles, wall time."""
    head = [
        "op",
        "layer",
        "shape N x K -> C",
        "quant",
        "checked",
        "vs pyref",
        f"vs {SHORT_NAMES.get(oracle, oracle)}",
        "clamped*",
        "beyond act.",
        "cycles",
        "beats",
        "wall s",
    ]
    rows = []
    for l in run.layers:
        rows.append(
            [
                str(l.op_index),
                l.op,
                f"{l.n} x {l.k} -> {l.c}",
                l.quant,
                str(l.outputs),
                "self" if l.ref_mismatches is None else str(l.ref_mismatches),
                _fmt(l.tflm_mismatches),
                _fmt(l.saturated),
                _fmt(l.beyond_activation),
                _fmt(l.cycles),
                str(l.beats),
                f"{l.wall:.3f}",
            ]
        )
    return "\n".join(_table(head, rows) + [CLAMP_NOTE])


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    """Columns padded to their widest cell, a rule under the head."""
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)
    ]
    lines = [
        "  ".join(h.ljust(w) for h, w in zip(head, widths)),
        "  ".join("-" * w for w in widths),
    ]
    return lines + ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]


def verdict(run: NetworkRun, outputs: list[OutputCheck] | None, oracle: str = TFLM) -> Verdict:
    """PASS when the backend equals pyref on every layer and, where the ``oracle`` ran, every
    checked layer and every model output equals it bit for bit."""
    lines = []
    ok = True
    total = sum(l.outputs for l in run.layers)
    if run.backend == "pyref":
        lines.append(f"datapath layers ran on pyref ({total} outputs); no RTL leg in this run")
    else:
        bad = sum(l.ref_mismatches or 0 for l in run.layers)
        lines.append(
            f"{run.backend} vs pyref: {bad} mismatches in {total} outputs over "
            f"{len(run.layers)} layers"
        )
        ok &= bad == 0
        for l in run.layers:
            if l.ref_first is not None:
                m = l.ref_first
                lines.append(
                    f"  op {l.op_index}: first mismatch at row {m.row} channel "
                    f"{m.channel}: {run.backend} {m.got}, pyref {m.expected}"
                )
    checked = [l for l in run.layers if l.tflm_mismatches is not None]
    if checked:
        bad = sum(l.tflm_mismatches for l in checked)
        lines.append(
            f"layers vs {oracle}: {bad} mismatches in "
            f"{sum(l.outputs for l in checked)} outputs over {len(checked)} layers"
        )
        ok &= bad == 0
        for l in checked:
            if l.tflm_first is not None:
                m = l.tflm_first
                lines.append(
                    f"  op {l.op_index}: first mismatch at row {m.row} channel "
                    f"{m.channel}: {run.backend} {m.got}, {oracle} {m.expected}"
                )
    if outputs is not None:
        for o in outputs:
            lines.append(
                f"output {o.name!r} ({o.dtype}, {o.elements} values) vs {oracle}: "
                f"{o.mismatches} differ (max |diff| {o.max_abs_diff:g})"
            )
            ok &= o.mismatches == 0
    else:
        lines.append(f"{oracle} oracle: not run")
    lines.insert(0, "VERDICT: PASS" if ok else "VERDICT: FAIL")
    return Verdict(ok, lines)


def ort_report(run: NetworkRun, check: OrtCheck | None) -> tuple[bool, str]:
    """The per-layer table and the verdict lines of an ONNX Runtime check: ``(passed, text)``."""
    v = ort_verdict(run, check)
    return v.passed, ort_table(run, check) + "\n" + "\n".join(v.lines)


def ort_table(run: NetworkRun, check: OrtCheck | None) -> str:
    """The per-layer table of an ONNX Runtime check: differences and the ones this CPU's
    kernels explain."""
    by_node = {} if check is None else {c.node: c for c in check.layers}
    head = [
        "node",
        "layer",
        "shape N x K -> C",
        "quant",
        "checked",
        "vs pyref",
        f"vs {SHORT_NAMES[ORT]}",
        "explained",
        "saturated",
        "cycles",
        "wall s",
    ]
    rows = []
    for l in run.layers:
        c = by_node.get(l.op_index)
        rows.append(
            [
                str(l.op_index),
                l.op,
                f"{l.n} x {l.k} -> {l.c}",
                l.quant,
                str(l.outputs),
                "self" if l.ref_mismatches is None else str(l.ref_mismatches),
                "-" if c is None else str(c.differ),
                "-" if c is None else str(c.explained),
                "-" if l.saturated is None else str(l.saturated),
                "-" if l.cycles is None else str(l.cycles),
                f"{l.wall:.3f}",
            ]
        )
    return "\n".join(_table(head, rows))


def ort_verdict(run: NetworkRun, check: OrtCheck | None) -> Verdict:
    """PASS when the backend equals pyref and every difference from ONNX Runtime is explained
    by this CPU's kernels. A layer ONNX Runtime runs in float, and every layer after it, is
    reported but not required to match."""
    fused = [True] * len(run.layers) if check is None else [c.fused for c in check.layers]
    chain = list(fused)
    for i in range(1, len(chain)):
        chain[i] = chain[i] and chain[i - 1]
    lines: list[str] = []
    ok = True
    total = sum(l.outputs for l in run.layers)
    if run.backend != "pyref":
        bad = sum(l.ref_mismatches or 0 for l in run.layers)
        lines.append(f"{run.backend} vs pyref: {bad} mismatches in {total} outputs")
        ok &= bad == 0
    if check is None:
        lines.append(f"{ORT} oracle: not run")
        lines.append("VERDICT: PASS" if ok else "VERDICT: FAIL")
        return Verdict(ok, lines)
    required = [c for c, f in zip(check.layers, chain) if f]
    differ = sum(c.differ for c in required)
    explained = sum(c.explained for c in required)
    lines.append(
        f"layers vs {ORT}: {differ - explained} unexplained differences in "
        f"{sum(c.outputs for c in required)} outputs over {len(required)} layers"
        + (
            f" ({explained} differ where this CPU's kernel clips product pairs, each "
            "reproduced by its emulation; the hardware adds exactly)"
            if explained
            else ""
        )
    )
    ok &= differ == explained
    for c, f in zip(check.layers, chain):
        if not f:
            why = (
                f"{ORT} computes it in float (pattern not fused)"
                if not c.fused
                else f"its input comes from a layer {ORT} computes in float"
            )
            lines.append(
                f"  node {c.node} ({c.kernel}): {why}; {c.differ} of {c.outputs} "
                "differ (reported, not required to match)"
            )
        elif c.first is not None:
            m = c.first
            lines.append(
                f"  node {c.node} ({c.kernel}): first unexplained difference at row "
                f"{m.row} channel {m.channel}: {run.backend} {m.got}, {ORT} {m.expected}"
            )
    for o in check.outputs:
        text = f"output {o.name!r} ({o.size} values) vs {ORT} (unmodified model): "
        if o.differ and o.unexplained == 0:
            text += f"{o.differ} differ, all reproduced by the run with this CPU's kernels emulated"
        else:
            text += f"{o.unexplained} differ"
        lines.append(text)
        ok &= o.unexplained == 0 or not check.all_fused
    lines.append("VERDICT: PASS" if ok else "VERDICT: FAIL")
    return Verdict(ok, lines)
