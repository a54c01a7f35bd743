"""The three-way check and its report: backend vs pyref per layer (done by the executor),
every datapath layer and the final outputs vs TFLite Micro, a per-layer table and a verdict."""

from __future__ import annotations

import dataclasses

import numpy as np

from .executor import NetworkRun, first_mismatch
from .oracles.tflm import OracleResult


@dataclasses.dataclass
class OutputCheck:
    """One model output compared with TFLite Micro."""

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


def compare_with_oracle(run: NetworkRun, oracle: OracleResult, output_names: list[str],
                        dense_output_tensors: list[int]) -> list[OutputCheck]:
    """Fill each layer's ``tflm_mismatches`` and compare the model outputs (bit for bit; floats
    too, since TFLite Micro's DEQUANTIZE is reproduced exactly)."""
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
            same = (got.view(np.uint32) == exp.astype(got.dtype).view(np.uint32)) if got.dtype == np.float32 \
                else (got == exp)
        else:
            same = got.astype(np.int64) == exp.astype(np.int64)
        diff = np.abs(got.astype(np.float64) - exp.astype(np.float64))
        checks.append(OutputCheck(name, str(got.dtype), int(got.size), int(got.size - np.count_nonzero(same)),
                                  float(diff.max()) if diff.size else 0.0))
    return checks


def _fmt(v, width: int = 0) -> str:
    return "-" if v is None else str(v)


def layer_table(run: NetworkRun) -> str:
    """The per-layer table: shape, quantization, outputs checked, mismatches, saturation,
    cycles, wall time."""
    head = ["op", "layer", "shape N x K -> C", "quant", "checked", "vs pyref", "vs TFLM",
            "saturated", "cycles", "beats", "wall s"]
    rows = []
    for l in run.layers:
        rows.append([
            str(l.op_index), l.op, f"{l.n} x {l.k} -> {l.c}", l.quant, str(l.outputs),
            "self" if l.ref_mismatches is None else str(l.ref_mismatches),
            _fmt(l.tflm_mismatches), _fmt(l.saturated), _fmt(l.cycles), str(l.beats), f"{l.wall:.3f}",
        ])
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)


def verdict(run: NetworkRun, outputs: list[OutputCheck] | None) -> Verdict:
    """PASS when the backend equals pyref on every layer and, where TFLite Micro ran, every
    checked layer and every model output equals TFLite Micro bit for bit."""
    lines = []
    ok = True
    total = sum(l.outputs for l in run.layers)
    if run.backend == "pyref":
        lines.append(f"datapath layers ran on pyref ({total} outputs); no RTL leg in this run")
    else:
        bad = sum(l.ref_mismatches or 0 for l in run.layers)
        lines.append(f"{run.backend} vs pyref: {bad} mismatches in {total} outputs over "
                     f"{len(run.layers)} layers")
        ok &= bad == 0
        for l in run.layers:
            if l.ref_first is not None:
                m = l.ref_first
                lines.append(f"  op {l.op_index}: first mismatch at row {m.row} channel {m.channel}: "
                             f"{run.backend} {m.got}, pyref {m.expected}")
    checked = [l for l in run.layers if l.tflm_mismatches is not None]
    if checked:
        bad = sum(l.tflm_mismatches for l in checked)
        lines.append(f"layers vs TFLite Micro: {bad} mismatches in {sum(l.outputs for l in checked)} "
                     f"outputs over {len(checked)} layers")
        ok &= bad == 0
        for l in checked:
            if l.tflm_first is not None:
                m = l.tflm_first
                lines.append(f"  op {l.op_index}: first mismatch at row {m.row} channel {m.channel}: "
                             f"{run.backend} {m.got}, TFLite Micro {m.expected}")
    if outputs is not None:
        for o in outputs:
            lines.append(f"output {o.name!r} ({o.dtype}, {o.elements} values) vs TFLite Micro: "
                         f"{o.mismatches} differ (max |diff| {o.max_abs_diff:g})")
            ok &= o.mismatches == 0
    else:
        lines.append("TFLite Micro oracle: not run")
    lines.insert(0, "VERDICT: PASS" if ok else "VERDICT: FAIL")
    return Verdict(ok, lines)
