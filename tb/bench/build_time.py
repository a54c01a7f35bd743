"""How long Verilator builds take: cold, with the shared runtime warm, after a one-line RTL edit.

Builds the batch harness in a scratch build root (``build/bench/build-time/``, emptied first) on
a copy of the RTL, with its own ccache folder, so nothing cached elsewhere helps:

1. ``cold``: nothing cached (the runtime, the DPI library, the model, the main loop compile);
2. ``warm runtime``: another config (``lanes1``): the runtime objects come from the shared store,
   the model and the main loop compile (ccache has never seen them);
3. ``RTL edit (ccache)`` / ``RTL edit (no ccache)``: one line added to ``rtl/qmac.v`` (a
   ``$display`` behind a plusarg, so the model's C++ changes), rebuilt with and without ccache;
4. ``no change``: the digest matches, nothing runs.

Prints wall and CPU seconds (the build's child processes) and the load average of each step:
the machine is shared, wall time moves with the load, CPU time much less.
``python -m tb.bench.build_time [--profile quick|speed]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import shutil
import time
from pathlib import Path

from pyref.config import QmacConfig, named_config
from tb.run import toolchain
from tb.run.batch_harness import make_spec
from tb.run.build import BUILD_PROFILES, REPO_ROOT, build, copy_rtl

SCRATCH = REPO_ROOT / "build" / "bench" / "build-time"
EDIT = '  initial if ($test$plusargs("qmac_edit_probe")) $display("edit {k}");\n'


@dataclasses.dataclass
class BuildTiming:
    step: str
    wall_s: float
    cpu_s: float
    load: float
    compiled: bool

    def line(self) -> str:
        what = "built" if self.compiled else "reused"
        return (
            f"  {self.step:22s} {self.wall_s:6.1f} s wall  {self.cpu_s:5.1f} s CPU  "
            f"({what}, load {self.load:.1f})"
        )


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _timed(step: str, spec) -> BuildTiming:
    load = os.getloadavg()[0]
    c0, t0 = _children_cpu(), time.perf_counter()
    b = build(spec)
    return BuildTiming(step, time.perf_counter() - t0, _children_cpu() - c0, load, b.compiled)


def _set_ccache(on: bool) -> None:
    if on:
        os.environ.pop(toolchain.CCACHE_ENV, None)
    else:
        os.environ[toolchain.CCACHE_ENV] = "0"
    toolchain.ccache_binary.cache_clear()


def measure(profile: str = "quick", scratch: Path = SCRATCH) -> list[BuildTiming]:
    """The build timings above, in a fresh ``scratch`` folder."""
    shutil.rmtree(scratch, ignore_errors=True)
    rtl = copy_rtl(scratch / "rtl")
    root = scratch / "sim"
    saved = {k: os.environ.get(k) for k in ("CCACHE_DIR", toolchain.CCACHE_ENV)}
    os.environ["CCACHE_DIR"] = str(scratch / "ccache")
    top = rtl / "qmac.v"
    text = top.read_text()

    def spec(config=None):
        return make_spec(
            config or QmacConfig(), "verilator", rtl_dir=rtl, build_root=root, profile=profile
        )

    def edit(k: int) -> None:
        top.write_text(text.replace("\nendmodule", "\n" + EDIT.format(k=k) + "endmodule", 1))

    out = []
    try:
        _set_ccache(True)
        out.append(_timed("cold", spec()))
        out.append(_timed("warm runtime (lanes1)", spec(named_config("lanes1"))))
        edit(1)
        out.append(_timed("RTL edit (ccache)", spec()))
        _set_ccache(False)
        edit(2)
        out.append(_timed("RTL edit (no ccache)", spec()))
        _set_ccache(True)
        out.append(_timed("no change", spec()))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        toolchain.ccache_binary.cache_clear()
    return out


def report(timings: list[BuildTiming], profile: str) -> str:
    ccache = toolchain.ccache_binary() or "none"
    return "\n".join(
        [
            f"Verilator batch build of the default config, profile {profile} (ccache: {ccache}):",
            *(t.line() for t in timings),
        ]
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", choices=BUILD_PROFILES, default="quick")
    args = ap.parse_args(argv)
    toolchain.use_simulator("verilator")
    print(report(measure(args.profile), args.profile))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
