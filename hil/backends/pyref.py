"""The reference model as a dense backend (:class:`PyrefBackend`), and :class:`EmulatedBackend`:
pyref with, on chosen steps, an engine's own arithmetic (ONNX Runtime's int16 product pairs on
AVX2-only CPUs, :mod:`hil.oracles.ort`), for the oracle's emulated run of a model."""

from __future__ import annotations

import time
from typing import Any

from pyref.config import QmacConfig
from pyref.layer import Layer
from pyref.model import run_layer

from .api import BackendResult


class PyrefBackend:
    """The bit-exact reference model (:func:`pyref.model.run_layer`)."""

    name = "pyref"

    def run(self, layer: Layer, config: QmacConfig) -> BackendResult:
        t0 = time.perf_counter()
        res = run_layer(layer, config)
        return BackendResult(
            y=res.y, cycles=None, wall=time.perf_counter() - t0, saturated=res.saturated
        )


class EmulatedBackend(PyrefBackend):
    """pyref, except on the steps (by index) in ``emulations``: there each layer runs its
    emulation's ``run(layer, config) -> LayerResult`` (the executor asks ``for_step``)."""

    def __init__(self, emulations: dict[int, Any]) -> None:
        self.emulations = emulations

    def for_step(self, step) -> PyrefBackend:
        """The backend of one plan step: this one, or the step's emulation."""
        emu = self.emulations.get(step.index)
        return self if emu is None else _Emulation(emu)


class _Emulation(PyrefBackend):
    def __init__(self, emulation: Any) -> None:
        self.emulation = emulation

    def run(self, layer: Layer, config: QmacConfig) -> BackendResult:
        t0 = time.perf_counter()
        res = self.emulation.run(layer, config)
        return BackendResult(y=res.y, wall=time.perf_counter() - t0, saturated=res.saturated)
