"""The one table of qmac's commands: each command's module, the ``KEY=VALUE`` variables it takes
(the Makefile's ``VARS_<target>`` lists must equal these: tests/qmac/test_cli.py holds them
equal), and what it does. ``qmac <command> KEY=VALUE ...`` and ``make <command> KEY=VALUE ...``
run the same code with the same options."""

from __future__ import annotations

import dataclasses
from typing import Callable


@dataclasses.dataclass(frozen=True)
class Command:
    name: str
    summary: str
    variables: tuple[str, ...]
    run: Callable[[list[str]], int]
    """Runs the command with its ``KEY=VALUE`` words; the exit status."""
    module: str = ""
    """The module whose ``main`` takes the words ("" when :attr:`run` translates them)."""
    make_variables: tuple[str, ...] | None = None
    """What ``make <name>`` takes, when it is not :attr:`variables` (``make test`` runs the test
    suite unless RTL is given)."""


def _module_main(module: str, *prefix: str) -> Callable[[list[str]], int]:
    def run(argv: list[str]) -> int:
        import importlib

        return importlib.import_module(module).main([*prefix, *argv])

    return run


def hil_options(words: dict[str, str]) -> list[str]:
    """``qmac hil``'s (and ``make hil``'s) variables as ``python -m hil.cli run`` options: MODEL
    is the model (default anomaly_detection); N defaults to 300 inputs on Verilator, 20 on Icarus
    (~50 k beats/s: 20 anomaly-detection inputs are 660 000 beats, about 15 s)."""
    from tb.cli.errors import UsageError

    sim = words.get("SIM", "verilator")
    args = ["run", words.get("MODEL", "anomaly_detection"), "--sim", sim]
    args += ["--n", words.get("N", "20" if sim == "icarus" else "300")]
    for key in ("SEED", "RTL", "PORTS", "ORACLE", "INPUTS"):
        if key in words:
            args += [f"--{key.lower()}", words[key]]
    if words.get("SHIFT_ONLY") == "1":
        args.append("--shift-only")
    elif words.get("SHIFT_ONLY", "0") != "0":
        raise UsageError(f"SHIFT_ONLY = {words['SHIFT_ONLY']!r}: 0 or 1")
    return args


def hil_digits_options(words: dict[str, str]) -> list[str]:
    """``qmac hil-digits``'s variables as ``python -m hil.cli digits`` options."""
    return ["digits", *(x for k, v in words.items() for x in (f"--{k.lower()}", v))]


def _translated(name: str, options: Callable[[dict[str, str]], list[str]]):
    """A command that checks its ``KEY=VALUE`` words against its variables and runs
    ``python -m hil.cli`` with ``options(words)``."""

    def run(argv: list[str]) -> int:
        from hil.cli import main
        from tb.cli.errors import run_main, unknown_variable

        def body() -> int:
            words = dict(w.split("=", 1) if "=" in w else (w, "") for w in argv)
            for key in words:
                if key not in VARIABLES[name]:
                    raise unknown_variable(f"{key}={words[key]}", VARIABLES[name], f"qmac {name}")
            return main(options(words))

        return run_main(body, prog=f"qmac {name}")

    return run


def _test(argv: list[str]) -> int:
    from .regress import main

    return main(argv)


VARIABLES: dict[str, tuple[str, ...]] = {
    "sim": (
        "SIM",
        "CONFIG",
        "SEED",
        "N",
        "WAVES",
        "VECTORS",
        "TRACE",
        "MODE",
        "IDLE",
        "READY",
        "RESETS",
        "COVERAGE",
        "RTL",
        "PORTS",
        "PNR",
        "MAX_MISMATCHES",
        "REQUIRE_COVERAGE",
        "LANES",
        "IN_BITS",
        "IN_SIGNED",
        "W_BITS",
        "ACC_BITS",
        "ACC_MODE",
        "BIAS_BITS",
        "MULT_BITS",
        "SHIFT_BITS",
        "ROUNDING",
        "OUT_BITS",
    ),
    "lint": ("CONFIG", "RTL", "PORTS"),
    "coverage": ("CONFIGS", "N", "SEED", "RTL", "OUT", "JOBS"),
    "hil": ("MODEL", "SIM", "N", "SEED", "RTL", "PORTS", "ORACLE", "SHIFT_ONLY", "INPUTS"),
    "hil-digits": ("SIM", "SEED", "RTL", "PORTS"),
    "mutate": (
        "RTL",
        "PORTS",
        "JOBS",
        "SEED",
        "N",
        "SIM",
        "FAMILIES",
        "FILES",
        "LIMIT",
        "KEEP",
        "PARAM_PROBE",
        "MODULE_TESTS",
        "RESET_PROOF",
        "CHANGED",
        "SCHEMA",
        "SWEEP",
    ),
    "prove": ("CONFIG", "RTL", "SOLVER", "JOBS", "TIMEOUT", "CHECKS", "DEPTH", "OUT"),
    "soak": ("N", "SEED", "JOBS", "SIMS", "ICARUS_SHARE", "PER_RUN", "RTL", "PORTS"),
    "sweep": (
        "SWEEP",
        "SHARD",
        "SIM",
        "JOBS",
        "N",
        "FORCE",
        "RTL",
        "PORTS",
        "OUT",
        "SYNTH",
        "PLOTS",
        "COVERAGE",
        "PNR",
    ),
    "sweep-merge": ("SWEEP", "OUT", "PLOTS"),
    "sweep-minimize": ("SWEEP", "OUT", "TO"),
    "ci-init": ("RTL", "PORTS", "SWEEP", "SIMS", "SHARDS", "QMAC", "OUT", "FORCE"),
}
"""The variables of each command: the Makefile's ``VARS_<command>``."""

COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        Command(
            "sim",
            "the RTL against pyref, every output checked",
            VARIABLES["sim"],
            _module_main("tb.cli.sim"),
            "tb.cli.sim",
        ),
        Command(
            "lint",
            "verilator --lint-only -Wall for every named config",
            VARIABLES["lint"],
            _module_main("tb.cli.lint"),
            "tb.cli.lint",
        ),
        Command(
            "test",
            "the RTL regression on an RTL folder: every named config it accepts, both "
            "transports, both simulators, every reachable coverage bin",
            ("RTL", "PORTS", "N", "SEED", "SIMS", "JOBS", "CONFIGS"),
            _test,
            "qmac.regress",
            make_variables=("RTL", "PORTS"),
        ),
        Command(
            "coverage",
            "RTL code coverage over the named configs",
            VARIABLES["coverage"],
            _module_main("tb.cli.coverage"),
            "tb.cli.coverage",
        ),
        Command(
            "hil",
            "a .tflite or .onnx model's dense layers on the RTL",
            VARIABLES["hil"],
            _translated("hil", hil_options),
        ),
        Command(
            "hil-digits",
            "the digits MLP from float on the RTL at 2..8 bits",
            VARIABLES["hil-digits"],
            _translated("hil-digits", hil_digits_options),
        ),
        Command(
            "mutate",
            "mutation testing of the RTL",
            VARIABLES["mutate"],
            _module_main("mutate.cli"),
            "mutate.cli",
        ),
        Command(
            "prove",
            "formal proofs of the datapath and the stream protocol",
            VARIABLES["prove"],
            _module_main("prove.cli"),
            "prove.cli",
        ),
        Command(
            "soak",
            "long runs over random valid configs",
            VARIABLES["soak"],
            _module_main("soak.cli"),
            "soak.cli",
        ),
        Command(
            "sweep",
            "simulate and synthesize every point of a sweep spec",
            VARIABLES["sweep"],
            _module_main("sweep.cli", "run"),
            "sweep.cli",
        ),
        Command(
            "sweep-merge",
            "join the shards of a sweep into one report",
            VARIABLES["sweep-merge"],
            _module_main("sweep.cli", "merge"),
            "sweep.cli",
        ),
        Command(
            "ci-init",
            "write a GitHub Actions workflow that runs qmac on the repository's RTL",
            VARIABLES["ci-init"],
            _module_main("qmac.ci_init"),
            "qmac.ci_init",
        ),
        Command(
            "sweep-minimize",
            "the smallest spec reaching a sweep's code coverage and functional bins",
            VARIABLES["sweep-minimize"],
            _module_main("sweep.cli", "minimize"),
            "sweep.cli",
        ),
        Command(
            "bench",
            "checked beats/s of the transports next to their ceilings",
            (),
            lambda argv: __import__("tb.bench.__main__", fromlist=["main"]).main()
            if not argv
            else _no_options("bench", argv),
        ),
    )
}


def _no_options(name: str, argv: list[str]) -> int:
    from tb.cli.errors import UsageError, run_main

    def body() -> int:
        raise UsageError(f"qmac {name} takes no options (got {' '.join(argv)})")

    return run_main(body, prog=f"qmac {name}")


def make_variables(name: str) -> tuple[str, ...]:
    """What ``make <name>`` takes (none for a target that is not a command)."""
    c = COMMANDS.get(name)
    if c is None:
        return ()
    return c.make_variables if c.make_variables is not None else c.variables


if (
    __name__ == "__main__"
):  # the Makefile: `python3 -m qmac.commands sim` lists make sim's variables
    import sys

    print(" ".join(v for name in sys.argv[1:] for v in make_variables(name)))
