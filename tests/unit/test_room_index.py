"""The manager's rooms indexed by socket (:mod:`server.sio.rooms`), one layer: python-socketio's
server is replaced by the one thing the manager asks of it (new socket ids).

Specification: the index changes how a disconnect and ``get_rooms`` find a socket's rooms, not
what the manager holds or answers. So after any sequence of connects (finished or pending),
room entries, leaves, rooms closed, disconnects begun and finished, in two namespaces, the
manager holds the same rooms with the same members as python-socketio's own ``AsyncManager``
given the same sequence, says the same of every socket (its rooms, connected, pre-connected)
and has the same sockets pending, in the same order.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
import socketio

from server.sio.manager import InlineEmitManager
from server.sio.rooms import IndexedRooms
from tests.unit.test_emit_manager import RecordingServer

NAMESPACES = ("/call", "/other")
ROOMS = ("user:a", "user:b", "tenant:t", "presence:a", "presence:b")


def _managers(ours: type[IndexedRooms]) -> tuple[Any, Any]:
    mine, theirs = ours(), socketio.AsyncManager()
    mine.set_server(RecordingServer())  # the same ids for the same sockets on both
    theirs.set_server(RecordingServer())
    return mine, theirs


def _state(manager: Any, sids: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "rooms": {
            ns: {room: dict(members) for room, members in rooms.items()}
            for ns, rooms in manager.rooms.items()
        },
        "pending_connect": {ns: list(s) for ns, s in manager.pending_connect.items()},
        "pending_disconnect": {ns: list(s) for ns, s in manager.pending_disconnect.items()},
        "callbacks": sorted(manager.callbacks),
        "sockets": [
            (
                sorted(manager.get_rooms(sid, ns), key=str),
                manager.is_connected(sid, ns),
                manager.is_pre_connected(sid, ns),
            )
            for ns, sid in sids
        ],
    }


async def _step(manager: Any, op: str, ns: str, sid: str | None, room: str, eio: str) -> Any:
    if op == "connect":
        return await manager.pre_connect(eio, ns)
    assert sid is not None
    if op == "finish_connect":
        return await manager.connect(sid, ns)
    if op == "enter":
        await manager.enter_room(sid, ns, room)
    elif op == "leave":
        await manager.leave_room(sid, ns, room)
    elif op == "close":
        await manager.close_room(room, ns)
    elif op == "ack":
        manager._generate_ack_id(sid, print)
    elif op == "pre_disconnect":
        manager.pre_disconnect(sid, ns)
    elif op == "disconnect":
        await manager.disconnect(sid, ns)
    return None


OPS: tuple[str, ...] = ("connect", "finish_connect", "enter", "enter", "leave", "close", "ack")
OPS += ("pre_disconnect", "disconnect", "disconnect")


@pytest.mark.parametrize("ours", [IndexedRooms, InlineEmitManager])
@pytest.mark.parametrize("seed", range(12))
async def test_the_manager_holds_and_answers_what_python_socketio_does(
    ours: type[IndexedRooms], seed: int
) -> None:
    rng = random.Random(seed)
    mine, theirs = _managers(ours)
    sids: list[tuple[str, str]] = []
    for turn in range(500):
        op = rng.choice(OPS) if sids else "connect"
        ns = rng.choice(NAMESPACES)
        # as the server calls them: on a socket still in the namespace, a connect finished
        # while it is pending, a disconnect begun while it is connected
        present = theirs.rooms.get(ns, {}).get(None, {})
        known = [sid for n, sid in sids if n == ns and sid in present]
        sid = rng.choice(known) if known else None
        if op != "connect" and (
            sid is None
            or (op == "finish_connect" and not theirs.is_pre_connected(sid, ns))
            or (op == "pre_disconnect" and not theirs.is_connected(sid, ns))
        ):
            continue
        room = rng.choice(ROOMS)
        eio = f"e{rng.randrange(40)}"  # reused: an Engine.IO socket in both namespaces, twice
        if op == "close" and room == sid:
            continue
        got = await _step(mine, op, ns, sid, room, eio)
        expected = await _step(theirs, op, ns, sid, room, eio)
        assert got == expected, (turn, op)
        if op == "connect" and got is not None:
            sids.append((ns, got))
        assert _state(mine, sids) == _state(theirs, sids), (turn, op, ns, sid, room)
