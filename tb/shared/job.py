"""What a simulation run is asked to do (:class:`SimJob`) and what it found (:class:`SimReport`).

The parent process (the CLI, a pytest case) writes the job as JSON into the environment of the
simulator; the cocotb test reads it, runs, and writes the report as JSON next to it. Both
transports (per-cycle and batch) use the same two records.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from pyref.config import QmacConfig

from .coverage import CoverageReport
from .defaults import RUN_DEFAULTS

ENV_VAR = "QMAC_TB_JOB"
"""Environment variable that carries the job (JSON) into the simulator process."""


@dataclasses.dataclass
class SimJob:
    """One run of the testbench."""

    config: dict
    config_name: str
    sim: str
    seed: int
    n: int
    """Jobs (outputs) to generate; a reset drops the few in flight, see the report."""
    mode: str = RUN_DEFAULTS["mode"]
    mix: dict | None = None
    """Stimulus kinds and their shares (default: :data:`tb.shared.generators.DEFAULT_MIX`)."""
    idle: str = RUN_DEFAULTS["idle"]
    ready: str = RUN_DEFAULTS["ready"]
    resets: int = RUN_DEFAULTS["resets"]
    vectors: str | None = None
    trace: str | None = None
    """A cycle trace (tb/shared/cycle_trace.py) driven as it is, instead of jobs."""
    coverage: bool = True
    """Bin the jobs for functional coverage (hardware in the loop turns it off: it reports none)."""
    max_mismatches: int = 10
    results: str = ""
    repro: str = ""
    waves: bool = False

    def qmac_config(self) -> QmacConfig:
        return QmacConfig.from_dict(self.config)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "SimJob":
        return cls(**json.loads(text))

    @classmethod
    def from_env(cls) -> "SimJob":
        text = os.environ.get(ENV_VAR)
        if not text:
            raise RuntimeError(
                f"{ENV_VAR} is not set: start this cocotb test through "
                "tb.run.runner (make sim / python -m tb.cli.sim), which passes "
                "the job in it"
            )
        return cls.from_json(text)


@dataclasses.dataclass
class SimReport:
    """The outcome of a run, as the cocotb test saw it."""

    passed: bool
    job: dict
    outputs_checked: int = 0
    mismatches: int = 0
    mismatch_counts: dict = dataclasses.field(default_factory=dict)
    details: list = dataclasses.field(default_factory=list)
    saturated: int = 0
    overflowed: int = 0
    """Checked outputs whose accumulator overflowed (wrapped or saturated, per ``acc_mode``)."""
    jobs: int = 0
    jobs_sent: int = 0
    dropped_by_reset: int = 0
    resets: int = 0
    beats: int = 0
    cycles: int = 0
    sim_seconds: float = 0.0
    prepare_seconds: float = 0.0
    coverage: dict = dataclasses.field(default_factory=dict)
    events: dict = dataclasses.field(default_factory=dict)
    notes: list = dataclasses.field(default_factory=list)
    error: str | None = None
    stopped: str = ""
    """Why the run stopped before its last output ("" when it played everything), e.g.
    ``MAX_MISMATCHES = 10 reached``; ``beats`` then counts only the beats played."""

    @property
    def sim_job(self) -> SimJob:
        return SimJob(**self.job)

    def coverage_report(self) -> CoverageReport | None:
        return CoverageReport.from_dict(self.coverage) if self.coverage else None

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=1, default=_jsonable)

    @classmethod
    def from_json(cls, text: str) -> "SimReport":
        return cls(**json.loads(text))

    def save(self, path: str | os.PathLike) -> None:
        Path(path).write_text(self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SimReport":
        return cls.from_json(Path(path).read_text())


def _jsonable(v: Any) -> Any:
    try:
        import numpy as np

        if isinstance(v, np.generic):
            return v.item()
        if isinstance(v, np.ndarray):
            return v.tolist()
    except ImportError:  # pragma: no cover
        pass
    raise TypeError(f"{type(v).__name__} is not JSON serializable")
