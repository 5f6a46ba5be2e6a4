"""The signaling benchmark's parts: the machine's figures (RSS, CPU, file descriptors), a
caller/callee pair ringing calls, the open-loop driver, and the seeded ``load`` tenant's users and
clients. Shared by ``bench.signaling``, its presence part and ``bench.presence_mix``."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def raise_fd_limit() -> int:
    """Raise the soft limit of open files to the hard one (thousands of sockets); the new limit."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 65536
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_kib(pid: int) -> int:
    """A process's resident set size, KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank), NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class Probe:
    """One call being set up and torn down by a caller/callee pair."""

    t_invite: float = 0.0
    t_incoming: float | None = None
    t_accepted: float | None = None
    call_id: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    error: str | None = None


class Pair:
    """A connected caller and callee ringing calls: the callee accepts, the caller hangs up."""

    def __init__(self, caller: Any, callee: Any, callee_id: str) -> None:
        self.caller = caller
        self.callee = callee
        self.callee_id = callee_id
        self.probe = Probe()
        caller.on("accepted", self._accepted, namespace="/call")
        caller.on("ended", self._ended, namespace="/call")
        callee.on("incoming", self._incoming, namespace="/call")

    async def _incoming(self, data: dict[str, Any]) -> None:
        self.probe.t_incoming = time.perf_counter()
        ack = await self.callee.call("accept", {"call_id": data["call"]["id"]}, namespace="/call")
        if not ack.get("ok"):
            self.probe.error = f"accept: {ack}"
            self.probe.done.set()

    async def _accepted(self, data: dict[str, Any]) -> None:
        self.probe.t_accepted = time.perf_counter()
        await self.caller.emit("hangup", {"call_id": data["call_id"]}, namespace="/call")

    async def _ended(self, data: dict[str, Any]) -> None:
        self.probe.done.set()

    async def run_call(self) -> Probe:
        self.probe = probe = Probe(t_invite=time.perf_counter())
        ack = await self.caller.call(
            "invite",
            {"callee_id": self.callee_id, "request_id": uuid.uuid4().hex},
            namespace="/call",
        )
        if not ack.get("ok"):
            probe.error = f"invite: {ack}"
            return probe
        try:
            await asyncio.wait_for(probe.done.wait(), 20)
        except TimeoutError:
            probe.error = "timeout"
        return probe


@dataclass
class Stats:
    """The calls of one step of :func:`drive`: set-up latencies in ms."""

    calls: int
    errors: int
    incoming: list[float]
    accepted: list[float]

    def row(self) -> tuple[str, str, str, str]:
        return (
            f"{percentile(self.incoming, 50):.1f}",
            f"{percentile(self.incoming, 99):.1f}",
            f"{percentile(self.accepted, 50):.1f}",
            f"{percentile(self.accepted, 99):.1f}",
        )


async def drive(pairs: list[Pair], rate: float, seconds: float) -> Stats:
    """Start calls at ``rate`` per second (open loop) for ``seconds``; a pair is reused only
    after its previous call ended."""
    free: asyncio.Queue[Pair] = asyncio.Queue()
    for pair in pairs:
        free.put_nowait(pair)
    results: list[Probe] = []
    tasks: set[asyncio.Task[None]] = set()

    async def one(pair: Pair) -> None:
        results.append(await pair.run_call())
        free.put_nowait(pair)

    total = max(1, int(rate * seconds))
    start = time.perf_counter()
    for i in range(total):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        pair = await free.get()
        task = asyncio.create_task(one(pair))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    ok = [p for p in results if p.error is None and p.t_incoming and p.t_accepted]
    return Stats(
        calls=len(results),
        errors=len(results) - len(ok),
        incoming=[(p.t_incoming - p.t_invite) * 1000 for p in ok if p.t_incoming],
        accepted=[(p.t_accepted - p.t_invite) * 1000 for p in ok if p.t_accepted],
    )


DROPPED: dict[str, int] = {}
"""Clients the server dropped during the run, by reason (reported with the table)."""


async def connect_all(url: str, tokens: list[str], concurrency: int = 64) -> list[Any]:
    """A connected Socket.IO client per token, ``concurrency`` connecting at once."""
    import socketio

    gate = asyncio.Semaphore(concurrency)

    async def one(token: str) -> Any:
        async with gate:
            client = socketio.AsyncClient(reconnection=False)

            async def dropped(reason: Any = "?") -> None:
                DROPPED[str(reason)] = DROPPED.get(str(reason), 0) + 1

            client.on("disconnect", dropped, namespace="/call")
            await client.connect(
                url,
                auth={"token": token},
                namespaces=["/call"],
                transports=["websocket"],
                wait_timeout=30,
            )
            return client

    return list(await asyncio.gather(*(one(t) for t in tokens)))


async def load_users(server: Any, count: int) -> tuple[Any, list[Any]]:
    """The server's settings and the first ``count`` users of its seeded tenant ``load``, in
    order (``u0@load.test``, ``u1``, ...)."""
    from sqlalchemy import select

    from server.config import Settings
    from server.db.engine import make_engine, make_sessionmaker
    from server.db.models import User

    settings = Settings(
        database_url=server.env["VOIP_DATABASE_URL"], jwt_secret=server.env["VOIP_JWT_SECRET"]
    )
    engine = make_engine(settings.db_url)
    async with make_sessionmaker(engine)() as session:
        found = {
            u.email: u
            for u in await session.scalars(select(User).where(User.email.like("%@load.test")))
        }
    await engine.dispose()
    return settings, [found[f"u{i}@load.test"] for i in range(count)]


def now_utc() -> str:
    """The time of a run, as the tables give it."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def cpus() -> int:
    """CPUs this process may run on."""
    return len(os.sched_getaffinity(0))
