"""Dense backends: what runs the datapath layers of a plan (:mod:`hil.backends.api`: the
protocol and the result; :mod:`hil.backends.pyref`, :mod:`hil.backends.rtl`,
:mod:`hil.backends.callable`; :mod:`hil.backends.stream`: many small layers as one stream;
:mod:`hil.backends.select`: the choice a command line makes)."""

from .api import BackendResult, BackendUnavailable, DenseBackend, check_result
from .callable import CallableBackend
from .pyref import EmulatedBackend, PyrefBackend
from .select import as_backend, choose_backend

__all__ = [
    "BackendResult",
    "BackendUnavailable",
    "CallableBackend",
    "DenseBackend",
    "EmulatedBackend",
    "PyrefBackend",
    "as_backend",
    "check_result",
    "choose_backend",
]
