"""The dense backend: what runs one FULLY_CONNECTED / CONV_2D layer (``y (N,C)`` from a
:class:`pyref.layer.Layer`). The network executor calls it once per datapath layer.

A backend is anything with ``run(layer, config) -> BackendResult`` (:class:`DenseBackend`, in
:mod:`hil.backends.api`), or a plain callable ``(layer, config) -> y`` wrapped by
:func:`as_backend`. :class:`PyrefBackend` is the reference model; the RTL backend
(:mod:`hil.backends.rtl`: the cocotb testbench driving the Verilog) plugs in the same way and
reports the simulated clock cycles. :func:`choose_backend` picks one for the command lines.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np

from pyref.config import QmacConfig
from pyref.layer import Layer
from pyref.model import run_layer

from .api import BackendResult, BackendUnavailable, DenseBackend


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


def choose_backend(kind: str = "auto", sim: str = "verilator", *, rtl_dir: str | Path | None = None,
                   config: QmacConfig | None = None,
                   log: Callable[[str], None] = lambda text: print(text, flush=True)
                   ) -> DenseBackend:
    """The dense backend a command line asks for: ``pyref``, ``rtl`` (the RTL on ``sim``, the
    Verilog of ``rtl_dir`` or rtl/), or ``auto``: the RTL when ``sim`` is installed, else pyref
    with a note through ``log``. A bad ``rtl_dir`` is an error, never a reason to fall back.
    Raises :class:`BackendUnavailable` when the RTL backend was asked for and cannot run."""
    if kind == "pyref":
        return PyrefBackend()
    if kind not in ("rtl", "auto"):
        raise ValueError(f"backend {kind!r} is not one of auto, pyref, rtl")
    options = {}
    if rtl_dir is not None:
        path = Path(rtl_dir)
        if not path.is_dir() or not any(path.glob("*.v")):
            raise BackendUnavailable(f"--rtl {rtl_dir}: not a folder of Verilog files (*.v)")
        options["rtl_dir"] = path.resolve()
    from .rtl import make_backend

    try:
        return make_backend(sim=sim, config=config, **options)
    except BackendUnavailable as exc:
        if kind == "rtl" or options:
            raise
        log(f"{exc}; the datapath layers run on pyref")
        return PyrefBackend()


__all__ = ["BackendResult", "BackendUnavailable", "CallableBackend", "DenseBackend",
           "PyrefBackend", "as_backend", "check_result", "choose_backend"]
