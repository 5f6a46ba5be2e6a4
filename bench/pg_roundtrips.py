"""What the call server sends PostgreSQL for one connect, one invite and one decline.

A private PostgreSQL 15 with ``log_statement = all`` for the database (each logged line: the
backend's pid and the statement, or the execution of a prepared one), a real call server on it
(no media server: an invite and a decline need none), two real Socket.IO clients. Between the
steps the script waits for the server to go quiet, then prints the statements each step made,
backend by backend; background work (the node's heartbeat, the sweeps) is told apart by its
statements (``nodes``, the sweeps' SELECTs) and counted apart.

    .venv/bin/python -m bench.pg_roundtrips [--repeat N]

Every logged statement is one round trip except those that arrive together: asyncpg sends a
prepared statement's Bind/Execute/Sync as one message group (one line ``execute``), a simple
query (``BEGIN``, ``COMMIT``) as one line ``statement``; a parse logs nothing with
``log_statement``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

from tests.server.harness import Person, Recorder, Stack
from tests.support.servers import CallServer, PostgresServer

_LINE = re.compile(r"^\S+ \S+ \S+ \[(\d+)\] LOG:  (statement|execute [^:]*): (.*)$")
_BACKGROUND = ("UPDATE nodes", "DELETE FROM nodes", "connections.node_id NOT IN")
"""The node's heartbeat, which may run during a step."""


def _statements(log: Path, start: int) -> tuple[list[tuple[str, str]], int]:
    text = log.read_text(errors="replace")
    found = []
    for line in text[start:].splitlines():
        m = _LINE.match(line)
        if m:
            found.append((m.group(1), m.group(3)))
    return found, len(text)


def _size(log: Path) -> int:
    return os.stat(log).st_size


async def _quiet(log: Path) -> None:
    """Until the log has not grown for 0.3 s (the step's statements all arrived)."""
    size, still = -1, 0.0
    while still < 0.3:
        await asyncio.sleep(0.05)
        now = _size(log)
        still = still + 0.05 if now == size else 0.0
        size = now


async def _traced(log: Path, label: str, step: object) -> Counter[str]:
    await _quiet(log)
    _, start = _statements(log, 0)
    await step  # type: ignore[misc]
    await _quiet(log)
    found, _ = _statements(log, start)
    print(f"--- {label}")
    ours = Counter[str]()
    for pid, sql in found:
        background = any(word in sql for word in _BACKGROUND)
        tag = "  (background)" if background else ""
        print(f"  [{pid}] {sql[:150]}{tag}")
        if not background:
            ours[label] += 1
    print(f"  = {ours[label]} round trips")
    return ours


async def _run(stack: Stack, log: Path, repeat: int) -> None:
    people = await stack.tenant("caller", "callee")
    caller, callee = people["caller"], people["callee"]
    totals: Counter[str] = Counter()
    for _ in range(repeat):
        b = Recorder(stack.url, callee)
        totals += await _traced(log, "connect", b.connect())
        a = await Recorder(stack.url, caller).connect()
        call = await _invited(log, a, callee, totals)
        await b.next("incoming")
        totals += await _traced(log, "decline", _ok(b.call("decline", {"call_id": call})))
        await a.disconnect()
        await b.disconnect()
    print("totals:", dict(totals), f"over {repeat}")


async def _invited(log: Path, a: Recorder, callee: Person, totals: Counter[str]) -> str:
    acked: dict[str, str] = {}

    async def invite() -> None:
        call = await a.invite(callee, uuid.uuid4().hex)
        acked["id"] = call["id"]

    totals += await _traced(log, "invite", invite())
    return acked["id"]


async def _ok(ack: object) -> None:
    got = await ack  # type: ignore[misc]
    assert got["ok"], got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    with PostgresServer.start(durable=True) as pg:
        url = pg.create_database("trace")
        sql = "ALTER DATABASE trace SET log_statement = 'all'"
        psql = pg.command("psql", "-d", "trace", "-c", sql)
        subprocess.run(psql, check=True, capture_output=True)
        log = pg.datadir.parent / "pg.log"
        with tempfile.TemporaryDirectory() as tmp:
            server = CallServer.start(Path(tmp), database_url=url)
            try:
                time.sleep(0.5)
                stack = Stack(server, None)
                asyncio.run(_run(stack, log, args.repeat))
            finally:
                server.stop()


if __name__ == "__main__":
    main()
