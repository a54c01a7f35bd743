"""One point of a sweep (a config on a simulator with N outputs and a seed) and its digest.

A point's seed comes from the spec's seed and the point's key, so the same point gets the same
stimulus in every run and on every shard. Its digest covers everything its verdict depends on:
the RTL, the testbench and reference model sources, the parameters, N, the seed and the tool
versions; a point whose digest already passed is not run again (unless forced).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from pathlib import Path

from pyref.config import QmacConfig

REPO_ROOT = Path(__file__).resolve().parent.parent
DIGEST_VERSION = 1
"""Bump when the way a point is checked changes in a way the digest cannot see."""
VERDICT_MODULES = ("runner.py", "synth.py", "points.py")
# (the FPGA flow, tb/run/fpga.py, is part of the testbench files every digest covers)
"""The sweep's own modules that decide a verdict (part of the digest; the report code is not)."""


def short_config(cfg: QmacConfig) -> str:
    """A compact, unique name of a config: ``l8-s8x8-a32w-b32-s6-half_up-o8`` (``m16`` when
    there is a multiplier, ``u`` for unsigned inputs)."""
    sign = "s" if cfg.in_signed else "u"
    mult = f"-m{cfg.mult_bits}" if cfg.mult_bits else ""
    return (
        f"l{cfg.lanes}-{sign}{cfg.in_bits}x{cfg.w_bits}-a{cfg.acc_bits}{cfg.acc_mode[0]}"
        f"-b{cfg.bias_bits}{mult}-s{cfg.shift_bits}-{cfg.rounding}-o{cfg.out_bits}"
    )


@dataclasses.dataclass(frozen=True)
class Point:
    """A config to build, simulate and synthesize."""

    config: QmacConfig
    sim: str
    n: int
    seed: int
    origin: str = ""
    """The spec group (or ``include``) that produced it."""
    pnr: bool = False
    """Also place and route it on the FPGA (``pnr = true`` in the spec, or ``PNR=1``)."""

    @classmethod
    def make(
        cls,
        config: QmacConfig,
        sim: str,
        n: int,
        *,
        spec_seed: int,
        origin: str = "",
        pnr: bool = False,
    ) -> "Point":
        key = _key(config, sim, n)
        seed = (
            int.from_bytes(hashlib.sha256(f"{spec_seed}/{key}".encode()).digest()[:4], "big")
            & 0x7FFFFFFF
        )
        return cls(config, sim, n, seed, origin, pnr)

    @property
    def key(self) -> str:
        """Unique within a sweep: simulator, config and N."""
        return _key(self.config, self.sim, self.n)

    @property
    def name(self) -> str:
        """What a reader sees: ``icarus lanes=8 in=s8 w=8 acc=32/wrap ... N=2000``."""
        return f"{self.sim} {self.config.describe()} N={self.n}"

    def to_dict(self) -> dict:
        return {
            "key": self.key,
            "name": self.name,
            "sim": self.sim,
            "n": self.n,
            "seed": self.seed,
            "origin": self.origin,
            "config": self.config.to_dict(),
            "pnr": self.pnr,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Point":
        return cls(
            QmacConfig.from_dict(d["config"]),
            d["sim"],
            int(d["n"]),
            int(d["seed"]),
            d.get("origin", ""),
            bool(d.get("pnr", False)),
        )


def _key(config: QmacConfig, sim: str, n: int) -> str:
    return f"{sim}/{short_config(config)}/n{n}"


@dataclasses.dataclass
class Skipped:
    """A combination pyref's validation refuses, with its reason."""

    fields: dict
    sim: str
    reason: str
    origin: str = ""
    expected: bool = False
    """The spec expects this refusal (``allow_skip``); an unexpected one fails the sweep."""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def tree_digest(files: list[Path]) -> str:
    """Hash of the names and contents of ``files``."""
    h = hashlib.sha256()
    for p in files:
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


@functools.lru_cache(maxsize=None)
def _python_files(folder: str) -> tuple[Path, ...]:
    return tuple(sorted(p for p in Path(folder).rglob("*.py") if "__pycache__" not in p.parts))


def context_digest(rtl_files: list[Path], tb_files: list[Path], tools: dict) -> str:
    """The part of every point's digest shared by the whole run: RTL, testbench, reference model,
    the sweep's own checks and the tool versions."""
    own = [
        *_python_files(str(REPO_ROOT / "pyref")),
        *(REPO_ROOT / "sweep" / f for f in VERDICT_MODULES),
    ]
    h = hashlib.sha256()
    h.update(tree_digest(list(rtl_files)).encode())
    h.update(tree_digest(list(tb_files)).encode())
    h.update(tree_digest(own).encode())
    h.update(json.dumps({"tools": tools, "version": DIGEST_VERSION}, sort_keys=True).encode())
    return h.hexdigest()


def point_digest(point: Point, context: str) -> str:
    """The digest of ``point`` given the run's :func:`context_digest`."""
    h = hashlib.sha256(context.encode())
    h.update(
        json.dumps(
            {
                "config": point.config.rtl_parameters(),
                "sim": point.sim,
                "n": point.n,
                "seed": point.seed,
                "pnr": point.pnr,
            },
            sort_keys=True,
        ).encode()
    )
    return h.hexdigest()
