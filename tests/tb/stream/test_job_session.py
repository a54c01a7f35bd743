"""JobSession's refusals, before anything is built (its runs are checked by the fault tests,
tests/tb/shared/test_faults.py and tests/tb/batch/test_batch_rtl.py, against runs of their own)."""

import pytest

from pyref.config import named_config
from tb.shared.job import SimJob
from tb.stream.job_session import JobSession


def _job(config_name: str, mode: str, sim: str = "icarus", **kw) -> SimJob:
    cfg = named_config(config_name)
    return SimJob(
        config=cfg.to_dict(), config_name=config_name, sim=sim, seed=1, n=10, mode=mode, **kw
    )


def test_verilator_is_refused():
    with pytest.raises(ValueError, match="icarus only, not 'verilator'"):
        JobSession(named_config("default"), "cycle", "verilator")


@pytest.mark.parametrize(
    "job",
    [_job("tflite", "cycle"), _job("default", "batch"), _job("default", "cycle", waves=True)],
    ids=["other-config", "other-mode", "waves"],
)
def test_a_job_the_session_does_not_run_is_refused(job):
    session = JobSession(named_config("default"), "cycle")
    with pytest.raises(ValueError, match="not for this session|without waveforms"):
        session.run_job(job)
    assert session.build is None and session.runs == 0  # nothing built or started
