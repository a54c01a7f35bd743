"""A plain function ``(layer, config) -> y`` (or ``-> BackendResult``) as a dense backend."""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from pyref.config import QmacConfig
from pyref.layer import Layer

from .api import BackendResult


class CallableBackend:
    """Adapts a function ``(layer, config) -> y`` (or ``-> BackendResult``) to a backend."""

    def __init__(self, fn: Callable[[Layer, QmacConfig], object], name: str | None = None) -> None:
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "callable")

    def run(self, layer: Layer, config: QmacConfig) -> BackendResult:
        t0 = time.perf_counter()
        out = self.fn(layer, config)
        wall = time.perf_counter() - t0
        if isinstance(out, BackendResult):
            if not out.wall:
                out.wall = wall
            return out
        return BackendResult(y=np.asarray(out), wall=wall)
