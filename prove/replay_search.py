"""The replay searches' common part: a harness of ``prove/replay/`` (a job's values as its
inputs, the RTL module in the spec's chain, ``assert`` the chain's r equals the spec's) read
with the RTL and the spec, its parameters set, and a depth-1 BMC whose counterexample, read
from the witness, is the job."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from . import miter, sby
from .witness import witness_inputs

REPLAY_DIR = Path(__file__).resolve().parent / "replay"


def task_text(
    top: str,
    params: Mapping[str, int],
    rtl_dir: Path,
    solver: str,
    extra: Mapping[str, Path] | None = None,
    define: str = "",
) -> str:
    """The .sby file of the harness ``top`` (``prove/replay/<top>.v``) on the RTL of
    ``rtl_dir``, the spec read with its shared product (one multiplier cell); ``extra``: more
    files of the task's src/ folder (``replay/<name>``, includes), ``define``: a macro set."""
    files = miter.sources(rtl_dir)
    files[f"replay/{top}.v"] = REPLAY_DIR / f"{top}.v"
    files.update(extra or {})
    rtl = " ".join(f for f in files if f.startswith("rtl/") and f.endswith(".v"))
    spec = " ".join(f for f in files if f.startswith("spec/"))
    # chparam takes no negative numbers: the harnesses' parameters are magnitudes
    sets = " ".join(f"-set {k} {int(v)}" for k, v in params.items())
    script = "\n".join(
        [
            # the pipeline registers as wires, as in the module proofs (prove/miter.py)
            f"read_verilog -D QMAC_COMB_PIPE -I rtl {rtl}",
            "read_verilog -formal -I replay -D QMAC_SHARED_PRODUCT "
            + (f"-D {define} " if define else "")
            + f"{spec} replay/{top}.v",
            f"chparam {sets} {top}",
            f"hierarchy -check -top {top}",
            "proc",
            "flatten",
            f"prep -top {top}",
        ]
    )
    return sby.sby_text(script, files, mode="bmc", depth=1, solver=solver)


def candidates_vh(rows: list[dict[str, tuple[int, int]]]) -> str:
    """A ``candidates.vh`` of a harness: one assume, the inputs one of ``rows`` (each a port name
    to ``(width, value)``, the value taken modulo ``2^width``)."""
    terms = [
        "(" + " && ".join(f"{k} == {w}'h{v % (1 << w):x}" for k, (w, v) in row.items()) + ")"
        for row in rows
    ]
    return "always @* assume (" + "\n    || ".join(terms or ["1'b0"]) + ");\n"


def with_candidates(
    work: Path, slug: str, rows: list[dict[str, tuple[int, int]]]
) -> tuple[dict[str, Path], str]:
    """``candidates.vh`` of ``rows`` written to ``work``: the ``extra`` and ``define`` of
    :func:`run` that limit the search to them."""
    vh = Path(work) / (slug + "_candidates.vh")
    vh.parent.mkdir(parents=True, exist_ok=True)
    vh.write_text(candidates_vh(rows))
    return {"replay/candidates.vh": vh}, "QMAC_REPLAY_CANDIDATES"


def run(
    top: str,
    params: Mapping[str, int],
    rtl_dir: Path,
    task: Path,
    solver: str = "yices",
    timeout: float = 600,
    extra: Mapping[str, Path] | None = None,
    define: str = "",
) -> tuple[str, dict[str, int] | None]:
    """The search's status (``failed``: a job found; ``proven``: there is none; ``timeout``,
    ``error``) and the job's input values by port name."""
    text = task_text(top, params, rtl_dir, solver, extra, define)
    out = sby.run(task, text, timeout=timeout, complete=True)
    if out.status != sby.FAILED:
        return out.status, None
    return out.status, witness_inputs(out.workdir)
