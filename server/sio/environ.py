"""A connected socket's environ, slimmed: what python-socketio keeps of its first request."""

from __future__ import annotations

from typing import Any

ENVIRON_KEPT = ("REQUEST_METHOD", "asgi.scope", "asgi.receive", "asgi.send")
"""What python-engineio still reads from a socket's environ once it is connected (when its
websocket ends: the method for the CORS headers, the scope and ``send`` for the close)."""


def slim_environ(environ: dict[str, Any]) -> None:
    """Keep only :data:`ENVIRON_KEPT` of a connected socket's WSGI-style environ.

    python-socketio keeps the environ of a socket's first request for the socket's life: a dict
    of some 28 strings (the headers again, as ``HTTP_*``) and the body reader of
    python-engineio's ASGI driver, an instance of a class made per request (2.4 KiB, a cycle for
    the collector). Nothing of this server reads them after the connect (the headers stay in
    ``asgi.scope``), and the body was read (or there was none) before it. ``clear`` frees the
    dict's table too, which popping keys would not.
    """
    kept = {key: environ[key] for key in ENVIRON_KEPT if key in environ}
    environ.clear()
    environ.update(kept)
