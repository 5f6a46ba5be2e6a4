"""What one Socket.IO message through Redis costs a node's CPU: the publish, and the receipt.

    .venv/bin/python -m bench.redis_messages [--messages 5000] [--repeats 3] [--no-doc]

With two nodes every emit is published once and received by every node (python-socketio's
Redis manager: the sender's own listener reads it too, and drops it by its ``host_id``), so
this is the price of each node being one of several (``bench.two_nodes``). A private
redis-server; in this process, a Redis manager (its ``_publish`` and its ``_listen``)
publishes ``--messages`` messages of a call set-up's size one after another (yielding to the
loop after each, as a server's handlers do between emits) and its listener receives them; the
CPU of the whole process over the run (``time.process_time``), per
message, for each manager (alternated, ``--repeats`` times):

- ``redis-py``: python-socketio's own manager on redis-py, its pure-Python RESP parser;
- ``redis-py, hiredis``: the same with redis-py's C parser (only when the ``hiredis`` package
  is installed: the project does not install it);
- ``server.sio.redis_wire``: the server's manager (:class:`server.sio.manager.InlineRedisManager`)
  on its own connections, its publishes queued and sent in batches
  (:mod:`server.sio.redis_publish`).

The table goes to ``docs/benchmarks.md`` between the ``bench:redis-messages`` markers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import socketio
from redis._parsers import _AsyncHiredisParser
from redis.utils import HIREDIS_AVAILABLE

from bench.docblock import replace_block
from server.sio.manager import InlineRedisManager
from tests.support.servers import RedisServer

BEGIN, END = "<!-- bench:redis-messages -->", "<!-- /bench:redis-messages -->"
CALL = {
    "call": {
        "id": "c" * 32,
        "status": "RINGING",
        "peer": {"id": "u" * 32, "display_name": "Ann Example"},
        "created_at": "2026-12-04T07:00:00.000000Z",
        "context": None,
    },
    "ring_expires_at": "2026-12-04T07:00:30.000000Z",
    "recording": False,
}
"""About an ``incoming`` event's data (the largest of a set-up's four)."""


def managers() -> dict[str, Callable[[str, str], Any]]:
    """The Redis managers to compare, each made from a URL and a channel."""

    def library(url: str, channel: str) -> Any:
        return socketio.AsyncRedisManager(url, channel=channel)

    def library_hiredis(url: str, channel: str) -> Any:
        made = socketio.AsyncRedisManager(url, channel=channel)
        made.redis_options = {"parser_class": _AsyncHiredisParser}
        return made

    found: dict[str, Callable[[str, str], Any]] = {"redis-py": library}
    if HIREDIS_AVAILABLE:
        found["redis-py, hiredis"] = library_hiredis
    found["server.sio.redis_wire"] = lambda url, channel: InlineRedisManager(url, channel)
    return found


async def one_run(url: str, make: Callable[[str, str], Any], messages: int) -> float:
    """CPU µs per message: ``messages`` published by a Redis manager and read back by its own
    listener."""
    manager = make(url, f"bench-{time.monotonic_ns()}")
    received = 0
    done = asyncio.Event()

    async def listen() -> None:
        nonlocal received
        async for raw in manager._listen():
            manager.json.loads(raw)  # (what the manager's thread does with each)
            received += 1
            if received == messages:
                done.set()
                return

    listener = asyncio.create_task(listen())
    await asyncio.sleep(0.2)  # subscribed
    message: dict[str, Any] = {"method": "emit", "event": "incoming", "data": [CALL]}
    message["namespace"] = "/call"
    message.update(room="user:" + "u" * 32, skip_sid=None, callback=None, host_id="h" * 32)
    start = time.process_time()
    for _ in range(messages):
        await manager._publish(message)
        await asyncio.sleep(0)  # as between a server's emits: other tasks run in between
    await asyncio.wait_for(done.wait(), 60)
    spent = time.process_time() - start
    listener.cancel()
    if manager.redis is not None:
        await manager.redis.aclose()
    if getattr(manager, "_publisher", None) is not None:
        manager._publisher.close()
    return spent / messages * 1e6


def run(args: argparse.Namespace) -> dict[str, list[float]]:
    server = RedisServer.start()
    found: dict[str, list[float]] = {name: [] for name in managers()}
    try:
        for _ in range(args.repeats):
            for name, make in managers().items():
                found[name].append(asyncio.run(one_run(server.url, make, args.messages)))
                print(name, f"{found[name][-1]:.1f} µs", flush=True)
    finally:
        server.stop()
    return found


def table(found: dict[str, list[float]]) -> str:
    base = statistics.median(found["redis-py"])
    rows = [
        f"| {name} | {statistics.median(v):.0f} ({min(v):.0f}–{max(v):.0f}) | "
        f"x{statistics.median(v) / base:.2f} |"
        for name, v in found.items()
    ]
    head = "| reading Redis with | CPU µs per message, published and received | / redis-py |\n"
    return head + "|---|---|---|\n" + "\n".join(rows) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--messages", type=int, default=5000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--no-doc", action="store_true")
    args = p.parse_args()
    load0 = os.getloadavg()
    body = table(run(args))
    load1 = os.getloadavg()
    cmd = "python -m bench.redis_messages " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    text = (
        "### What a message through Redis costs a node\n\n"
        f"Command: `{cmd.strip()}`\n\n"
        f"Machine: {os.cpu_count()} CPU, Python {platform.python_version()}, load average "
        f"{' '.join(f'{x:.2f}' for x in load0)} before, {' '.join(f'{x:.2f}' for x in load1)} "
        f"after; {args.messages} messages per run, {args.repeats} alternated repeats: median "
        "(min–max).\n\n" + body
    )
    print(text)
    if not args.no_doc:
        replace_block(BEGIN, END, text)


if __name__ == "__main__":
    main()
