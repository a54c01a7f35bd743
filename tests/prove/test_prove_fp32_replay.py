"""The fp32 replay search (prove/fp32_replay.py): on rtl/ it proves that no job separates a
module from its spec; on a planted fault it finds a job a layer can give (the bias in range,
the scale a positive normal binary32) whose r is inside the window an output zero point
brings to y = 0. The replay of its vector file on the simulator is in test_prove_faults.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from prove import fp32_replay, plan
from prove.sby import FAILED, PROVEN
from pyref.config import NAMED_CONFIGS
from pyref.fp32_math import MULT_MAX, MULT_MIN, fp32_requantize, mult_to_scale
from tb.shared.faults import apply_fault, fault_by_name

ROOT = Path(__file__).resolve().parents[2]
FP32 = NAMED_CONFIGS["fp32"]


def _check(module: str) -> plan.Check:
    checks = plan.module_checks(ROOT / "rtl", {"fp32": FP32})
    return next(c for c in checks if c.module == module and fp32_replay.replays(c, FP32))


def test_replays_only_the_fp32_stages():
    """The two fp32 modules, the requantizer's stages in fp32 mode (ROUNDING = 8) only, and
    no config but an fp32 one."""
    rs = plan.Check(plan.MODULE, "qmac_requant_round", (("OUT_BITS", 8), ("ROUNDING", 6)))
    rf = plan.Check(plan.MODULE, "qmac_requant_round", (("OUT_BITS", 8), ("ROUNDING", 8)))
    mul = plan.Check(plan.MODULE, "qmac_fp32_mul")
    norm = plan.Check(plan.MODULE, "qmac_fp32_normalize")
    assert fp32_replay.replays(rf, FP32) and fp32_replay.replays(mul, FP32)
    assert not fp32_replay.replays(rs, FP32)
    assert not fp32_replay.replays(norm, FP32)  # replayed through its outputs (prove/cex.py)
    assert not fp32_replay.replays(mul, NAMED_CONFIGS["default"])


@pytest.mark.parametrize("module", ["qmac_fp32_mul", "qmac_fp32_round"])
def test_no_job_separates_rtl_from_its_spec(module, tmp_path):
    """On rtl/ the search is a proof: no reachable job gives a different r (about 8 s)."""
    status, job = fp32_replay.search(_check(module), FP32, ROOT / "rtl", tmp_path)
    assert (status, job) == (PROVEN, None)


def test_the_job_found_is_one_a_layer_gives(tmp_path):
    """fp32_exponent (qmac_fp32_round's exponent one too small for a 48-bit product): the job
    found has an int32 accumulator, a positive normal binary32 scale, and a product of the
    two whose leading one is at bit 47 (the faulty case), with pyref's r inside the window."""
    fault = fault_by_name("fp32_exponent")
    rtl = apply_fault(fault, tmp_path / "rtl")
    status, job = fp32_replay.search(_check("qmac_fp32_round"), FP32, rtl, tmp_path / "work")
    assert status == FAILED and job is not None
    acc, mult = job
    assert -(2**31) <= acc < 2**31 and MULT_MIN <= mult <= MULT_MAX
    assert np.isfinite(mult_to_scale(mult)) and float(mult_to_scale(mult)) > 0
    # fl32(|acc|)'s 24-bit mantissa times the scale's, from the bits (independent of pyref)
    a = abs(acc)
    shift = max(a.bit_length() - 24, 0)
    lo_bits = a & ((1 << shift) - 1)
    half = 1 << shift >> 1
    mant_a = (a >> shift) + (lo_bits > half or (lo_bits == half and shift and (a >> shift) & 1))
    mant_a = mant_a >> 1 if mant_a >> 24 else mant_a << (24 - mant_a.bit_length())
    prod = mant_a * ((mult & 0x7FFFFF) | 0x800000)
    assert prod >> 47 == 1
    exact = float(acc) * float(mult_to_scale(mult))
    assert -128 <= exact <= 129  # r = round(fl32(fl32(acc) * scale)) is in [-127, 128]
    assert -127 <= int(fp32_requantize(acc, mult)) <= 128


def test_word_r_rounds_the_product_word():
    """|v| = prod * 2^(exp - 173): 1.5 * 2^47 * 2^-46 = 3; 2.5 and 3.5 are ties, to even; the
    sign; 2^47 * 2^(200 - 173) saturates at 2^31."""
    assert fp32_replay.word_r(0, 173 - 46, 3 << 46) == 3
    assert fp32_replay.word_r(0, 173 - 46, 5 << 45) == 2
    assert fp32_replay.word_r(1, 173 - 46, 7 << 45) == -4
    assert fp32_replay.word_r(0, 200, 1 << 47) == 2**31


def test_factor_job_finds_the_job_of_a_word():
    """acc = 3, scale = 0.5 (0x3F000000): fl32(3) = 0xC00000 * 2^(1 - 23), the product
    0xC00000 * 0x800000 = 3 * 2^45, exponent 1 + 126 = 127. A product 2p with p a prime
    above 2^24 has no two 24-bit factors, so no job."""
    p = 35184372088891  # prime: no divisor up to its square root
    b = np.arange(3, 1 << 23 | 1, 2, dtype=np.int64)
    assert not np.any(p % b[b * b <= p] == 0)
    assert fp32_replay.factor_job(FP32, 0, 127, 3 << 45) == (3, 0x3F000000)
    assert fp32_replay.factor_job(FP32, 1, 127, 3 << 45) == (-3, 0x3F000000)
    assert fp32_replay.factor_job(FP32, 0, 127, 2 * p) is None
    assert fp32_replay.factor_job(FP32, 0, 127, 1 << 45) is None  # not a product word


def test_edge_jobs_sit_at_both_roundings_edges():
    """Each edge job: an odd accumulator of 24 bits (fl32 exact), a product of 47 or 48 bits
    whose dropped bits are one below, at or one above half, and whose kept bits' low t bits
    are one below or at half of 2^t, with t = 150 - field - d; both signs; r in the window."""
    jobs = fp32_replay.edge_jobs(FP32, np.random.default_rng(0), n=1 << 18)
    assert len(jobs) >= 8
    for acc, mult in jobs:
        a = abs(acc)
        assert a % 2 == 1 and a.bit_length() == 24 and (-acc, mult) in jobs
        prod = a * ((mult & 0x7FFFFF) | 0x800000)
        d = prod.bit_length() - 24
        t = 150 - d - (mult >> 23)
        low, kept = prod % (1 << d), (prod >> d) % (1 << t)
        assert d in (23, 24) and t in (17, 18)
        assert low - (1 << (d - 1)) in (-1, 0, 1) and kept - (1 << (t - 1)) in (-1, 0)
        assert -127 <= int(fp32_requantize(acc, mult)) <= 128
