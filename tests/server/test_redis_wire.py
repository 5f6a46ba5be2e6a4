"""Redis pub/sub on plain asyncio connections (:mod:`server.sio.redis_wire`), against a real
redis-server, and redis-py on the other end.

Specification:
- RESP2 values are read whole from any split of their bytes, and not before they are whole;
  an error reply is an error value; anything else is refused.
- What :class:`Publisher` publishes, :func:`subscribe` receives: every message, in order,
  intact (binary, with CR LF inside, empty, 300 KB), from many publishes at once on one
  connection, on asyncio's loop and on uvloop's (the server's); and each interoperates with
  redis-py (it speaks Redis, not only itself).
- ``publish`` says how many subscribers got the message.
- Redis restarted: the publisher's next publish goes out on a new connection; the subscription
  is made again after its wait (1 s, doubling while it fails, at most 60 s), and what is
  published then arrives.
- A password in the URL signs in (``AUTH``); a wrong one fails the publish with Redis's error,
  and makes the subscriber wait and try again.
- Commands pipelined come back in order; in a transaction (``MULTI``/``EXEC``) the replies are
  ``EXEC``'s, and a command that fails inside it fails the call; the URL's database is the
  one used (``SELECT``); a Unix socket works as TCP does.
- A Redis that does not answer within the client's time out fails the call with
  ``TimeoutError`` (the connection is closed: later replies cannot be taken for later calls),
  and the next call goes out on a new connection. A cancelled call's reply, when it comes,
  is nobody's: the next call gets its own.
- A subscriber cancelled at any point of its connecting ends: the cancellation is never lost
  (a subscriber that lost it would go on subscribing after its node let it go).
- A Sentinel URL has no address (redis-py's then).
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import uvloop
from redis.asyncio import Redis

from server.sio import redis_wire, resp
from server.sio.redis_wire import Client, subscribe
from server.sio.resp import Address, RedisReplyError, address, parse
from tests.support.servers import HOST, RedisServer, wait_for_port

pytestmark = pytest.mark.redis


FRAME = b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$6\r\na\r\nb\r\n\r\n:42\r\n-ERR nope\r\n+OK\r\n$-1\r\n"
VALUES = [[b"message", b"ch", b"a\r\nb\r\n"], 42, ("error", "ERR nope"), "OK", None]


def _read_all(buf: bytes) -> tuple[list[object], int]:
    """The values whole in ``buf``, and where the first one not whole starts."""
    values: list[object] = []
    pos = 0
    while pos < len(buf):
        value, after = parse(buf, pos)
        if value is resp.INCOMPLETE:
            break
        values.append(("error", str(value)) if isinstance(value, RedisReplyError) else value)
        pos = after
    return values, pos


def test_values_are_read_whole_from_any_split() -> None:
    for cut in range(len(FRAME) + 1):
        first, pos = _read_all(FRAME[:cut])
        rest, end = _read_all(FRAME[pos:])
        assert first + rest == VALUES
        assert pos + end == len(FRAME)
    with pytest.raises(ValueError, match="not RESP2"):
        parse(b"?what\r\n", 0)


def test_addresses() -> None:
    assert address("redis://127.0.0.1:6380/0") == Address("127.0.0.1", 6380)
    assert address("rediss://u:p%40ss@cache.example:6390") == Address(
        "cache.example", 6390, tls=True, username="u", password="p@ss"
    )
    assert address("redis://:secret@h") == Address("h", 6379, password="secret")
    assert address("redis://h/9") == Address("h", 6379, db=9)
    assert address("unix:///run/redis.sock?db=2") == Address("", 0, path="/run/redis.sock", db=2)
    assert address("redis+sentinel://h:26379/mymaster") is None


@pytest.fixture
def server() -> Iterator[RedisServer]:
    started = RedisServer.start()
    yield started
    started.stop()


async def _take(messages: AsyncIterator[bytes], n: int) -> list[bytes]:
    out = []
    async for message in messages:
        out.append(message)
        if len(out) == n:
            break
    return out


async def _subscribed(server: RedisServer, channel: str, want: int = 1) -> None:
    """Until ``want`` subscribers listen on ``channel`` (PUBSUB NUMSUB)."""
    async with Redis.from_url(server.url) as r:
        for _ in range(500):
            if dict(await r.pubsub_numsub(channel)).get(channel.encode(), 0) >= want:
                return
            await asyncio.sleep(0.01)
    raise AssertionError(f"nobody subscribed to {channel}")


async def test_what_is_published_arrives_in_order_and_intact(server: RedisServer) -> None:
    await _round_trip(server)


def test_the_same_on_uvloop(server: RedisServer) -> None:
    uvloop.run(_round_trip(server))


async def _round_trip(server: RedisServer) -> None:
    where = address(server.url)
    assert where is not None
    payloads = [b"", b"a\r\nb", bytes(range(256)), b"x" * 300_000]
    payloads += [b'{"n": %d}' % n for n in range(2000)]
    messages = subscribe(where, "calls")
    receiving = asyncio.ensure_future(_take(messages, len(payloads)))
    await _subscribed(server, "calls")
    publisher = Client(where)
    counts = [await publisher.call("PUBLISH", "calls", p) for p in payloads[:4]]
    counts += await asyncio.gather(*(publisher.call("PUBLISH", "calls", p) for p in payloads[4:]))
    assert await asyncio.wait_for(receiving, 30) == payloads
    assert set(counts) == {1}
    publisher.close()
    await messages.aclose()


async def test_it_speaks_redis_with_redis_py(server: RedisServer) -> None:
    where = address(server.url)
    assert where is not None
    async with Redis.from_url(server.url) as theirs:
        pubsub = theirs.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe("from-us")
        ours = Client(where)
        assert await ours.call("PUBLISH", "from-us", b"hello\r\nthere") == 1
        got = None
        while got is None:
            got = await pubsub.get_message(timeout=5)
        assert got["data"] == b"hello\r\nthere"
        await pubsub.aclose()
        ours.close()
        messages = subscribe(where, "from-them")
        receiving = asyncio.ensure_future(_take(messages, 2))
        await _subscribed(server, "from-them")
        await theirs.publish("from-them", b"one")
        await theirs.publish("from-them", "two \u00e9")
        assert await asyncio.wait_for(receiving, 5) == [b"one", "two \u00e9".encode()]
        await messages.aclose()


def _restart(server: RedisServer) -> None:
    assert server.proc is not None
    server.proc.terminate()
    server.proc.wait(10)
    args = ["redis-server", "--port", str(server.port), "--bind", HOST, "--save", ""]
    server.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(HOST, server.port, proc=server.proc)


async def test_both_sides_come_back_after_redis_restarts(server: RedisServer) -> None:
    where = address(server.url)
    assert where is not None
    waits: list[float] = []
    waited = asyncio.Event()

    async def sleep(seconds: float) -> None:  # (the backoff's clock: no real wait)
        waits.append(seconds)
        waited.set()
        await asyncio.sleep(0)

    messages = subscribe(where, "calls", sleep=sleep)
    first = asyncio.ensure_future(_take(messages, 1))
    await _subscribed(server, "calls")
    publisher = Client(where)
    assert await publisher.call("PUBLISH", "calls", b"before") == 1
    assert await asyncio.wait_for(first, 5) == [b"before"]
    _restart(server)
    after = asyncio.ensure_future(_take(messages, 1))
    await asyncio.wait_for(waited.wait(), 5)  # it saw the loss and waited its first second
    await _subscribed(server, "calls")
    # (its old connection died: a new one)
    assert await publisher.call("PUBLISH", "calls", b"after") == 1
    assert await asyncio.wait_for(after, 5) == [b"after"]
    assert waits[0] == redis_wire.RETRY_FIRST_S
    assert all(b <= redis_wire.RETRY_MAX_S for b in waits)
    publisher.close()
    await messages.aclose()


async def test_a_password_signs_in_and_a_wrong_one_is_refused(server: RedisServer) -> None:
    async with Redis.from_url(server.url) as admin:
        await admin.config_set("requirepass", "s3cret")
    right = address(f"redis://:s3cret@{HOST}:{server.port}/0")
    wrong = address(f"redis://:nope@{HOST}:{server.port}/0")
    assert right is not None
    assert wrong is not None
    refused = Client(wrong)
    with pytest.raises(RedisReplyError):
        await refused.call("PUBLISH", "calls", b"x")
    refused.close()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(0)

    failing = subscribe(wrong, "calls", sleep=sleep)
    trying = asyncio.ensure_future(_take(failing, 1))
    for _ in range(500):
        if len(waits) >= 3:
            break
        await asyncio.sleep(0.01)
    assert waits[:3] == [1.0, 2.0, 4.0]  # doubling while it fails
    trying.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await trying
    messages = subscribe(right, "calls")
    receiving = asyncio.ensure_future(_take(messages, 1))
    publisher = Client(right)
    for _ in range(500):  # until the subscription is in place (numsub needs the password too)
        if await publisher.call("PUBLISH", "calls", b"in") == 1:
            break
        await asyncio.sleep(0.01)
    assert await asyncio.wait_for(receiving, 5) == [b"in"]
    publisher.close()
    await messages.aclose()


async def test_pipelines_transactions_and_databases(server: RedisServer) -> None:
    where = address(f"{server.url.rsplit('/', 1)[0]}/5")
    assert where is not None
    client = Client(where)
    replies = await client.pipeline([("SET", "k", "v"), ("INCRBY", "n", 5), ("GET", "k")])
    assert replies == ["OK", 5, b"v"]
    done = await client.pipeline(
        [("HSET", "h", "a", 1, "b", 2.5), ("HGETALL", "h")], transaction=True
    )
    assert done == [2, [b"a", b"1", b"b", b"2.5"]]
    with pytest.raises(RedisReplyError, match="WRONGTYPE"):
        await client.pipeline([("INCR", "n"), ("HGET", "k", "x")], transaction=True)
    assert await client.call("GET", "n") == b"6"  # (EXEC ran what it could, as Redis does)
    async with (
        Redis.from_url(server.url) as db0,
        Redis.from_url(f"{server.url.rsplit('/', 1)[0]}/5") as db5,
    ):
        assert await db0.get("k") is None
        assert await db5.get("k") == b"v"
    client.close()


@pytest.fixture
def unix_redis(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "redis.sock"
    args = ["redis-server", "--port", "0", "--unixsocket", str(path), "--save", ""]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(500):
            if path.exists():
                break
            time.sleep(0.01)
        yield path
    finally:
        proc.terminate()
        proc.wait(10)


async def test_a_unix_socket(unix_redis: Path) -> None:
    where = address(f"unix://{unix_redis}")
    assert where is not None
    client = Client(where)
    assert await client.call("PING") == "PONG"
    client.close()


async def test_a_redis_that_does_not_answer_times_out(server: RedisServer) -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # reads nothing, answers nothing

    mute = await asyncio.start_server(silent, HOST, 0)
    port = mute.sockets[0].getsockname()[1]
    client = Client(Address(HOST, port), timeout_s=0.2)
    with pytest.raises(TimeoutError):
        await client.call("PING")
    with pytest.raises(TimeoutError):  # a new connection, as silent
        await client.pipeline([("PING",), ("PING",)])
    assert len(accepted) == 2
    client.close()
    for writer in accepted:
        writer.close()
    mute.close()
    await mute.wait_closed()
    where = address(server.url)
    assert where is not None
    awake = Client(where, timeout_s=0.2)
    assert await awake.call("PING") == "PONG"
    awake.close()


async def test_a_cancelled_call_leaves_the_next_call_its_own_reply(server: RedisServer) -> None:
    where = address(server.url)
    assert where is not None
    client = Client(where)
    connection = await client.call("CLIENT", "ID")
    blocked = asyncio.ensure_future(client.call("BLPOP", "nothing-here", 0.3))
    async with Redis.from_url(server.url) as other:  # until Redis holds the BLPOP, unanswered
        for _ in range(500):
            if (await other.info("clients"))["blocked_clients"] >= 1:
                break
            await asyncio.sleep(0.01)
    blocked.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await blocked
    # the BLPOP's nil, when it comes, belongs to nobody; ECHO's reply comes after it
    assert await client.call("ECHO", "mine") == b"mine"
    assert await client.call("CLIENT", "ID") == connection  # on the same connection
    client.close()


async def test_a_subscriber_cancelled_while_it_connects_ends(server: RedisServer) -> None:
    # Cancelled after k turns of the loop, for every k from the first turn to past the
    # subscription: one of them lands where the connection is made but its opener has not
    # resumed yet (asyncio.wait_for on Python 3.11 returned the connection there and lost the
    # cancellation; the subscriber then ran on).
    where = address(server.url)
    assert where is not None
    for turns in range(40):
        messages = subscribe(where, "calls", sleep=asyncio.sleep)
        taking = asyncio.ensure_future(_take(messages, 1))
        for _ in range(turns):
            await asyncio.sleep(0)
        taking.cancel()
        await asyncio.wait({taking}, timeout=5)
        ended = taking.done()
        taking.cancel()  # (again: a subscriber that lost the first one must not outlive the test)
        with contextlib.suppress(asyncio.CancelledError):
            await taking
        assert ended, f"cancelled after {turns} turns of the loop, it went on subscribing"
