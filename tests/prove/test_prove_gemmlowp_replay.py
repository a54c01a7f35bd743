"""gemmlowp's replay (prove/gemmlowp_replay.py): jobs that keep the witness's dropped bits, checked
by the requantizer's harness in seconds where the free search over acc * M took minutes."""

from __future__ import annotations

from pathlib import Path

from prove import gemmlowp_replay, plan, requant_replay
from prove.sby import FAILED, PROVEN
from pyref.config import NAMED_CONFIGS
from tb.shared.faults import apply_fault, fault_by_name

ROOT = Path(__file__).resolve().parents[2]
TFLITE = NAMED_CONFIGS["tflite"]  # int32 acc, 0 <= M < 2^31, shift -31 .. 30, out int8
ROUND = plan.Check(
    plan.MODULE,
    "qmac_requant_round",
    (("OUT_BITS", 8), ("P_BITS", 64), ("ROUNDING", 7), ("SHIFT_BITS", 6)),
)


def _h(p: int) -> int:
    """SaturatingRoundingDoublingHighMul's result for the product p, from its definition: p plus
    the nudge (2^30, or 1 - 2^30 below 0), over 2^31, toward zero."""
    n = p + (2**30 if p >= 0 else 1 - 2**30)
    return abs(n) // 2**31 * (1 if n >= 0 else -1)


def _r(acc: int, m: int, s: int) -> int:
    """TFLite's MultiplyByQuantizedMultiplier for s <= 0: h, then divided by 2^-s, ties away."""
    h, e = _h(acc * m), -s
    q, rem = divmod(h, 2**e)  # floor and the non-negative remainder
    return q + (2 * rem > 2**e or (2 * rem == 2**e and h >= 0))


def test_witness_jobs_keep_the_low_bits_at_shift_0():
    """p = 2^30 - 1 (one below the nudge's tie), s = 0: the first job is acc = 1, M = 2^30 - 1;
    every job has p's low 31 bits and sign, M in range, r in [-127, 128]."""
    jobs = gemmlowp_replay.witness_jobs(TFLITE, 2**30 - 1, 0)
    assert jobs[0] == (1, 2**30 - 1, 0)
    assert len(jobs) == 16
    for acc, m, s in jobs:
        assert s == 0 and 0 < m < 2**31 and acc > 0
        assert (acc * m) % 2**31 == 2**30 - 1
        assert -127 <= _r(acc, m, s) <= 128


def test_witness_jobs_keep_h_at_the_witness_shift():
    """A negative witness at s = -27 (e = 27): the shift-0 jobs have its low 31 bits and sign;
    the jobs at s = -27 have h's low 28 bits (the divide's dropped bits and the LSB)."""
    p, s_w = -1297036691608961025, -27
    jobs = gemmlowp_replay.witness_jobs(TFLITE, p, s_w)
    at0 = [j for j in jobs if j[2] == 0]
    at_s = [j for j in jobs if j[2] == s_w]
    assert at0 and at_s and len(at0) + len(at_s) == len(jobs)
    for acc, m, _ in at0:
        assert acc * m < 0 and (acc * m) % 2**31 == p % 2**31
    for acc, m, _ in at_s:
        assert (_h(acc * m) - _h(p)) % 2**28 == 0
        assert -127 <= _r(acc, m, s_w) <= 128 and -(2**31) <= acc < 2**31


def test_nudge_plus_one_replays_from_the_witness_jobs(tmp_path):
    """gemmlowp_nudge_plus_one (the nudge 2^30 + 1): among the jobs of the witness p = 2^30 - 1
    the harness finds one whose product's low 31 bits are 2^30 - 1: h = 0 on the spec, 1 on
    the fault; on rtl/ it proves none of them differs."""
    jobs = gemmlowp_replay.witness_jobs(TFLITE, 2**30 - 1, 0)
    rtl = apply_fault(fault_by_name("gemmlowp_nudge_plus_one"), tmp_path / "rtl")
    status, job = requant_replay.search(ROUND, TFLITE, rtl, tmp_path / "bad", jobs=jobs)
    assert status == FAILED and job in jobs
    status, job = requant_replay.search(ROUND, TFLITE, ROOT / "rtl", tmp_path / "good", jobs=jobs)
    assert (status, job) == (PROVEN, None)
