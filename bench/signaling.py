"""Signaling benchmark: connected clients, call set-up latency, sustained rate, memory.

    .venv/bin/python -m bench.signaling [--sizes 100,1000,5000] [--rates 25,50,100,150,200,300]
    .venv/bin/python -m bench.signaling --presence [--presence-users 2000] [--presence-watch 50]

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

``--presence`` measures instead what a ``presence`` change costs and how fast it arrives: a tenant
above ``VOIP_PRESENCE_FANOUT_MAX`` (default 2,000 users, limit 1,000) where every client watches
the next W users (``presence_watch``, a page of contacts), against the largest tenant that still
gets the broadcast (1,000 users, the limit). Changes are calls rung and cancelled one after the
other (busy, then online again, for both parties). That part of the section sits between
``<!-- presence -->`` markers and survives a run of the main measurement (and vice versa).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bench.signaling_calls import cpu_seconds as cpu_seconds  # re-exported: older imports
from bench.signaling_calls import percentile as percentile
from bench.signaling_calls import raise_fd_limit
from bench.signaling_presence import presence_async
from bench.signaling_run import DB_NAMES, main_async
from tests.support import netns

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench:signaling -->", "<!-- /bench:signaling -->"
PRESENCE_BEGIN, PRESENCE_END = "<!-- presence -->", "<!-- /presence -->"


def _between(text: str, begin: str, end: str) -> str | None:
    if begin in text and end in text:
        return text.split(begin, 1)[1].split(end, 1)[0].strip("\n")
    return None


HISTORY = """\
Earlier figures of the same command, as the code changed (the machine is shared; figures move by
±20 % from run to run, so changes are judged by A/B runs back to back, the old tree via
`PYTHONPATH`):

| change | sustained set-ups/s | server CPU per set-up |
|---|---|---|
| first version (commit `aaaf632`) | 25 | about 18 ms |
| prebuilt Core statements, one SELECT per decision | 100 | 8–12 ms |
| `presence` to watchers above the fan-out limit (2026-11-25) | 100 | 8.5–11 ms |
| heartbeat: one `nodes` row per node, not every socket's (2026-11-25) | 50–100 | 9–13 ms |

At 100 set-ups/s the server runs at about 85 % of a core, and whether the p99 stays under
100 ms depends on the run: the run of 2026-11-24 and one of the four full runs of 2026-11-25
sustained 100/s (p99 50 and 73 ms); the others stopped at 50/s twice (p99 583 and 837 ms at
100/s) and once at 25/s (a single 0.8 s spike at 50/s). The heartbeat change removed one
cause of such spikes (0.6–0.9 s every 30 s while a node rewrote 5,000 socket rows on SQLite;
gone when the heartbeat was pushed out of the run). The other is the server's own garbage
collector: with 5,000 sockets a full (generation 2) collection takes 0.5–1.0 s and runs every
few seconds while sockets connect, then now and then (timed with a `gc.callbacks` probe; the
same spikes appear on PostgreSQL). An experiment that called `gc.freeze()` every 10 s cut the
p99 at 25 and 50 set-ups/s to 9 and 27 ms but left the 100/s ceiling, which is CPU; it is not
in the code (frozen cycles are never collected, so it needs a bounded policy).
The presence rows' A/B
(1,002 clients, `--sizes 1002 --rates 50,75 --seconds 15 --no-doc`): server CPU 45 % / 58 % at
50 / 75 set-ups/s before `presence_watch`, 46 % / 62 % after; at 5,000 clients
(`--sizes 5000 --rates 25 --seconds 10`) 31 % before, 40 % with it, 34 % once a change nobody
watches costs nothing."""


def write_doc(table: str | None = None, *, presence: str | None = None) -> None:
    """Replace the main table or the presence part of the section; keep the other."""
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    section = _between(text, BEGIN, END)
    old_presence = _between(section or "", PRESENCE_BEGIN, PRESENCE_END)
    main = (section or "").split(PRESENCE_BEGIN, 1)[0].strip("\n") if table is None else table
    part = presence if presence is not None else old_presence
    body = main if part is None else f"{main}\n\n{PRESENCE_BEGIN}\n{part}\n{PRESENCE_END}"
    new = f"{BEGIN}\n{body}\n{END}"
    if section is not None:
        head, rest = text.split(BEGIN, 1)
        text = head + new + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + new + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000,5000")
    parser.add_argument("--rates", default="25,50,100,150,200,300")
    parser.add_argument("--light-rate", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--database", choices=sorted(DB_NAMES), default="sqlite")
    parser.add_argument("--no-doc", action="store_true", help="print only")
    parser.add_argument("--presence", action="store_true", help="measure presence delivery")
    parser.add_argument("--presence-users", type=int, default=2000)
    parser.add_argument("--presence-broadcast-users", type=int, default=1000)
    parser.add_argument("--presence-watch", type=int, default=50)
    parser.add_argument("--presence-cycles", type=int, default=25)
    parser.add_argument("--presence-fanout-max", type=int, default=1000)
    args = parser.parse_args()
    why = netns.enter_private_netns()
    if why:
        print(f"bench: no private network namespace ({why}); using the host's loopback")
    print(f"bench: file descriptor limit {raise_fd_limit()}")
    if args.presence:
        part = asyncio.run(presence_async(args))
        print(part)
        if not args.no_doc:
            write_doc(presence=part)
            print(f"bench: wrote {DOC.relative_to(ROOT)}")
        return
    table = asyncio.run(main_async(args))
    print(table)
    if not args.no_doc:
        write_doc(f"{table}\n\n{HISTORY}")
        print(f"bench: wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
