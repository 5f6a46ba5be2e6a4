"""A stdlib HTTP server on loopback for tests that stand in for a remote endpoint (a webhook
sink, an S3 store, a page server): on 127.0.0.1 and a free port, serving on a daemon thread of
its own from construction until :meth:`LoopbackHTTPServer.close`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import BaseRequestHandler
from typing import Any


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that does not write a line to stderr for every request."""

    def log_message(self, format: str, *args: object) -> None:
        return


class LoopbackHTTPServer:
    """``handler`` served by a :class:`ThreadingHTTPServer` on 127.0.0.1 and a free port."""

    def __init__(
        self, handler: Callable[[Any, Any, ThreadingHTTPServer], BaseRequestHandler]
    ) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``, with no path."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        """Stop serving and free the port (waits for the serving thread, 5 s at most)."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
