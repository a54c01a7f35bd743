"""``python -m tb.cli.lint``: ``verilator --lint-only -Wall`` on rtl/ for every named config
(``make lint``). ``CONFIG=<name>`` (or ``--config``) lints one. Exit status 1 on any warning."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pyref.config import NAMED_CONFIGS, QmacConfig
from tb.run.build import RTL_DIR, rtl_sources
from tb.run.toolchain import SimulatorMissing, check_simulator, simulator_env, verilator_root

from .errors import ArgumentParser, UsageError, normalize_argv, run_main


def lint_command(config: QmacConfig, rtl_dir: Path = RTL_DIR, toplevel: str = "qmac") -> list[str]:
    """The Verilator lint command for ``config``."""
    root = verilator_root()
    exe = str(root / "bin" / "verilator") if root else "verilator"
    params = [f"-G{k}={v}" for k, v in config.rtl_parameters().items()]
    return [
        exe,
        "--lint-only",
        "-Wall",
        "--top-module",
        toplevel,
        f"-I{rtl_dir}",
        *params,
        *[str(p) for p in rtl_sources(rtl_dir)],
    ]


def lint(config: QmacConfig, rtl_dir: Path = RTL_DIR) -> tuple[bool, str]:
    """Lint ``rtl_dir`` with ``config``'s parameters: ``(clean, verilator's output)``."""
    check_simulator("verilator")
    env = {**os.environ, **simulator_env("verilator")}
    out = subprocess.run(
        lint_command(config, rtl_dir), capture_output=True, text=True, env=env, check=False
    )
    text = (out.stdout + out.stderr).strip()
    return out.returncode == 0 and "%Warning" not in text and "%Error" not in text, text


def main(argv: list[str] | None = None) -> int:
    """``python -m tb.cli.lint``: 0 clean, 1 warnings, 2 a bad option, 3 Verilator missing (the
    statuses of :mod:`tb.cli.errors`)."""
    argv = sys.argv[1:] if argv is None else argv
    return run_main(
        lambda: _main(argv), prog="python -m tb.cli.lint", tool_errors=(SimulatorMissing,)
    )


def _main(argv: list[str]) -> int:
    p = ArgumentParser(prog="python -m tb.cli.lint", description=__doc__)
    p.add_argument("--config", help="lint one named config (default: all)")
    p.add_argument("--rtl", help="folder of Verilog files to lint instead of rtl/")
    p.add_argument("--ports", help="ports.toml mapping qmac's names to the DUT's (needs RTL)")
    args = p.parse_args(normalize_argv(argv, p))
    rtl = Path(args.rtl) if args.rtl else RTL_DIR
    if not rtl.is_dir() or not list(rtl.glob("*.v")):
        raise UsageError(f"RTL = {str(rtl)!r}: not a folder of Verilog files (*.v)")
    if args.ports:
        from tb.run.build import BUILD_ROOT
        from tb.shared.ports import PortsError, adapted_folder

        try:
            rtl = adapted_folder(rtl, Path(args.ports), BUILD_ROOT.parent)
        except PortsError as exc:
            raise UsageError(str(exc)) from None
    names = [args.config] if args.config else list(NAMED_CONFIGS)
    for name in names:
        if name not in NAMED_CONFIGS:
            raise UsageError(f"no named config {name!r}; choose one of {', '.join(NAMED_CONFIGS)}")
    status = 0
    for name in names:
        clean, text = lint(NAMED_CONFIGS[name], rtl)
        print(f"lint {name:12s} {'clean' if clean else 'WARNINGS'}")
        if not clean:
            print(text)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
