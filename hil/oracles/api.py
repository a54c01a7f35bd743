"""What an oracle is: an engine that shares no code with pyref, run on the same model and
inputs, handing back named tensors (:class:`OracleResult`: the model outputs by name, each
datapath layer's output by tensor key). The oracles: TFLite Micro (:mod:`hil.oracles.tflm`),
LiteRT (:mod:`hil.oracles.litert`), ONNX Runtime (:mod:`hil.oracles.ort`, checked with its
CPU's kernel behaviour by :mod:`hil.oracles.ort_check`).
"""

from __future__ import annotations

import dataclasses
from typing import Hashable, Protocol, Sequence

import numpy as np

TFLM, LITERT, ORT = "TFLite Micro", "LiteRT", "ONNX Runtime"
"""The oracles' names, as the report prints them."""


@dataclasses.dataclass
class OracleResult:
    """An oracle's outputs ``(N, *shape)`` per model output (in the model's order, named by
    ``names``), and the datapath layers' output tensors it computed, by tensor key."""

    outputs: list[np.ndarray]
    tensors: dict[Hashable, np.ndarray]
    wall: float
    engine: str = ""
    names: list[str] = dataclasses.field(default_factory=list)

    def named(self) -> dict[str, np.ndarray]:
        """The model outputs by name."""
        return dict(zip(self.names, self.outputs))


class Oracle(Protocol):
    """Runs a plan's model on ``inputs``; ``run`` is the executor's run of the same inputs
    (whose layer inputs an oracle may feed to each layer on its own)."""

    name: str

    def run(
        self, model, inputs: Sequence[np.ndarray], run=None, progress: bool = False
    ) -> OracleResult: ...
