"""``bench.signaling --presence``: what a ``presence`` change costs and how fast it arrives, with
watches above the fan-out limit against the tenant broadcast."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.signaling_calls import cpu_seconds, cpus, load_users, now_utc, percentile


class PresenceLog:
    """Every ``presence`` event the bench clients receive, with its arrival time."""

    def __init__(self) -> None:
        self.total = 0
        self.arrivals: dict[tuple[str, str], list[float]] = {}
        self._waits: dict[tuple[str, str], tuple[int, asyncio.Future[None]]] = {}

    def handler(self) -> Any:
        async def on_presence(data: dict[str, Any]) -> None:
            self.record(data["user_id"], data["presence"])

        return on_presence

    def record(self, user_id: str, presence: str) -> None:
        now = time.perf_counter()
        self.total += 1
        key = (user_id, presence)
        self.arrivals.setdefault(key, []).append(now)
        wait = self._waits.get(key)
        if wait is not None and len(self.arrivals[key]) >= wait[0] and not wait[1].done():
            wait[1].set_result(None)

    def expect(self, user_id: str, presence: str, count: int) -> asyncio.Future[None]:
        """Resolves once ``count`` deliveries of this change arrived (counted from now)."""
        key = (user_id, presence)
        self.arrivals[key] = []
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waits[key] = (count, done)
        return done


@dataclass
class PresenceRun:
    """One tenant's figures: connecting, then every change's deliveries."""

    mode: str
    users: int
    watchers: int
    connect_s: float
    connect_events: int
    changes: int = 0
    missing: int = 0
    deliveries: list[float] = field(default_factory=list)
    last: list[float] = field(default_factory=list)
    server_cpu_s: float = 0.0

    def row(self) -> str:
        per_change = (len(self.deliveries) + self.missing) / max(1, self.changes)
        return (
            f"| {self.mode} | {self.users:,} | {self.watchers:,} | {self.connect_s:.1f} | "
            f"{self.connect_events:,} | {self.changes} ({self.missing} missing) | "
            f"{per_change:,.0f} | {percentile(self.deliveries, 50):.1f} | "
            f"{percentile(self.deliveries, 99):.1f} | {percentile(self.last, 50):.1f} | "
            f"{percentile(self.last, 99):.1f} | "
            f"{self.server_cpu_s / max(1, self.changes) * 1000:.1f} |"
        )


async def measure_presence(
    workdir: Path, *, users: int, watch: int, cycles: int, broadcast: bool, fanout_max: int
) -> PresenceRun:
    """One server (SQLite, no LiveKit: a call that is only rung needs none) with tenant
    ``load`` of ``users``; every client connects and, unless ``broadcast``, watches the next
    ``watch`` users; then ``cycles`` calls are rung and cancelled one after the other."""
    from tests.support.servers import CallServer

    assert broadcast == (users <= fanout_max), "the tenant size decides the delivery"
    env = {
        "VOIP_INVITE_LIMIT_PER_MIN": "1000000",
        "VOIP_LOG_LEVEL": "WARNING",
        "VOIP_PRESENCE_FANOUT_MAX": str(fanout_max),
    }
    with CallServer.start(workdir, env=env) as server:
        server.cli("seed-load", str(users))
        settings, ordered = await load_users(server, users)
        ids = [u.id for u in ordered]
        log = PresenceLog()
        t0 = time.perf_counter()
        clients = await _join_all(server.url, settings, ordered, log, None if broadcast else watch)
        run = PresenceRun(
            mode="broadcast (tenant at the limit)" if broadcast else f"watch {watch} (above it)",
            users=users,
            watchers=users if broadcast else watch,
            connect_s=time.perf_counter() - t0,
            connect_events=log.total,
        )
        assert server.proc is not None
        cpu0 = cpu_seconds(server.proc.pid)
        try:
            for cycle in range(cycles):
                await _ring_and_cancel(clients, ids, log, run, cycle)
            run.server_cpu_s = cpu_seconds(server.proc.pid) - cpu0
        finally:
            await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)
    return run


async def _join_all(
    url: str, settings: Any, ordered: list[Any], log: PresenceLog, watch: int | None
) -> list[Any]:
    """Connect a client per user (64 at a time), each watching the next ``watch`` users (none:
    the broadcast)."""
    import socketio

    from server.auth import issue_token

    users = len(ordered)
    ids = [u.id for u in ordered]
    gate = asyncio.Semaphore(64)

    async def join(index: int) -> Any:
        async with gate:
            client = socketio.AsyncClient(reconnection=False)
            client.on("presence", log.handler(), namespace="/call")
            await client.connect(
                url,
                auth={"token": issue_token(settings, ordered[index], now=datetime.now(UTC))[0]},
                namespaces=["/call"],
                transports=["websocket"],
                wait_timeout=30,
            )
            if watch is not None:
                page = [ids[(index + k) % users] for k in range(1, watch + 1)]
                ack = await client.call(
                    "presence_watch", {"user_ids": page}, namespace="/call", timeout=30
                )
                assert ack.get("ok"), ack
            return client

    return list(await asyncio.gather(*(join(i) for i in range(users))))


async def _ring_and_cancel(
    clients: list[Any], ids: list[str], log: PresenceLog, run: PresenceRun, cycle: int
) -> None:
    """One call rung and cancelled: four changes (caller and callee busy, then online), each
    one's deliveries added to ``run``."""
    users = len(ids)
    caller, callee = (2 * cycle) % users, (2 * cycle + 1) % users
    call_id = ""
    for event, value in (("invite", "busy"), ("cancel", "online")):
        waits = [log.expect(ids[who], value, run.watchers) for who in (caller, callee)]
        start = time.perf_counter()
        if event == "invite":
            ack = await clients[caller].call(
                "invite",
                {"callee_id": ids[callee], "request_id": uuid.uuid4().hex},
                namespace="/call",
            )
            call_id = ack["call"]["id"]
        else:
            ack = await clients[caller].call("cancel", {"call_id": call_id}, namespace="/call")
        assert ack.get("ok"), ack
        _, late = await asyncio.wait(waits, timeout=30)
        for who in (caller, callee):
            times = log.arrivals[(ids[who], value)]
            run.changes += 1
            run.missing += max(0, run.watchers - len(times))
            run.deliveries += [(t - start) * 1000 for t in times]
            if times:
                run.last.append((max(times) - start) * 1000)
        for w in late:
            w.cancel()


async def presence_async(args: argparse.Namespace) -> str:
    """Both tenants measured; the part of the section they make."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-presence-"))
    runs = [
        await measure_presence(
            workdir / "watch",
            users=args.presence_users,
            watch=args.presence_watch,
            cycles=args.presence_cycles,
            broadcast=False,
            fanout_max=args.presence_fanout_max,
        ),
        await measure_presence(
            workdir / "broadcast",
            users=args.presence_broadcast_users,
            watch=0,
            cycles=args.presence_cycles,
            broadcast=True,
            fanout_max=args.presence_fanout_max,
        ),
    ]
    for run in runs:
        print(run.row(), flush=True)
    command = "`.venv/bin/python -m bench.signaling " + " ".join(sys.argv[1:]) + "`"
    return "\n".join(
        [
            "### Presence: watches above the fan-out limit against the tenant broadcast",
            "",
            f"Command: {command} — {now_utc()}, {platform.machine()}, {cpus()} CPUs; one uvicorn "
            f"process on SQLite (`VOIP_PRESENCE_FANOUT_MAX` {args.presence_fanout_max:,}), "
            "all clients in this one "
            "process. Each client connects and (watch rows) sends `presence_watch` with the "
            f"next {args.presence_watch} users, so every user has that many watchers; then "
            f"{args.presence_cycles} calls are rung and cancelled one after the other: each "
            "makes 4 changes (caller and callee busy, then online). Delivery: change sent "
            "(`invite` / `cancel`) -> `presence` received, ms; *last* is the slowest watcher "
            "of a change. *Connect events*: `presence` events delivered while the clients "
            "connected (each first connect is a change).",
            "",
            "| delivery | tenant users | recipients per change | connect all (s) | "
            "connect events | changes | events per change | delivery p50 | p99 | last p50 "
            "| last p99 | server CPU per change (ms) |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
            *[run.row() for run in runs],
            "",
            _presence_summary(*runs),
            "",
            f"Load average when the run ended: {' / '.join(f'{x:.1f}' for x in os.getloadavg())}.",
        ]
    )


def _presence_summary(watch: PresenceRun, broadcast: PresenceRun) -> str:
    def cpu(run: PresenceRun) -> float:
        return run.server_cpu_s / max(1, run.changes) * 1000

    return (
        f"A change in the {watch.users:,}-user tenant with watches reaches its "
        f"{watch.watchers} watchers (slowest p99 {percentile(watch.last, 99):.0f} ms) for "
        f"{cpu(watch):.1f} ms of server CPU; the broadcast in the {broadcast.users:,}-user "
        f"tenant reaches {broadcast.watchers:,} devices (slowest p99 "
        f"{percentile(broadcast.last, 99):.0f} ms) for {cpu(broadcast):.1f} ms. A watch costs "
        "O(watchers) per change whatever the tenant size; the broadcast O(devices), i.e. "
        "O(n²) for a tenant's changes (the connect events show it)."
    )
