"""The dense backend: what runs one FULLY_CONNECTED / CONV_2D layer (``y (N,C)`` from a
:class:`pyref.layer.Layer`). The network executor calls it once per datapath layer.

A backend is anything with ``run(layer, config) -> BackendResult`` (:class:`DenseBackend`), or a
plain callable ``(layer, config) -> y`` wrapped by :func:`as_backend`. :class:`PyrefBackend` is
the reference model; the RTL backend (:mod:`hil.rtl_backend`: the cocotb testbench driving the
Verilog) plugs in the same way and reports the simulated clock cycles.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable, Protocol, runtime_checkable

import numpy as np

from pyref.config import QmacConfig
from pyref.layer import Layer
from pyref.model import run_layer


@dataclasses.dataclass
class BackendResult:
    """Outputs of one layer from a backend.

    ``y`` is ``(N, C)`` integers; ``cycles`` the simulated clock cycles when the backend knows
    them (None otherwise); ``wall`` the seconds it took; ``saturated`` the output-clamp flags when
    the backend reports them.
    """

    y: np.ndarray
    cycles: int | None = None
    wall: float = 0.0
    saturated: np.ndarray | None = None


@runtime_checkable
class DenseBackend(Protocol):
    """Runs one layer of the datapath."""

    name: str

    def run(self, layer: Layer, config: QmacConfig) -> BackendResult:
        ...


class PyrefBackend:
    """The bit-exact reference model (:func:`pyref.model.run_layer`)."""

    name = "pyref"

    def run(self, layer: Layer, config: QmacConfig) -> BackendResult:
        t0 = time.perf_counter()
        res = run_layer(layer, config)
        return BackendResult(y=res.y, cycles=None, wall=time.perf_counter() - t0,
                             saturated=res.saturated)


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


def as_backend(backend: DenseBackend | Callable | None) -> DenseBackend:
    """A :class:`DenseBackend` from a backend, a callable, or None (pyref)."""
    if backend is None:
        return PyrefBackend()
    if isinstance(backend, DenseBackend):
        return backend
    if callable(backend):
        return CallableBackend(backend)
    raise TypeError(f"a dense backend must have run(layer, config) or be callable, got {backend!r}")


def check_result(result: BackendResult, layer: Layer, backend_name: str) -> np.ndarray:
    """The result's ``y`` as an int64 ``(N, C)`` array, or an error naming the backend."""
    y = np.asarray(result.y)
    if y.shape != (layer.n, layer.c):
        raise ValueError(f"backend {backend_name!r} returned y of shape {y.shape}, "
                         f"expected (N, C) = ({layer.n}, {layer.c})")
    if y.dtype.kind not in "iu":
        raise ValueError(f"backend {backend_name!r} returned y of dtype {y.dtype}, expected integers")
    return y.astype(np.int64)


RTL_HOOK_MODULE = "hil.rtl_backend"
"""Module the RTL backend lives in; it provides ``make_backend(sim, config) -> DenseBackend``."""


class BackendUnavailable(RuntimeError):
    """The requested backend cannot be built here."""


def load_backend(name: str, sim: str = "verilator", config: QmacConfig | None = None,
                 **options) -> DenseBackend:
    """``pyref`` or ``rtl`` (the RTL backend from :data:`RTL_HOOK_MODULE`, run on ``sim``;
    ``options`` such as ``rtl_dir`` go to its ``make_backend``)."""
    if name == "pyref":
        return PyrefBackend()
    if name != "rtl":
        raise ValueError(f"backend {name!r} is not one of pyref, rtl, auto")
    import importlib

    try:
        module = importlib.import_module(RTL_HOOK_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != RTL_HOOK_MODULE:
            raise
        raise BackendUnavailable(f"RTL backend: unavailable ({RTL_HOOK_MODULE} is not "
                                 f"in this tree)") from None
    return as_backend(module.make_backend(sim=sim, config=config, **options))
