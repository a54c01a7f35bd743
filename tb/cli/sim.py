"""``python -m tb.cli.sim``: run the RTL against pyref and print a short summary (``make sim``).

Options are given like make variables (``SIM=icarus CONFIG=tflite SEED=3``) or as
``--sim icarus --config tflite --seed 3``:

====================  ===========================================================================
SIM                   ``verilator`` or ``icarus``
CONFIG                a named config (``default``, ``tflite`` ... see pyref.config.NAMED_CONFIGS)
LANES, IN_BITS, ...   override fields of the config (upper-case names of docs/interface.md;
                      ACC_MODE and ROUNDING take names or their Verilog codes)
SEED                  the run's seed (default: a fresh one, printed)
N                     outputs to generate and check
WAVES=1               record a waveform (FST with Icarus, VCD with Verilator) and print its path
VECTORS=file.npz      replay a vector file and check its expected outputs
TRACE=file.npz        drive a cycle trace (every input port, cycle by cycle: a failed protocol
                      proof's counterexample) and check the protocol (MODE=cycle)
MODE                  transport: ``batch`` (the fastest, tb/batch/) or ``cycle`` (Python drives
                      every clock cycle)
IDLE, READY           handshake patterns (tb.shared.patterns.PATTERNS)
RESETS                mid-job resets in the run
COVERAGE=1            print every coverage bin
RTL=dir               simulate the Verilog files of another folder (top module ``qmac``)
====================  ===========================================================================

Options left out take their value from :data:`tb.shared.defaults.RUN_DEFAULTS`.

Exit status (:mod:`tb.cli.errors`): 0 all outputs right, 1 mismatches, 2 bad options (checked
before anything is built), 3 build or simulator failure, 4 a bug in qmac, 130 interrupted.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import secrets
import sys
from pathlib import Path

from pyref.checks import ShapeError, ValueRangeError
from pyref.config import ACC_MODES, NAMED_CONFIGS, ROUNDING_MODES, ConfigError, QmacConfig
from pyref.vectors import VectorFileError
from tb.run.build import BUILD_ROOT, RTL_DIR, BuildFailed, config_name
from tb.run.toolchain import SIMULATORS, SimulatorMissing
from tb.shared.cycle_trace import TraceFileError
from tb.shared.defaults import RUN_DEFAULTS
from tb.shared.job import SimJob
from tb.shared.patterns import PATTERNS

from . import errors
from .errors import ArgumentParser, UsageError, run_main
from .report import format_summary

CONFIG_FIELDS = [f.name for f in dataclasses.fields(QmacConfig)]


TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off", "")
SEED_MAX = 2**32 - 1


def _bool(key: str, text) -> bool:
    if isinstance(text, bool):
        return text
    t = str(text).strip().lower()
    if t in TRUE_WORDS:
        return True
    if t in FALSE_WORDS:
        return False
    raise UsageError(f"{key} = {text!r} must be 0 or 1 (or true/false, yes/no, on/off)")


def _parse_int(text: str) -> int:
    """An integer as make users write it: ``8``, ``0x8``, ``0b1000``, ``08``."""
    t = str(text).strip()
    try:
        return int(t, 0)
    except ValueError:
        return int(t, 10)  # a decimal with leading zeros, which int(t, 0) refuses


def _int(key: str, text: str, lo: int, hi: int | None = None) -> int:
    try:
        value = _parse_int(text)
    except ValueError:
        raise UsageError(f"{key} = {text!r} is not an integer") from None
    if value < lo or (hi is not None and value > hi):
        allowed = f"{lo} or more" if hi is None else f"{lo} .. {hi}"
        raise UsageError(f"{key} = {value} is out of range: allowed {allowed}")
    return value


def _choice(key: str, text: str, allowed) -> str:
    if text not in allowed:
        raise UsageError(f"{key} = {text!r} is not one of {', '.join(allowed)}")
    return text


def _field_value(name: str, text: str):
    """Parse a config override: ints, 0/1 for in_signed, names or codes for the modes (the
    ranges are QmacConfig's, checked when the config is made)."""
    key = name.upper()
    if name == "in_signed":
        return _bool(key, text)
    if name in ("acc_mode", "rounding"):
        names = ACC_MODES if name == "acc_mode" else ROUNDING_MODES
        if text.isdigit() and int(text) < len(names):
            return names[int(text)]
        if text not in names:
            raise UsageError(
                f"{key} = {text!r} is not one of {', '.join(names)} (or their "
                f"codes 0 .. {len(names) - 1})"
            )
        return text
    try:
        return _parse_int(text)
    except ValueError:
        raise UsageError(f"{key} = {text!r} is not an integer") from None


def parser() -> argparse.ArgumentParser:
    """The ``python -m tb.cli.sim`` / ``make sim`` command line (values are checked by
    :func:`job_from_args`, with the option's make-style name in the message)."""
    p = ArgumentParser(
        prog="python -m tb.cli.sim",
        description="Run the qmac RTL against pyref in a simulator; every output is checked.",
        epilog="Options may also be given make-style: SIM=icarus CONFIG=tflite SEED=3 N=1000",
    )
    p.add_argument("--sim", help=f"simulator: {', '.join(SIMULATORS)}")
    p.add_argument("--config", help=f"named config: {', '.join(NAMED_CONFIGS)}")
    p.add_argument("--seed", help=f"the run's seed, 0 .. {SEED_MAX} (default: a fresh one)")
    p.add_argument("--n", help=f"outputs to check (default {RUN_DEFAULTS['n']})")
    p.add_argument("--waves", default="0", help="1: record a waveform")
    p.add_argument("--vectors", help="vector file (.npz) to replay")
    p.add_argument("--trace", help="cycle trace (.npz) to drive cycle by cycle")
    p.add_argument(
        "--mode", help=f"transport: batch (fastest) or cycle (default {RUN_DEFAULTS['mode']})"
    )
    p.add_argument("--idle", help=f"input idle pattern: {', '.join(PATTERNS)}")
    p.add_argument("--ready", help=f"output back-pressure pattern: {', '.join(PATTERNS)}")
    p.add_argument("--resets", help="mid-job resets (0 or more)")
    p.add_argument("--max-mismatches", default="10")
    p.add_argument("--coverage", default="0", help="1: print every coverage bin")
    p.add_argument("--rtl", help="folder of Verilog files to simulate instead of rtl/")
    p.add_argument(
        "--ports",
        help="ports.toml mapping qmac's port and parameter names to the "
        "DUT's (tb/shared/ports.py); needs RTL",
    )
    p.add_argument(
        "--pnr",
        default="0",
        help="1: also place and route the config on an ECP5 "
        "FPGA (LUT, FF, DSP, Fmax; tb/run/fpga.py)",
    )
    p.add_argument(
        "--require-coverage", default="0", help="1: fail when a reachable coverage bin stays empty"
    )
    for f in CONFIG_FIELDS:
        p.add_argument(
            f"--{f.replace('_', '-')}", dest=f"cfg_{f}", metavar=f.upper(), help=argparse.SUPPRESS
        )
    return p


def normalize_argv(argv: list[str], p: argparse.ArgumentParser | None = None) -> list[str]:
    """:func:`tb.cli.errors.normalize_argv` with this command's options."""
    return errors.normalize_argv(argv, p or parser())


def _rtl_dir(text: str) -> str:
    path = Path(text)
    if not path.exists():
        raise UsageError(f"RTL = {text!r}: no such folder")
    if not path.is_dir():
        raise UsageError(f"RTL = {text!r}: not a folder (RTL names a folder of *.v files)")
    if not any(path.glob("*.v")):
        raise UsageError(f"RTL = {text!r}: no Verilog files (*.v) in it")
    return text


def check_options(args: argparse.Namespace) -> None:
    """Fill in the defaults and check every option, before anything is built: a
    :class:`UsageError` naming the option, the value and what is allowed."""
    from tb.run.runner import TRANSPORTS

    for key, value in RUN_DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.sim = _choice("SIM", args.sim, SIMULATORS)
    args.mode = _choice("MODE", args.mode, list(TRANSPORTS))
    args.idle = _choice("IDLE", args.idle, list(PATTERNS))
    args.ready = _choice("READY", args.ready, list(PATTERNS))
    args.n = _int("N", args.n, 1)
    args.resets = _int("RESETS", args.resets, 0)
    args.max_mismatches = _int("MAX_MISMATCHES", args.max_mismatches, 1)
    if args.seed is not None:
        args.seed = _int("SEED", args.seed, 0, SEED_MAX)
    for key in ("waves", "coverage", "require_coverage", "pnr"):
        setattr(args, key, _bool(key.upper(), getattr(args, key)))
    if args.rtl is not None:
        args.rtl = _rtl_dir(args.rtl)


def job_from_args(args: argparse.Namespace) -> tuple[SimJob, dict]:
    """The job the options describe, and the overrides given (for the repro command)."""
    mode = args.mode
    check_options(args)
    overrides = {
        f: _field_value(f, getattr(args, f"cfg_{f}"))
        for f in CONFIG_FIELDS
        if getattr(args, f"cfg_{f}") is not None
    }
    if args.trace:
        if overrides or args.config != "default" or args.vectors:
            raise UsageError(
                "TRACE carries its own config and inputs: leave out CONFIG, VECTORS and the "
                "width overrides"
            )
        if mode not in (None, "cycle"):
            raise UsageError(f"MODE = {mode}: a TRACE is driven by the cycle transport (cycle)")
        from tb.shared.cycle_trace import load_trace

        args.mode = "cycle"
        args.trace = os.path.abspath(args.trace)
        config, rows = load_trace(args.trace)
        name = f"trace:{args.trace}"
        args.n = max(int(rows["last"].sum()), 1)
    elif args.vectors:
        if overrides or args.config != "default":
            raise UsageError(
                "VECTORS carries its own config: leave out CONFIG and the width overrides"
            )
        from tb.shared.prepare import load_vectors

        # The simulator runs in its build folder: hand it an absolute path.
        args.vectors = os.path.abspath(args.vectors)
        config, layer, _ = load_vectors(args.vectors)
        name = f"vectors:{args.vectors}"
        args.n = layer.n * layer.c
    else:
        if args.config not in NAMED_CONFIGS:
            raise UsageError(
                f"no named config {args.config!r}; choose one of {', '.join(NAMED_CONFIGS)}"
            )
        config = (
            NAMED_CONFIGS[args.config].replace(**overrides)
            if overrides
            else NAMED_CONFIGS[args.config]
        )
        name = args.config if not overrides else f"{args.config}+{config_name(config)}"
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    job = SimJob(
        config=config.to_dict(),
        config_name=name,
        sim=args.sim,
        seed=seed,
        n=args.n,
        mode=args.mode,
        idle=args.idle,
        ready=args.ready,
        resets=args.resets,
        vectors=args.vectors,
        trace=args.trace,
        max_mismatches=args.max_mismatches,
        waves=args.waves,
    )
    job.repro = repro_command(job, args.config, overrides, args.rtl)
    return job, overrides


def repro_command(job: SimJob, config: str, overrides: dict, rtl: str | None = None) -> str:
    """The ``make sim`` command that repeats ``job`` exactly."""
    parts = ["make sim"]
    if job.trace:
        parts.append(f"TRACE={job.trace}")
    elif job.vectors:
        parts.append(f"VECTORS={job.vectors}")
    else:
        parts.append(f"CONFIG={config}")
        parts += [
            f"{k.upper()}={int(v) if isinstance(v, bool) else v}" for k, v in overrides.items()
        ]
    parts += [f"SEED={job.seed}", f"N={job.n}", f"SIM={job.sim}"]
    for key in ("mode", "idle", "ready", "resets"):
        if getattr(job, key) != RUN_DEFAULTS[key]:
            parts.append(f"{key.upper()}={getattr(job, key)}")
    if rtl:
        parts.append(f"RTL={rtl}")
    return " ".join(parts)


def main(argv: list[str] | None = None) -> int:
    """``python -m tb.cli.sim``: the exit status (module docstring)."""
    from tb.run.runner import SimulationFailed

    argv = sys.argv[1:] if argv is None else argv
    return run_main(
        lambda: _main(argv),
        prog="python -m tb.cli.sim",
        usage_errors=(ConfigError, VectorFileError, TraceFileError, ValueRangeError, ShapeError),
        tool_errors=(SimulatorMissing, BuildFailed, SimulationFailed),
    )


def _main(argv: list[str]) -> int:
    from tb.run.runner import run_sim

    # make exports command-line variables to the environment, and cocotb reads COVERAGE there as
    # a request for Python code coverage: the option is ours, keep it out of the simulator.
    os.environ.pop("COVERAGE", None)
    p = parser()
    args = p.parse_args(normalize_argv(argv, p))
    job, _ = job_from_args(args)
    rtl = Path(args.rtl) if args.rtl else RTL_DIR
    if args.ports:
        from tb.shared.ports import PortsError, adapted_folder

        if not args.rtl:
            raise UsageError("PORTS maps the names of your RTL: give RTL=<folder> too")
        try:
            rtl = adapted_folder(rtl, Path(args.ports), BUILD_ROOT.parent)
        except PortsError as exc:
            raise UsageError(str(exc)) from None
        job.repro += f" PORTS={args.ports}"
    print(f"qmac sim: {job.config_name} on {job.sim}, seed {job.seed}, N = {job.n} ...", flush=True)
    result = run_sim(job, rtl_dir=rtl, build_root=BUILD_ROOT)
    print(format_summary(result, job, show_bins=args.coverage))
    if args.pnr:
        from tb.run.build import rtl_sources
        from tb.run.fpga import implement

        fpga = implement(rtl_sources(rtl), job.qmac_config())
        print(f"  fpga       {fpga.summary().removeprefix('FPGA ')}")
        if fpga.ok:
            print(
                f"             critical path {fpga.critical_ns:.2f} ns: "
                + " -> ".join(c for c, _ in fpga.critical_path[:5])
                + f"; {fpga.seconds:.0f} s; {fpga.tools.get('nextpnr', '')}"
            )
        else:
            return 3
    rep = result.report
    cov = rep.coverage_report()
    if cov and cov.holes and rep.passed:
        print(
            f"warning: coverage holes: {', '.join(cov.holes)}"
            + ("" if args.require_coverage else " (run more outputs, or COVERAGE=1 for the bins)")
        )
        if args.require_coverage and rep.passed:
            return 1
    return 0 if rep.passed else 1


if __name__ == "__main__":
    sys.exit(main())
