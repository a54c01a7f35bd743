"""Which proof each fault of tb/shared/faults.py must fail: the module checks of the fault's
file at the fault's config, or (qmac.v) the protocol property it breaks."""

from __future__ import annotations

import re
from pathlib import Path

from prove import cex, plan, protocol, protocol_replay
from prove.run import Result, run_check
from prove.sby import FAILED
from tb.shared.faults import Fault

PROTOCOL_FAULTS = {
    "backpressure": "in_ready",
    "reset_in_flight": "no_output_without_job",
    "reset_in_job": "no_output_without_job",
    "bias_load": "job_order_values",
}
"""The faults of qmac.v (the protocol and the job state) and the property each must fail."""


def checks_for(fault: Fault, rtl: Path) -> list[plan.Check]:
    """The checks that may fail on ``fault`` (the planted RTL in ``rtl``), cheapest first."""
    if fault.file == "qmac.v":
        name = PROTOCOL_FAULTS[fault.name]
        latency = protocol.measure_latency(rtl, rtl.parent / "latency")
        # BMC deep enough for a job through the pipeline, a stall and a second job
        return [c for c in protocol.protocol_checks(latency, latency + 7) if c.module == name]
    module = fault.file.removesuffix(".v")
    cfg = fault.qmac_config()
    checks = [c for c in plan.module_checks(rtl, {"fault": cfg}) if c.module == module]
    checks.sort(key=lambda c: sum(v for _, v in c.params))
    # A module whose product is shared in its module checks (qmac_mul_pipe is then the `*`
    # operator) shows an arithmetic fault in its multiplier ladder, after its module checks.
    for ladder in plan.multiplier_checks([module] if module in plan.MULTIPLIER_LADDER else []):
        checks += ladder
    return checks


def first_failure(fault: Fault, rtl: Path, work: Path, timeout: float = 300) -> Result | None:
    """Run :func:`checks_for` until one fails; that result, or None."""
    for check in checks_for(fault, rtl):
        r = run_check(check, rtl, work, "yices", timeout)
        if r.status == FAILED:
            return r
    return None


def _parents(module: str, rtl: Path) -> list[str]:
    """The modules of ``rtl`` that instantiate ``module`` (their proofs see its fault too)."""
    uses = re.compile(rf"^\s*{module}\b", re.M)
    return sorted(
        p.stem for p in rtl.glob("*.v") if p.stem != module and uses.search(p.read_text())
    )


def replayed_failure(
    fault: Fault, rtl: Path, work: Path, timeout: float = 300
) -> tuple[Result, str] | None:
    """The first failing proof whose counterexample prove/cex.py writes as a vector file (a
    protocol fault's: prove/protocol_replay.py's cycle trace), and the ``make sim`` line that
    replays it: :func:`checks_for`, then (as ``make prove`` runs
    every proof) the module checks of the modules that instantiate the faulty one (qmac_sat's
    bounds show in qmac_accum's proof, where a job reaches them); None if none."""
    if fault.file == "qmac.v":
        r = first_failure(fault, rtl, work, timeout)
        if r is None:
            return None
        return r, protocol_replay.replay_command(r, work.parent / "cex", rtl)
    cfg = fault.qmac_config()
    checks = checks_for(fault, rtl)
    parents = _parents(fault.file.removesuffix(".v"), rtl)
    checks += [c for c in plan.module_checks(rtl, {"fault": cfg}) if c.module in parents]
    for check in checks:
        r = run_check(check, rtl, work, "yices", timeout)
        if r.status != FAILED:
            continue
        cmd = cex.replay_command(r, {"fault": cfg}, work.parent / "cex", rtl, rtl)
        if cmd:
            return r, cmd
    return None
