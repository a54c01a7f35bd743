"""The values of a failed proof's counterexample: the witness's inputs (``trace.yw``) and the
miter's outputs on both sides (``trace.vcd``)."""

from __future__ import annotations

import json
from pathlib import Path


def witness_inputs(workdir: Path) -> dict[str, int]:
    """The input values of the counterexample (step 0 of ``engine_0/trace.yw``), by port name
    (``v_i``); the witness lists its bits last signal first, bit 0 of the first signal last."""
    data = json.loads((Path(workdir) / "engine_0" / "trace.yw").read_text())
    bits = data["steps"][0]["bits"][::-1]
    out, lo = {}, 0
    for sig in data["signals"]:
        name, width = sig["path"][-1].lstrip("\\").rsplit(".", 1)[-1], sig["width"]
        out[name.removeprefix("in_")] = int(bits[lo : lo + width][::-1] or "0", 2)
        lo += width
    return out


def _top_level_vcd(workdir: Path):
    """The events of ``engine_0/trace.vcd`` at the top scope: ``("var", ident, name)``,
    ``("time", t)`` and ``("value", ident, bits)`` (bits as written, x and z included)."""
    depth = 0
    for line in (Path(workdir) / "engine_0" / "trace.vcd").read_text().split("\n"):
        if line.startswith("$scope"):
            depth += 1
        elif line.startswith("$upscope"):
            depth -= 1
        elif line.startswith("$var") and depth == 1:
            _, _, _, ident, name, *_ = line.split()
            yield "var", ident, name
        elif line.startswith("#") and line[1:].strip():
            yield "time", int(line[1:])
        elif line[:1] == "b":
            value, ident = line[1:].split()
            yield "value", ident, value
        elif line[:1] in ("0", "1", "x", "z") and len(line) > 1:
            yield "value", line[1:], line[0]


def trace_outputs(workdir: Path) -> dict[str, dict[str, int]]:
    """The miter's outputs at step 0 of ``engine_0/trace.vcd``: ``gold`` (the RTL module, the
    first of ``miter -equiv``) and ``gate`` (the spec), by port name (an X value left out)."""
    ids, out = {}, {"gold": {}, "gate": {}}
    for kind, *rest in _top_level_vcd(workdir):
        if kind == "var":
            ident, name = rest
            side, _, port = name.partition("_")
            if side in out:
                ids[ident] = (side, port)
        elif kind == "time" and rest[0] != 0:
            break  # only step 0
        elif kind == "value" and rest[0] in ids and set(rest[1]) <= {"0", "1"}:
            side, port = ids[rest[0]]
            out[side][port] = int(rest[1], 2)
    return out


def signed(v: int, bits: int) -> int:
    """The two's complement value of a ``bits``-bit unsigned integer."""
    return v - (1 << bits) if v >> (bits - 1) & 1 else v


def trace_steps(workdir: Path, names: tuple[str, ...]) -> list[dict[str, int]]:
    """The top-level signals ``names`` of ``engine_0/trace.vcd`` at each step (smtbmc writes
    step k at time 10k, the clock edge between at 10k + 5), by name; X or Z read as 0."""
    ids, now, t, snaps = {}, {}, None, {}
    for kind, *rest in _top_level_vcd(workdir):
        if kind == "var" and rest[1] in names:
            ids.setdefault(rest[0], []).append(rest[1])
        elif kind == "time":
            if t is not None:
                snaps[t] = dict(now)
            t = rest[0]
        elif kind == "value":
            for name in ids.get(rest[0], []):
                now[name] = int(rest[1].replace("x", "0").replace("z", "0"), 2)
    if t is not None:
        snaps[t] = dict(now)
    return [snaps[k] for k in sorted(snaps) if k % 10 == 0]
