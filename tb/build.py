"""Building the RTL for a simulator through ``cocotb_tools.runner``, once per config.

Each (simulator, config, harness) gets its own folder ``build/sim/<sim>/<name>/`` where
``<name>`` is the named config (``default``, ``tflite`` ...) or ``cfg-<hash>`` for any other
config. A stamp file in the folder records a digest of everything the build depends on (the
RTL and harness sources, the parameters, the build flags, the simulator and cocotb versions);
the build is reused while the digest matches and redone when any of it changes. Concurrent
builds of the same folder (``pytest -n 2``) wait for each other through a file lock.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Iterator

from pyref.config import NAMED_CONFIGS, QmacConfig

from . import toolchain

REPO_ROOT = Path(__file__).resolve().parent.parent
RTL_DIR = REPO_ROOT / "rtl"
BUILD_ROOT = REPO_ROOT / "build" / "sim"
STAMP_NAME = "qmac-build.json"
HARNESS_VERSION = 1
"""Bump when the way builds are made changes in a way the digest cannot see."""

# Verilator's own C++ flags (-Os) are the sweet spot: -O0 compiles 20% faster but halves the
# simulation speed, -O1 compiles 30% slower for no gain (Python dominates the run time).
VERILATOR_ARGS = ("-Wno-fatal", "-Wno-lint", "-Wno-style")
ICARUS_ARGS: tuple[str, ...] = ()


def config_name(config: QmacConfig) -> str:
    """The named config equal to ``config``, else ``cfg-<8 hex digits of its JSON>``."""
    for name, named in NAMED_CONFIGS.items():
        if named == config:
            return name
    return "cfg-" + hashlib.sha256(config.to_json().encode()).hexdigest()[:8]


def rtl_sources(rtl_dir: Path = RTL_DIR) -> list[Path]:
    """The Verilog files of the datapath (every ``*.v`` in ``rtl_dir``), sorted."""
    files = sorted(Path(rtl_dir).glob("*.v"))
    if not files:
        raise FileNotFoundError(f"no Verilog sources (*.v) in {rtl_dir}")
    return files


def rtl_headers(rtl_dir: Path = RTL_DIR) -> list[Path]:
    """The datapath's include files (every ``*.vh`` in ``rtl_dir``, which is on the include path
    of every build, lint and copy), sorted."""
    return sorted(Path(rtl_dir).glob("*.vh"))


@dataclasses.dataclass(frozen=True)
class BuildSpec:
    """Everything a build depends on."""

    sim: str
    config: QmacConfig
    rtl_dir: Path = RTL_DIR
    toplevel: str = "qmac"
    extra_sources: tuple[Path, ...] = ()
    """Harness files compiled with the RTL (e.g. a wrapper around ``qmac``)."""
    waves: bool = False
    tag: str = ""
    """Appended to the folder name, to keep builds of different harnesses apart."""
    build_root: Path = BUILD_ROOT

    @property
    def sources(self) -> list[Path]:
        return rtl_sources(self.rtl_dir) + [Path(p) for p in self.extra_sources]

    @property
    def parameters(self) -> dict[str, int]:
        return self.config.rtl_parameters()

    @property
    def build_args(self) -> list[str]:
        return list(VERILATOR_ARGS if self.sim == "verilator" else ICARUS_ARGS)

    @property
    def build_dir(self) -> Path:
        name = config_name(self.config)
        if self.tag:
            name += f"-{self.tag}"
        if self.rtl_dir.resolve() != RTL_DIR.resolve():
            name += "-rtl" + hashlib.sha256(str(self.rtl_dir.resolve()).encode()).hexdigest()[:6]
        if self.waves:
            name += "-waves"
        return Path(self.build_root) / self.sim / name

    def digest(self) -> str:
        """A hash of the sources' contents, the parameters, flags and tool versions."""
        import cocotb

        h = hashlib.sha256()
        for path in self.sources + rtl_headers(self.rtl_dir):
            h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        meta = {
            "sim": self.sim, "toplevel": self.toplevel, "parameters": self.parameters,
            "args": self.build_args, "waves": self.waves, "harness": HARNESS_VERSION,
            "cocotb": cocotb.__version__, "simulator": toolchain.simulator_version(self.sim),
        }
        h.update(json.dumps(meta, sort_keys=True).encode())
        return h.hexdigest()

    def product(self) -> Path:
        """The file a finished build leaves behind."""
        if self.sim == "verilator":
            return self.build_dir / self.toplevel
        return self.build_dir / "sim.vvp"


@dataclasses.dataclass
class Build:
    """A finished build: the runner to start simulations with and where it lives."""

    spec: BuildSpec
    runner: object
    compiled: bool
    """True when this call compiled; False when an earlier build was reused."""
    seconds: float

    @property
    def build_dir(self) -> Path:
        return self.spec.build_dir


@contextlib.contextmanager
def build_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` for the with-block, so parallel test workers
    build one folder one at a time (the batch builds use it too)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build(spec: BuildSpec, *, log_file: Path | None = None) -> Build:
    """Build ``spec`` unless an up-to-date build exists; return the runner for it.

    Raises :class:`toolchain.SimulatorMissing` when the simulator is not installed and
    ``RuntimeError`` (with the log file's path) when compilation fails.
    """
    from cocotb_tools.runner import get_runner

    toolchain.use_simulator(spec.sim)
    # The runner lets $WAVES override the argument; our callers decide.
    os.environ.pop("WAVES", None)
    runner = get_runner(spec.sim)
    bdir = spec.build_dir
    stamp = bdir / STAMP_NAME
    t0 = time.perf_counter()
    with build_lock(bdir.parent / f".{bdir.name}.lock"):
        digest = spec.digest()
        if stamp_matches(stamp, digest) and spec.product().exists():
            return Build(spec, runner, compiled=False, seconds=time.perf_counter() - t0)
        if bdir.exists():
            shutil.rmtree(bdir)
        bdir.mkdir(parents=True)
        log = log_file or bdir / "build.log"
        try:
            runner.build(
                sources=[str(p) for p in spec.sources],
                includes=[str(spec.rtl_dir)],
                hdl_toplevel=spec.toplevel,
                parameters=spec.parameters,
                build_args=spec.build_args,
                build_dir=str(bdir),
                always=True,
                waves=spec.waves,
                timescale=("1ns", "1ps"),
                log_file=str(log),
            )
        except (RuntimeError, SystemExit) as exc:
            tail = log_tail(log)
            raise RuntimeError(
                f"{spec.sim} build of {config_name(spec.config)} failed ({exc}); "
                f"log: {log}\n{tail}"
            ) from None
        stamp.write_text(json.dumps({
            "digest": digest, "config": spec.config.to_dict(), "sim": spec.sim,
            "toplevel": spec.toplevel, "sources": [str(p) for p in spec.sources],
        }, indent=1))
    return Build(spec, runner, compiled=True, seconds=time.perf_counter() - t0)


def stamp_matches(stamp: Path, digest: str) -> bool:
    """True when the build stamp file ``stamp`` records ``digest`` (False if unreadable)."""
    try:
        return json.loads(stamp.read_text()).get("digest") == digest
    except (OSError, ValueError):
        return False


def log_tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a log file, for error messages ("" when it is unreadable)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def copy_rtl(dest: Path, rtl_dir: Path = RTL_DIR) -> Path:
    """Copy the RTL sources and include files to ``dest`` (for fault injection on a copy);
    returns ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for src in rtl_sources(rtl_dir) + rtl_headers(rtl_dir):
        shutil.copy2(src, dest / src.name)
    return dest
