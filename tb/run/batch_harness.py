"""The batch testbench's build hooks (``tb/batch/hdl/qmac_batch_tb.sv`` around the RTL, its files
and parameters from :mod:`tb.batch.wrapper`).

:data:`BATCH` is a :class:`tb.run.build.Harness`: :func:`tb.run.build.build` makes it, cached by
content like every build, in ``build/sim/<sim>/<config>-batch[-<variant>]/`` next to the
per-cycle builds. A warm run finds a matching stamp and does not touch the compiler at all.

Verilator is built for speed (variant ``fast``, the default):

- the model is optimized: ``-O3 --x-assign fast --x-initial fast``, C++ ``-O2``;
- cocotb's ``--public-flat-rw`` is dropped, so only the wrapper's control signals (marked
  ``/*verilator public_flat_rw*/``) are visible to VPI and Verilator can optimize the datapath;
- the beats reach the model through the DPI-C library ``tb/batch/hdl/qmac_batch_dpi.c``, built
  here as a shared library that the simulator is linked against and Python loads with ctypes;
- the main loop is ``tb/batch/hdl/qmac_batch_main.cpp`` (cocotb's, plus the clock and a fast path
  while a batch plays) instead of cocotb's ``verilator.cpp``; no ``--timing`` needed.

Variant ``timing`` keeps cocotb's main loop and generates the clock in the wrapper (``#5`` under
``--timing``); it exists so the benchmark can show what the fast main loop buys.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from pyref.config import QmacConfig
from tb.batch.wrapper import DPI_LIB_NAME, DPI_SOURCE, MAIN_SOURCE, TOPLEVEL, WRAPPER, parameters

from .build import (
    BUILD_ROOT,
    BuildSpec,
    Harness,
    build,
    ccache_dir,
    cocotb_runner,
    keep_shared,
    shared_dir,
    shared_files,
    simulator_product,
    verilator_runtime_objects,
    with_shared_objects,
)

VARIANTS = ("fast", "timing", "coverage")

VERILATOR_COMMON = (
    "-O3",
    "--x-assign",
    "fast",
    "--x-initial",
    "fast",
    "-Wno-fatal",
    "-Wno-lint",
    "-Wno-style",
    "-DQB_DPI",
)
VERILATOR_VARIANT = {
    "fast": ("-DQB_EXTCLK",),
    "timing": ("--timing", "-CFLAGS", "-std=c++20"),
    # RTL code coverage (make coverage): the fast main loop writes the points at the end.
    "coverage": ("-DQB_EXTCLK", "--coverage-line", "--coverage-toggle", "--coverage-expr"),
}
MAKE_FLAGS = ("OPT_FAST=-O2", "OPT_GLOBAL=-O2", "OPT_SLOW=-O1")
"""C++ optimization of the Verilated model (Verilator's default is -Os): the ``speed`` profile."""
MAKE_FLAGS_BY_PROFILE = {
    "speed": MAKE_FLAGS,
    "quick": ("OPT_FAST=-O0", "OPT_GLOBAL=-O2", "OPT_SLOW=-O0"),
}
"""Make flags per build profile (:func:`tb.run.build.build_profile`). ``OPT_GLOBAL`` (Verilator's
runtime) is the same in both, so both share one set of prebuilt runtime objects."""


def make_flags(spec: BuildSpec) -> tuple[str, ...]:
    """The make flags of the batch build ``spec`` (by its profile)."""
    return MAKE_FLAGS_BY_PROFILE[spec.profile]


def verilator_args(variant: str) -> list[str]:
    """Verilator flags of a batch build: the common ones plus those of ``variant``."""
    return [*VERILATOR_COMMON, *VERILATOR_VARIANT[variant]]


def make_spec(
    config: QmacConfig,
    sim: str,
    *,
    variant: str = "fast",
    waves: bool = False,
    rtl_dir: Path | None = None,
    build_root: Path | None = None,
    profile: str = "speed",
) -> BuildSpec:
    """The build of the batch testbench for ``config`` on ``sim``."""
    if variant not in HARNESSES:
        raise ValueError(f"variant = {variant!r} is not one of {', '.join(HARNESSES)}")
    kw = {} if rtl_dir is None else {"rtl_dir": Path(rtl_dir)}
    return BuildSpec(
        sim=sim,
        config=config,
        harness=HARNESSES[variant],
        waves=waves,
        build_root=Path(build_root or BUILD_ROOT),
        profile=profile,
        **kw,
    )


def shared_key(variant: str, spec: BuildSpec) -> dict:
    """What the shared objects of a batch build (Verilator's runtime, the DPI library) are
    compiled from, besides the tools (:func:`tb.run.build.shared_dir` adds those)."""
    return {
        "harness": f"batch-{variant}",
        "args": verilator_args(variant),
        "make": [f for f in make_flags(spec) if f.startswith("OPT_GLOBAL=")],
        "waves": spec.waves,
        "dpi": hashlib.sha256(DPI_SOURCE.read_bytes()).hexdigest(),
    }


def _fast_verilator_runner(variant: str, spec: BuildSpec):
    from cocotb_tools.runner import Verilator

    class FastVerilator(Verilator):
        """cocotb's Verilator runner without ``--public-flat-rw`` (visibility comes from the
        wrapper's metacomments), with the batch main loop and C++ -O2, the prebuilt runtime
        objects copied in and ccache as ``OBJCACHE``."""

        def _build_command(self):
            cmds = super()._build_command()
            verilate = [arg for arg in cmds[0] if arg != "--public-flat-rw"]
            if variant in ("fast", "coverage"):
                verilate = [
                    str(MAIN_SOURCE) if arg.endswith("verilator.cpp") else arg for arg in verilate
                ]
            cmds[0] = verilate
            cmds[1] = [*cmds[1], *make_flags(spec)]
            store = shared_dir(spec, shared_key(variant, spec))  # only when compiling
            return with_shared_objects(cmds, store, Path(self.build_dir), ccache_dir(spec))

    return FastVerilator()


def _runner(variant: str, spec: BuildSpec):
    """A cocotb runner for ``spec.sim`` (the fast Verilator one for ``verilator``)."""
    if spec.sim == "verilator":
        return _fast_verilator_runner(variant, spec)
    return cocotb_runner(spec)


def _meta(variant: str, spec: BuildSpec) -> dict:
    return {
        "variant": variant,
        "profile": spec.profile,
        "parameters": parameters(spec.config, spec.sim),
        "args": verilator_args(variant) if spec.sim == "verilator" else [],
        "make": make_flags(spec),
    }


def _compile(variant: str, spec: BuildSpec, runner, build_dir: Path, log: Path) -> None:
    kwargs = dict(
        sources=[str(p) for p in spec.sources],
        includes=[str(spec.rtl_dir)],
        hdl_toplevel=TOPLEVEL,
        build_dir=str(build_dir),
        parameters=parameters(spec.config, spec.sim),
        timescale=("1ns", "1ps"),
        always=True,
        waves=spec.waves,
        log_file=str(log),
    )
    if spec.sim == "verilator":
        key = shared_key(variant, spec)
        store = shared_dir(spec, key)
        lib = build_dir / DPI_LIB_NAME
        if (store / DPI_LIB_NAME).is_file() and shared_files(store):
            shutil.copyfile(store / DPI_LIB_NAME, lib)
        else:
            cc = os.environ.get("CC", "cc")
            subprocess.run(
                [cc, "-O2", "-shared", "-fPIC", "-o", str(lib), str(DPI_SOURCE)], check=True
            )
        runner.build(
            build_args=[*verilator_args(variant), "-LDFLAGS", f"{lib} -Wl,-rpath,{build_dir}"],
            **kwargs,
        )
        keep_shared(store, build_dir, [*verilator_runtime_objects(build_dir), DPI_LIB_NAME], key)
    else:
        runner.build(**kwargs)


def _harness(variant: str) -> Harness:
    return Harness(
        f"batch-{variant}",
        runner=functools.partial(_runner, variant),
        compile=functools.partial(_compile, variant),
        meta=functools.partial(_meta, variant),
        product=simulator_product,
        toplevel=TOPLEVEL,
        extra_sources=(WRAPPER,),
        digest_files=(DPI_SOURCE, MAIN_SOURCE),
        tag="batch" if variant == "fast" else f"batch-{variant}",
        profiles=tuple(MAKE_FLAGS_BY_PROFILE),
    )


HARNESSES: dict[str, Harness] = {variant: _harness(variant) for variant in VARIANTS}
"""The batch builds by variant; ``HARNESSES["fast"]`` is the one ``make sim`` uses."""
BATCH = HARNESSES["fast"]


if __name__ == "__main__":  # python -m tb.run.batch_harness [verilator|icarus] [fast|timing]
    b = build(
        make_spec(
            QmacConfig(),
            sys.argv[1] if len(sys.argv) > 1 else "verilator",
            variant=sys.argv[2] if len(sys.argv) > 2 else "fast",
        )
    )
    print(b.build_dir, "compiled" if b.compiled else "cached", f"{b.seconds:.1f} s")
