"""Messages between the HIL session and its simulator over the session's Unix socket: one JSON
header line, then the raw bytes of the numpy arrays the header lists (no files, no pickles).

Both ends use :class:`Channel`: the session in the parent (with a timeout and a check that the
simulator still runs) and :mod:`tb.stream.cocotb_test` inside the simulator (blocking).
"""

from __future__ import annotations

import json
import math
import os
import socket
from typing import Callable, Mapping

import numpy as np

SERVER_ENV = "QMAC_TB_STREAM"
"""Environment variable that tells :mod:`tb.stream.cocotb_test` where to connect (JSON)."""


class ChannelClosed(ConnectionError):
    """The other end went away (or stopped running) before a whole message arrived."""


class Channel:
    """Send and receive ``(message, arrays)`` over the connected stream socket ``sock``.

    ``alive()`` is asked whenever a receive times out (the socket's own timeout); when it says
    False the receive gives up with :class:`ChannelClosed`.
    """

    def __init__(self, sock: socket.socket, alive: Callable[[], bool] | None = None):
        self.sock = sock
        self.alive = alive
        self._buf = bytearray()

    @classmethod
    def to_session(cls) -> "Channel":
        """The simulator side's channel: connected to the session's socket named in
        :data:`SERVER_ENV` (blocking)."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(json.loads(os.environ[SERVER_ENV])["address"])
        return cls(sock)

    def send(self, message: dict, arrays: Mapping[str, np.ndarray] | None = None) -> None:
        """``message`` (JSON-able) and ``arrays`` (any numeric dtype and shape)."""
        arrays = {k: np.ascontiguousarray(v) for k, v in (arrays or {}).items()}
        head = {**message, "arrays": [[k, v.dtype.str, list(v.shape)] for k, v in arrays.items()]}
        self.sock.sendall(json.dumps(head).encode() + b"\n")
        for v in arrays.values():
            if v.size:
                self.sock.sendall(v.view(np.uint8).reshape(-1).data)

    def receive(self) -> tuple[dict, dict[str, np.ndarray]]:
        """The next message and its arrays (writable copies, owned by the caller)."""
        while (end := self._buf.find(b"\n")) < 0:
            self._fill()
        head = json.loads(bytes(self._buf[:end]))
        del self._buf[: end + 1]
        arrays = {}
        for name, dtype, shape in head.pop("arrays", []):
            dt = np.dtype(dtype)
            size = dt.itemsize * math.prod(shape)
            while len(self._buf) < size:
                self._fill()
            arrays[name] = np.frombuffer(bytes(self._buf[:size]), dt).reshape(shape).copy()
            del self._buf[:size]
        return head, arrays

    def _fill(self) -> None:
        try:
            chunk = self.sock.recv(1 << 20)
        except socket.timeout:
            if self.alive is not None and not self.alive():
                raise ChannelClosed("the other end stopped") from None
            return
        if not chunk:
            raise ChannelClosed("the other end closed the connection")
        self._buf += chunk
