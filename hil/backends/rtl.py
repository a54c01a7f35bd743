"""The RTL dense backend: every datapath layer runs on the Verilog in a simulator.

Each layer's beats (:func:`pyref.beats.layer_to_beats`: job ``n * C + c`` computes ``y[n, c]``)
go through the testbench's batch transport at full rate (:mod:`tb.stream.session`), with its
scoreboard checking every output against pyref (predicted once, in this process). The backend
returns what the RTL produced — its outputs and saturation flags as captured from the
simulator, right or wrong — with the simulated cycles and the wall time; a mismatch is printed
with its job, row, channel, cycle and inputs. This module and :mod:`hil.cli` are the only ones
of hil that import the testbench (:mod:`tb`), each where it needs it.

One simulator process serves all the layers of a config (a network runs in one simulation); a
new config (the digits sweep's bit-widths) closes it and starts the next, each on its own cached
build (``build/sim/<sim>/<config>-batch/``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from pyref.config import QmacConfig
from pyref.layer import Layer

from .api import BackendResult, BackendUnavailable

BEATS_PER_SECOND = {"verilator": 4_000_000, "icarus": 50_000}
"""Rough checked beats per second of the batch transport at 8 lanes (docs/performance.md), for
run-time estimates."""


class RtlBackend:
    """Runs each layer on the RTL of ``config`` in ``sim`` (``verilator`` or ``icarus``).

    ``rtl_dir`` simulates the Verilog files of another folder; ``build_root`` puts the builds
    elsewhere than ``build/sim``; ``log`` prints the backend's messages (build, start,
    mismatches). Close it (or use ``with``) to end the simulation; it is also closed at exit.
    """

    name = "rtl"

    def __init__(
        self,
        sim: str = "verilator",
        config: QmacConfig | None = None,
        *,
        rtl_dir: Path | None = None,
        build_root: Path | None = None,
        log: Callable[[str], None] | None = None,
    ):
        from tb.api import SimulatorMissing, check_simulator

        try:
            check_simulator(sim)
        except (SimulatorMissing, ValueError) as exc:
            raise BackendUnavailable(f"RTL backend: {exc}") from None
        self.sim = sim
        self.rtl_dir = rtl_dir
        self.build_root = build_root
        self.log = log or (lambda text: print(text, flush=True))
        self.description = f"rtl ({sim}, batch transport)"
        self.session = None
        self.layers_run = 0
        if config is not None:
            self._session_for(config)

    def run(self, layer: Layer, config: QmacConfig) -> BackendResult:
        """The layer's outputs as the RTL produced them (``y``, ``saturated`` from out_sat_o)."""
        t0 = time.perf_counter()
        session = self._session_for(config)
        res = session.run_layer(layer)
        index = self.layers_run
        self.layers_run += 1
        if not res.passed:
            self._log_failures(index, layer, res)
        res.require_outputs()
        shape = (layer.n, layer.c)
        reference = BackendResult(
            y=res.expected.y.reshape(shape), saturated=res.expected.saturated.reshape(shape)
        )
        return BackendResult(
            y=res.y.reshape(shape),
            cycles=res.cycles,
            wall=time.perf_counter() - t0,
            saturated=res.sat.reshape(shape),
            reference=reference,
        )

    def run_stream(self, stream, config: QmacConfig) -> BackendResult:
        """Play a :class:`pyref.beats.BeatStream` of any jobs (e.g. the per-channel layers of a
        depthwise conv, :mod:`hil.backends.stream`): ``y``/``saturated`` per job, in job order."""
        t0 = time.perf_counter()
        res = self._session_for(config).run(stream)
        index = self.layers_run
        self.layers_run += 1
        if not res.passed:
            self.log(
                f"RTL stream {index} ({stream.n_jobs} jobs): {res.report.mismatches} "
                f"mismatch(es) vs pyref"
            )
            for line in res.failure_lines(3):
                self.log(line)
        res.require_outputs()
        return BackendResult(
            y=res.y, cycles=res.cycles, wall=time.perf_counter() - t0, saturated=res.sat
        )

    def close(self) -> None:
        """End the simulation (if one runs)."""
        if self.session is not None:
            self.session.close()
            self.session = None

    def __enter__(self) -> "RtlBackend":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _session_for(self, config: QmacConfig):
        from tb.api import RtlSession, config_name

        if self.session is not None and self.session.config == config:
            return self.session
        self.close()
        t0 = time.perf_counter()
        session = RtlSession(config, self.sim, rtl_dir=self.rtl_dir, build_root=self.build_root)
        session.start()
        b = session.build
        self.log(
            f"RTL: {self.sim}, config {config_name(config)}: build "
            f"{'compiled' if b.compiled else 'reused'} ({b.seconds:.1f} s, {b.build_dir}), "
            f"simulator up in {time.perf_counter() - t0:.1f} s; run folder {session.run_dir}"
        )
        self.session = session
        return session

    def _log_failures(self, index: int, layer: Layer, res) -> None:
        from tb.api import format_mismatch

        rep = res.report
        self.log(
            f"RTL layer {index} ({layer.n} x {layer.k} -> {layer.c}): {rep.mismatches} "
            f"mismatch(es) vs pyref {rep.mismatch_counts}"
        )
        if rep.error:
            self.log(f"  error: {rep.error}")
        for m in rep.details[:3]:
            if m.get("job") is not None:
                row, ch = divmod(int(m["job"]), layer.c)
                self.log(f"  job {m['job']} is y[{row}, {ch}] (row {row}, channel {ch}):")
            self.log(format_mismatch(m))
        if res.request is not None:
            rtl = f" RTL={self.rtl_dir}" if self.rtl_dir is not None else ""
            self.log(
                f"  replay: make sim VECTORS={res.request} SIM={self.sim} IDLE=none "
                f"READY=none RESETS=0 SEED=0{rtl}"
            )
        self.log(f"  log: {res.run_dir / 'sim.log'}")


def make_backend(
    sim: str = "verilator", config: QmacConfig | None = None, *, rtl_dir: str | Path | None = None
) -> RtlBackend:
    """The RTL backend on ``sim`` (the Verilog of ``rtl_dir``, default ``rtl/``); with ``config``
    its simulator starts now (else at the first layer). Raises
    :class:`hil.backends.select.BackendUnavailable` when ``sim`` is not installed."""
    return RtlBackend(sim, config, rtl_dir=None if rtl_dir is None else Path(rtl_dir))


def estimate_seconds(beats: int, sim: str) -> float:
    """Rough simulation time of ``beats`` checked beats on ``sim``."""
    return beats / BEATS_PER_SECOND.get(sim, 50_000)
