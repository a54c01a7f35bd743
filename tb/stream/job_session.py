"""Several :class:`~tb.shared.job.SimJob` runs in one simulator process, on either transport.

:func:`tb.run.runner.run_sim` starts a simulator (and Python inside it) for every job: about a
second of CPU before the first beat, more than a few hundred outputs take to check. A
:class:`JobSession` keeps one simulator of one build (config, transport, RTL folder) and plays
job after job in it, each exactly as its own run would (the same stimulus, patterns, resets and
checks from the same seed, the same report), each after a reset. ``deposits`` set named
registers anywhere in the design before a run's reset, e.g. the selector of a mutant schema
(``{"qmac_mutant_sel": K}``, :mod:`mutate.schema`), so one session can run every mutant of a
schema. Simulator side: :mod:`tb.stream.job_cocotb_test`.

Icarus only for now: Verilator lets Python write a register only when the model is built with it
public (``deposits`` then need ``--public-flat-rw``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from pyref.config import QmacConfig
from tb.shared.job import SimJob, SimReport

from .session import RtlRunError, RtlSession

JOB_TEST_MODULE = "tb.stream.job_cocotb_test"


class JobSession(RtlSession):
    """One simulator process running the build of ``config`` for transport ``mode`` (``cycle``
    or ``batch``) on ``sim``, for any number of jobs (:meth:`run_job`)."""

    test_module = JOB_TEST_MODULE

    def __init__(
        self,
        config: QmacConfig,
        mode: str,
        sim: str = "icarus",
        *,
        rtl_dir: Path | None = None,
        build_root: Path | None = None,
        start_timeout: float = 600.0,
    ):
        if sim != "icarus":
            raise ValueError(f"JobSession runs on icarus only, not {sim!r}")
        super().__init__(
            config, sim, rtl_dir=rtl_dir, build_root=build_root, start_timeout=start_timeout
        )
        self.mode = mode

    def _build_spec(self):
        from tb.run.build import BUILD_ROOT, RTL_DIR, BuildSpec, build_profile
        from tb.run.runner import get_transport

        return BuildSpec(
            sim=self.sim,
            config=self.config,
            harness=get_transport(self.mode).harness,
            rtl_dir=Path(self.rtl_dir or RTL_DIR),
            build_root=Path(self.build_root or BUILD_ROOT),
            profile=build_profile(None),
        )

    def run_job(self, job: SimJob, deposits: Mapping[str, int] | None = None) -> SimReport:
        """Play ``job`` (its config, mode and simulator must be the session's) after setting every
        register named in ``deposits``; its report (also saved to ``job.results`` when set)."""
        if job.qmac_config() != self.config or job.mode != self.mode or job.sim != self.sim:
            raise ValueError(
                f"job ({job.config_name}, {job.mode}, {job.sim}) is not for this session "
                f"({self.mode}, {self.sim})"
            )
        if job.waves:
            raise ValueError("a JobSession runs jobs without waveforms")
        self.start()
        i = self.runs
        self.runs += 1
        self._send({"job": job.to_json(), "deposits": dict(deposits or {})})
        reply, _ = self._receive()
        if not reply.get("ok"):
            raise RtlRunError(
                f"the {self.sim} simulation could not run job {i}:\n{reply.get('error', reply)}"
            )
        return SimReport.from_json(reply["report"])


__all__ = ["JobSession"]
