"""What the call server sends PostgreSQL for one connect, one invite and one decline.

A private PostgreSQL 15 with ``log_statement = all`` for the database (each logged line: the
backend's pid and the statement, or the execution of a prepared one), a real call server on it
(no media server: an invite and a decline need none), two real Socket.IO clients. Between the
steps the script waits for the server to go quiet, then prints the statements each step made,
backend by backend; background work (the node's heartbeat, the sweeps) is told apart by its
statements (``nodes``, the sweeps' SELECTs) and counted apart.

    .venv/bin/python -m bench.pg_roundtrips [--repeat N]
    .venv/bin/python -m bench.pg_roundtrips cpu --variant old:PYTHONPATH=/tmp/old --variant new

``cpu``: a private PostgreSQL (fsync on) seeded once with ``--users`` load users; per run a
fresh copy of it, a fresh server, and ``shared/loadgen``'s generator at each rate; the CPU of
PostgreSQL's processes, our server, the generator and the rest of the machine over the calls'
phase (from /proc, between the generator's own "rate" and "done" log lines), as % of a core
and as ms per set-up; variants alternated (``PYTHONPATH`` of an exported older tree runs its
code: the console script's path comes first).

Every logged statement is one round trip except those that arrive together: asyncpg sends a
prepared statement's Bind/Execute/Sync as one message group (one line ``execute``), a simple
query (``BEGIN``, ``COMMIT``) as one line ``statement``; a parse logs nothing with
``log_statement``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench.loadgen_servers import seed_postgres
from tests.server.harness import Person, Recorder, Stack
from tests.support.servers import CallServer, PostgresServer

ROOT = Path(__file__).resolve().parents[1]
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


def _cpu_ticks() -> dict[int, tuple[str, int]]:
    """Every process's name and CPU ticks (utime + stime) now; PostgreSQL's with those of
    its children that ended (cutime + cstime: backends of connections the pool closed)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks = int(fields[11]) + int(fields[12])
        if name == "postgres":  # and its backends that ended (the postmaster reaped them)
            ticks += int(fields[13]) + int(fields[14])
        found[int(entry)] = (name, ticks)
    return found


def _machine_busy() -> tuple[int, int]:
    """(busy, all) jiffies of the whole machine."""
    with open("/proc/stat") as f:
        cpu = [int(v) for v in f.readline().split()[1:]]
    idle = cpu[3] + cpu[4]
    return sum(cpu) - idle, sum(cpu)


def _groups(
    before: dict[int, tuple[str, int]], after: dict[int, tuple[str, int]], server: int, gen: int
) -> Counter[str]:
    """CPU ticks over the interval: PostgreSQL's processes, our server, the generator, rest."""
    spent: Counter[str] = Counter()
    for pid, (name, ticks) in after.items():
        used = ticks - before.get(pid, (name, 0))[1]
        group = (
            "server"
            if pid == server
            else "generator"
            if pid == gen
            else "postgres"
            if name == "postgres"
            else "other"
        )
        spent[group] += used
    return spent


def _sessions(pg: PostgresServer, env: dict[str, str]) -> int:
    """Connections PostgreSQL has opened to the run's database so far."""
    db = env["VOIP_DATABASE_URL"].rsplit("/", 1)[1]
    sql = f"SELECT sessions FROM pg_stat_database WHERE datname = '{db}'"
    found = subprocess.run(pg.command("psql", "-Atc", sql), capture_output=True, text=True)
    return int(found.stdout.strip() or 0)


def _one_run(
    pg: PostgresServer, args: argparse.Namespace, env: dict[str, str], label: str, rate: int
) -> dict[str, Any]:
    """A fresh server (and a fresh copy of the seeded database); the generator at ``rate``;
    the CPU of each group over the calls' phase (from the generator's own log lines)."""
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "voip-server"), "serve"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_ready(env["VOIP_PORT"])
        url = f"http://127.0.0.1:{env['VOIP_PORT']}"
        load = ["--users", str(args.users), "--rate", str(rate), "--duration", str(args.duration)]
        tokens = ["--tokens", str(args.out / "tokens-pg.json"), "--server-pid", str(server.pid)]
        gen = subprocess.Popen(
            ["node", "loadgen.js", "--url", url, *load, *tokens],
            cwd=args.loadgen,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert gen.stderr is not None
        assert gen.stdout is not None
        marks, sessions = [], []
        for line in gen.stderr:
            if f"rate {rate}/s for" in line or " done, p99 " in line:
                marks.append((time.monotonic(), _cpu_ticks(), _machine_busy()))
                sessions.append(_sessions(pg, env))
        result = json.loads(gen.stdout.read())
        gen.wait()
    finally:
        server.terminate()
        server.wait(timeout=20)
    (t0, cpu0, m0), (t1, cpu1, m1) = marks[0], marks[-1]
    ticks = _groups(cpu0, cpu1, server.pid, gen.pid)
    seconds = t1 - t0
    done = result["calls"]["completed"]
    share = {k: round(v / seconds, 1) for k, v in ticks.items()}  # ticks/s = % of a core
    return {
        "label": label,
        "rate": rate,
        "done": f"{done}/{result['calls']['attempted']}",
        "p99": result["latency_ms"]["invite_to_incoming"]["p99"],
        "p50": result["latency_ms"]["invite_to_incoming"]["p50"],
        "connect_ms": result["setup"]["connect_ms"],
        "cpu_pct": share,
        "ms_per_setup": {k: round(v * 10 / max(done, 1), 2) for k, v in ticks.items()},
        "machine_busy_pct": round(200 * (m1[0] - m0[0]) / max(m1[1] - m0[1], 1), 1),
        "pg_connections_opened": sessions[-1] - sessions[0],
        "phase_s": round(seconds, 1),
    }


def _wait_ready(port: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with httpx.Client(timeout=2) as client:
                if client.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError("server not ready")


def cpu(args: argparse.Namespace) -> None:
    """Variants (``LABEL`` or ``LABEL:PYTHONPATH=DIR``: an exported older tree) alternated on
    one private PostgreSQL, fresh database per run; a table of CPU per group per run."""
    args.out.mkdir(parents=True, exist_ok=True)
    with PostgresServer.start(durable=True) as pg:
        base = {
            "VOIP_JWT_SECRET": f"bench-secret-for-load-runs-only-{int(time.time())}",
            "VOIP_INVITE_LIMIT_PER_MIN": "100000",
            "VOIP_HOST": "127.0.0.1",
            "VOIP_PORT": "8170",
            "VOIP_VAR_DIR": str(args.out / "var"),
        }
        seed_postgres(pg, base, args.users, args.out, "http://127.0.0.1:8170")
        rows = []
        for _ in range(args.repeats):
            for rate in args.rates:
                for variant in args.variant:
                    label, _, extra = variant.partition(":")
                    db = f"run_{label}"
                    subprocess.run(pg.command("dropdb", "--if-exists", db), check=True)
                    subprocess.run(pg.command("createdb", "-T", "seed", db), check=True)
                    env = {**os.environ, **base, "VOIP_DATABASE_URL": pg.url(db)}
                    env.update(dict(p.split("=", 1) for p in extra.split(",") if p))
                    rows.append(_one_run(pg, args, env, label, rate))
                    print(json.dumps(rows[-1]), flush=True)
    (args.out / "cpu.json").write_text(json.dumps(rows, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode")
    cpu_args = sub.add_parser("cpu", help="CPU per group over the calls' phase, variants A/B")
    cpu_args.add_argument("--users", type=int, default=1000)
    cpu_args.add_argument("--rates", type=lambda s: [int(x) for x in s.split(",")], default=[200])
    cpu_args.add_argument("--duration", type=int, default=10)
    cpu_args.add_argument("--repeats", type=int, default=2)
    cpu_args.add_argument("--variant", action="append", default=[])
    cpu_args.add_argument("--loadgen", type=Path, default=Path("/tmp/loadgen-side"))
    cpu_args.add_argument("--out", type=Path, default=Path("/tmp/pg-cpu"))
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    if args.mode == "cpu":
        cpu(args)
        return
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
