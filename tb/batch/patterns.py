"""The per-cycle pattern bytes the batch wrapper reads, from the named handshake patterns of
:mod:`tb.shared.patterns` (the table the per-cycle driver steps through too)."""

from __future__ import annotations

import numpy as np

from tb.shared.patterns import PatternStream, pattern_info


class PatternSource:
    """Pattern bytes for the wrapper: bit 0 = offer a beat (the idle pattern says go), bit 1 =
    out_ready (the back-pressure pattern says go)."""

    def __init__(self, idle: str, ready: str, rng: np.random.Generator):
        for name in (idle, ready):
            pattern_info(name)
        self.idle_name, self.ready_name = idle, ready
        self.full_speed = idle == "none" and ready == "none"
        self.rng = rng
        self.idle = PatternStream(idle, rng)
        self.ready = PatternStream(ready, rng)

    def take(self, n: int) -> np.ndarray:
        """The next ``n`` cycles."""
        if self.full_speed:
            return np.full(n, 3, dtype=np.uint8)
        pause_in = self.idle.take(n)
        pause_out = self.ready.take(n)
        return (~pause_in).astype(np.uint8) | ((~pause_out).astype(np.uint8) << 1)
