"""hil: hardware in the loop for the qmac datapath.

Import an int8 or 16x8 TFLite model (:mod:`hil.tflite.importer`), run it with every
multiply-accumulate operator (FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV, SVDF's
two stages, the gate FCs of UNIDIRECTIONAL_SEQUENCE_LSTM) on a dense backend (the RTL in a simulator, :mod:`hil.backends.rtl`, or pyref) and the
other operators in numpy (:mod:`hil.kernels`, :mod:`hil.executor`), and check it three ways:
backend vs pyref per layer, every layer and the outputs vs the TFLite Micro interpreter
(:mod:`hil.oracles.tflm`).
"""

from .backends import BackendResult, DenseBackend, PyrefBackend, as_backend
from .executor import NetworkRun, run_network
from .kernels.base import UnsupportedOpError
from .tflite.graph import TfliteFormatError, TfliteImportError, read_tflite
from .tflite.importer import ImportedModel, import_model

__all__ = [
    "BackendResult", "DenseBackend", "ImportedModel", "NetworkRun", "PyrefBackend",
    "TfliteFormatError", "TfliteImportError", "UnsupportedOpError", "as_backend",
    "import_model", "read_tflite", "run_network",
]
