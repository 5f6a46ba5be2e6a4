"""What a set-up's round trips to PostgreSQL cost in latency, apart from any server (issue 16).

A private PostgreSQL 15 with fsync on (as in production), one asyncpg connection, and three
shapes of work timed one at a time, at three paces (back to back; one every 5 ms, as 200
set-ups/s arrive; one every 20 ms, as 50/s):

- ``one round trip``: ``SELECT 1``, prepared;
- ``invite, 5 round trips``: the shape of the call server's invite on PostgreSQL
  (``bench.pg_roundtrips``: invite 5): ``BEGIN`` with two advisory locks in one simple query,
  a lookup, two INSERTs, then a durable ``COMMIT``;
- ``invite, 1 round trip``: the same locks, lookup and INSERTs in one PL/pgSQL function, called
  in one statement that commits by itself.

The tables are this script's own (a user row, a call row, a party row), not the server's: what
is measured is what the number of round trips costs, not our statements.

    .venv/bin/python -m bench.pg_latency [--samples 300] [--repeats 3] [--no-doc]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

import asyncpg  # type: ignore[import-untyped]

from bench.docblock import replace_block
from tests.support.servers import PostgresServer

BEGIN, END = "<!-- bench:pg-latency -->", "<!-- /bench:pg-latency -->"
PACES_S = {"back to back": 0.0, "every 5 ms (200/s)": 0.005, "every 20 ms (50/s)": 0.020}

SCHEMA = """
CREATE TABLE users (id int PRIMARY KEY, busy boolean NOT NULL DEFAULT false);
CREATE TABLE calls (id uuid PRIMARY KEY, caller int NOT NULL, callee int NOT NULL,
                    status text NOT NULL);
CREATE TABLE parties (call_id uuid NOT NULL, user_id int NOT NULL);
INSERT INTO users SELECT g FROM generate_series(1, 1000) g;
CREATE FUNCTION invite(c uuid, a int, b int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(a), pg_advisory_xact_lock(b);
  PERFORM 1 FROM users WHERE id IN (a, b) AND NOT busy;
  INSERT INTO calls VALUES (c, a, b, 'ringing');
  INSERT INTO parties VALUES (c, a), (c, b);
  RETURN true;
END $$;
"""

Work = Callable[[asyncpg.Connection, int], Awaitable[object]]


async def one_round_trip(conn: asyncpg.Connection, _: int) -> object:
    return await conn.fetchval("SELECT 1")


async def invite_in_five(conn: asyncpg.Connection, k: int) -> object:
    a, b, call = k % 1000 + 1, (k + 500) % 1000 + 1, uuid.uuid4()
    await conn.execute(f"BEGIN; SELECT pg_advisory_xact_lock({a}), pg_advisory_xact_lock({b})")
    await conn.fetch("SELECT id FROM users WHERE id = ANY($1::int[]) AND NOT busy", [a, b])
    await conn.execute("INSERT INTO calls VALUES ($1, $2, $3, 'ringing')", call, a, b)
    await conn.execute("INSERT INTO parties VALUES ($1, $2), ($1, $3)", call, a, b)
    return await conn.execute("COMMIT")


async def invite_in_one(conn: asyncpg.Connection, k: int) -> object:
    a, b = k % 1000 + 1, (k + 500) % 1000 + 1
    return await conn.fetchval("SELECT invite($1, $2, $3)", uuid.uuid4(), a, b)


SHAPES: dict[str, Work] = {
    "one round trip": one_round_trip,
    "invite, 5 round trips": invite_in_five,
    "invite, 1 round trip": invite_in_one,
}


async def timed(conn: asyncpg.Connection, work: Work, samples: int, pace_s: float) -> list[float]:
    """Milliseconds per ``work``, one at a time, started every ``pace_s`` (0: back to back)."""
    took: list[float] = []
    for k in range(samples):
        start = time.perf_counter()
        await work(conn, k)
        took.append((time.perf_counter() - start) * 1000)
        if pace_s:
            await asyncio.sleep(max(0.0, pace_s - took[-1] / 1000))
    return took


def quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


Quantiles = dict[tuple[str, str], list[tuple[float, float]]]
"""(pace, shape) -> (p50 ms, p99 ms) of each repeat."""


async def measure(url: str, samples: int, repeats: int) -> Quantiles:
    """Every (pace, shape) ``repeats`` times, the shapes alternated within each pace."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(SCHEMA)
        found: Quantiles = {}
        for _ in range(repeats):
            for pace, pace_s in PACES_S.items():
                for shape, work in SHAPES.items():
                    await timed(conn, work, samples // 10, pace_s)  # warm: plans, wake-ups
                    took = await timed(conn, work, samples, pace_s)
                    found.setdefault((pace, shape), []).append(
                        (quantile(took, 0.5), quantile(took, 0.99))
                    )
        return found
    finally:
        await conn.close()


def spread(values: list[float]) -> str:
    """Median (min–max)."""
    return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def report(found: Quantiles, args: argparse.Namespace, load0: float) -> str:
    lines = [
        f"Command: `python -m bench.pg_latency --samples {args.samples} --repeats {args.repeats}`",
        "",
        f"Machine: {os.cpu_count()} CPU, Python {platform.python_version()}, load average "
        f"{load0:.2f} before, {os.getloadavg()[0]:.2f} after; {args.samples} timed samples per "
        "row and repeat, one at a time on one asyncpg connection to a private PostgreSQL 15 with "
        f"fsync on; median (min–max) over {args.repeats} repeats.",
        "",
        "| pace | shape | p50 ms | p99 ms |",
        "|---|---|---|---|",
    ]
    for (pace, shape), runs in found.items():
        p50s, p99s = [r[0] for r in runs], [r[1] for r in runs]
        lines.append(f"| {pace} | {shape} | {spread(p50s)} | {spread(p99s)} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--samples", type=int, default=300)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--no-doc", action="store_true")
    args = p.parse_args()
    load0 = os.getloadavg()[0]
    pg = PostgresServer.start(durable=True)
    try:
        pg.create_database("latency")
        url = pg.url("latency").replace("postgresql+asyncpg://", "postgresql://")
        found = asyncio.run(measure(url, args.samples, args.repeats))
    finally:
        pg.stop()
    text = report(found, args, load0)
    print(text)
    if not args.no_doc:
        replace_block(BEGIN, END, text)


if __name__ == "__main__":
    main()
