"""The ceilings of ``make bench``: the same RTL and the same vectors checked without Python.

- Verilator: ``tb/bench/hdl/qmac_native_bench.cpp``, a small C++ harness around the Verilated
  ``qmac`` (same optimization flags as the batch build), timed inside the harness;
- Icarus: ``tb/bench/hdl/qmac_bench_tb.v``, a plain Verilog testbench ($readmemh in, compare),
  timed as the wall time of ``vvp``.

Both are built here, in ``build/bench/``, through the same cache as the simulator builds
(:func:`tb.run.build.cached`).
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import time
from pathlib import Path

import numpy as np

from pyref.beats import BeatStream, JobResult
from pyref.config import QmacConfig
from tb.batch import pack as batch_pack
from tb.run import toolchain
from tb.run.batch_harness import MAKE_FLAGS
from tb.run.build import (
    RTL_DIR,
    WORK_ROOT,
    cached,
    config_name,
    content_digest,
    rtl_headers,
    rtl_sources,
)
from tb.shared.packing import pack_fields

HDL_DIR = Path(__file__).resolve().parent / "hdl"
NATIVE_SOURCE = HDL_DIR / "qmac_native_bench.cpp"
ICARUS_TB = HDL_DIR / "qmac_bench_tb.v"
BENCH_ROOT = WORK_ROOT / "build" / "bench"
NATIVE_FLAGS = (
    "-O3",
    "--x-assign",
    "fast",
    "--x-initial",
    "fast",
    "-Wno-fatal",
    "-Wno-lint",
    "-Wno-style",
)


class Throughput:
    """Rates of a measurement with ``beats``, ``outputs`` and ``seconds`` (0.0 when untimed)."""

    beats: int
    outputs: int
    seconds: float

    @property
    def beats_per_s(self) -> float:
        return self.beats / self.seconds if self.seconds else 0.0

    @property
    def outputs_per_s(self) -> float:
        return self.outputs / self.seconds if self.seconds else 0.0


@dataclasses.dataclass
class CeilingResult(Throughput):
    """One ceiling measurement."""

    sim: str
    beats: int
    outputs: int
    cycles: int
    errors: int
    seconds: float


def build_native(config: QmacConfig) -> Path:
    """Build (or reuse) the native Verilator harness for ``config``; returns the executable."""
    toolchain.use_simulator("verilator")
    bdir = BENCH_ROOT / f"native-{config_name(config)}"
    exe = bdir / "qmac_native_bench"
    defines = {
        "LANES": config.lanes,
        "IN_BITS": config.in_bits,
        "W_BITS": config.w_bits,
        "OUT_BITS": config.out_bits,
        "BIAS_BITS": config.bias_bits,
        "MULT_W": max(config.mult_bits, 1),
        "SHIFT_BITS": config.shift_bits,
    }
    cflags = "-O2 -std=c++17 " + " ".join(f"-D{k}={v}" for k, v in defines.items())
    cmd = [
        "verilator",
        "--cc",
        "--exe",
        "--build",
        "-j",
        "2",
        *NATIVE_FLAGS,
        "--top-module",
        "qmac",
        f"-I{RTL_DIR}",
        "-Mdir",
        str(bdir),
        "-o",
        exe.name,
        "-CFLAGS",
        cflags,
        "-MAKEFLAGS",
        " ".join(MAKE_FLAGS),
        *[f"-G{k}={v}" for k, v in config.rtl_parameters().items()],
        str(NATIVE_SOURCE),
        *map(str, rtl_sources()),
    ]

    def make(log: Path) -> None:
        with open(log, "w") as f:
            subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, check=True)

    digest = content_digest(
        [*rtl_sources(), *rtl_headers(), NATIVE_SOURCE],
        {"cmd": cmd, "verilator": toolchain.simulator_version("verilator")},
    )
    cached(bdir, digest, exe.name, make, what="native harness build")
    return exe


def _job_table(stream: BeatStream, config: QmacConfig) -> np.ndarray:
    """``(jobs, 6)`` uint64: bias, mult, shift, out_zp, act_min, act_max masked to their widths."""
    ends = stream.job_ends
    m = len(ends)
    widths = [
        config.bias_bits,
        max(config.mult_bits, 1),
        config.shift_bits,
        config.out_bits,
        config.out_bits,
        config.out_bits,
    ]
    cols = [stream.bias, stream.mult, stream.shift, stream.out_zp, stream.act_min, stream.act_max]
    # One field per 64-bit slot: the value at its width, zeros above it.
    slots = [
        pack_fields(
            m, [(col[ends], bits)] + ([(np.zeros(m, np.int64), 64 - bits)] if bits < 64 else [])
        )
        for col, bits in zip(cols, widths)
    ]
    return np.ascontiguousarray(np.concatenate(slots, axis=1)).view(np.uint64)


def run_native(config: QmacConfig, stream: BeatStream, expected: JobResult) -> CeilingResult:
    """Check ``stream`` on the native harness; the time is the harness's own loop."""
    exe = build_native(config)
    vec = exe.parent / "vectors"
    vec.mkdir(exist_ok=True)
    n = len(stream)
    xw = pack_fields(n, [(stream.x, config.in_bits)])
    ww = pack_fields(n, [(stream.w, config.w_bits)])
    (vec / "x.bin").write_bytes(np.ascontiguousarray(xw).tobytes())
    (vec / "w.bin").write_bytes(np.ascontiguousarray(ww).tobytes())
    flags = stream.first.astype(np.uint8) | (stream.last.astype(np.uint8) << 1)
    (vec / "flags.bin").write_bytes(flags.tobytes())
    (vec / "jobs.bin").write_bytes(_job_table(stream, config).tobytes())
    exp = np.stack(
        [np.asarray(expected.y, dtype=np.int32), np.asarray(expected.saturated, dtype=np.int32)],
        axis=1,
    )
    (vec / "expect.bin").write_bytes(np.ascontiguousarray(exp).tobytes())
    res = subprocess.run([str(exe), str(vec)], capture_output=True, text=True)
    try:
        out = json.loads(res.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise RuntimeError(f"native harness failed: {res.stdout}{res.stderr}") from None
    return CeilingResult(
        "verilator", out["beats"], out["outputs"], out["cycles"], out["errors"], out["seconds"]
    )


def run_icarus(config: QmacConfig, stream: BeatStream, expected: JobResult) -> CeilingResult:
    """Check ``stream`` with the plain Verilog testbench; the time is vvp's wall time."""
    toolchain.use_simulator("icarus")
    n, m = len(stream), stream.n_jobs
    params = {**config.rtl_parameters(), "N_BEATS": n, "N_JOBS": m}
    bdir = BENCH_ROOT / f"icarus-{config_name(config)}"
    vvp = bdir / "bench.vvp"
    cmd = [
        "iverilog",
        "-g2012",
        "-o",
        str(vvp),
        "-s",
        "qmac_bench_tb",
        f"-I{RTL_DIR}",
        *[f"-Pqmac_bench_tb.{k}={v}" for k, v in params.items()],
        str(ICARUS_TB),
        *map(str, rtl_sources()),
    ]

    def make(log: Path) -> None:
        with open(log, "w") as f:
            subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, check=True)

    digest = content_digest(
        [*rtl_sources(), *rtl_headers(), ICARUS_TB],
        {"cmd": cmd, "icarus": toolchain.simulator_version("icarus")},
    )
    cached(bdir, digest, vvp.name, make, what="Icarus bench testbench build")
    beats = batch_pack.pack_beats(stream, config)
    jobs = batch_pack.pack_jobs(stream, config)
    (bdir / "bench_beats.hex").write_bytes(
        batch_pack.to_hex_lines(beats, batch_pack.beat_bits(config))
    )
    (bdir / "bench_jobs.hex").write_bytes(
        batch_pack.to_hex_lines(jobs, batch_pack.job_bits(config))
    )
    ex = pack_fields(
        m,
        [
            (np.asarray(expected.y), config.out_bits),
            (np.asarray(expected.saturated, dtype=np.int64), 1),
        ],
    )
    (bdir / "bench_expect.hex").write_bytes(batch_pack.to_hex_lines(ex, config.out_bits + 1))
    t0 = time.perf_counter()
    res = subprocess.run(["vvp", "-n", str(vvp)], cwd=bdir, capture_output=True, text=True)
    secs = time.perf_counter() - t0
    m_ = re.search(r"QB_BENCH beats=(\d+) outputs=(\d+) cycles=(\d+) errors=(\d+)", res.stdout)
    if not m_:
        raise RuntimeError(f"Icarus bench testbench failed: {res.stdout}{res.stderr}")
    b, o, c, e = map(int, m_.groups())
    return CeilingResult("icarus", b, o, c, e, secs)


if __name__ == "__main__":  # python -m tb.bench.native: both ceilings on a small run
    from pyref.beats import predict_jobs
    from tb.shared.generators import mixed_stimulus

    cfg = QmacConfig()
    stim = mixed_stimulus(cfg, np.random.default_rng(1), 20000)
    print(run_native(cfg, stim.stream, predict_jobs(stim.stream, cfg)))
    small = mixed_stimulus(cfg, np.random.default_rng(1), 1000)
    print(run_icarus(cfg, small.stream, predict_jobs(small.stream, cfg)))
