"""The cocotb test behind :class:`tb.stream.session.RtlSession`, run inside the simulator.

It connects to the session's Unix socket (address in ``$QMAC_TB_STREAM``) and serves requests
until told to quit or the session goes away: each request is a :class:`~tb.shared.job.SimJob`
with the jobs and their expected results as arrays (:mod:`tb.stream.request`); they are played
and checked by :func:`tb.batch.cocotb_test.run_job`, and the answer carries the report and what
the DUT output for each job (:mod:`tb.stream.channel`). While it waits for a request the
simulation is paused (Python holds the simulator's only thread).
"""

from __future__ import annotations

import os
import traceback

import cocotb

from tb.batch.cocotb_test import run_job
from tb.shared.job import SimJob

from . import request
from .channel import Channel, ChannelClosed

PROFILE_ENV = "QMAC_TB_STREAM_PROFILE"
"""When set, the simulator side runs under cProfile and writes its stats to this path."""


@cocotb.test()
async def qmac_stream(dut):
    """Play every requested stream through the batch wrapper, one after the other."""
    channel = Channel.to_session()
    served = 0
    profile = None
    if os.environ.get(PROFILE_ENV):  # profile the simulator side (docs/hil.md)
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    try:
        while True:
            try:
                message, arrays = channel.receive()
            except ChannelClosed:
                break  # the session is gone
            if message.get("op") == "quit":
                break
            try:
                job = SimJob.from_json(message["job"])
                config = job.qmac_config()
                stim, expected, words = request.decode(config, arrays)
                report, sb = await run_job(dut, job, stim=stim, expected=expected, beat_words=words)
                channel.send(
                    {"ok": True, "report": report.to_json()},
                    {
                        "y": sb.got_y,
                        "sat": sb.got_sat,
                        "produced": sb.produced(),
                        "cycle": sb.out_cycle,
                    },
                )
            except Exception:  # answer with it: the session reports it and stays usable
                error = traceback.format_exc()
                dut._log.error("%s", error)
                channel.send({"ok": False, "error": error})
            served += 1
    finally:
        channel.sock.close()
        if profile is not None:
            profile.disable()
            profile.dump_stats(os.environ[PROFILE_ENV])
    dut._log.info("qmac stream: served %d run(s)", served)
