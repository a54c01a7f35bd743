"""The cocotb test behind :class:`tb.stream.job_session.JobSession`, run inside the simulator.

It connects to the session's socket (``$QMAC_TB_STREAM``) and runs each requested
:class:`~tb.shared.job.SimJob` as the transport's own test would: per-cycle
(:func:`tb.cycle.cocotb_test.run_job`) on the bare ``qmac``, batch
(:func:`tb.batch.cocotb_test.run_job`) on ``qmac_batch_tb``. Before each job the registers the
request names (``deposits``) are set in every module instance that has them, then the design is
reset. Per-cycle, the cycles a job reports count from where a fresh simulation's would (its first
reset edge is cycle 0), so its report is the one a run of its own gives.
"""

from __future__ import annotations

import traceback

import cocotb
from cocotb.handle import HierarchyArrayObject, HierarchyObject
from cocotb.triggers import RisingEdge, Timer

from tb.batch.cocotb_test import run_job as run_batch_job
from tb.cycle.cocotb_test import run_job as run_cycle_job
from tb.cycle.testbench import QmacTB
from tb.shared.job import SimJob

from .channel import Channel, ChannelClosed

START_RESET_CYCLES = 5
"""The per-cycle test's first reset (:meth:`tb.cycle.testbench.QmacTB.start`)."""


class _RunTB(QmacTB):
    """The per-cycle testbench of one job in a running simulation: cycles count from
    ``origin``, the cycle a fresh simulation's first rising edge would have."""

    origin = 0

    def cycle(self) -> int:
        return super().cycle() - self.origin


def registers(handle, names: set[str], found: dict[str, list]) -> None:
    """Every signal under ``handle`` (all levels of the hierarchy) whose name is in ``names``."""
    for child in handle:
        if isinstance(child, (HierarchyObject, HierarchyArrayObject)):
            registers(child, names, found)
        else:
            leaf = child._name.rsplit(".", 1)[-1]
            if leaf in names:
                found.setdefault(leaf, []).append(child)


async def _per_cycle(dut, job: SimJob, first: bool, deposit) -> object:
    tb = _RunTB(dut)
    if first:  # later jobs' testbenches use this clock, which runs on
        tb.clock.start(start_high=False)
    # After an edge: the design's initial blocks have run (a deposit before them could be
    # overwritten), and the reset starts where a fresh simulation's does, one edge later.
    await RisingEdge(dut.clk_i)
    tb.origin = QmacTB.cycle(tb) + 1
    deposit()
    await tb.reset(START_RESET_CYCLES)
    return await run_cycle_job(tb, job)


@cocotb.test()
async def qmac_jobs(dut):
    """Run every requested job, one after the other, each after its deposits and a reset."""
    channel = Channel.to_session()
    batch = dut._name.rsplit(".", 1)[-1] != "qmac"
    found: dict[str, list] = {}
    served = 0
    try:
        while True:
            try:
                message, _ = channel.receive()
            except ChannelClosed:
                break
            if message.get("op") == "quit":
                break
            try:
                job = SimJob.from_json(message["job"])
                deposits = message.get("deposits") or {}
                missing = set(deposits) - set(found)
                if missing:
                    registers(dut, missing, found)
                    if set(deposits) - set(found):
                        raise LookupError(f"no register {sorted(set(deposits) - set(found))}")

                def deposit(deposits=deposits):
                    for name, value in deposits.items():
                        for h in found[name]:
                            h.value = int(value)

                if batch:  # each job starts with a reset (tb.batch.cocotb_test.play_all)
                    await Timer(1, "ns")  # after the design's initial blocks
                    deposit()
                    report, _ = await run_batch_job(dut, job)
                else:
                    report = await _per_cycle(dut, job, served == 0, deposit)
                channel.send({"ok": True, "report": report.to_json()})
            except Exception:  # answer with it: the session reports it
                error = traceback.format_exc()
                dut._log.error("%s", error)
                channel.send({"ok": False, "error": error})
            served += 1
    finally:
        channel.sock.close()
    dut._log.info("qmac jobs: served %d job(s)", served)
