"""An in-memory pyecore URI, so XMI is saved to and loaded from bytes without temp files."""
from __future__ import annotations

import io

from pyecore.resources import URI


class MemoryURI(URI):
    def __init__(self, name: str = "model.xmi", data: bytes = b"") -> None:
        super().__init__(name)
        self.data = data
        self._buf: io.BytesIO | None = None

    def create_instream(self) -> io.BytesIO:
        return io.BytesIO(self.data)

    def create_outstream(self) -> io.BytesIO:
        self._buf = io.BytesIO()
        return self._buf

    def close_stream(self) -> None:
        if self._buf is not None:
            self.data = self._buf.getvalue()
