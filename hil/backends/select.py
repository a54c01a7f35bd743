"""Which dense backend runs: :func:`as_backend` makes one of a backend, a plain callable
``(layer, config) -> y`` or None (pyref); :func:`choose_backend` picks the one a command line
asks for (the RTL of :mod:`hil.backends.rtl`, imported only then, or pyref).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from pyref.config import QmacConfig

from .api import BackendResult, BackendUnavailable, DenseBackend, check_result  # noqa: F401
from .callable import CallableBackend
from .pyref import PyrefBackend


def as_backend(backend: DenseBackend | Callable | None) -> DenseBackend:
    """A :class:`DenseBackend` from a backend, a callable, or None (pyref)."""
    if backend is None:
        return PyrefBackend()
    if isinstance(backend, DenseBackend):
        return backend
    if callable(backend):
        return CallableBackend(backend)
    raise TypeError(f"a dense backend must have run(layer, config) or be callable, got {backend!r}")


def choose_backend(
    kind: str = "auto",
    sim: str = "verilator",
    *,
    rtl_dir: str | Path | None = None,
    config: QmacConfig | None = None,
    log: Callable[[str], None] = lambda text: print(text, flush=True),
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


__all__ = [
    "BackendResult",
    "BackendUnavailable",
    "CallableBackend",
    "DenseBackend",
    "PyrefBackend",
    "as_backend",
    "check_result",
    "choose_backend",
]
