"""The manager's publish queue (``server.sio.redis_publish``) against a real redis-server.

Specification:
- ``put`` never waits; what is put arrives at a subscriber whole and in the order it was put,
  from many tasks at once.
- What one task puts in one step goes out in one write (one pipeline), and while a batch waits
  for its replies the next one gathers.
- Redis unreachable: ``put`` neither raises nor waits; the lost batch is logged; once Redis is
  back, new messages flow.
- At most ``max_queued`` messages wait; beyond that a new one is dropped, counted and logged.
- A node's manager, drained at shutdown, has published every emit before the drain returns.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import socketio

from server.sio import redis_publish
from server.sio.manager import InlineRedisManager
from server.sio.redis_publish import PublishQueue
from server.sio.redis_wire import Client, subscribe
from server.sio.resp import Address, Arg, address
from tests.server.test_redis_wire import _subscribed, _take
from tests.support.servers import HOST, RedisServer, free_port

pytestmark = pytest.mark.redis


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    started = RedisServer.start()
    yield started
    started.stop()


class CountingClient(Client):
    """The real client, counting the pipelines it is asked to send."""

    def __init__(self, where: Address) -> None:
        super().__init__(where)
        self.batches: list[int] = []

    async def pipeline(
        self, commands: Sequence[Sequence[Arg]], *, transaction: bool = False
    ) -> list[Any]:
        self.batches.append(len(commands))
        return await super().pipeline(commands, transaction=transaction)


async def test_messages_arrive_whole_and_in_order_in_few_batches(redis: RedisServer) -> None:
    where = address(redis.url)
    assert where is not None
    payloads = [b"", b"a\r\nb", b"x" * 300_000, *(b'{"n": %d}' % n for n in range(3000))]
    messages = subscribe(where, "calls")
    receiving = asyncio.ensure_future(_take(messages, len(payloads)))
    await _subscribed(redis, "calls")
    client = CountingClient(where)
    queue = PublishQueue(client, "calls")
    put: list[bytes] = []

    def put_one(payload: bytes) -> None:
        put.append(payload)
        queue.put(payload)

    for payload in payloads[:1000]:  # one step: one batch
        put_one(payload)

    async def later(part: list[bytes]) -> None:
        for payload in part:
            put_one(payload)
            await asyncio.sleep(0)

    await later(payloads[1000:2000])
    await asyncio.gather(later(payloads[2000:2500]), later(payloads[2500:]))  # interleaved
    await queue.drained()
    assert await asyncio.wait_for(receiving, 30) == put
    assert sorted(put) == sorted(payloads)
    assert client.batches[0] >= 1000  # (the first step's, perhaps more)
    assert sum(client.batches) == len(payloads)
    assert len(client.batches) < len(payloads) / 2  # while one batch waits, the next gathers
    client.close()
    await messages.aclose()


async def test_an_unreachable_redis_loses_the_batch_and_not_the_next(
    redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    nowhere = Client(Address(HOST, free_port()))
    queue = PublishQueue(nowhere, "calls")
    with caplog.at_level(logging.ERROR, logger=redis_publish.__name__):
        queue.put(b"lost")  # returns at once
        await queue.drained()
    assert [r.getMessage() for r in caplog.records] == ["Cannot publish to Redis"]
    where = address(redis.url)
    assert where is not None
    messages = subscribe(where, "calls")
    receiving = asyncio.ensure_future(_take(messages, 1))
    await _subscribed(redis, "calls")
    client = Client(where)
    back = PublishQueue(client, "calls")
    back.put(b"after")
    assert await asyncio.wait_for(receiving, 5) == [b"after"]
    await back.drained()
    client.close()
    await messages.aclose()


async def test_a_full_queue_drops_and_counts(caplog: pytest.LogCaptureFixture) -> None:
    accepted: list[asyncio.StreamWriter] = []
    first_batch_out = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # reads, never answers
        await reader.read(1)
        first_batch_out.set()

    mute = await asyncio.start_server(silent, HOST, 0)
    port = mute.sockets[0].getsockname()[1]
    client = Client(Address(HOST, port), timeout_s=0.5)
    queue = PublishQueue(client, "calls", max_queued=3)
    with caplog.at_level(logging.ERROR, logger=redis_publish.__name__):
        queue.put(b"0")
        await asyncio.wait_for(first_batch_out.wait(), 5)  # waiting for replies that never come
        for n in range(1, 6):
            queue.put(b"%d" % n)
    assert queue.dropped == 2
    full = [r for r in caplog.records if r.getMessage().startswith("Redis publish queue full")]
    assert len(full) == 2
    client.close()
    await queue.drained()
    for writer in accepted:
        writer.close()
    mute.close()
    await mute.wait_closed()


async def test_a_node_that_shuts_down_publishes_its_last_emits_first(redis: RedisServer) -> None:
    # The node's manager under a real python-socketio server: emits to rooms of other nodes'
    # sockets go out through the queue; at shutdown the app drains the manager, and only then
    # may the process end (which would lose whatever is still queued or on its way).
    where = address(redis.url)
    assert where is not None
    messages = subscribe(where, "voip-call")
    receiving = asyncio.ensure_future(_take(messages, 500))
    await _subscribed(redis, "voip-call")
    manager = InlineRedisManager(redis.url, channel="voip-call")
    sio = socketio.AsyncServer(async_mode="asgi", client_manager=manager)
    for n in range(500):
        await sio.emit("presence", {"n": n}, room=f"user:{n}", namespace="/call")
    publisher = manager._publisher
    assert publisher is not None
    idle_before_drain = publisher.idle
    assert not idle_before_drain  # (emitted, not yet published: the handler did not wait)
    await manager.drain()
    assert publisher.idle
    sent = [json.loads(m) for m in await asyncio.wait_for(receiving, 10)]
    assert [(m["event"], m["data"], m["room"]) for m in sent] == [
        ("presence", [{"n": n}], f"user:{n}") for n in range(500)
    ]
    await messages.aclose()


async def test_a_node_skips_its_own_messages_and_hears_every_other(redis: RedisServer) -> None:
    # Two nodes' managers on one channel. A node delivers its own emits when they are made, so
    # its listener must pass on only the other node's messages, a callback addressed to it
    # included (whose host_id names the receiver), each intact.
    node_a = InlineRedisManager(redis.url, channel="voip-call")
    node_b = InlineRedisManager(redis.url, channel="voip-call")
    heard_by_a = node_a._listen()
    receiving = asyncio.ensure_future(_take(heard_by_a, 2))
    await _subscribed(redis, "voip-call")

    def emit(host_id: str, n: int) -> dict[str, Any]:
        return {"method": "emit", "event": "presence", "data": [{"n": n}], "binary": False,
                "namespace": "/call", "room": f"user:{n}", "skip_sid": None, "callback": None,
                "host_id": host_id}  # fmt: skip

    await node_a._publish(emit(node_a.host_id, 1))
    await node_a.drain()  # (Redis has handed it to the subscribers before what follows)
    callback = {"method": "callback", "host_id": node_a.host_id, "sid": "s1",
                "namespace": "/call", "id": 7, "args": ["ok"]}  # fmt: skip
    await node_b._publish(emit(node_b.host_id, 2))
    await node_b._publish(callback)
    await node_b.drain()
    heard = [json.loads(m) for m in await asyncio.wait_for(receiving, 10)]
    assert heard == [emit(node_b.host_id, 2), callback]
    await heard_by_a.aclose()
