"""Play given beats on the RTL and get back what it produced: the hook of hardware in the loop.

:func:`run_stream` plays a :class:`pyref.beats.BeatStream` through the batch transport at full
rate (no idle gaps, no back-pressure, no resets), with the scoreboard checking every output
against pyref exactly as ``make sim`` does, and returns what the RTL output for each job (its
values, not pyref's), the simulated cycles and the scoreboard's report. :func:`run_layer` does
the same for a layer's beats (:func:`pyref.beats.layer_to_beats`: job ``n * C + c`` computes
``y[n, c]``).

:class:`RtlSession` keeps one simulator process for several runs, e.g. the layers of a network
one after the other (each layer's input is the previous RTL output)::

    with RtlSession(config, "verilator") as rtl:
        h = rtl.run_layer(layer1)                       # StreamResult
        out = rtl.run_layer(next_layer(h.y.reshape(n, c)))

Inside the simulator runs the cocotb test :mod:`tb.stream.cocotb_test`: it connects back over a
Unix socket. A request carries the layer (or the beats) and pyref's prediction for its jobs, made
once here (:mod:`tb.stream.request`), as arrays over that socket (:mod:`tb.stream.channel`); the
simulator plays them with :func:`tb.batch.cocotb_test.run_job` and answers with the report and
what the RTL output for each job, on the same socket. No files. The session uses the config's
batch build (``build/sim/<sim>/<config>-batch/``, shared with ``make sim`` and built once) and a
run folder of its own (:mod:`tb.run.run_dirs`).
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import json
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from pyref.beats import BeatStream, JobResult, predict_jobs
from pyref.config import QmacConfig
from pyref.layer import Layer, check_config, check_layer_and_config
from tb.run import run_dirs
from tb.shared.job import SimJob, SimReport
from tb.shared.scoreboard import format_mismatch

from . import request
from .channel import SERVER_ENV, Channel, ChannelClosed

TEST_MODULE = "tb.stream.cocotb_test"
POLL_SECONDS = 0.2


class RtlRunError(RuntimeError):
    """The simulation did not produce what was asked: it died, or jobs had no (known) output."""


@dataclasses.dataclass
class StreamResult:
    """What the RTL did with one stream.

    ``y``/``sat`` are the RTL's output and saturation flag per job, in job order, wherever
    ``produced`` is True (a job with no output, or X/Z on it, has ``produced`` False and 0 in
    ``y``). ``report`` is the scoreboard's verdict against pyref: mismatches with their job,
    cycle and inputs. ``cycles`` are the simulated clock cycles, ``wall`` the seconds from
    request to answer (preparing, simulating, checking).
    """

    y: np.ndarray
    sat: np.ndarray
    produced: np.ndarray
    report: SimReport
    cycles: int
    wall: float
    run_dir: Path
    expected: JobResult | None = None
    """pyref's prediction for each job, which the scoreboard checked the RTL against."""
    request: Path | None = None
    """A failed layer's vector file (``make sim VECTORS=`` replays it)."""

    @property
    def passed(self) -> bool:
        return self.report.passed

    @property
    def mismatches(self) -> int:
        return self.report.mismatches

    def failure_lines(self, limit: int = 5) -> list[str]:
        """The report's error and first failures, formatted as ``make sim`` prints them."""
        lines = [f"error: {self.report.error}"] if self.report.error else []
        lines += [format_mismatch(m) for m in self.report.details[:limit]]
        return lines

    def require_outputs(self) -> None:
        """Raise :class:`RtlRunError` (with the failures) unless every job produced an output."""
        if self.produced.all():
            return
        missing = np.flatnonzero(~self.produced)
        lines = [
            f"the RTL produced no known output for {len(missing)} of {len(self.produced)} "
            f"jobs (first: job {int(missing[0])})",
            *self.failure_lines(),
            f"log: {self.run_dir / 'sim.log'}",
        ]
        raise RtlRunError("\n".join(lines))


class RtlSession:
    """One simulator process running the RTL of ``config`` on ``sim``, for any number of runs.

    :meth:`start` builds the config (or reuses its build) and starts the simulator; :meth:`run`
    and :meth:`run_layer` play one stream each; :meth:`close` (or leaving the ``with`` block)
    ends the simulation. ``rtl_dir`` simulates the Verilog of another folder.
    """

    def __init__(
        self,
        config: QmacConfig,
        sim: str = "verilator",
        *,
        rtl_dir: Path | None = None,
        build_root: Path | None = None,
        start_timeout: float = 600.0,
    ):
        check_config(config)
        self.config = config
        self.sim = sim
        self.rtl_dir = rtl_dir
        self.build_root = build_root
        self.start_timeout = start_timeout
        self.build = None
        self.run_dir: Path | None = None
        self.start_seconds = 0.0
        self.runs = 0
        self._conn: socket.socket | None = None
        self._channel: Channel | None = None
        self._thread: threading.Thread | None = None
        self._sim_error: BaseException | None = None
        self._exit = contextlib.ExitStack()

    # -- life cycle ------------------------------------------------------------------------------

    def start(self) -> "RtlSession":
        """Build (or reuse the build) and start the simulator; returns self."""
        if self._conn is not None:
            return self
        from tb.run.build import build

        t0 = time.perf_counter()
        spec = self._build_spec()
        try:
            self.build = build(spec)
        except RuntimeError as exc:  # the log's tail is in the message
            raise RtlRunError(f"the RTL does not build for {self.sim}: {exc}") from None
        try:
            self.run_dir = self._exit.enter_context(run_dirs.run_dir(spec.build_dir))
            sock_dir = tempfile.mkdtemp(prefix="qmac-rtl-")  # short path: AF_UNIX limit
            self._exit.callback(shutil.rmtree, sock_dir, True)
            address = os.path.join(sock_dir, "sock")
            server = self._exit.enter_context(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
            server.bind(address)
            server.listen(1)
            server.settimeout(POLL_SECONDS)
            os.environ.pop("COCOTB_RESOLVE_X", None)  # X must stay X for the checks
            os.environ.pop(SERVER_ENV, None)  # the runner lets os.environ win
            env = {SERVER_ENV: json.dumps({"address": address})}
            self._thread = threading.Thread(
                target=self._simulate, args=(spec, env), name=f"qmac-{self.sim}", daemon=True
            )
            self._thread.start()
            deadline = time.monotonic() + self.start_timeout
            while self._conn is None:
                try:
                    self._conn, _ = server.accept()
                except socket.timeout:
                    if not self._thread.is_alive():
                        raise self._died("ended before it was ready") from None
                    if time.monotonic() > deadline:
                        raise RtlRunError(
                            f"the {self.sim} simulation did not start within "
                            f"{self.start_timeout:.0f} s; log: {self.log_file}"
                        )
            self._conn.settimeout(POLL_SECONDS)
            self._channel = Channel(self._conn, alive=self._thread.is_alive)
        except BaseException:
            self.close()
            raise
        atexit.register(self.close)
        self.start_seconds = time.perf_counter() - t0
        return self

    def close(self) -> None:
        """Tell the simulation to finish and wait for it (idempotent)."""
        atexit.unregister(self.close)
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._channel.send({"op": "quit"})
            self._conn.close()
            self._conn = None
            self._channel = None
        if self._thread is not None:
            self._thread.join(timeout=120)
            self._thread = None
        self._exit.close()

    def __enter__(self) -> "RtlSession":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def log_file(self) -> Path | None:
        return None if self.run_dir is None else self.run_dir / "sim.log"

    # -- runs ------------------------------------------------------------------------------------

    def run(self, stream: BeatStream) -> StreamResult:
        """Play ``stream`` and return what the RTL produced, job by job."""
        check_stream(stream)
        stream.validate(self.config)
        expected = predict_jobs(stream, self.config)
        return self._request(request.beats_arrays(stream, expected), expected)

    def run_layer(self, layer: Layer) -> StreamResult:
        """Play the beats of ``layer`` (job ``n * C + c`` computes ``y[n, c]``; the simulator
        makes them from the layer with :func:`pyref.beats.layer_to_beats`). A run that fails
        leaves the layer as a vector file for ``make sim VECTORS=``
        (:attr:`StreamResult.request`)."""
        check_layer_and_config("RtlSession.run_layer(layer)", layer, self.config)
        layer.validate(self.config)
        expected = request.predict_layer(layer, self.config)
        result = self._request(request.layer_arrays(layer, expected), expected)
        if not result.passed or not result.produced.all():
            from pyref.vectors import save_vectors

            result.request = Path(
                save_vectors(self.run_dir / f"req{self.runs - 1}-layer.npz", self.config, layer)
            )
        return result

    def _request(self, arrays: dict, expected: JobResult) -> StreamResult:
        from tb.run.build import config_name

        self.start()
        t0 = time.perf_counter()
        i = self.runs
        self.runs += 1
        n_jobs = len(expected.y)
        job = SimJob(
            config=self.config.to_dict(),
            config_name=config_name(self.config),
            sim=self.sim,
            seed=0,
            n=n_jobs,
            mode="batch",
            idle="none",
            ready="none",
            resets=0,
            coverage=False,
            max_mismatches=n_jobs + 1,
        )
        self._send({"job": job.to_json()}, arrays)
        reply, out = self._receive()
        if not reply.get("ok"):
            raise RtlRunError(
                f"the {self.sim} simulation could not run request {i}:\n{reply.get('error', reply)}"
            )
        report = SimReport.from_json(reply["report"])
        if not report.passed:  # keep the folder: the failure report names files in it
            run_dirs.mark_failed(self.run_dir, f"request {i}: {report.mismatches} mismatches")
        return StreamResult(
            y=out["y"],
            sat=out["sat"],
            produced=out["produced"],
            report=report,
            cycles=report.cycles,
            wall=time.perf_counter() - t0,
            run_dir=self.run_dir,
            expected=expected,
        )

    # -- plumbing --------------------------------------------------------------------------------

    test_module = TEST_MODULE
    """The cocotb test module the simulator runs (it serves this session's requests)."""

    def _build_spec(self):
        """What the session simulates: the config's batch build."""
        from tb.run.batch_harness import make_spec

        return make_spec(self.config, self.sim, rtl_dir=self.rtl_dir, build_root=self.build_root)

    def _simulate(self, spec, env: dict) -> None:
        try:
            self.build.runner.test(
                test_module=self.test_module,
                hdl_toplevel=spec.toplevel,
                hdl_toplevel_lang="verilog",
                build_dir=str(spec.build_dir),
                test_dir=str(self.run_dir),
                seed=0,
                extra_env=env,
                log_file=str(self.log_file),
                results_xml=str(self.run_dir / "results.xml"),
            )
        except BaseException as exc:  # SystemExit from the runner included
            self._sim_error = exc

    def _died(self, what: str) -> RtlRunError:
        from tb.run.build import log_tail

        why = f" ({self._sim_error})" if self._sim_error else ""
        return RtlRunError(
            f"the {self.sim} simulation {what}{why}; log: {self.log_file}\n"
            f"{log_tail(self.log_file, 40)}"
        )

    def _send(self, message: dict, arrays: dict | None = None) -> None:
        if self._channel is None:
            raise RtlRunError("the RTL session is closed")
        try:
            self._channel.send(message, arrays)
        except OSError:
            raise self._died("is gone") from None

    def _receive(self) -> tuple[dict, dict]:
        try:
            return self._channel.receive()
        except ChannelClosed:
            self._thread.join(timeout=30)
            raise self._died("ended in the middle of a run") from None


def check_stream(stream) -> None:
    """``TypeError`` unless ``stream`` is a :class:`pyref.beats.BeatStream`."""
    if not isinstance(stream, BeatStream):
        raise TypeError(
            f"stream must be a pyref.beats.BeatStream (pyref.beats.jobs_to_beats or "
            f"layer_to_beats), got {type(stream).__name__}"
        )


def _swapped(call: str, config, second, second_type: type, second_name: str) -> None:
    # tb.stream takes (config, layer) like RtlSession(config); pyref.run_layer takes
    # (layer, config): the easy slip gets a message, not an AttributeError deep inside.
    if isinstance(config, second_type) and isinstance(second, QmacConfig):
        raise TypeError(
            f"{call}: got a {second_type.__name__} as config and a QmacConfig as "
            f"{second_name}: the arguments are swapped, the order is "
            f"{call}(config, {second_name}, sim) (pyref.run_layer is the one that "
            f"takes (layer, config))"
        )


def run_stream(
    config: QmacConfig, stream: BeatStream, sim: str = "verilator", **session_kw
) -> StreamResult:
    """Play ``stream`` on the RTL of ``config`` in ``sim`` (one simulator run); what the RTL
    produced for each job, the cycles, and the scoreboard's report against pyref.
    Bad arguments are refused before anything is built."""
    _swapped("run_stream", config, stream, BeatStream, "stream")
    check_config(config)
    check_stream(stream)
    stream.validate(config)
    with RtlSession(config, sim, **session_kw) as rtl:
        return rtl.run(stream)


def run_layer(
    config: QmacConfig, layer: Layer, sim: str = "verilator", **session_kw
) -> StreamResult:
    """:func:`run_stream` of ``layer``'s beats (job ``n * C + c`` computes ``y[n, c]``).
    Bad arguments (swapped, an empty layer, values out of range) are refused before anything is
    built."""
    _swapped("run_layer", config, layer, Layer, "layer")
    check_layer_and_config("run_layer(config, layer, sim)", layer, config)
    layer.validate(config)
    with RtlSession(config, sim, **session_kw) as rtl:
        return rtl.run_layer(layer)


__all__ = ["RtlRunError", "RtlSession", "StreamResult", "run_layer", "run_stream"]
