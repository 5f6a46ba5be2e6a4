"""The realistic mix of issue 16: many tenants of a few hundred users, everyone online with the
app's presence watch, calls spread over the tenants; what a call costs in messages and CPU.

    .venv/bin/python -m bench.presence_mix [--tenants 25] [--size 200] [--rate 10]
        [--seconds 10] [--watch 30] [--no-write]

One call server (uvicorn, SQLite, no LiveKit: calls are rung and declined, as
``shared/loadgen`` does) with ``--tenants`` tenants of ``--size`` users. Every user connects
(python-socketio clients, all in this process) and watches what the app watches: the contacts
on its screen and a screenful's margin (:mod:`voip_app.engine.presence`), by default
:data:`~voip_app.engine.presence.FIRST_SCREEN_WATCH` colleagues (30: a window 760 px high shows
8.5 rows of 76 px, 10 with the rows cut at its edges; scrolled, the screen reports those and a
screenful above and below, 30; before it scrolls the engine watches 30); ``--watch 200`` is what
the app watched before (its first :data:`~voip_contract.base.PRESENCE_WATCH_MAX` contacts).
Then calls start at ``--rate`` per second (open loop) between two free users of a random
tenant: invite, ``incoming`` at the callee, decline, ``ended`` at both. Counted: every event
the server sends while the calls run, per call; invite -> incoming p50/p99; server CPU per call.
The table goes to ``docs/benchmarks.md`` between the ``bench:mix`` markers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.docblock import replace_block
from bench.signaling_calls import cpu_seconds, percentile, raise_fd_limit
from voip_app.engine.presence import FIRST_SCREEN_WATCH

BEGIN, END = "<!-- bench:mix -->", "<!-- /bench:mix -->"
NS = "/call"


async def seed(db_url: str, secret: str, tenants: int, size: int) -> list[list[tuple[str, str]]]:
    """``tenants`` tenants of ``size`` users; per tenant, its users' (id, access token)."""
    from server.auth import issue_token
    from server.config import Settings
    from server.db.engine import make_engine, make_sessionmaker
    from server.seed import UserSpec, ensure_tenant, ensure_users

    settings = Settings(database_url=db_url, jwt_secret=secret)
    engine = make_engine(db_url)
    out = []
    try:
        async with make_sessionmaker(engine)() as session:
            for t in range(tenants):
                tenant = await ensure_tenant(session, f"mix{t:02d}", f"Mix {t:02d}")
                specs = [
                    UserSpec(f"m{i}@mix{t:02d}.test", f"Mix {t:02d} {i:03d}") for i in range(size)
                ]
                users = await ensure_users(session, tenant, specs, uuid.uuid4().hex)
                now = datetime.now(UTC)
                out.append([(u.id, issue_token(settings, u, now=now)[0]) for u in users])
            await session.commit()
    finally:
        await engine.dispose()
    return out


class Fleet:
    """Every user's connected client, what each received, and which users are in a call."""

    def __init__(self) -> None:
        self.clients: dict[str, Any] = {}
        self.received: Counter[str] = Counter()
        self.busy: set[str] = set()
        self.incoming: dict[str, asyncio.Future[float]] = {}
        self.ended: dict[str, asyncio.Event] = {}

    async def join(self, url: str, user_id: str, token: str, watch: list[str]) -> None:
        import socketio

        client = socketio.AsyncClient(reconnection=False)
        for event in ("presence", "ringing", "ended", "incoming"):
            client.on(event, self._handler(user_id, event), namespace=NS)
        await client.connect(
            url, auth={"token": token}, namespaces=[NS], transports=["websocket"], wait_timeout=30
        )
        ack = await client.call("presence_watch", {"user_ids": watch}, namespace=NS, timeout=60)
        assert ack.get("ok"), ack
        self.clients[user_id] = client

    def _handler(self, user_id: str, event: str) -> Any:
        async def on_event(data: dict[str, Any]) -> None:
            self.received[event] += 1
            if event == "incoming" and (fut := self.incoming.get(user_id)) and not fut.done():
                fut.set_result(time.perf_counter())
            if event == "ended" and (done := self.ended.get(data.get("call_id", ""))):
                done.set()

        return on_event

    async def call(self, caller: str, callee: str) -> float | None:
        """One call rung and declined; invite -> incoming in ms (None: it failed)."""
        self.busy |= {caller, callee}
        self.incoming[callee] = asyncio.get_running_loop().create_future()
        try:
            start = time.perf_counter()
            ack = await self.clients[caller].call(
                "invite", {"callee_id": callee, "request_id": uuid.uuid4().hex}, namespace=NS
            )
            if not ack.get("ok"):
                return None
            call_id = ack["call"]["id"]
            self.ended[call_id] = ended = asyncio.Event()
            rang = await asyncio.wait_for(self.incoming[callee], 20)
            await self.clients[callee].call("decline", {"call_id": call_id}, namespace=NS)
            await asyncio.wait_for(ended.wait(), 20)
            return (rang - start) * 1000
        except TimeoutError:
            return None
        finally:
            self.busy -= {caller, callee}


async def run(args: argparse.Namespace) -> str:
    from tests.support.servers import CallServer

    env = {"VOIP_INVITE_LIMIT_PER_MIN": "1000000", "VOIP_LOG_LEVEL": "WARNING"}
    workdir = Path(tempfile.mkdtemp(prefix="bench-mix-"))
    with CallServer.start(workdir, env=env) as server:
        assert server.proc is not None
        tenants = await seed(
            server.env["VOIP_DATABASE_URL"], server.env["VOIP_JWT_SECRET"], args.tenants, args.size
        )
        fleet, gate = Fleet(), asyncio.Semaphore(64)

        async def join(users: list[tuple[str, str]], k: int) -> None:
            colleagues = [uid for uid, _ in users[k + 1 :] + users[:k]][: args.watch]
            async with gate:
                await fleet.join(server.url, users[k][0], users[k][1], colleagues)

        t0 = time.perf_counter()
        await asyncio.gather(*(join(users, k) for users in tenants for k in range(len(users))))
        connect_s = time.perf_counter() - t0
        fleet.received.clear()
        cpu0, results = cpu_seconds(server.proc.pid), await drive(fleet, tenants, args)
        cpu = cpu_seconds(server.proc.pid) - cpu0
        await asyncio.gather(*(c.disconnect() for c in fleet.clients.values()))
    return table(args, connect_s, results, fleet.received, cpu)


async def drive(fleet: Fleet, tenants: list[list[tuple[str, str]]], args: Any) -> list[Any]:
    """Calls at ``args.rate`` per second for ``args.seconds``, between free users of a random
    tenant each."""
    rng, tasks = random.Random(16), []
    start = time.perf_counter()
    for i in range(int(args.rate * args.seconds)):
        await asyncio.sleep(max(0.0, start + i / args.rate - time.perf_counter()))
        free = [uid for uid, _ in rng.choice(tenants) if uid not in fleet.busy]
        caller, callee = rng.sample(free, 2)
        tasks.append(asyncio.create_task(fleet.call(caller, callee)))
    return list(await asyncio.gather(*tasks))


def table(
    args: Any, connect_s: float, results: list[float | None], got: Counter[str], cpu: float
) -> str:
    ok = [r for r in results if r is not None]
    calls = max(1, len(results))
    per_call = " / ".join(
        f"{got[e] / calls:,.1f}" for e in ("presence", "incoming", "ringing", "ended")
    )
    command = "python -m bench.presence_mix " + " ".join(sys.argv[1:])
    return "\n".join(
        [
            "## Presence in a realistic mix (issue 16)",
            "",
            f"Command: `{command.strip()}` — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
            f"{os.cpu_count()} CPUs, one uvicorn process on SQLite, every client in the bench's "
            f"process. {args.tenants} tenants of {args.size} users, all connected, each watching "
            f"its first {args.watch} colleagues ({FIRST_SCREEN_WATCH}: what the app watches, "
            "the contacts on screen and a screenful's margin); "
            f"calls rung and declined at {args.rate}/s for {args.seconds} s, each in a random "
            "tenant.",
            "",
            "| users | connect all (s) | calls done | invite→incoming p50 / p99 ms "
            "| events per call: presence / incoming / ringing / ended | server CPU per call |",
            "|---|---|---|---|---|---|",
            f"| {args.tenants * args.size:,} | {connect_s:.1f} | {len(ok)}/{len(results)} "
            f"| {percentile(ok, 50):.1f} / {percentile(ok, 99):.1f} | {per_call} "
            f"| {cpu / calls * 1000:.1f} ms |",
            "",
            f"Load average at the end: {' / '.join(f'{x:.1f}' for x in os.getloadavg())}.",
            "",
        ]
    )


def write_doc(text: str) -> None:
    replace_block(BEGIN, END, text)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--tenants", type=int, default=25)
    p.add_argument("--size", type=int, default=200)
    p.add_argument("--rate", type=float, default=10.0)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument(
        "--watch", type=int, default=FIRST_SCREEN_WATCH, help="colleagues each user watches"
    )
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args()
    raise_fd_limit()
    text = asyncio.run(run(args))
    print(text)
    if not args.no_write:
        write_doc(text)


if __name__ == "__main__":
    main()
