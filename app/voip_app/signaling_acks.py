"""Requests over the ``/call`` namespace that wait for their ack: :class:`AckedRequests`.

python-socketio waits out the whole ack timeout even when the link drops meanwhile. Here a drop
(:meth:`AckedRequests.link_dropped`) ends every wait at once, as
:class:`~voip_app.errors.ServerUnreachable`: the request may or may not have reached the server.
"""

from __future__ import annotations

import asyncio
from typing import Any

import socketio

from voip_app.errors import ServerUnreachable
from voip_app.signaling_types import M, parse_ack
from voip_contract import NAMESPACE, ClientEvent


class AckedRequests:
    """The requests of one signaling client, on its python-socketio client ``sio``."""

    def __init__(self, sio: socketio.AsyncClient, server_url: str, timeout_s: float) -> None:
        self._sio = sio
        self._server_url = server_url
        self._timeout_s = timeout_s
        self._lost: set[asyncio.Future[None]] = set()

    @property
    def waiting(self) -> int:
        """Requests waiting for their ack now."""
        return len(self._lost)

    def link_dropped(self) -> None:
        """The link is gone: every request waiting fails now."""
        for lost in list(self._lost):
            if not lost.done():
                lost.set_result(None)

    async def call(self, event: ClientEvent, payload: dict[str, Any], model: type[M]) -> M:
        """Send ``event`` and return its ack as ``model``; raises what :func:`parse_ack` raises,
        or :class:`ServerUnreachable` (not connected, no ack in time, the link dropped)."""
        if NAMESPACE not in self._sio.namespaces:
            raise ServerUnreachable(self._server_url, "not connected")
        lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._lost.add(lost)
        request = asyncio.ensure_future(
            self._sio.call(event.value, payload, namespace=NAMESPACE, timeout=self._timeout_s)
        )
        try:
            await asyncio.wait((request, lost), return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._lost.discard(lost)
            if not request.done():
                request.cancel()
                await asyncio.gather(request, return_exceptions=True)
        if request.cancelled():
            raise ServerUnreachable(self._server_url, f"connection lost during {event.value}")
        try:
            raw = request.result()
        except socketio.exceptions.TimeoutError as exc:
            raise ServerUnreachable(self._server_url, f"no answer to {event.value}") from exc
        except (socketio.exceptions.SocketIOError, ValueError) as exc:
            raise ServerUnreachable(self._server_url, "connection lost") from exc
        return parse_ack(event, raw, model)
