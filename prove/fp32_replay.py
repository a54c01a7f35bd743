"""Replayable counterexamples of the fp32 stages (qmac_fp32_mul, qmac_fp32_round and the
requantizer's stages in fp32 mode): a job, an accumulator (the bias, x = 0) and a binary32 scale
(mult), under which the failing module's difference reaches ``r``.

First the witness itself (:func:`exact_job`): its accumulator and scale, or for the rounding
stage a factorization of its 48-bit product into the two 24-bit mantissas a job multiplies,
when a layer gives those values and the difference shows in ``y``. Otherwise the replay search
(:func:`search`): the RTL module put back into the spec's fp32 chain
(``prove/replay/replay_fp32.v``) and the solver asked for a reachable job under which the chain's
``r`` differs from the spec's, inside the window an output zero point brings to ``y = 0``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pyref.config import QmacConfig
from pyref.fp32_math import (
    MULT_MAX,
    MULT_MIN,
    R_LIMIT,
    fp32_requantize,
    fp32_stages,
    round_to_24_bits,
)
from pyref.layer import Layer
from pyref.rounding import round_shift_scalar
from tb.shared.fp32_values import odd_inverses

from . import replay_search
from .plan import Check
from .replay_layer import one_job_layer
from .witness import signed, trace_outputs, witness_inputs

STAGES = {"qmac_fp32_mul": 0, "qmac_fp32_round": 1, "qmac_requant_mul": 2, "qmac_requant_round": 3}
"""The harness's STAGE of each module whose fp32 proof this search replays."""

RND_FP32 = 8
"""The ROUNDING parameter of the fp32 mode (rtl/qmac_rounding.vh)."""


def replays(check: Check, cfg: QmacConfig) -> bool:
    """Whether ``check``'s module is an fp32 stage this search replays at ``cfg``."""
    if cfg.rounding != "fp32" or check.module not in STAGES:
        return False
    params = dict(check.params)
    if check.module in ("qmac_requant_mul", "qmac_requant_round"):
        return params.get("ROUNDING") == RND_FP32
    return check.module == "qmac_fp32_mul" or params.get("OUT_BITS") == cfg.out_bits


def word_r(sign: int, exp: int, prod: int) -> int:
    """pyref's r of the product word of qmac_fp32_mul: ``|v| = prod * 2^(exp - 173)`` rounded
    to 24 significant bits, then to an integer (ties to even), saturated at ``2^31``."""
    mant, drop = (int(v[0]) for v in round_to_24_bits(np.array([prod], np.int64)))
    e = exp - 173 + int(drop)
    r = min(mant << min(e, 8), R_LIMIT) if e > 0 else round_shift_scalar(mant, -e, "half_even")
    return -min(r, R_LIMIT) if sign else min(r, R_LIMIT)


def _in_window(cfg: QmacConfig, right: int, wrong: int) -> bool:
    """Whether the spec's r (``right``) can be brought to y = 0 by an output zero point, where
    the RTL's (``wrong``) then shows as another y."""
    lo, hi = cfg.out_range
    return right != wrong and -hi <= right <= -lo


def _reachable(cfg: QmacConfig, acc: int, mult: int) -> bool:
    lo, hi = cfg.bias_range
    return lo <= acc <= hi and MULT_MIN <= mult <= MULT_MAX


def factor_job(cfg: QmacConfig, sign: int, exp: int, prod: int) -> tuple[int, int] | None:
    """A job ``(acc, mult)`` whose product word is exactly ``(sign, exp, prod)``: ``prod`` split
    into fl32(acc)'s mantissa times the scale's (both 24 bits, the top one set), the exponent
    into the accumulator's and the scale's field; checked against pyref's fp32 steps."""
    if prod >> 46 == 0 or prod >> 48:
        return None
    b = np.arange(1 << 23, 1 << 24, dtype=np.int64)
    b = b[prod % b == 0]
    for mant_s in (int(v) for v in b):
        mant_a = prod // mant_s
        if not (1 << 23) <= mant_a < (1 << 24):
            continue
        for e_a in range(23 - ((mant_a & -mant_a).bit_length() - 1), 31):
            mag = mant_a << (e_a - 23) if e_a >= 23 else mant_a >> (23 - e_a)
            field = exp - e_a
            acc, mult = -mag if sign else mag, (field << 23) | (mant_s & 0x7FFFFF)
            if not (1 <= field <= 254 and _reachable(cfg, acc, mult)):
                continue
            st = fp32_stages(acc, mult)  # pyref's product is not normalized: compare values
            pp, k = int(st["prod"]), prod.bit_length() - int(st["prod"]).bit_length()
            if k >= 0 and pp << k == prod and int(st["prod_exp"]) - k == exp - 173:
                return acc, mult
    return None


def exact_job(check: Check, cfg: QmacConfig, workdir: Path) -> tuple[int, int] | None:
    """The failed proof's own witness as a job (module inputs exactly the witness's), when a
    layer reaches them and the spec's and the RTL's values (read from the trace) differ in
    ``r`` inside the window; None otherwise."""
    vals, outs = witness_inputs(workdir), trace_outputs(workdir)
    gold, gate = outs["gold"], outs["gate"]
    r_bits = cfg.out_bits + 2
    stage = STAGES[check.module]
    if stage in (0, 2):
        acc, mult = signed(vals["acc_i"], 32), vals.get("scale_i", vals.get("mult_i", 0))
        if vals.get("shift_i", 0) or not _reachable(cfg, acc, mult):
            return None
        if stage == 0:
            word = (gold["sign_o"], gold["exp_o"], gold["prod_o"])
        else:
            p = gold["p_o"]
            word = (p >> 57 & 1, p >> 48 & 0x1FF, p & ((1 << 48) - 1))
        right, wrong = int(fp32_requantize(acc, mult)), word_r(*word)
        return (acc, mult) if _in_window(cfg, right, wrong) else None
    if stage == 1:
        word = (vals["sign_i"], vals["exp_i"], vals["prod_i"])
    else:
        p = vals["p_i"]
        if vals.get("shift_i", 0) or p >> 58:
            return None
        word = (p >> 57 & 1, p >> 48 & 0x1FF, p & ((1 << 48) - 1))
    job = factor_job(cfg, *word)
    if job is None:
        return None
    right, wrong = signed(gate["r_o"], r_bits), signed(gold["r_o"], r_bits)
    if right != int(fp32_requantize(*job)) or not _in_window(cfg, right, wrong):
        return None
    return job


def edge_jobs(
    cfg: QmacConfig, rng: np.random.Generator, n: int = 1 << 20, per: int = 2
) -> list[tuple[int, int]]:
    """Jobs whose exact mantissa product sits at the edges of both roundings: its d dropped
    bits (d = 23, 24) one below, at or one above a tie of the rounding to 24 bits, and the kept
    bits' low t (t = 17, 18: r near 2^(24 - t)) one below or at a tie of the final rounding;
    ``per`` of each, both signs, pyref's r in the zero point's window. An odd 24-bit
    accumulator ``a`` (so fl32(acc) = acc, every product bit live) and the scale mantissa
    ``b = c * a^-1 mod 2^24`` fix the low 24 bits; the rest are drawn from ``n`` values of a."""
    a = rng.integers(1 << 22, 1 << 23, n, dtype=np.int64) * 2 + 1
    inv = odd_inverses(a)
    lo, hi = cfg.out_range
    jobs = []
    for d in (23, 24):
        for t in (17, 18):
            for low in ((1 << (d - 1)) - 1, 1 << (d - 1), (1 << (d - 1)) + 1):
                for kept in ((1 << (t - 1)) - 1, 1 << (t - 1)):
                    c = (kept << d) | low  # the low d + t bits of the product
                    b = ((np.uint64(c) * inv) & np.uint64((1 << 24) - 1)).astype(np.int64)
                    p = a * b
                    ok = (b >> 23 == 1) & (p & ((1 << (d + t)) - 1) == c) & (p >> (d + 23) == 1)
                    for ai, bi in zip(a[ok][:per].tolist(), b[ok][:per].tolist()):
                        mult = ((150 - d - t) << 23) | (bi & 0x7FFFFF)  # |v| = m * 2^-t
                        for acc in (ai, -ai):
                            ok_acc = _reachable(cfg, acc, mult)
                            if ok_acc and -hi <= int(fp32_requantize(acc, mult)) <= -lo:
                                jobs.append((acc, mult))
    return jobs


def _row(acc: int, mult: int) -> dict[str, tuple[int, int]]:
    """A job as a row of ``candidates.vh``."""
    return {"acc_i": (32, acc), "scale_i": (32, mult)}


def harness_params(check: Check, cfg: QmacConfig) -> dict[str, int]:
    """The parameters of ``replay_fp32`` for ``check``'s module at ``cfg``."""
    lo, hi = cfg.out_range
    return {
        "STAGE": STAGES[check.module],
        "OUT_BITS": cfg.out_bits,
        "BIAS_BITS": cfg.bias_bits,
        "ACC_BITS": cfg.acc_bits,
        "MULT_BITS": cfg.mult_bits,
        "SHIFT_BITS": cfg.shift_bits,
        "R_BELOW": max(hi, 0),
        "R_ABOVE": max(-lo, 0),
    }


def search(
    check: Check,
    cfg: QmacConfig,
    rtl_dir: Path,
    work: Path,
    solver: str = "yices",
    timeout: float = 600,
    jobs: list[tuple[int, int]] | None = None,
) -> tuple[str, tuple[int, int] | None]:
    """The search's status (``failed``: a job found; ``proven``: there is none; ``timeout``,
    ``error``) and ``(acc, mult)`` of a job under which ``check``'s module of ``rtl_dir`` and
    its spec give different r; ``jobs``: only among these (:func:`edge_jobs`)."""
    task = Path(work) / (check.slug + "_replay")
    extra, define = {}, ""
    if jobs is not None:
        rows = [_row(acc, m) for acc, m in jobs]
        extra, define = replay_search.with_candidates(work, check.slug, rows)
        task = task.with_name(task.name + "_edges")
    status, vals = replay_search.run(
        "replay_fp32", harness_params(check, cfg), rtl_dir, task, solver, timeout, extra, define
    )
    if vals is None:
        return status, None
    return status, (signed(vals["acc_i"], 32), vals["scale_i"])


def fp32_layer(
    check: Check, cfg: QmacConfig, rtl_dir: Path, workdir: Path, timeout: float = 600
) -> Layer | None:
    """The one-job layer of :func:`exact_job` on the failed proof in ``workdir``, else of
    :func:`search`'s answer: the accumulator as the bias (x = 0), the scale as mult, and the
    output zero point that takes pyref's r to y = 0; None when ``check`` is not an fp32 stage
    at ``cfg`` or neither finds a job."""
    if not replays(check, cfg):
        return None
    found, work = exact_job(check, cfg, workdir), Path(workdir).parent
    if found is None and STAGES[check.module] in (0, 2):
        # the multiplier stages: a free search is minutes; the rounding edges first
        jobs = edge_jobs(cfg, np.random.default_rng(0))
        _, found = search(check, cfg, rtl_dir, work, timeout=timeout, jobs=jobs)
    if found is None:
        _, found = search(check, cfg, rtl_dir, work, timeout=timeout)
    if found is None:
        return None
    acc, mult = found
    r = int(fp32_requantize(acc, mult))
    return one_job_layer(cfg, acc, mult, 0, -r)
