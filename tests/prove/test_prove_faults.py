"""Every fault of qmac's fault table, planted in a copy of rtl/, fails a proof; protocol faults
fail a protocol property. Four in make test (one per kind of proof, with replays on Icarus),
the whole table marked slow (about 3 s per fault and up to a minute for the protocol ones)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from prove import cex
from prove.plan import MODULE, PROTOCOL
from tb.shared.faults import FAULTS, apply_fault, fault_by_name

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faults_map import PROTOCOL_FAULTS, first_failure  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
QUICK = ("rounding_constant", "clamp_low", "mult_signed", "reset_in_job")


def _fails(name: str, tmp_path: Path):
    fault = fault_by_name(name)
    rtl = apply_fault(fault, tmp_path / "rtl")
    r = first_failure(fault, rtl, tmp_path / "work")
    assert r is not None, f"no proof fails on fault {name}"
    if name in PROTOCOL_FAULTS:
        assert r.check.kind == PROTOCOL
    return fault, rtl, r


@pytest.mark.parametrize("name", QUICK)
def test_fault_fails_a_proof(name, tmp_path):
    """Each kind of proof catches its fault: a rounding rule, the clamp, a shared-product
    module (the multiplier's operand signedness), a protocol property."""
    _fails(name, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", [f.name for f in FAULTS if f.name not in QUICK])
def test_every_fault_fails_a_proof(name, tmp_path):
    _fails(name, tmp_path)


REPLAYS = (
    "rounding_constant",
    "tie_rule_even",
    "clamp_low",
    "gemmlowp_nudge",
    "acc_saturates_in_wrap_mode",
    "last_lane_dropped",
    "fp32_acc_truncated",
    "fp32_exponent",
    # not mult_signed: on the re-pipelined RTL it sits in qmac_mul_pipe, which the module
    # proofs share as `*`; its proof is the multiplier ladder's, at widths no job maps to
    "fp32_product_lsb_lost",
)
CLI_REPLAY = "clamp_low"
"""The replay run through the printed ``make sim`` command line itself (two Python processes);
the others play the same job in this process, on simulator sessions (below)."""


@pytest.fixture(scope="module")
def clean_runs():
    """Plays a job on rtl/ in one Icarus session per (config, transport) of this module and
    worker (:class:`tb.stream.job_session.JobSession`, the build ``make sim`` uses), closed at
    the end."""
    from tb.stream.job_session import JobSession

    sessions: dict[tuple[str, str], JobSession] = {}

    def run(job):
        key = (job.qmac_config().to_json(), job.mode)
        if key not in sessions:
            sessions[key] = JobSession(job.qmac_config(), job.mode)
        return sessions[key].run_job(job)

    yield run
    for s in sessions.values():
        s.close()


def _replay(name: str, tmp_path: Path):
    """The fault, its planted RTL, and the words of the ``make sim VECTORS=... RTL=...`` command
    that replays the counterexample of the proof it fails."""
    from sim_skip import require_simulator

    require_simulator("icarus")
    fault, rtl, r = _fails(name, tmp_path)
    assert r.check.kind == MODULE
    cmd = cex.replay_command(r, {"fault": fault.qmac_config()}, tmp_path / "cex", rtl, rtl)
    assert cmd.startswith("make sim VECTORS=")
    return fault, rtl, ["SIM=icarus", *cmd.split()[2:]]


def _job(words: list[str]):
    """The job ``make sim`` makes of ``words`` (tb.cli.sim's own parsing and defaults)."""
    from tb.cli import sim

    p = sim.parser()
    job, _ = sim.job_from_args(p.parse_args(sim.normalize_argv(words, p)))
    return job


def _caught(rep) -> None:
    """The vector file's one job checked and wrong (``1 checked, 1 mismatches``, status 1)."""
    assert not rep.passed and rep.outputs_checked == 1 and rep.mismatches == 1, (
        rep.mismatch_counts,
        rep.details[:1],
        rep.error,
    )


def _clean(rep) -> None:
    """The vector file's one job checked and right (``1 checked, 0 mismatches``, status 0)."""
    assert rep.passed and rep.outputs_checked == 1 and rep.mismatches == 0, (
        rep.details[:1],
        rep.error,
    )


@pytest.mark.rtl
@pytest.mark.parametrize("name", [n for n in REPLAYS if n != CLI_REPLAY])
def test_counterexample_replays_as_a_mismatch(name, tmp_path, fault_runs, clean_runs):
    """The failed proof's counterexample, as a vector file, is a mismatch on the faulty RTL
    (make sim VECTORS=... RTL=...) and passes on rtl/ (gemmlowp: from the replay search; the
    accumulator, the beat sum and fp32's normalization: the spec's and the RTL's outputs read
    from the trace, and a requantization under which they give different y; qmac_fp32_round
    and qmac_fp32_mul: the witness as a job, else the fp32 replay search (qmac_fp32_mul's
    among the rounding edges first);
    qmac_requant_mul: the witness's accumulator and multiplier, a shift that shows them;
    tie_rule_even: a witness no zero point brings to y = 0, so the requantizer's replay search).
    The command's job plays on the fault schema's session (or the faulted copy the schema
    cannot hold) and on a session of rtl/; test_counterexample_replay_command runs one
    through the command line and checks that sessions give a run of its own's report."""
    fault, _, words = _replay(name, tmp_path)
    job = _job(words)  # RTL= does not enter the job: it picks the folder
    _caught(fault_runs.run(fault, job, tmp_path / "bad"))
    _clean(clean_runs(job))


@pytest.mark.rtl
def test_counterexample_replay_command(tmp_path, fault_runs, clean_runs):
    """The replay of :data:`CLI_REPLAY` through the printed command line (status 1 on the faulty
    RTL, 0 on rtl/, the counts in the summary); and its job, with one seed, gives in the
    sessions the test above uses exactly the reports of runs of their own (verdict, counts,
    every mismatch's job, kind and message)."""
    fault, rtl, words = _replay(CLI_REPLAY, tmp_path)
    sim = [sys.executable, "-m", "tb.cli.sim", *words]
    bad = subprocess.run(sim, cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 1, bad.stdout[-2000:] + bad.stderr[-2000:]
    assert re.search(r"1 checked, 1 mismatches", bad.stdout), bad.stdout[-2000:]
    good = subprocess.run(
        [w for w in sim if not w.startswith("RTL=")], cwd=ROOT, capture_output=True, text=True
    )
    assert good.returncode == 0, good.stdout[-2000:] + good.stderr[-2000:]
    assert re.search(r"1 checked, 0 mismatches", good.stdout), good.stdout[-2000:]

    from tb.run.runner import run_sim

    job = _job([*words, "SEED=5"])
    keys = ("job", "kind", "message")
    for what, folder, in_session, check in (
        ("bad", rtl, lambda: fault_runs.run(fault, job, tmp_path / "bad"), _caught),
        ("good", None, lambda: clean_runs(job), _clean),
    ):
        alone = run_sim(
            job,
            **({"rtl_dir": folder} if folder else {}),
            build_root=tmp_path / what / "build",
            test_dir=tmp_path / what / "run",
        ).report
        check(alone)
        if what == "bad":
            assert fault_runs.on_schema(fault, job)
            fault_runs.run(None, job, tmp_path / "before")  # not the session's first job
        else:
            clean_runs(job)
        session = in_session()
        assert (session.passed, session.error, session.mismatch_counts) == (
            alone.passed,
            alone.error,
            alone.mismatch_counts,
        )
        assert (session.outputs_checked, session.beats) == (alone.outputs_checked, alone.beats)
        assert [{k: m[k] for k in keys} for m in session.details] == [
            {k: m[k] for k in keys} for m in alone.details
        ]
