"""The cocotb test behind :class:`tb.stream.session.RtlSession`, run inside the simulator.

It connects to the session's Unix socket (address in ``$QMAC_TB_STREAM``) and serves requests
until told to quit or the session goes away: each request is a :class:`~tb.shared.job.SimJob` (JSON)
naming a beats or vector file; it is played and checked by :func:`tb.batch.cocotb_test.run_job`,
which writes the report and the captured outputs, and the answer is one JSON line. While it
waits for a request the simulation is paused (Python holds the simulator's only thread).
"""

from __future__ import annotations

import json
import os
import socket
import traceback

import cocotb

from tb.batch.cocotb_test import run_job
from tb.shared.job import SimJob

from .session import SERVER_ENV


@cocotb.test()
async def qmac_stream(dut):
    """Play every requested stream through the batch wrapper, one after the other."""
    address = json.loads(os.environ[SERVER_ENV])["address"]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(address)
    requests = sock.makefile("rb")
    served = 0
    try:
        while True:
            line = requests.readline()
            if not line:
                break                       # the session is gone
            message = json.loads(line)
            if message.get("op") == "quit":
                break
            try:
                report = await run_job(dut, SimJob.from_json(message["job"]))
                reply = {"ok": True, "passed": report.passed}
            except Exception:  # answer with it: the session reports it and stays usable
                reply = {"ok": False, "error": traceback.format_exc()}
                dut._log.error("%s", reply["error"])
            sock.sendall((json.dumps(reply) + "\n").encode())
            served += 1
    finally:
        requests.close()
        sock.close()
    dut._log.info("qmac stream: served %d run(s)", served)
