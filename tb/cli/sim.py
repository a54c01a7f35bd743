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
MODE                  transport: ``batch`` (the fastest, tb/batch/) or ``cycle`` (Python drives
                      every clock cycle)
IDLE, READY           handshake patterns (tb.shared.patterns.PATTERNS)
RESETS                mid-job resets in the run
COVERAGE=1            print every coverage bin
RTL=dir               simulate the Verilog files of another folder (top module ``qmac``)
====================  ===========================================================================

Options left out take their value from :data:`tb.shared.defaults.RUN_DEFAULTS`.

Exit status: 0 all outputs right, 1 mismatches, 2 bad options, 3 build or simulator failure.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import secrets
import sys
from pathlib import Path

from pyref.config import ACC_MODES, NAMED_CONFIGS, ROUNDING_MODES, ConfigError, QmacConfig

from tb.run.build import config_name
from tb.run.toolchain import SIMULATORS, SimulatorMissing
from tb.shared.job import SimJob
from tb.shared.defaults import RUN_DEFAULTS
from tb.shared.patterns import PATTERNS

from .report import format_summary

CONFIG_FIELDS = [f.name for f in dataclasses.fields(QmacConfig)]


def _bool(text: str) -> bool:
    t = str(text).strip().lower()
    if t in ("1", "true", "yes", "on"):
        return True
    if t in ("0", "false", "no", "off", ""):
        return False
    raise argparse.ArgumentTypeError(f"expected 0/1/true/false, got {text!r}")


def _field_value(name: str, text: str):
    """Parse a config override: ints, 0/1 for in_signed, names or codes for the modes."""
    if name == "in_signed":
        return _bool(text)
    if name in ("acc_mode", "rounding"):
        names = ACC_MODES if name == "acc_mode" else ROUNDING_MODES
        if text.isdigit() and int(text) < len(names):
            return names[int(text)]
        return text
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{name.upper()} must be an integer, got {text!r}") from None


def parser() -> argparse.ArgumentParser:
    """The ``python -m tb.cli.sim`` / ``make sim`` command line."""
    p = argparse.ArgumentParser(
        prog="python -m tb.cli.sim",
        description="Run the qmac RTL against pyref in a simulator; every output is checked.",
        epilog="Options may also be given make-style: SIM=icarus CONFIG=tflite SEED=3 N=1000")
    p.add_argument("--sim", choices=SIMULATORS)
    p.add_argument("--config", help=f"named config: {', '.join(NAMED_CONFIGS)}")
    p.add_argument("--seed", type=int)
    p.add_argument("--n", type=int, help=f"outputs to check (default {RUN_DEFAULTS['n']})")
    p.add_argument("--waves", type=_bool, default=False)
    p.add_argument("--vectors", help="vector file (.npz) to replay")
    p.add_argument("--mode", help="transport: batch (fastest) or cycle "
                                  f"(default {RUN_DEFAULTS['mode']})")
    p.add_argument("--idle", choices=list(PATTERNS))
    p.add_argument("--ready", choices=list(PATTERNS))
    p.add_argument("--resets", type=int)
    p.add_argument("--max-mismatches", type=int, default=10)
    p.add_argument("--coverage", type=_bool, default=False, help="print every coverage bin")
    p.add_argument("--rtl", help="folder of Verilog files to simulate instead of rtl/")
    p.add_argument("--require-coverage", type=_bool, default=False,
                   help="fail when a reachable coverage bin stays empty")
    for f in CONFIG_FIELDS:
        p.add_argument(f"--{f.replace('_', '-')}", dest=f"cfg_{f}", metavar=f.upper(),
                       help=argparse.SUPPRESS)
    return p


def normalize_argv(argv: list[str]) -> list[str]:
    """``KEY=VALUE`` tokens (make style) become ``--key=VALUE``."""
    out = []
    for tok in argv:
        if "=" in tok and not tok.startswith("-"):
            key, value = tok.split("=", 1)
            out.append(f"--{key.strip().lower().replace('_', '-')}={value}")
        else:
            out.append(tok)
    return out


def job_from_args(args: argparse.Namespace) -> tuple[SimJob, dict]:
    """The job the options describe, and the overrides given (for the repro command)."""
    for key, value in RUN_DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.n < 1:
        raise ConfigError(f"N = {args.n} is out of range: allowed 1 or more")
    overrides = {f: _field_value(f, getattr(args, f"cfg_{f}")) for f in CONFIG_FIELDS
                 if getattr(args, f"cfg_{f}") is not None}
    if args.vectors:
        if overrides or args.config != "default":
            raise ConfigError("VECTORS carries its own config: leave out CONFIG and the width "
                              "overrides")
        from tb.shared.prepare import load_vectors

        # The simulator runs in its build folder: hand it an absolute path.
        args.vectors = os.path.abspath(args.vectors)
        config, layer, _ = load_vectors(args.vectors)
        name = f"vectors:{args.vectors}"
        args.n = layer.n * layer.c
    else:
        if args.config not in NAMED_CONFIGS:
            raise ConfigError(f"no named config {args.config!r}; choose one of "
                              f"{', '.join(NAMED_CONFIGS)}")
        config = NAMED_CONFIGS[args.config].replace(**overrides) if overrides \
            else NAMED_CONFIGS[args.config]
        name = args.config if not overrides else f"{args.config}+{config_name(config)}"
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    job = SimJob(config=config.to_dict(), config_name=name, sim=args.sim, seed=seed, n=args.n,
                 mode=args.mode, idle=args.idle, ready=args.ready, resets=args.resets,
                 vectors=args.vectors, max_mismatches=args.max_mismatches, waves=args.waves)
    job.repro = repro_command(job, args.config, overrides, args.rtl)
    return job, overrides


def repro_command(job: SimJob, config: str, overrides: dict, rtl: str | None = None) -> str:
    """The ``make sim`` command that repeats ``job`` exactly."""
    parts = ["make sim"]
    if job.vectors:
        parts.append(f"VECTORS={job.vectors}")
    else:
        parts.append(f"CONFIG={config}")
        parts += [f"{k.upper()}={int(v) if isinstance(v, bool) else v}"
                  for k, v in overrides.items()]
    parts += [f"SEED={job.seed}", f"N={job.n}", f"SIM={job.sim}"]
    for key in ("mode", "idle", "ready", "resets"):
        if getattr(job, key) != RUN_DEFAULTS[key]:
            parts.append(f"{key.upper()}={getattr(job, key)}")
    if rtl:
        parts.append(f"RTL={rtl}")
    return " ".join(parts)


def main(argv: list[str] | None = None) -> int:
    from tb.run.runner import run_sim

    argv = sys.argv[1:] if argv is None else argv
    # make exports command-line variables to the environment, and cocotb reads COVERAGE there as
    # a request for Python code coverage: the option is ours, keep it out of the simulator.
    os.environ.pop("COVERAGE", None)
    p = parser()
    args = p.parse_args(normalize_argv(argv))
    try:
        job, _ = job_from_args(args)
    except (ConfigError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"qmac sim: {job.config_name} on {job.sim}, seed {job.seed}, N = {job.n} ...", flush=True)
    try:
        result = run_sim(job, **({"rtl_dir": Path(args.rtl)} if args.rtl else {}))
    except SimulatorMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except (RuntimeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    print(format_summary(result, job, show_bins=args.coverage))
    rep = result.report
    cov = rep.coverage_report()
    if cov and cov.holes and rep.passed:
        print(f"warning: coverage holes: {', '.join(cov.holes)}" + (
            "" if args.require_coverage else " (run more outputs, or COVERAGE=1 for the bins)"))
        if args.require_coverage and rep.passed:
            return 1
    return 0 if rep.passed else 1


if __name__ == "__main__":
    sys.exit(main())
