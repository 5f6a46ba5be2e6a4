"""sqlite3's own cost per call set-up (issue 16): a set-up's statements and COMMITs on a real
SQLite file, for variants of the connection's settings side by side.

    .venv/bin/python -m bench.sqlite_setup [--users 1000] [--history 100000] [--rate 400]
        [--setups 4000] [--blocks 4] [--variant LABEL:KEY=VALUE,...]... [--out DIR]

Each variant gets its own copy of one seeded database (migrated; ``--users`` users of one
tenant, each with a socket on a live node; ``--history`` ended calls, each with its two
``call_events`` rows) and one connection opened as the inline engine opens its own
(:mod:`server.db.engine`, its ``_pragmas``), then the variant's settings. A set-up is what an
``invite`` then a ``decline`` run on SQLite, with the SQL and parameters
:mod:`server.db.direct` binds: ``invite_facts``'s SELECT, INSERT of the call, the claim of both
lines, the invite's ``call_events`` row, COMMIT; the call's SELECT with its parties, the
conditional status UPDATE, the release of the lines, the decline's ``call_events`` row,
COMMIT. Set-ups run at ``--rate`` on an asyncio loop (the checkpointer's timer runs on it as
on the server), in blocks of ``--setups`` per variant, the variants' order reversed every block.

Variant keys: a PRAGMA (``cache_size``, ``mmap_size``, ``temp_store``,
``wal_autocheckpoint``, ...) set after the engine's; ``checkpoint_s``: a
:class:`server.db.checkpoint.Checkpointer` every so many seconds (0: none); ``rounds``: its
``more_rounds``; ``drop_index``: indexes dropped from the copy (``+`` between names). Built in:
``before`` (SQLite's defaults for what this change sets: autocheckpoint at 1,000 pages inside
a COMMIT, no mmap, a 2 MB cache) and ``server`` (the engine's pragmas and the server's
checkpointer).

Per variant: ms per set-up on the loop's thread (wall) p50/p90/p99/max; CPU per set-up of the
loop's thread and of the process (the checkpointer's thread too); COMMIT p50/p99/max and how
many took over 1 ms; checkpoints run; the most frames the WAL held, and how often it started
again from its beginning (sampled every 10 set-ups); mean µs per set-up of each statement.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import resource
import shutil
import sqlite3
import struct
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.sqlite_setup_seed import DIALECT, PREPARED, call_values, event_values, seed
from server.db import checkpoint as ckpt
from server.db.engine import _pragmas

BUILT_IN = {
    "before": {
        "wal_autocheckpoint": "1000",
        "checkpoint_s": "0",
        "mmap_size": "0",
        "cache_size": "-2000",
    },
    "server": {},
}
STATEMENTS = (
    "invite_facts",
    "insert call",
    "claim lines",
    "insert event",
    "commit invite",
    "call with parties",
    "update status",
    "release lines",
    "insert event 2",
    "commit decline",
)


@dataclass
class Variant:
    label: str
    settings: dict[str, str]
    db: Path
    conn: sqlite3.Connection = field(init=False)
    checkpointer: ckpt.Checkpointer | None = None
    setup_ms: list[float] = field(default_factory=list)
    spent_ns: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATEMENTS, 0))
    commits_ms: list[float] = field(default_factory=list)
    thread_cpu_s: float = 0.0
    process_cpu_s: float = 0.0
    wal_max_frames: int = 0
    wal_restarts: int = 0
    last_frames: int = 0
    checkpoints: int = 0
    period: float = 0.0

    def open(self, seeded: Path) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.db}{suffix}").unlink(missing_ok=True)
        shutil.copy(seeded, self.db)
        # as the inline engine opens its one connection (aiosqlite.connect's defaults)
        self.conn = sqlite3.connect(self.db, timeout=30, check_same_thread=False)
        _pragmas(self.conn, None)
        s = dict(self.settings)
        period = float(s.pop("checkpoint_s", ckpt.PERIOD_S))
        rounds = int(s.pop("rounds", ckpt.MORE_ROUNDS))
        for name in filter(None, s.pop("drop_index", "").split("+")):
            self.conn.execute(f"DROP INDEX {name}")
        for name, value in s.items():
            self.conn.execute(f"PRAGMA {name}={value}")
        self.period = period
        if period > 0:
            self.checkpointer = ckpt.Checkpointer(str(self.db), more_rounds=rounds)

    def wal_frames(self) -> int:
        """Frames in the WAL now (``mxFrame`` of the WAL index: https://sqlite.org/walformat.html);
        it falls back to a few when the WAL starts again."""
        with open(f"{self.db}-shm", "rb") as shm:
            return int(struct.unpack("=I", shm.read(20)[16:20])[0])


def parse_variant(raw: str, out: Path) -> Variant:
    label, _, rest = raw.partition(":")
    settings = dict(BUILT_IN.get(label, {}))
    settings.update(dict(kv.split("=", 1) for kv in rest.split(",") if kv))
    return Variant(label, settings, out / f"run-{label}.db")


def _timed(v: Variant, name: str, label: str, params: dict[str, Any]) -> list[Any]:
    plan = PREPARED[name].plan(DIALECT, params)
    bound = plan.bind(params)
    t0 = time.perf_counter_ns()
    rows = v.conn.execute(plan.sql, bound).fetchall()
    v.spent_ns[label] += time.perf_counter_ns() - t0
    return rows


def _commit(v: Variant, label: str) -> None:
    t0 = time.perf_counter_ns()
    v.conn.commit()
    took = time.perf_counter_ns() - t0
    v.spent_ns[label] += took
    v.commits_ms.append(took / 1e6)


def one_setup(v: Variant, tenant: str, caller: str, callee: str) -> None:
    """invite (RINGING: the callee is live) then the callee's decline, each one transaction."""
    now = datetime.now(UTC)
    facts = {
        "ids": sorted((caller, callee)),
        "me": caller,
        "rid": uuid.uuid4().hex,
        "since": now - timedelta(seconds=60),
        "callee": callee,
        "live_since": now - timedelta(seconds=30),
    }
    found = _timed(v, "invite_facts", "invite_facts", facts)
    if len(found) != 2 or not found[0][6]:
        raise RuntimeError("the invite must find both users and the callee live")
    call = call_values(tenant, caller, callee, now, "RINGING")
    _timed(v, "insert call", "insert call", call)
    lines = {"ids": sorted((caller, callee)), "call": call["id"]}
    _timed(v, "claim lines", "claim lines", lines)
    _timed(v, "insert event", "insert event", event_values(call["id"], caller, now, "invite", None))
    _commit(v, "commit invite")
    later = datetime.now(UTC)
    _timed(v, "call with parties", "call with parties", {"id": call["id"]})
    changes = {"new_status": "DECLINED", "new_reason": "declined", "new_ended_at": later}
    step = {"call": call["id"], "from_status": "RINGING", **changes}
    _timed(v, "update status", "update status", step)
    _timed(v, "release lines", "release lines", lines)
    decline = event_values(call["id"], callee, later, "decline", "RINGING")
    _timed(v, "insert event", "insert event 2", decline)
    _commit(v, "commit decline")


async def _checkpoints(v: Variant) -> None:
    assert v.checkpointer is not None
    while True:
        await asyncio.sleep(v.period)
        await v.checkpointer.checkpoint()
        v.checkpoints += 1


async def block(v: Variant, n: int, rate: float, users: list[str], tenant: str) -> None:
    """``n`` set-ups at ``rate`` on ``v`` (its checkpointer running meanwhile)."""
    loop, rng = asyncio.get_running_loop(), random.Random(len(v.setup_ms))
    timer = asyncio.create_task(_checkpoints(v)) if v.checkpointer else None
    cpu0, proc0 = time.thread_time(), _process_cpu()
    start = loop.time()
    for k in range(n):
        await asyncio.sleep(max(0.0, start + k / rate - loop.time()))
        caller, callee = rng.sample(users, 2)
        t0 = time.perf_counter_ns()
        one_setup(v, tenant, caller, callee)
        v.setup_ms.append((time.perf_counter_ns() - t0) / 1e6)
        if k % 10 == 0:
            frames = v.wal_frames()
            v.wal_restarts += frames < v.last_frames
            v.wal_max_frames, v.last_frames = max(v.wal_max_frames, frames), frames
    v.thread_cpu_s += time.thread_time() - cpu0
    v.process_cpu_s += _process_cpu() - proc0
    if timer is not None:
        timer.cancel()
        await asyncio.gather(timer, return_exceptions=True)


def _process_cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def tables(variants: list[Variant]) -> str:
    lines = [
        "| variant | set-ups | ms per set-up p50 / p90 / p99 / max | loop thread CPU ms "
        "per set-up | process CPU ms per set-up | COMMIT ms p50 / p99 / max | COMMITs "
        "> 1 ms | checkpoints run | WAL frames at most | WAL started again |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for v in variants:
        n, s, c = len(v.setup_ms), v.setup_ms, v.commits_ms
        over = sum(1 for x in c if x > 1.0)
        lines.append(
            f"| {v.label} | {n} | {_pct(s, 0.5):.3f} / {_pct(s, 0.9):.3f} / {_pct(s, 0.99):.3f}"
            f" / {max(s):.2f} | {v.thread_cpu_s * 1e3 / n:.3f} | {v.process_cpu_s * 1e3 / n:.3f}"
            f" | {_pct(c, 0.5):.3f} / {_pct(c, 0.99):.3f} / {max(c):.2f} | {over} "
            f"| {v.checkpoints} | {v.wal_max_frames} | {v.wal_restarts} |"
        )
    lines += ["", "| µs per set-up, mean | " + " | ".join(v.label for v in variants) + " |"]
    lines.append("|---|" + "---|" * len(variants))
    for name in STATEMENTS:
        cells = " | ".join(f"{v.spent_ns[name] / 1e3 / len(v.setup_ms):.1f}" for v in variants)
        lines.append(f"| {name} | {cells} |")
    total = " | ".join(f"{sum(v.spent_ns.values()) / 1e3 / len(v.setup_ms):.1f}" for v in variants)
    lines.append(f"| **all ten and both COMMITs** | {total} |")
    return "\n".join(lines) + "\n"


async def run(args: argparse.Namespace) -> str:
    args.out.mkdir(parents=True, exist_ok=True)
    seeded = seed(args.out, args.users, args.history)
    with contextlib.closing(sqlite3.connect(seeded)) as conn:
        users = [r[0] for r in conn.execute("SELECT id FROM users")]
        tenant = conn.execute("SELECT tenant_id FROM users LIMIT 1").fetchone()[0]
    variants = [parse_variant(raw, args.out) for raw in args.variant or ["before", "server"]]
    for v in variants:
        v.open(seeded)
    try:
        for b in range(args.blocks):
            for v in variants if b % 2 == 0 else variants[::-1]:
                await block(v, args.setups, args.rate, users, tenant)
    finally:
        for v in variants:
            if v.checkpointer is not None:
                await v.checkpointer.aclose()
            v.conn.close()
    return tables(variants)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--users", type=int, default=1000)
    p.add_argument("--history", type=int, default=100_000)
    p.add_argument("--rate", type=float, default=400.0)
    p.add_argument("--setups", type=int, default=4000)
    p.add_argument("--blocks", type=int, default=4)
    p.add_argument("--variant", action="append", help="LABEL[:KEY=VALUE,...]")
    p.add_argument("--out", type=Path, default=Path("/tmp/sqlite-setup"))
    args = p.parse_args()
    load0 = os.getloadavg()
    table = asyncio.run(run(args))
    load1 = os.getloadavg()
    loads = " ".join(f"{x:.2f}" for x in load0), " ".join(f"{x:.2f}" for x in load1)
    text = f"load average {loads[0]} before, {loads[1]} after\n\n{table}"
    (args.out / "results.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
