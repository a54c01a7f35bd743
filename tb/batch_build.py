"""Build of the batch testbench (``tb/hdl/qmac_batch_tb.sv`` around the RTL), cached by content.

A build lives in ``build/sim/<sim>/<config>-batch[-<variant>]/`` (next to the per-cycle builds of
:mod:`tb.build`, described by the same :class:`tb.build.BuildSpec`). A stamp there records a digest of everything the build depends on: the RTL and
harness sources, the parameters, the flags, the simulator and cocotb versions. A warm run finds a
matching stamp and does not touch the simulator's compiler at all.

Verilator is built for speed (variant ``fast``, the default):

- the model is optimized: ``-O3 --x-assign fast --x-initial fast``, C++ ``-O2``;
- cocotb's ``--public-flat-rw`` is dropped, so only the wrapper's control signals (marked
  ``/*verilator public_flat_rw*/``) are visible to VPI and Verilator can optimize the datapath;
- the beats reach the model through the DPI-C library ``tb/hdl/qmac_batch_dpi.c``, built here as
  a shared library that the simulator is linked against and Python loads with ctypes;
- the main loop is ``tb/hdl/qmac_batch_main.cpp`` (cocotb's, plus the clock and a fast path
  while a batch plays) instead of cocotb's ``verilator.cpp``; no ``--timing`` needed.

Variant ``timing`` keeps cocotb's main loop and generates the clock in the wrapper (``#5`` under
``--timing``); it exists so the benchmark can show what the fast main loop buys.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from pyref.config import QmacConfig

from . import toolchain
from .build import (BUILD_ROOT, STAMP_NAME, Build, BuildSpec, build_lock, log_tail, rtl_headers,
                    stamp_matches)

HDL_DIR = Path(__file__).resolve().parent / "hdl"
WRAPPER = HDL_DIR / "qmac_batch_tb.sv"
DPI_SOURCE = HDL_DIR / "qmac_batch_dpi.c"
MAIN_SOURCE = HDL_DIR / "qmac_batch_main.cpp"
TOPLEVEL = "qmac_batch_tb"
DPI_LIB_NAME = "libqmac_batch_dpi.so"
SIMULATORS = ("verilator", "icarus")
VARIANTS = ("fast", "timing")
HARNESS_VERSION = 1
"""Bump when the way batch builds are made changes in a way the digest cannot see."""

VERILATOR_COMMON = ("-O3", "--x-assign", "fast", "--x-initial", "fast",
                    "-Wno-fatal", "-Wno-lint", "-Wno-style", "-DQB_DPI")
VERILATOR_VARIANT = {
    "fast": ("-DQB_EXTCLK",),
    "timing": ("--timing", "-CFLAGS", "-std=c++20"),
}
MAKE_FLAGS = ("OPT_FAST=-O2", "OPT_GLOBAL=-O2", "OPT_SLOW=-O1")
"""C++ optimization of the Verilated model (Verilator's default is -Os)."""

ICARUS_DEPTHS = {"MAX_BEATS": 16384, "MAX_JOBS": 16384, "MAX_CYCLES": 65536, "PAT_LEN": 65536}
"""Memory depths of the file transport on Icarus; a batch never exceeds them."""


def parameters(config: QmacConfig, sim: str) -> dict[str, int]:
    """Verilog parameters of the wrapper for ``config`` (plus the memory depths on Icarus)."""
    params = dict(config.rtl_parameters())
    if sim == "icarus":
        params.update(ICARUS_DEPTHS)
    return params


def verilator_args(variant: str) -> list[str]:
    """Verilator flags of a batch build: the common ones plus those of ``variant``."""
    return [*VERILATOR_COMMON, *VERILATOR_VARIANT[variant]]


def variant_of(spec: BuildSpec) -> str:
    """``fast``, or the variant a build tag ``batch-<variant>`` names."""
    return spec.tag.split("-", 1)[1] if "-" in spec.tag else "fast"


def make_spec(config: QmacConfig, sim: str, *, variant: str = "fast", waves: bool = False,
              rtl_dir: Path | None = None, build_root: Path | None = None) -> BuildSpec:
    """The build of the batch testbench for ``config`` on ``sim``."""
    if variant not in VARIANTS:
        raise ValueError(f"variant = {variant!r} is not one of {', '.join(VARIANTS)}")
    kw = {} if rtl_dir is None else {"rtl_dir": Path(rtl_dir)}
    return BuildSpec(sim=sim, config=config, toplevel=TOPLEVEL, extra_sources=(WRAPPER,),
                     waves=waves, tag="batch" if variant == "fast" else f"batch-{variant}",
                     build_root=Path(build_root or BUILD_ROOT), **kw)


def digest(spec: BuildSpec) -> str:
    """Hash of everything a build depends on."""
    import cocotb

    variant = variant_of(spec)
    h = hashlib.sha256()
    for path in [*spec.sources, *rtl_headers(spec.rtl_dir), DPI_SOURCE, MAIN_SOURCE]:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    meta = {"sim": spec.sim, "variant": variant, "parameters": parameters(spec.config, spec.sim),
            "args": verilator_args(variant) if spec.sim == "verilator" else [],
            "make": MAKE_FLAGS, "waves": spec.waves, "harness": HARNESS_VERSION,
            "cocotb": cocotb.__version__, "simulator": toolchain.simulator_version(spec.sim)}
    h.update(json.dumps(meta, sort_keys=True).encode())
    return h.hexdigest()


def _fast_verilator_runner(variant: str):
    from cocotb_tools.runner import Verilator

    class FastVerilator(Verilator):
        """cocotb's Verilator runner without ``--public-flat-rw`` (visibility comes from the
        wrapper's metacomments), with the batch main loop and C++ -O2."""

        def _build_command(self):
            cmds = super()._build_command()
            verilate = [arg for arg in cmds[0] if arg != "--public-flat-rw"]
            if variant == "fast":
                verilate = [str(MAIN_SOURCE) if arg.endswith("verilator.cpp") else arg
                            for arg in verilate]
            cmds[0] = verilate
            cmds[1] = [*cmds[1], *MAKE_FLAGS]
            return cmds

    return FastVerilator()


def get_runner(sim: str, variant: str = "fast"):
    """A cocotb runner for ``sim`` (the fast Verilator one for ``verilator``)."""
    from cocotb_tools.runner import get_runner as cocotb_runner

    toolchain.use_simulator(sim)
    if sim == "verilator":
        return _fast_verilator_runner(variant)
    return cocotb_runner("icarus")


def build(spec: BuildSpec, *, force: bool = False, verbose: bool = False) -> Build:
    """Build the batch testbench of ``spec`` (see :func:`make_spec`) unless an identical build
    exists; the :attr:`tb.run.Transport.builder` of ``mode="batch"``."""
    if spec.sim not in SIMULATORS:
        raise ValueError(f"sim = {spec.sim!r} is not one of {', '.join(SIMULATORS)}")
    variant = variant_of(spec)
    t0 = time.perf_counter()
    toolchain.use_simulator(spec.sim)
    os.environ.pop("WAVES", None)  # the runner lets $WAVES override the argument
    runner = get_runner(spec.sim, variant)
    bdir = spec.build_dir.resolve()
    stamp = bdir / STAMP_NAME
    product = bdir / (TOPLEVEL if spec.sim == "verilator" else "sim.vvp")
    with build_lock(bdir.parent / f".{bdir.name}.lock"):
        key = digest(spec)
        if not force and product.exists() and stamp_matches(stamp, key):
            return Build(spec, runner, compiled=False, seconds=time.perf_counter() - t0)
        if bdir.exists():
            shutil.rmtree(bdir)
        bdir.mkdir(parents=True)
        log = bdir / "build.log"
        kwargs = dict(
            sources=[str(p) for p in spec.sources], includes=[str(spec.rtl_dir)],
            hdl_toplevel=TOPLEVEL, build_dir=str(bdir),
            parameters=parameters(spec.config, spec.sim), timescale=("1ns", "1ps"),
            always=True, waves=spec.waves, verbose=verbose,
            log_file=None if verbose else str(log),
        )
        try:
            if spec.sim == "verilator":
                lib = bdir / DPI_LIB_NAME
                cc = os.environ.get("CC", "cc")
                subprocess.run([cc, "-O2", "-shared", "-fPIC", "-o", str(lib), str(DPI_SOURCE)],
                               check=True)
                runner.build(build_args=[*verilator_args(variant), "-LDFLAGS",
                                         f"{lib} -Wl,-rpath,{bdir}"], **kwargs)
            else:
                runner.build(**kwargs)
        except (RuntimeError, SystemExit, subprocess.CalledProcessError) as exc:
            raise RuntimeError(f"batch build for {spec.sim} failed ({exc}); log: {log}\n"
                               f"{log_tail(log)}") from None
        if not product.exists():
            raise RuntimeError(f"batch build for {spec.sim} left no {product.name}; log: {log}\n"
                               f"{log_tail(log)}")
        stamp.write_text(json.dumps({"digest": key, "config": spec.config.to_dict(),
                                     "sim": spec.sim, "variant": variant,
                                     "sources": [str(p) for p in spec.sources]}, indent=1))
    return Build(spec, runner, compiled=True, seconds=time.perf_counter() - t0)


if __name__ == "__main__":  # python -m tb.batch_build [verilator|icarus] [fast|timing]
    b = build(make_spec(QmacConfig(), sys.argv[1] if len(sys.argv) > 1 else "verilator",
                        variant=sys.argv[2] if len(sys.argv) > 2 else "fast"), verbose=True)
    print(b.build_dir, "compiled" if b.compiled else "cached", f"{b.seconds:.1f} s")
