"""What a dense backend is: the :class:`DenseBackend` protocol, the :class:`BackendResult` of one
layer, :class:`BackendUnavailable` for a backend that cannot run here, and :func:`check_result`.
Every backend of :mod:`hil.backends` builds on it.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol, runtime_checkable

import numpy as np

from pyref.config import QmacConfig
from pyref.layer import Layer


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
    reference: "BackendResult | None" = None
    """pyref's result for the same layer when the backend made it already (the RTL backend's
    scoreboard checks against it): the network compares with it instead of running pyref again."""


@runtime_checkable
class DenseBackend(Protocol):
    """Runs one layer of the datapath."""

    name: str

    def run(self, layer: Layer, config: QmacConfig) -> BackendResult: ...


class BackendUnavailable(RuntimeError):
    """The requested backend cannot be built here."""


def check_result(result: BackendResult, layer: Layer, backend_name: str) -> np.ndarray:
    """The result's ``y`` as an int64 ``(N, C)`` array, or an error naming the backend."""
    y = np.asarray(result.y)
    if y.shape != (layer.n, layer.c):
        raise ValueError(
            f"backend {backend_name!r} returned y of shape {y.shape}, "
            f"expected (N, C) = ({layer.n}, {layer.c})"
        )
    if y.dtype.kind not in "iu":
        raise ValueError(
            f"backend {backend_name!r} returned y of dtype {y.dtype}, expected integers"
        )
    return y.astype(np.int64)
