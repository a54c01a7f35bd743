"""The output-stream monitor: drives ``out_ready_i`` from a back-pressure pattern and reports
every transfer (``out_valid_o && out_ready_i`` on a rising edge) with its cycle.

Like the driver, it samples in the read-only phase before the edge, so the values it reports are
the ones the edge transfers, on any simulator. ``out_y_o``/``out_sat_o`` are only read on
transfers; X or Z on them is reported as ``None``. X/Z on ``out_valid_o`` itself is an error.
"""

from __future__ import annotations

from typing import Callable, Iterator

from cocotb.triggers import Event, ReadOnly, RisingEdge

OutputCallback = Callable[[int | None, int | None, int], object]
"""``(y, sat, cycle)``; ``y``/``sat`` are None when the bus held X/Z."""


class OutputMonitor:
    """Samples the output stream; calls ``on_output(y, sat, cycle)`` for every transfer.

    ``in_reset()`` tells it when the testbench holds reset (transfers are ignored then).
    ``on_protocol_error(cycle, message)`` receives X/Z on ``out_valid_o``.
    """

    def __init__(self, dut, cycle: Callable[[], int]):
        self.dut = dut
        self.clk = dut.clk_i
        self.cycle = cycle
        self.n_outputs = 0
        self.stats = {"back_to_back_outputs": 0, "out_stall": 0}
        self.stopped = Event()
        self._task = None
        self._stop = False
        dut.out_ready_i.value = 1

    def start(
        self,
        backpressure: Iterator[bool],
        on_output: OutputCallback,
        *,
        in_reset: Callable[[], bool] = lambda: False,
        on_protocol_error: Callable[[int, str], None] | None = None,
    ) -> None:
        import cocotb

        if self._task is not None:
            raise RuntimeError("OutputMonitor already started")
        self._bp = backpressure
        self._on_output = on_output
        self._in_reset = in_reset
        self._on_error = on_protocol_error or (lambda cycle, msg: None)
        self._task = cocotb.start_soon(self._run())

    def stop(self) -> None:
        """Stop after the current cycle (``out_ready_i`` is left high)."""
        self._stop = True

    async def _run(self) -> None:
        d = self.dut
        valid_h, ready_h, y_h, sat_h = d.out_valid_o, d.out_ready_i, d.out_y_o, d.out_sat_o
        edge, read_only = RisingEdge(self.clk), ReadOnly()
        bp, in_reset = self._bp, self._in_reset
        stats = self.stats
        ready = None
        last_cycle = -10
        while not self._stop:
            r = not next(bp)
            if r != ready:
                ready_h.value = int(r)
                ready = r
            await read_only
            fire = False
            v = str(valid_h.value)
            if v == "1":
                if in_reset():
                    pass
                elif ready:
                    fire = True
                    yv, sv = y_h.value, sat_h.value
                    y = yv.to_signed() if yv.is_resolvable else None
                    s = str(sv)
                    sat = int(s) if s in ("0", "1") else None
                else:
                    stats["out_stall"] += 1
            elif v != "0" and not in_reset():
                self._on_error(self.cycle(), f"out_valid_o is {v}")
            await edge
            if fire:
                cyc = self.cycle()
                self.n_outputs += 1
                if cyc == last_cycle + 1:
                    stats["back_to_back_outputs"] += 1
                last_cycle = cyc
                self._on_output(y, sat, cyc)
        ready_h.value = 1
        self.stopped.set()
