"""``bench.signaling``'s main measurement: per size, RSS per connected client and set-up latency
at a light rate; then, with every client connected, the set-up rate stepped up until the p99
passes the limit. Returns the section's table."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.signaling_calls import (
    DROPPED,
    Pair,
    connect_all,
    cpu_seconds,
    cpus,
    drive,
    load_users,
    now_utc,
    percentile,
    rss_kib,
)

P99_LIMIT_MS = 100.0
DB_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL 15 (local, fsync off)"}


async def main_async(args: argparse.Namespace) -> str:
    """Start devsfu and the call server, seed, measure; the table as markdown."""
    from server.auth import issue_token
    from tests.support.devsfu import running_devsfu
    from tests.support.servers import HOST, CallServer, PostgresServer, free_port

    sizes = sorted(int(s) for s in args.sizes.split(","))
    rates = [float(r) for r in args.rates.split(",")]
    biggest = sizes[-1]
    workdir = Path(tempfile.mkdtemp(prefix="bench-signaling-"))
    port = free_port()
    with running_devsfu(
        host=HOST, webhook_url=f"http://{HOST}:{port}/api/livekit/webhook", log_level="WARNING"
    ) as sfu:
        env = {
            "VOIP_LIVEKIT_URL": sfu.url,
            "VOIP_LIVEKIT_API_KEY": sfu.api_key,
            "VOIP_LIVEKIT_API_SECRET": sfu.api_secret,
            "VOIP_INVITE_LIMIT_PER_MIN": "1000000",
            "VOIP_LOG_LEVEL": "WARNING",
        }
        with contextlib.ExitStack() as stack:
            database = None
            if args.database == "postgres":
                pg = stack.enter_context(PostgresServer.start())
                database = pg.create_database("bench")
            server = stack.enter_context(
                CallServer.start(workdir, env=env, port=port, database_url=database)
            )
            server.cli("seed-load", str(biggest))
            settings, ordered = await load_users(server, biggest)
            now = datetime.now(UTC)
            tokens = [issue_token(settings, u, now=now)[0] for u in ordered]
            assert server.proc is not None
            pid = server.proc.pid
            base_rss = rss_kib(pid)
            clients: list[Any] = []
            try:
                rows = await _size_rows(
                    args, server.url, sizes, tokens, ordered, clients, pid, base_rss
                )
                rate_rows, sustained = await _rate_rows(args, rates, ordered, clients, pid)
            finally:
                await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)
    return _table(args, rows, rate_rows, len(clients), sustained, base_rss)


async def _size_rows(
    args: argparse.Namespace,
    url: str,
    sizes: list[int],
    tokens: list[str],
    ordered: list[Any],
    clients: list[Any],
    pid: int,
    base_rss: int,
) -> list[str]:
    """Per size: connect clients up to it (added to ``clients``), then the RSS per client and
    the latency at the light rate (up to 100 pairs)."""
    rows: list[str] = []
    for size in sizes:
        t0 = time.perf_counter()
        clients.extend(await connect_all(url, tokens[len(clients) : size]))
        connect_s = time.perf_counter() - t0
        per_client = (rss_kib(pid) - base_rss) / size
        pairs = [
            Pair(clients[i], clients[i + 1], ordered[i + 1].id)
            for i in range(0, min(size, 200) - 1, 2)
        ]
        stats = await drive(pairs, rate=args.light_rate, seconds=args.seconds)
        inc50, inc99, acc50, acc99 = stats.row()
        rows.append(
            f"| {size:,} | {connect_s:.1f} | {per_client:.1f} | {stats.calls} "
            f"({stats.errors} failed) | {inc50} | {inc99} | {acc50} | {acc99} |"
        )
        print(rows[-1], flush=True)
        for pair in pairs:  # handlers are re-registered by the next size's pairs
            for client in (pair.caller, pair.callee):
                for event in ("accepted", "ended", "incoming"):
                    client.handlers.get("/call", {}).pop(event, None)
    return rows


async def _rate_rows(
    args: argparse.Namespace, rates: list[float], ordered: list[Any], clients: list[Any], pid: int
) -> tuple[list[str], float]:
    """Every client in a pair, the rates in turn until one fails or passes the p99 limit: the
    rows and the last rate sustained."""
    pairs = [
        Pair(clients[i], clients[i + 1], ordered[i + 1].id) for i in range(0, len(clients) - 1, 2)
    ]
    rate_rows: list[str] = []
    sustained = 0.0
    for rate in rates:
        wall, server_cpu, own_cpu = time.perf_counter(), cpu_seconds(pid), time.process_time()
        stats = await drive(pairs, rate=rate, seconds=args.seconds)
        wall = time.perf_counter() - wall
        server_load = (cpu_seconds(pid) - server_cpu) / wall * 100
        client_load = (time.process_time() - own_cpu) / wall * 100
        inc50, inc99, acc50, acc99 = stats.row()
        rate_rows.append(
            f"| {rate:.0f} | {stats.calls} ({stats.errors} failed) | {inc50} | "
            f"{inc99} | {acc50} | {acc99} | {server_load:.0f} % | {client_load:.0f} % |"
        )
        print(rate_rows[-1], "dropped:", DROPPED, flush=True)
        if stats.errors or percentile(stats.incoming, 99) > P99_LIMIT_MS:
            break
        sustained = rate
    return rate_rows, sustained


def _table(
    args: argparse.Namespace,
    rows: list[str],
    rate_rows: list[str],
    connected: int,
    sustained: float,
    base_rss: int,
) -> str:
    """The section's text: both tables and what they add up to."""
    command = "`.venv/bin/python -m bench.signaling " + " ".join(sys.argv[1:]) + "`"
    lines = [
        "## Signaling (call server)",
        "",
        f"Command: {command.replace(' `', '`')} — {now_utc()},"
        f" {platform.machine()}, {cpus()} CPUs, Python {platform.python_version()}; one "
        f"uvicorn process on {DB_NAMES[args.database]}, devsfu as LiveKit, all clients in "
        "one process on the same machine.",
        "",
        f"Latency at {args.light_rate:.0f} call set-ups/s over {args.seconds:.0f} s, with N "
        "clients connected (ms, invite sent -> event received by the client):",
        "",
        "| connected clients | connect all (s) | server RSS per client (KiB) | calls | "
        "invite->incoming p50 | p99 | invite->accepted p50 | p99 |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Sustained set-up rate with {connected:,} clients connected ({args.seconds:.0f} s "
        f"per step; stops at the first step whose invite->incoming p99 passes "
        f"{P99_LIMIT_MS:.0f} ms or that has failures):",
        "",
        "| set-ups/s | calls | invite->incoming p50 | p99 | invite->accepted p50 | p99 "
        "| server CPU | bench clients CPU |",
        "|---|---|---|---|---|---|---|---|",
        *rate_rows,
        "",
        f"Load average on the machine when the run ended (other jobs share it): "
        f"{' / '.join(f'{x:.1f}' for x in os.getloadavg())}.",
        "",
        f"**Sustained: {sustained:.0f} call set-ups per second** with invite->incoming p99 "
        f"≤ {P99_LIMIT_MS:.0f} ms. Server RSS before any client: {base_rss / 1024:.0f} MiB. "
        "Tenant `load` has more users than `VOIP_PRESENCE_FANOUT_MAX` (1,000) and these "
        "clients watch nobody, so no `presence` event is delivered in this run (on one node "
        "the server sees the empty `presence:<id>` rooms and skips the work; "
        "`--presence` measures delivery).",
    ]
    return "\n".join(lines)
