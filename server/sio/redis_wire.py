"""Redis pub/sub for the Socket.IO manager on plain asyncio connections: PUBLISH and SUBSCRIBE
without redis-py's layers around each command.

With several nodes every emit is published once and read by every node, the sender's own
listener included (python-socketio's Redis manager). Measured (``bench/redis_messages.py``),
redis-py spent about 200 µs of CPU per message published and received, its hiredis parser
hardly less: the cost is its Python around each command and each message (the connection
pool, the timeouts, the response callbacks), not the parsing. A publish here is one write of
the command and one reply read off the connection; a received message, its frame parsed
out of the buffer.

What it speaks: RESP2 commands (:mod:`server.sio.resp`), one at a time or pipelined
(``MULTI``/``EXEC`` included), and ``SUBSCRIBE``; ``AUTH`` and ``SELECT`` from the URL
(``redis://[user:password@]host[:port][/db]``; the database does not matter to pub/sub);
``rediss://`` over TLS; ``unix:///path``. :func:`~server.sio.resp.address` says ``None`` for a
Sentinel URL, which the manager leaves to redis-py. The presence watches' reads and writes
(:mod:`server.sio.watches`) go through it as well.

Like redis-py as python-socketio uses it, delivery is at most once: what is published while a
node's subscription is down is lost to that node, and a publish whose connection fails is
tried once more on a new one, then given up (logged by :mod:`server.sio.redis_publish`).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import Any, cast

from server.sio.resp import INCOMPLETE, Address, Arg, RedisReplyError, address, command, parse

__all__ = ["FAILURES", "Address", "Client", "Connection", "RedisReplyError", "address", "subscribe"]

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
RETRY_FIRST_S, RETRY_MAX_S = 1.0, 60.0
"""The subscription's retries after a loss: 1 s, doubled each time, at most 60 s (as
python-socketio's own retries)."""
CONNECT_TIMEOUT_S = 5.0
FAILURES = (OSError, RedisReplyError)
"""What a Redis that cannot be reached (``ConnectionError``), does not answer in time
(``TimeoutError``: both are ``OSError``) or refuses a command raises."""


class Connection(asyncio.Protocol):
    """One connection to Redis: commands answered in order, pub/sub messages handed to
    ``on_message`` as they arrive."""

    def __init__(
        self, on_message: Callable[[bytes], None] | None = None, timeout_s: float | None = None
    ) -> None:
        self._buf = bytearray()
        self._waiting: deque[asyncio.Future[Any]] = deque()
        self._on_message = on_message
        self._timeout_s = timeout_s
        self._timed_out = False
        self._transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()
        """Done when the connection is lost (its result: the error, or ``None``)."""

    @classmethod
    async def open(
        cls,
        where: Address,
        on_message: Callable[[bytes], None] | None = None,
        *,
        timeout_s: float | None = None,
    ) -> Connection:
        """Connected and signed in (``AUTH``, when the address has a password). ``timeout_s``:
        a command not answered within it closes the connection (its callers get
        :class:`TimeoutError`, as does any command sent on it since)."""
        loop = asyncio.get_running_loop()
        if where.path is not None:
            opening = loop.create_unix_connection(lambda: cls(on_message, timeout_s), where.path)
        else:
            context = ssl.create_default_context() if where.tls else None
            opening = loop.create_connection(
                lambda: cls(on_message, timeout_s), where.host, where.port, ssl=context
            )
        # (not asyncio.wait_for: on Python 3.11 a cancellation that comes as the connection
        # is made is lost there, and the caller runs on)
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            _, conn = await opening
        if where.password is not None:
            user = [where.username.encode()] if where.username else []
            try:
                await conn.call(b"AUTH", *user, where.password.encode())
            except BaseException:
                conn.close()
                raise
        if where.db:
            try:
                await conn.call(b"SELECT", where.db)
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
            if value is INCOMPLETE:
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
        if not waiter.done():  # (its caller may have been cancelled)
            waiter.set_result(value)  # (an error too: raised once all are in)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_exception(self._lost())
        if not self.closed.done():
            self.closed.set_result(exc)

    def _lost(self) -> Exception:
        if self._timed_out:
            return TimeoutError(f"Redis did not answer within {self._timeout_s} s")
        return ConnectionError("Redis connection lost")

    async def call(self, *args: Arg) -> Any:
        """Send a command; its reply (an error reply raised as :class:`RedisReplyError`)."""
        (reply,) = await self.calls([args])
        return reply

    async def calls(self, commands: Sequence[Sequence[Arg]]) -> list[Any]:
        """Send ``commands`` in one write (a pipeline); their replies, in order. An error reply
        is raised (the first), once every reply has arrived."""
        if self._transport is None:
            raise self._lost()
        loop = asyncio.get_running_loop()
        waiters = [loop.create_future() for _ in commands]
        self._waiting.extend(waiters)
        self._transport.write(b"".join(command(*c) for c in commands))
        timer = None if self._timeout_s is None else loop.call_later(self._timeout_s, self._expire)
        try:
            replies = await _all_of(waiters)
        finally:
            if timer is not None:
                timer.cancel()
        for reply in replies:
            if isinstance(reply, RedisReplyError):
                raise reply
        return replies

    def _expire(self) -> None:
        self._timed_out = True
        self.close()

    def send(self, *args: Arg) -> None:
        """Send a command whose reply nobody waits for (SUBSCRIBE's: a message of its own)."""
        if self._transport is None:
            raise ConnectionError("Redis connection lost")
        self._transport.write(command(*args))

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


async def _all_of(waiters: list[asyncio.Future[Any]]) -> list[Any]:
    """Every waiter's result; a lost connection fails them all, and the first failure is
    raised once each has been read (none is left unretrieved). A cancelled caller cancels
    the waiters still pending: their replies, when they come, are dropped."""
    replies: list[Any] = []
    failure: BaseException | None = None
    try:
        for waiter in waiters:
            try:
                replies.append(await waiter)
            except (ConnectionError, TimeoutError) as exc:
                failure = failure or exc
    except asyncio.CancelledError:
        for waiter in waiters:
            waiter.cancel()
        raise
    if failure is not None:
        raise failure
    return replies


class Client:
    """Commands on one connection, opened when first needed and again after a loss; a
    command whose connection was lost is sent once more on a new one."""

    def __init__(self, where: Address, *, timeout_s: float | None = None) -> None:
        self._where, self._timeout_s = where, timeout_s
        self._conn: Connection | None = None
        self._opening: asyncio.Lock | None = None

    async def call(self, *args: Arg) -> Any:
        """One command's reply."""
        (reply,) = await self.pipeline([args])
        return reply

    async def pipeline(
        self, commands: Sequence[Sequence[Arg]], *, transaction: bool = False
    ) -> list[Any]:
        """Several commands in one round trip, their replies; ``transaction``: in
        ``MULTI``/``EXEC``, the replies of ``EXEC``."""
        sent = [("MULTI",), *commands, ("EXEC",)] if transaction else list(commands)
        for attempt in (1, 2):
            conn = await self._connection()
            try:
                replies = await conn.calls(sent)
                break
            except ConnectionError:
                self._drop(conn)
                if attempt == 2:
                    raise
        if not transaction:
            return replies
        done = replies[-1]
        if not isinstance(done, list):
            raise RedisReplyError(f"transaction not executed: {done!r}")
        for reply in done:
            if isinstance(reply, RedisReplyError):
                raise reply
        return done

    async def _connection(self) -> Connection:
        conn = self._conn
        if conn is not None and not conn.closed.done():
            return conn
        self._opening = self._opening or asyncio.Lock()
        async with self._opening:  # one connection, however many call at once
            if self._conn is None or self._conn.closed.done():
                self._conn = await Connection.open(self._where, timeout_s=self._timeout_s)
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
        except FAILURES as exc:
            log.error("Redis subscription failed", extra={"retry_s": retry, "error": str(exc)})
        finally:
            if conn is not None:
                conn.close()
        await sleep(retry)
        retry = min(retry * 2, RETRY_MAX_S)


def _signal_end(arrived: asyncio.Queue[bytes | None]) -> Callable[[Any], None]:
    return lambda _closed: arrived.put_nowait(None)
