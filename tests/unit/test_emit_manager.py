"""The Socket.IO manager's emit (:mod:`server.sio.manager`), one layer: python-socketio's server
is replaced by the one method the emit calls on it, which records what each socket was sent.

Specification: an event goes to every socket of the room but the skipped one, each packet once,
in the order the events were emitted; a socket whose send fails is logged and the others still
get the event; the packets are plain Socket.IO text (``2/call,["event",{...}]``) and bytes in a
payload are refused rather than sent as an attachment.
"""

from __future__ import annotations

from typing import Any

import pytest

from server.sio.manager import InlineEmitManager, JsonPacket

NS = "/call"


class RecordingServer:
    """What the manager needs of python-socketio's ``AsyncServer``."""

    packet_class = JsonPacket

    def __init__(self, failing: set[str] | None = None) -> None:
        self.sent: list[tuple[str, str]] = []
        self._failing = failing or set()
        self._ids = iter(range(1_000_000))
        self.eio = self  # the manager names its sockets through the Engine.IO server

    def generate_id(self) -> str:
        return f"s{next(self._ids)}"

    async def _send_eio_packet(self, eio_sid: str, pkt: Any) -> None:
        if eio_sid in self._failing:
            raise ConnectionResetError("the socket went away")
        self.sent.append((eio_sid, pkt.data))


async def manager_with(
    server: RecordingServer, rooms: dict[str, list[str]]
) -> tuple[InlineEmitManager, dict[str, str]]:
    """A manager whose sockets (named by their Engine.IO sid) are in these rooms; their
    Socket.IO sids by Engine.IO sid."""
    manager = InlineEmitManager()
    manager.set_server(server)
    sids: dict[str, str] = {}
    for room, members in rooms.items():
        for eio_sid in members:
            if eio_sid not in sids:
                sids[eio_sid] = await manager.pre_connect(eio_sid, NS)
                await manager.connect(sids[eio_sid], NS)
            await manager.enter_room(sids[eio_sid], NS, room)
    return manager, sids


async def test_an_event_reaches_every_socket_of_the_room_but_the_skipped_one_in_order() -> None:
    server = RecordingServer()
    manager, sids = await manager_with(server, {"user:a": ["e1", "e2", "e3"], "user:b": ["e4"]})
    await manager.emit("ringing", {"call_id": "c1"}, NS, to="user:a", skip_sid=sids["e2"])
    await manager.emit("ended", {"call_id": "c1", "status": "DECLINED"}, NS, to="user:a")
    ringing = '2/call,["ringing",{"call_id":"c1"}]'
    ended = '2/call,["ended",{"call_id":"c1","status":"DECLINED"}]'
    assert server.sent == [
        ("e1", ringing),
        ("e3", ringing),
        ("e1", ended),
        ("e2", ended),
        ("e3", ended),
    ]


async def test_a_socket_whose_send_fails_keeps_the_event_from_no_other(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = RecordingServer(failing={"e2"})
    manager, _ = await manager_with(server, {"user:a": ["e1", "e2", "e3"]})
    await manager.emit("incoming", {"call": {"id": "c1"}}, NS, to="user:a")
    assert [eio_sid for eio_sid, _ in server.sent] == ["e1", "e3"]
    assert "sending incoming to a socket failed" in caplog.text


class CountingPacket(JsonPacket):
    """The server's packet, counting its encodings."""

    encoded = 0

    def encode(self) -> Any:
        CountingPacket.encoded += 1
        return super().encode()


async def test_an_emit_that_reaches_no_socket_here_sends_and_encodes_nothing() -> None:
    # (with Redis, a node hears every emit of the other nodes: most reach none of its sockets)
    server = RecordingServer()
    server.packet_class = CountingPacket
    manager, sids = await manager_with(server, {"user:a": ["e1"]})
    CountingPacket.encoded = 0
    await manager.emit("ended", {"call_id": "c1"}, NS, to="user:nobody")
    await manager.emit("ended", {"call_id": "c1"}, NS, to="user:a", skip_sid=sids["e1"])
    assert (server.sent, CountingPacket.encoded) == ([], 0)
    await manager.emit("ended", {"call_id": "c1"}, NS, to="user:a")
    assert (len(server.sent), CountingPacket.encoded) == (1, 1)


async def test_bytes_are_refused_not_sent_as_an_attachment() -> None:
    server = RecordingServer()
    manager, _ = await manager_with(server, {"user:a": ["e1"]})
    with pytest.raises(TypeError):
        await manager.emit("ended", {"blob": b"\x00\x01"}, NS, to="user:a")
    assert server.sent == []
