"""hil: hardware in the loop for the qmac datapath, in packages that follow the flow.

A frontend (:mod:`hil.tflite`, :mod:`hil.onnx`) turns a model into a plan (:mod:`hil.plan`):
dense layers for the datapath, numpy kernels (:mod:`hil.kernels`) for the rest. The executor
(:mod:`hil.executor`) runs the plan, the dense layers on a backend (:mod:`hil.backends`: pyref,
the RTL in a simulator, a callable); the oracles (:mod:`hil.oracles`: TFLite Micro, LiteRT, ONNX
Runtime) run the same model, and the report (:mod:`hil.report`) compares backend vs pyref per
layer, every layer and the outputs vs the oracle. :mod:`hil.cli` is the command line.
"""

from .backends import BackendResult, DenseBackend, PyrefBackend, as_backend
from .executor import NetworkRun, run_network
from .kernels.base import UnsupportedOpError
from .tflite.graph import TfliteFormatError, TfliteImportError, read_tflite
from .tflite.importer import ImportedModel, import_model

__all__ = [
    "BackendResult",
    "DenseBackend",
    "ImportedModel",
    "NetworkRun",
    "PyrefBackend",
    "TfliteFormatError",
    "TfliteImportError",
    "UnsupportedOpError",
    "as_backend",
    "import_model",
    "read_tflite",
    "run_network",
]
