"""Signaling benchmark: connected clients, call set-up latency, sustained rate, memory.

    .venv/bin/python -m bench.signaling [--sizes 100,1000,5000] [--rates 25,50,100,150,200,300]

Starts one real call server (SQLite, one uvicorn process) and a real ``voip-devsfu`` as its
LiveKit endpoint, inside a private network namespace; seeds tenant ``load``; connects real
``socketio.AsyncClient`` s (websocket transport) from this process. For each size it measures
the server's RSS per connected client and invite->incoming / invite->accepted latency at a
light load; then, with every client connected, steps the call set-up rate up until
invite->incoming p99 passes 100 ms. Each call: caller ``invite`` -> callee gets ``incoming`` ->
``accept`` (room created on devsfu, tokens minted) -> caller gets ``accepted`` -> ``hangup``.

Access tokens are minted with the server's JWT secret instead of 5,000 logins (argon2 is
deliberately slow; login is not what is measured). The clients run in this one process on the
same 2 cores as the server and devsfu, so the figures are an upper bound of what the server
itself needs. The table goes to ``docs/benchmarks.md`` between the ``bench:signaling`` markers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import resource
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support import netns

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench:signaling -->", "<!-- /bench:signaling -->"
P99_LIMIT_MS = 100.0
DB_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL 15 (local, fsync off)"}


def raise_fd_limit() -> int:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 65536
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
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


def write_doc(table: str) -> None:
    section = f"{BEGIN}\n{table}\n{END}"
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)


async def main_async(args: argparse.Namespace) -> str:
    from sqlalchemy import select

    from server.auth import issue_token
    from server.config import Settings
    from server.db.engine import make_engine, make_sessionmaker
    from server.db.models import User
    from tests.support.devsfu import running_devsfu
    from tests.support.servers import HOST, CallServer, PostgresServer, free_port

    sizes = sorted(int(s) for s in args.sizes.split(","))
    rates = [float(r) for r in args.rates.split(",")]
    biggest = sizes[-1]
    workdir = Path(tempfile.mkdtemp(prefix="bench-signaling-"))
    port = free_port()
    lines: list[str] = []
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
            settings = Settings(
                database_url=server.env["VOIP_DATABASE_URL"],
                jwt_secret=server.env["VOIP_JWT_SECRET"],
            )
            engine = make_engine(settings.db_url)
            async with make_sessionmaker(engine)() as session:
                users = {
                    u.email: u
                    for u in await session.scalars(
                        select(User).where(User.email.like("%@load.test"))
                    )
                }
            await engine.dispose()
            ordered = [users[f"u{i}@load.test"] for i in range(biggest)]
            tokens = [issue_token(settings, u)[0] for u in ordered]
            assert server.proc is not None
            pid = server.proc.pid
            base_rss = rss_kib(pid)
            clients: list[Any] = []
            rows: list[str] = []
            try:
                for size in sizes:
                    t0 = time.perf_counter()
                    clients += await connect_all(server.url, tokens[len(clients) : size])
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
                pairs = [
                    Pair(clients[i], clients[i + 1], ordered[i + 1].id)
                    for i in range(0, len(clients) - 1, 2)
                ]
                rate_rows: list[str] = []
                sustained = 0.0
                for rate in rates:
                    wall, server_cpu, own_cpu = (
                        time.perf_counter(),
                        cpu_seconds(pid),
                        time.process_time(),
                    )
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
            finally:
                await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)
    command = "`.venv/bin/python -m bench.signaling " + " ".join(sys.argv[1:]) + "`"
    lines += [
        "## Signaling (call server)",
        "",
        f"Command: {command.replace(' `', '`')} — {_now()},"
        f" {platform.machine()}, {_cpus()} CPUs, Python {platform.python_version()}; one "
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
        f"Sustained set-up rate with {len(clients):,} clients connected ({args.seconds:.0f} s "
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
        "Tenant `load` has more users than `VOIP_PRESENCE_FANOUT_MAX` (1,000), so no "
        "`presence` events are broadcast in this run.",
    ]
    return "\n".join(lines)


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def _cpus() -> int:
    return len(os.sched_getaffinity(0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000,5000")
    parser.add_argument("--rates", default="25,50,100,150,200,300")
    parser.add_argument("--light-rate", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--database", choices=sorted(DB_NAMES), default="sqlite")
    parser.add_argument("--no-doc", action="store_true", help="print only")
    args = parser.parse_args()
    why = netns.enter_private_netns()
    if why:
        print(f"bench: no private network namespace ({why}); using the host's loopback")
    print(f"bench: file descriptor limit {raise_fd_limit()}")
    table = asyncio.run(main_async(args))
    print(table)
    if not args.no_doc:
        write_doc(table)
        print(f"bench: wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
