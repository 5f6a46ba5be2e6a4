"""A disconnect storm in the Socket.IO manager: python-socketio's own rooms against the rooms
indexed by socket (:mod:`server.sio.rooms`), in one run.

    .venv/bin/python -m bench.sio_rooms [--sockets 1000,5000,10000] [--repeats 3] [--no-doc]

Each of N sockets is in the rooms the call server puts it in: its own, its user's (a user per
socket), its tenant's (tenants of 200) and the presence rooms of the 10 users it watches. Then
all N go at once, as the server handles them: each is checked (``is_connected``) and marked
(``pre_disconnect``) while its disconnect handler runs, so all N are pending together; then
each is disconnected. Also timed: ``get_rooms`` of every socket (a presence watch's change).
The manager only: no server, no sockets, one thread; median of the repeats.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import time
from typing import Any

import socketio

from bench.docblock import replace_block
from server.sio.rooms import IndexedRooms

NS = "/call"
TENANT_SIZE = 200
WATCHED = 10
Timed = tuple[float, float, int]
"""A run: the storm's seconds, all sockets' ``get_rooms`` seconds, the namespace's rooms."""


class _Ids:
    def __init__(self) -> None:
        self._n = 0
        self.eio = self
        self.packet_class = socketio.packet.Packet

    def generate_id(self) -> str:
        self._n += 1
        return f"s{self._n}"


async def _filled(kind: type[Any], n: int) -> tuple[Any, list[str]]:
    manager = kind()
    manager.set_server(_Ids())
    sids = []
    for i in range(n):
        sid = await manager.pre_connect(f"e{i}", NS)
        await manager.connect(sid, NS)
        for room in (f"user:{i}", f"tenant:{i // TENANT_SIZE}"):
            await manager.enter_room(sid, NS, room)
        base = (i // TENANT_SIZE) * TENANT_SIZE
        for k in range(1, WATCHED + 1):
            await manager.enter_room(sid, NS, f"presence:{base + (i + k) % TENANT_SIZE}")
        sids.append(sid)
    return manager, sids


async def _timed(kind: type[Any], n: int) -> Timed:
    manager, sids = await _filled(kind, n)
    rooms = len(manager.rooms[NS])
    started = time.perf_counter()
    for sid in sids:
        manager.get_rooms(sid, NS)
    listed = time.perf_counter() - started
    started = time.perf_counter()
    for sid in sids:
        if manager.is_connected(sid, NS):
            manager.pre_disconnect(sid, NS)
    for sid in sids:
        await manager.disconnect(sid, NS)
    storm = time.perf_counter() - started
    if manager.rooms or manager.pending_disconnect:
        raise RuntimeError("sockets left after the storm")
    return storm, listed, rooms


def _row(n: int, theirs: list[Timed], ours: list[Timed]) -> str:
    def med(runs: list[Timed], i: int) -> float:
        return statistics.median(r[i] for r in runs)

    storm_t, storm_o = med(theirs, 0), med(ours, 0)
    list_t, list_o = med(theirs, 1), med(ours, 1)
    return (
        f"| {n:,} | {theirs[0][2]:,} | {storm_t * 1000:,.0f} ms ({storm_t / n * 1e6:,.0f} µs) "
        f"| {storm_o * 1000:,.1f} ms ({storm_o / n * 1e6:,.1f} µs) | x{storm_o / storm_t:.2g} "
        f"| {list_t / n * 1e6:,.0f} µs | {list_o / n * 1e6:,.2f} µs |"
    )


async def _run(sizes: list[int], repeats: int) -> str:
    lines = [
        "| sockets | rooms | python-socketio: storm (per disconnect) | indexed: storm (per "
        "disconnect) | indexed / theirs | get_rooms, theirs | get_rooms, indexed |",
        "|---|---|---|---|---|---|---|",
    ]
    for n in sizes:
        theirs, ours = [], []
        for _ in range(repeats):  # alternated, so a busy moment of the machine hits both
            theirs.append(await _timed(socketio.AsyncManager, n))
            ours.append(await _timed(IndexedRooms, n))
        lines.append(_row(n, theirs, ours))
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", default="1000,5000,10000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sockets.split(",")]
    table = asyncio.run(_run(sizes, args.repeats))
    flags = f"--sockets {args.sockets} --repeats {args.repeats}"
    text = (
        f"Command: `python -m bench.sio_rooms {flags}`\n\n"
        f"Python {platform.python_version()}, python-socketio's manager alone (no server), "
        f"median of {args.repeats}.\n\n{table}"
    )
    print(text)
    if not args.no_doc:
        replace_block("<!-- bench:sio-rooms -->", "<!-- /bench:sio-rooms -->", text)


if __name__ == "__main__":
    main()
