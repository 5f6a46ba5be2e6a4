"""The Socket.IO server's client managers and packets: python-socketio's, with an emit that
hands the packet to each recipient's queue in turn, and packets that are JSON only.

python-socketio's emit makes a task per recipient and waits on them all (``asyncio.wait``):
about 12 µs of the loop's time per emit on this machine, against about 1 µs to put the same
packet on the same queue directly (issue 16: a call set-up emits four events). A send never
waits here: Engine.IO queues the packet (its queue has no bound) and the socket's own task
writes it out, so sending in turn changes neither the order nor the wait. One recipient's
failure is logged and the others still get the event, as with the tasks.

With Redis, :class:`InlineRedisManager` puts the same emit under the pub/sub manager: the
local delivery of every emit, this node's or another node's, goes through it; its messages go
through Redis on :mod:`server.sio.redis_wire`'s connections rather than redis-py's, published in
order by :class:`server.sio.redis_publish.PublishQueue` without the emitting handler waiting.
Every node hears every message; its own it skips by their first bytes, undecoded, and an emit
of another node's that reaches none of its sockets costs it a decode and a room lookup, no
encoding.

:class:`JsonPacket`: python-socketio walks every packet's data, each dict and list, for bytes
to send as binary attachments, in Python, for every event and ack it sends (about 0.07 ms of a
call set-up's 2.7 ms). The server sends JSON only (every payload is a contract model dumped
with ``mode="json"``), so its packets skip the walk; a client's binary packet is still read
as python-socketio reads it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet

from server.sio import redis_wire
from server.sio.redis_publish import PublishQueue
from server.sio.redis_wire import Sleep
from server.sio.rooms import IndexedRooms

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_S = 2.0
"""How long a batch of publishes waits for Redis's replies before its connection is dropped."""


class JsonPacket(sio_packet.Packet):  # type: ignore[misc]
    """A Socket.IO packet the server sends as text, never with binary attachments (bytes in
    its data fail to encode, loudly)."""

    uses_binary_events = False


class InlineEmitManager(IndexedRooms):
    """python-socketio's manager for one node, whose emit sends without a task per recipient
    (an emit that expects a client's ack goes the library's way), and whose rooms are indexed
    by socket (:mod:`server.sio.rooms`)."""

    async def drain(self) -> None:
        """At shutdown: nothing to wait for (one node: every emit is sent as it is made)."""

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        if callback is not None:
            await super().emit(
                event, data, namespace, room, skip_sid, callback=callback, to=to, **kwargs
            )
            return
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        # a copy, safe to await over; with Redis, half the other node's emits reach no socket
        # here: they cost no encoding
        recipients = [
            (sid, eio_sid)
            for sid, eio_sid in self.get_participants(namespace, to or room)
            if sid not in skip
        ]
        if not recipients:
            return
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        encoded = self.server.packet_class(
            sio_packet.EVENT, namespace=namespace, data=[event, *args]
        ).encode()
        frames = [
            eio_packet.Packet(eio_packet.MESSAGE, part)
            for part in (encoded if isinstance(encoded, list) else [encoded])
        ]
        for sid, eio_sid in recipients:
            try:
                for frame in frames:
                    await self.server._send_eio_packet(eio_sid, frame)
            except Exception:  # one socket's fault must not keep the event from the others
                log.exception("sending %s to a socket failed", event, extra={"sid": sid})


class InlineRedisManager(socketio.AsyncRedisManager, InlineEmitManager):  # type: ignore[misc]
    """python-socketio's Redis manager (every node hears every emit), delivering on this node
    through :class:`InlineEmitManager`'s emit, and publishing and listening on
    :mod:`server.sio.redis_wire`'s connections (a URL that module does not speak: redis-py's,
    as the library does)."""

    def __init__(self, url: str, channel: str, *, sleep: Sleep = asyncio.sleep) -> None:
        super().__init__(url, channel=channel)
        self._wire = redis_wire.address(url)
        self._sleep = sleep
        client = redis_wire.Client(self._wire, timeout_s=PUBLISH_TIMEOUT_S) if self._wire else None
        self._publisher = PublishQueue(client, channel) if client else None
        self._own = self.json.dumps({"host_id": self.host_id})[:-1].encode()
        """How this node's own messages begin, as :meth:`_publish` writes them."""

    async def _publish(self, data: Any) -> None:
        if self._publisher is None:
            await super()._publish(data)
            return
        # The sender's id first, so that this node's listener knows its own messages by their
        # first bytes and skips them undecoded (python-socketio decodes every message, then
        # skips its own). A callback's ``host_id`` names the node it goes to, not the sender.
        if data.get("method") != "callback":
            data = {"host_id": self.host_id, **data}
        # queued, in order, sent by the queue's task: the emitting handler does not wait
        self._publisher.put(self.json.dumps(data).encode())

    async def drain(self) -> None:
        """At shutdown: wait until what this node emitted has been published (or given up:
        each try waits :data:`PUBLISH_TIMEOUT_S` at most), then close the connection. The
        sockets' disconnects and the handlers' last steps emit too, to other nodes' sockets."""
        if self._publisher is not None:
            await self._publisher.drained()
            self._publisher.close()

    async def _listen(self) -> AsyncGenerator[bytes, None]:
        if self._wire is None:
            async for message in super()._listen():
                yield message
            return
        async for message in redis_wire.subscribe(self._wire, self.channel, sleep=self._sleep):
            if not message.startswith(self._own):  # (delivered here when it was emitted)
                yield message
