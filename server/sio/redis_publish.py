"""The Redis manager's publishes, in order, off the emitting task.

python-socketio's Redis manager awaits each publish inside the emit: the handler that emits
waits a Redis round trip per event (a call set-up emits four), and each publish is a write of
its own and a wakeup for its reply. :class:`PublishQueue` takes the message and returns at
once; one task writes everything queued since its last write as one pipeline of ``PUBLISH``
commands, waits for their replies, then takes the next batch. One task, one connection: the
node's messages reach Redis in the order they were emitted.

Delivery stays at most once, as before: a batch whose connection fails is sent once more on a
new connection (:class:`server.sio.redis_wire.Client`), then dropped and logged. At most
``max_queued`` messages wait; beyond that (Redis down, or slower than the node) a new message
is dropped and logged, rather than held in memory.
"""

from __future__ import annotations

import asyncio
import logging

from server.sio.redis_wire import FAILURES, Client

log = logging.getLogger(__name__)

MAX_QUEUED = 10_000


class PublishQueue:
    """``PUBLISH`` to one channel, queued and sent in batches by one task."""

    def __init__(self, client: Client, channel: str, *, max_queued: int = MAX_QUEUED) -> None:
        self._client, self._channel, self._max = client, channel.encode(), max_queued
        self._queued: list[bytes] = []
        self._sender: asyncio.Task[None] | None = None
        self.dropped = 0
        """Messages dropped because the queue was full (each logged)."""

    def put(self, payload: bytes) -> None:
        """Queue ``payload`` for publishing; never waits."""
        if len(self._queued) >= self._max:
            self.dropped += 1
            log.error("Redis publish queue full: message dropped", extra={"queued": self._max})
            return
        self._queued.append(payload)
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send())

    async def _send(self) -> None:
        # (a new task's first step runs once the emitting task yields: what that task queued in
        # the same step is in the first batch)
        while self._queued:
            batch, self._queued = self._queued, []
            try:
                await self._client.pipeline([(b"PUBLISH", self._channel, p) for p in batch])
            except FAILURES as exc:
                log.error(
                    "Cannot publish to Redis", extra={"error": str(exc), "messages": len(batch)}
                )

    def close(self) -> None:
        """Close the client's connection (what is still queued is sent on a new one)."""
        self._client.close()

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing on its way (what a process's exit now would lose)."""
        return not self._queued and (self._sender is None or self._sender.done())

    async def drained(self) -> None:
        """Wait until every message queued so far has been sent (or given up)."""
        while self._sender is not None and not self._sender.done():
            await asyncio.shield(self._sender)
