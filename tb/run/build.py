"""Building the RTL, once per (simulator, config, harness): the one build cache of the testbench.

A :class:`Harness` says what is compiled around the RTL and how (its hooks): :data:`CYCLE` here
(the per-cycle transport), ``tb.run.batch_harness.BATCH`` (the batch wrapper, DPI library and fast
main loop), and the benchmark's native harnesses (:mod:`tb.bench.native`, through
:func:`cached`). Each (simulator, config, harness) gets its own folder
``build/sim/<sim>/<name>/`` where ``<name>`` is the named config (``default``, ``tflite`` ...) or
``cfg-<hash>`` for any other config. A stamp file in the folder records a digest of everything
the build depends on (the RTL and harness sources, the parameters, the build flags, the
simulator and cocotb versions); the build is reused while the digest matches and redone when
any of it changes. Concurrent builds of the same folder (``pytest -n 2``) wait for each other
through a file lock.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Callable, Iterator

from pyref.config import NAMED_CONFIGS, QmacConfig
from tb.shared.rtl_folder import (  # noqa: F401 (the RTL folder, re-exported)
    REPO_ROOT,
    RTL_DIR,
    WORK_ROOT,
    copy_rtl,
    rtl_headers,
    rtl_sources,
)

from . import toolchain

BUILD_ROOT = WORK_ROOT / "build" / "sim"
STAMP_NAME = "qmac-build.json"
HARNESS_VERSION = 2
"""Bump when the way builds are made changes in a way the digest cannot see."""


class BuildFailed(RuntimeError):
    """A build that failed (the RTL does not compile, the compiler stopped): the message names
    the build and the log, with the log's tail."""


# Verilator's own C++ flags (-Os) are the sweet spot: -O0 compiles 20% faster but halves the
# simulation speed, -O1 compiles 30% slower for no gain (Python dominates the run time).
VERILATOR_ARGS = ("-Wno-fatal", "-Wno-lint", "-Wno-style")
ICARUS_ARGS: tuple[str, ...] = ()

QUICK_BUILD_MAX_N = 50_000
"""Runs of at most this many outputs get the ``quick`` build profile (C++ -O0 for the model:
1.1 s of CPU instead of 1.6 s at -O2 for the default config); longer runs the ``speed`` one,
where the faster model pays for its compile. See docs/performance.md."""
BUILD_PROFILES = ("speed", "quick")


PROFILE_ENV = "QMAC_BUILD_PROFILE"
"""``QMAC_BUILD_PROFILE=speed`` (or ``quick``) forces a profile whatever N (``make bench`` uses it
so that short runs measure the fast model)."""


def build_profile(n: int | None) -> str:
    """The build profile for a run of ``n`` outputs: ``quick`` (fast to compile) up to
    :data:`QUICK_BUILD_MAX_N`, else ``speed`` (fast to run), unless ``$QMAC_BUILD_PROFILE``
    names one. The one place it is picked."""
    forced = os.environ.get(PROFILE_ENV, "").strip()
    if forced:
        if forced not in BUILD_PROFILES:
            raise ValueError(
                f"{PROFILE_ENV} = {forced!r} is not one of {', '.join(BUILD_PROFILES)}"
            )
        return forced
    return "quick" if n is not None and n <= QUICK_BUILD_MAX_N else "speed"


def config_name(config: QmacConfig) -> str:
    """The named config equal to ``config``, else ``cfg-<8 hex digits of its JSON>``."""
    for name, named in NAMED_CONFIGS.items():
        if named == config:
            return name
    return "cfg-" + hashlib.sha256(config.to_json().encode()).hexdigest()[:8]


@dataclasses.dataclass(frozen=True)
class Harness:
    """One kind of build around the RTL and the hooks that make it.

    ``runner(spec)`` returns the cocotb runner that will start simulations of the build (None for
    a harness that is not cocotb's, e.g. the benchmark's native one); ``compile(spec, runner,
    build_dir, log)`` compiles into the empty ``build_dir``; ``meta(spec)`` adds what the digest
    must see besides the source files (parameters, flags); the build is done when
    ``build_dir / product(spec)`` exists.
    """

    name: str
    runner: Callable[["BuildSpec"], object]
    compile: Callable[["BuildSpec", object, Path, Path], None]
    meta: Callable[["BuildSpec"], dict]
    product: Callable[["BuildSpec"], str]
    toplevel: str = "qmac"
    extra_sources: tuple[Path, ...] = ()
    """Harness files compiled with the RTL (e.g. a wrapper around ``qmac``)."""
    digest_files: tuple[Path, ...] = ()
    """Further files the build depends on (a DPI library's source, a main loop)."""
    tag: str = ""
    """Appended to the folder name, to keep builds of different harnesses apart."""
    profiles: tuple[str, ...] = ("speed",)
    """The build profiles (:data:`BUILD_PROFILES`) whose flags differ for this harness on
    Verilator; any other profile asked for builds as the first."""


@dataclasses.dataclass(frozen=True)
class BuildSpec:
    """Everything a build depends on."""

    sim: str
    config: QmacConfig
    harness: Harness
    rtl_dir: Path = RTL_DIR
    waves: bool = False
    build_root: Path = BUILD_ROOT
    profile: str = "speed"
    """``speed`` or ``quick`` (:func:`build_profile`); only harnesses that list it in their
    ``profiles`` build it differently (on Verilator), the others build ``speed``."""

    def __post_init__(self) -> None:
        if self.profile not in BUILD_PROFILES:
            raise ValueError(
                f"profile = {self.profile!r} is not one of {', '.join(BUILD_PROFILES)}"
            )
        if self.sim != "verilator" or self.profile not in self.harness.profiles:
            object.__setattr__(self, "profile", self.harness.profiles[0])

    @property
    def toplevel(self) -> str:
        return self.harness.toplevel

    @property
    def sources(self) -> list[Path]:
        return rtl_sources(self.rtl_dir) + [Path(p) for p in self.harness.extra_sources]

    @property
    def build_dir(self) -> Path:
        name = config_name(self.config)
        if self.harness.tag:
            name += f"-{self.harness.tag}"
        if Path(self.rtl_dir).resolve() != RTL_DIR.resolve():
            where = str(Path(self.rtl_dir).resolve()).encode()
            name += "-rtl" + hashlib.sha256(where).hexdigest()[:6]
        if self.waves:
            name += "-waves"
        if self.profile != "speed":
            name += f"-{self.profile}"
        return Path(self.build_root) / self.sim / name

    def digest(self) -> str:
        """A hash of the sources' contents, the parameters, flags and tool versions."""
        import cocotb

        meta = {
            "sim": self.sim,
            "harness": self.harness.name,
            "toplevel": self.toplevel,
            "waves": self.waves,
            "version": HARNESS_VERSION,
            "cocotb": cocotb.__version__,
            "simulator": toolchain.simulator_version(self.sim),
            **self.harness.meta(self),
        }
        files = [*self.sources, *rtl_headers(self.rtl_dir), *self.harness.digest_files]
        return content_digest(files, meta)


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


def content_digest(files, meta: dict) -> str:
    """sha256 of the files' names and contents and of ``meta`` (JSON, sorted keys)."""
    h = hashlib.sha256()
    for path in files:
        path = Path(path)
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    h.update(json.dumps(meta, sort_keys=True, default=str).encode())
    return h.hexdigest()


@contextlib.contextmanager
def build_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` for the with-block, so parallel test workers
    build one folder one at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def cached(
    build_dir: Path,
    digest: str,
    product: str,
    make: Callable[[Path], None],
    *,
    force: bool = False,
    what: str = "build",
    record: dict | None = None,
) -> bool:
    """Make ``build_dir`` with ``make(log_file)`` unless its stamp records ``digest`` and
    ``build_dir / product`` exists; True when this call made it. The one cache of every build
    (simulator models, the benchmark's harnesses): a lock so parallel workers build a folder one
    at a time, the folder emptied before a build, the stamp written after a good one.

    Raises :class:`BuildFailed` naming ``what``, with the log's tail, when ``make`` fails.
    """
    build_dir = Path(build_dir)
    stamp = build_dir / STAMP_NAME
    with build_lock(build_dir.parent / f".{build_dir.name}.lock"):
        if not force and (build_dir / product).exists() and stamp_matches(stamp, digest):
            return False
        if build_dir.exists():
            shutil.rmtree(build_dir)
        build_dir.mkdir(parents=True)
        log = build_dir / "build.log"
        try:
            make(log)
        except (RuntimeError, SystemExit, OSError, subprocess.CalledProcessError) as exc:
            raise BuildFailed(f"{what} failed ({exc}); log: {log}\n{log_tail(log)}") from None
        if not (build_dir / product).exists():
            raise BuildFailed(f"{what} left no {product}; log: {log}\n{log_tail(log)}")
        stamp.write_text(json.dumps({"digest": digest, **(record or {})}, indent=1, default=str))
    return True


def build(spec: BuildSpec, *, force: bool = False) -> Build:
    """Build ``spec`` with its harness's hooks unless an up-to-date build exists; return the
    runner for it.

    Raises :class:`tb.run.toolchain.SimulatorMissing` when the simulator is not installed and
    :class:`BuildFailed` (with the log file's path) when compilation fails.
    """
    toolchain.use_simulator(spec.sim)
    os.environ.pop("WAVES", None)  # the runner lets $WAVES override the argument; callers decide
    t0 = time.perf_counter()
    harness = spec.harness
    runner = harness.runner(spec)
    bdir = spec.build_dir.resolve()
    compiled = cached(
        bdir,
        spec.digest(),
        harness.product(spec),
        lambda log: harness.compile(spec, runner, bdir, log),
        force=force,
        what=f"{spec.sim} {harness.name} build of {config_name(spec.config)}",
        record={
            "config": spec.config.to_dict(),
            "sim": spec.sim,
            "harness": harness.name,
            "sources": [str(p) for p in spec.sources],
        },
    )
    return Build(spec, runner, compiled, time.perf_counter() - t0)


def stamp_matches(stamp: Path, digest: str) -> bool:
    """True when the build stamp file ``stamp`` records ``digest`` (False if unreadable)."""
    try:
        return json.loads(stamp.read_text()).get("digest") == digest
    except (OSError, ValueError):
        return False


# -- the per-cycle harness: cocotb's own runner and main loop around the bare RTL ------------------


def cocotb_runner(spec: BuildSpec):
    """cocotb's runner for ``spec.sim``."""
    from cocotb_tools.runner import get_runner

    return get_runner(spec.sim)


def _cycle_args(spec: BuildSpec) -> list[str]:
    return list(VERILATOR_ARGS if spec.sim == "verilator" else ICARUS_ARGS)


def _compile_cycle(spec: BuildSpec, runner, build_dir: Path, log: Path) -> None:
    runner.build(
        sources=[str(p) for p in spec.sources],
        includes=[str(spec.rtl_dir)],
        hdl_toplevel=spec.toplevel,
        parameters=spec.config.rtl_parameters(),
        build_args=_cycle_args(spec),
        build_dir=str(build_dir),
        always=True,
        waves=spec.waves,
        timescale=("1ns", "1ps"),
        log_file=str(log),
    )


def simulator_product(spec: BuildSpec) -> str:
    """What a cocotb build leaves behind: the Verilated executable or Icarus's ``sim.vvp``."""
    return spec.toplevel if spec.sim == "verilator" else "sim.vvp"


CYCLE = Harness(
    "cycle",
    runner=cocotb_runner,
    compile=_compile_cycle,
    meta=lambda spec: {"parameters": spec.config.rtl_parameters(), "args": _cycle_args(spec)},
    product=simulator_product,
)
"""The per-cycle transport's build: the bare ``qmac`` under cocotb's runner."""


def log_tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a log file, for error messages ("" when it is unreadable)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# -- shared objects: what does not depend on the parameters, compiled once ------------------------
#
# Verilator's runtime (verilated.o, verilated_dpi.o, verilated_vpi.o, verilated_threads.o, the
# trace writers with waves) and a harness's own libraries are the same for every config and every
# RTL edit: only the model (Vtop__ALL) and the main loop that includes its header change. The
# first build with a given key leaves copies of them in ``<build_root>/<sim>/_shared/<key>/``;
# later builds copy them in after Verilator has written the makefiles and before make runs, so
# make finds them newer than their sources and its makefile, and does not compile them again. The
# key hashes everything they are compiled from: the Verilator version and install (path, and
# the contents of verilated.mk, verilated.h, verilated.cpp), the C/C++ compilers and flag
# variables, the Verilator and make flags of the harness, waves, and the
# harness's own sources. Anything else (the model, the main loop) goes through ccache when it is
# there (:func:`tb.run.toolchain.objcache`).

SHARED_DIR_NAME = "_shared"
CCACHE_ROOT_NAME = "ccache"


def shared_dir(spec: "BuildSpec", key: dict) -> Path:
    """The folder of prebuilt objects for ``key`` (a dict of what they are compiled from)."""
    root = toolchain.verilator_root()
    kit = [
        root / "include" / n
        for n in ("verilated.mk", "verilated.h", "verilated.cpp")
        if root is not None and (root / "include" / n).is_file()
    ]
    meta = {
        "sim": spec.sim,
        "simulator": toolchain.simulator_version(spec.sim),
        "root": str(root),
        "kit": content_digest(kit, {}),
        "version": HARNESS_VERSION,
        "compilers": toolchain.compiler_id(),
        **key,
    }
    return Path(spec.build_root) / spec.sim / SHARED_DIR_NAME / content_digest([], meta)[:16]


def shared_files(store: Path) -> list[Path]:
    """The prebuilt files in ``store`` (none when it does not exist yet)."""
    if not (store / STAMP_NAME).is_file():
        return []
    return sorted(p for p in store.iterdir() if p.is_file() and p.name != STAMP_NAME)


def keep_shared(store: Path, build_dir: Path, names, key: dict) -> bool:
    """Copy the files ``names`` of a finished build into ``store`` unless it is already there;
    True when this call filled it. The store appears whole or not at all (a rename), so a
    parallel build never sees half of it."""
    if shared_files(store):
        return False
    files = [Path(build_dir) / n for n in names]
    if not files or not all(f.is_file() for f in files):
        return False
    store.parent.mkdir(parents=True, exist_ok=True)
    tmp = store.parent / f".{store.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for f in files:
        shutil.copyfile(f, tmp / f.name)
    (tmp / STAMP_NAME).write_text(
        json.dumps({"key": key, "files": list(names)}, indent=1, default=str)
    )
    try:
        os.rename(tmp, store)
    except OSError:  # another build filled it first
        shutil.rmtree(tmp, ignore_errors=True)
        return False
    return True


def verilator_runtime_objects(build_dir: Path) -> list[str]:
    """The object files of Verilator's runtime a Verilated build compiles (``VM_GLOBAL_*`` of
    its ``Vtop_classes.mk``), e.g. ``verilated.o``."""
    names: list[str] = []
    collecting = False
    for line in (Path(build_dir) / "Vtop_classes.mk").read_text().splitlines():
        word = line.strip(" \\\t")
        if line.startswith(("VM_GLOBAL_FAST", "VM_GLOBAL_SLOW")):
            collecting = True
        elif collecting and word and not line.startswith(("#", "VM_")):
            names.append(word + ".o")
        else:
            collecting = False
    return names


def with_shared_objects(cmds: list, store: Path, build_dir: Path, cache_dir: Path) -> list:
    """cocotb's Verilator build commands ``[verilate, make]`` with the prebuilt runtime objects
    of ``store`` copied in between (so make finds them newer than the makefile it depends on)
    and the compiler cache as make's ``OBJCACHE``."""
    verilate, make, *rest = cmds
    objects = [str(p) for p in shared_files(store) if p.suffix == ".o"]
    seed = [["cp", *objects, str(build_dir)]] if objects else []
    make = [*make, f"OBJCACHE={toolchain.objcache(cache_dir)}"]
    return [verilate, *seed, make, *rest]


def ccache_dir(spec: "BuildSpec") -> Path:
    """Where ccache keeps its objects for builds under ``spec.build_root`` (unless
    ``$CCACHE_DIR`` says otherwise): ``build/ccache`` for the default ``build/sim``."""
    return Path(spec.build_root).parent / CCACHE_ROOT_NAME
