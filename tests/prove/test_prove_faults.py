"""Every fault of qmac's fault table, planted in a copy of rtl/, fails a proof; protocol faults
fail a protocol property. Four in make test (one per kind of proof, with replays on Icarus),
the whole table marked slow (about 3 s per fault and up to a minute for the protocol ones)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from prove.plan import MODULE, MULTIPLIER, PROTOCOL
from tb.shared.faults import FAULTS, apply_fault, fault_by_name

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faults_map import PROTOCOL_FAULTS, first_failure, replayed_failure  # noqa: E402

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


@pytest.mark.rtl
@pytest.mark.parametrize(
    "name",
    [
        "rounding_constant",
        "tie_rule_even",
        "clamp_low",
        "gemmlowp_nudge",
        "acc_saturates_in_wrap_mode",
        "last_lane_dropped",
        "fp32_acc_truncated",
        "fp32_exponent",
        "fp32_product_lsb_lost",
        # qmac_mul_pipe's ladder fails at widths no job maps to: the chunked multiplier's
        # search at per_channel's widths
        "mult_signed",
        # from gemmlowp's witness jobs (the free QMAC_REPLAY search: no answer in 300 s)
        pytest.param("gemmlowp_nudge_plus_one", marks=pytest.mark.slow),
        pytest.param("gemmlowp_nudged_plus_one", marks=pytest.mark.slow),
        # qmac_sat's bounds: the requantizer's saturator shows nothing past the 4-bit clamp;
        # qmac_accum's proof does, sat_max_one_off with further beats down to a tie
        pytest.param("sat_max_one_off", marks=pytest.mark.slow),
        pytest.param("sat_min_one_off", marks=pytest.mark.slow),
        # the protocol faults: the failed property's waveform as a cycle trace (TRACE=)
        *(pytest.param(f, marks=pytest.mark.slow) for f in PROTOCOL_FAULTS),
    ],
)
def test_counterexample_replays_as_a_mismatch(name, tmp_path):
    """The failed proof's counterexample, as a vector file, is a mismatch on the faulty RTL
    (make sim VECTORS=... RTL=...) and passes on rtl/ (gemmlowp: from the witness jobs; the
    accumulator, the beat sum and fp32's normalization: the spec's and the RTL's outputs read
    from the trace, and a requantization under which they give different y; qmac_fp32_round
    and qmac_fp32_mul: the witness as a job, else the fp32 replay search (qmac_fp32_mul's
    among the rounding edges first);
    qmac_requant_mul: the witness's accumulator and multiplier, a shift that shows them;
    qmac_mul_pipe's ladder: the chunked multiplier's search at the config's widths;
    tie_rule_even: a witness no zero point brings to y = 0, so the requantizer's replay search)."""
    from sim_skip import require_simulator

    require_simulator("icarus")
    rtl = apply_fault(fault_by_name(name), tmp_path / "rtl")
    found = replayed_failure(fault_by_name(name), rtl, tmp_path / "work")
    assert found is not None, f"no failing proof of {name} writes a vector file"
    r, cmd = found
    if name in PROTOCOL_FAULTS:
        assert r.check.kind == PROTOCOL and cmd.startswith("make sim TRACE=")
    else:
        assert r.check.kind in (MODULE, MULTIPLIER) and cmd.startswith("make sim VECTORS=")
    words = cmd.split()[2:]
    sim = [sys.executable, "-m", "tb.cli.sim", "SIM=icarus", *words]
    bad = subprocess.run(sim, cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 1, bad.stdout[-2000:] + bad.stderr[-2000:]
    good = subprocess.run(
        [w for w in sim if not w.startswith("RTL=")], cwd=ROOT, capture_output=True, text=True
    )
    assert good.returncode == 0, good.stdout[-2000:] + good.stderr[-2000:]
    if name in PROTOCOL_FAULTS:  # the trace's jobs, each output checked on both
        bad_n = re.search(r"(\d+) checked, ([1-9]\d*) mismatches", bad.stdout)
        good_n = re.search(r"([1-9]\d*) checked, 0 mismatches", good.stdout)
        assert bad_n and good_n, bad.stdout[-2000:] + good.stdout[-2000:]
        return
    assert re.search(r"1 checked, 1 mismatches", bad.stdout), bad.stdout[-2000:]
    assert re.search(r"1 checked, 0 mismatches", good.stdout), good.stdout[-2000:]
