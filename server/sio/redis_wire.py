"""Redis pub/sub for the Socket.IO manager on plain asyncio connections: PUBLISH and SUBSCRIBE
without redis-py's layers around each command.

With several nodes every emit is published once and read by every node, the sender's own
listener included (python-socketio's Redis manager). Measured (``bench/redis_messages.py``),
redis-py spent about 200 µs of CPU per message published and received, its hiredis parser
hardly less: the cost is its Python around each command and each message (the connection
pool, the timeouts, the response callbacks), not the parsing. A publish here is one write of
the command and one reply read off the connection; a received message, its frame parsed
out of the buffer.

What it speaks: RESP2, ``PUBLISH``, ``SUBSCRIBE``, ``AUTH`` (``redis://[user:password@]host
[:port][/db]``; the database does not matter to pub/sub); ``rediss://`` over TLS.
:func:`address` says ``None`` for any other URL (Sentinel, a Unix socket), which the manager
leaves to redis-py.

Like redis-py as python-socketio uses it, delivery is at most once: what is published while a
node's subscription is down is lost to that node, and a publish whose connection fails is
tried once more on a new one, then given up (logged by the manager).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
RETRY_FIRST_S, RETRY_MAX_S = 1.0, 60.0
"""The subscription's retries after a loss: 1 s, doubled each time, at most 60 s (as
python-socketio's own retries)."""
CONNECT_TIMEOUT_S = 5.0


class RedisReplyError(Exception):
    """Redis answered a command with an error (``-ERR ...``)."""


@dataclass(frozen=True, slots=True)
class Address:
    """Where a Redis server is, and how to sign in to it."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None


def address(url: str) -> Address | None:
    """The address of a ``redis://`` or ``rediss://`` URL; ``None`` for any other."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        return None
    user = unquote(parts.username) if parts.username else None
    secret = unquote(parts.password) if parts.password else None
    return Address(parts.hostname, parts.port or 6379, parts.scheme == "rediss", user, secret)


def command(*args: bytes) -> bytes:
    """A command as RESP2 sends it: an array of bulk strings."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


_INCOMPLETE = object()


def parse(buf: bytearray | bytes, pos: int) -> tuple[Any, int]:
    """One RESP2 value at ``pos`` and the position after it; ``(_INCOMPLETE, pos)`` when the
    buffer does not hold all of it yet. An error reply is a :class:`RedisReplyError` value."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        return _INCOMPLETE, pos
    kind, line = buf[pos : pos + 1], bytes(buf[pos + 1 : end])
    after = end + 2
    if kind == b"$":
        size = int(line)
        if size < 0:
            return None, after
        if len(buf) < after + size + 2:
            return _INCOMPLETE, pos
        return bytes(buf[after : after + size]), after + size + 2
    if kind == b"*":
        items: list[Any] = []
        for _ in range(max(int(line), 0)):
            item, after = parse(buf, after)
            if item is _INCOMPLETE:
                return _INCOMPLETE, pos
            items.append(item)
        return items, after
    if kind == b":":
        return int(line), after
    if kind == b"+":
        return line.decode(), after
    if kind == b"-":
        return RedisReplyError(line.decode(errors="replace")), after
    raise ValueError(f"not RESP2: {bytes(buf[pos : pos + 16])!r}")


class Connection(asyncio.Protocol):
    """One connection to Redis: commands answered in order, pub/sub messages handed to
    ``on_message`` as they arrive."""

    def __init__(self, on_message: Callable[[bytes], None] | None = None) -> None:
        self._buf = bytearray()
        self._waiting: deque[asyncio.Future[Any]] = deque()
        self._on_message = on_message
        self._transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()
        """Done when the connection is lost (its result: the error, or ``None``)."""

    @classmethod
    async def open(
        cls, where: Address, on_message: Callable[[bytes], None] | None = None
    ) -> Connection:
        """Connected and signed in (``AUTH``, when the address has a password)."""
        loop = asyncio.get_running_loop()
        context = ssl.create_default_context() if where.tls else None
        opening = loop.create_connection(
            lambda: cls(on_message), where.host, where.port, ssl=context
        )
        _, conn = await asyncio.wait_for(opening, CONNECT_TIMEOUT_S)
        if where.password is not None:
            user = [where.username.encode()] if where.username else []
            try:
                await conn.call(b"AUTH", *user, where.password.encode())
            except BaseException:
                conn.close()
                raise
        return conn

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # (uvloop's transports are not asyncio.Transport subclasses: no isinstance here)
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        pos = 0
        while pos < len(buf):
            value, pos = parse(buf, pos)
            if value is _INCOMPLETE:
                break
            self._dispatch(value)
        del buf[:pos]

    def _dispatch(self, value: Any) -> None:
        if self._on_message is not None and isinstance(value, list) and value:
            if value[0] == b"message" and len(value) == 3:
                self._on_message(value[2])
            return  # (a subscribe's confirmation: nothing waits for it)
        if not self._waiting:  # (a subscriber's refused SUBSCRIBE, say): not to be trusted
            log.error("Redis sent what nothing asked for", extra={"reply": repr(value)[:200]})
            self.close()
            return
        waiter = self._waiting.popleft()
        if isinstance(value, RedisReplyError):
            waiter.set_exception(value)
        else:
            waiter.set_result(value)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        while self._waiting:
            self._waiting.popleft().set_exception(ConnectionError("Redis connection lost"))
        if not self.closed.done():
            self.closed.set_result(exc)

    async def call(self, *args: bytes) -> Any:
        """Send a command; its reply."""
        if self._transport is None:
            raise ConnectionError("Redis connection lost")
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        self._transport.write(command(*args))
        return await waiter

    def send(self, *args: bytes) -> None:
        """Send a command whose reply nobody waits for (SUBSCRIBE's: a message of its own)."""
        if self._transport is None:
            raise ConnectionError("Redis connection lost")
        self._transport.write(command(*args))

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class Publisher:
    """PUBLISH on one connection, opened when first needed and again after a loss."""

    def __init__(self, where: Address, channel: str) -> None:
        self._where, self._channel = where, channel.encode()
        self._conn: Connection | None = None
        self._opening: asyncio.Lock | None = None

    async def publish(self, payload: bytes) -> int:
        """Publish ``payload``; how many subscribers got it. A failed connection is dropped
        and the publish tried once more on a new one."""
        for attempt in (1, 2):
            conn = await self._connection()
            try:
                found: int = await conn.call(b"PUBLISH", self._channel, payload)
                return found
            except ConnectionError:
                self._drop(conn)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _connection(self) -> Connection:
        conn = self._conn
        if conn is not None and not conn.closed.done():
            return conn
        self._opening = self._opening or asyncio.Lock()
        async with self._opening:  # one connection, however many publish at once
            if self._conn is None or self._conn.closed.done():
                self._conn = await Connection.open(self._where)
            return self._conn

    def _drop(self, conn: Connection) -> None:
        conn.close()
        if self._conn is conn:
            self._conn = None

    def close(self) -> None:
        if self._conn is not None:
            self._drop(self._conn)


async def subscribe(
    where: Address, channel: str, *, sleep: Sleep = asyncio.sleep
) -> AsyncGenerator[bytes, None]:
    """The channel's messages, for ever: subscribed again after a loss (after 1 s, then
    doubling up to 60 s while it fails; ``sleep`` waits)."""
    retry = RETRY_FIRST_S
    while True:
        arrived: asyncio.Queue[bytes | None] = asyncio.Queue()  # None: the connection was lost
        conn: Connection | None = None
        try:
            conn = await Connection.open(where, arrived.put_nowait)
            conn.closed.add_done_callback(_signal_end(arrived))
            conn.send(b"SUBSCRIBE", channel.encode())
            retry = RETRY_FIRST_S
            while (message := await arrived.get()) is not None:
                yield message
            log.error("Redis subscription lost", extra={"error": str(conn.closed.result())})
        except (OSError, TimeoutError, RedisReplyError) as exc:
            log.error("Redis subscription failed", extra={"retry_s": retry, "error": str(exc)})
        finally:
            if conn is not None:
                conn.close()
        await sleep(retry)
        retry = min(retry * 2, RETRY_MAX_S)


def _signal_end(arrived: asyncio.Queue[bytes | None]) -> Callable[[Any], None]:
    return lambda _closed: arrived.put_nowait(None)
