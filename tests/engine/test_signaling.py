"""The signaling client's edges without a server: acks, pushed events, listener faults."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
import socketio

from tests.engine.fakes import call_json
from voip_app.clock import FakeClock
from voip_app.errors import BadResponse, RequestRefused, ServerUnreachable, Unauthorized
from voip_app.signaling import AuthRefused, LinkDown, SignalEvent, SignalingClient
from voip_app.signaling_types import CallAck, EmptyAck, parse_ack
from voip_contract import (
    NAMESPACE,
    ClientEvent,
    Ended,
    ErrorCode,
    Incoming,
    RoomToken,
    ServerEvent,
)


def test_a_successful_ack_is_typed() -> None:
    ack = parse_ack(ClientEvent.INVITE, {"ok": True, "call": call_json()}, CallAck)
    assert ack.call.id == "c1"
    token = parse_ack(
        ClientEvent.ACCEPT,
        {"ok": True, "livekit_url": "ws://x", "room_name": "r", "token": "t"},
        RoomToken,
    )
    assert token.token == "t"


def test_a_refusal_carries_the_contract_code() -> None:
    raw = {"ok": False, "error": {"code": "busy", "message": "callee busy"}}
    with pytest.raises(RequestRefused) as info:
        parse_ack(ClientEvent.INVITE, raw, CallAck)
    assert info.value.code is ErrorCode.BUSY
    assert info.value.server_message == "callee busy"
    with pytest.raises(Unauthorized):
        parse_ack(ClientEvent.SYNC, {"ok": False, "error": {"code": "unauthorized"}}, EmptyAck)


@pytest.mark.parametrize(
    "raw", [None, "ok", [], {"ok": "yes"}, {"ok": True, "call": {"id": 5}}, {"call": {}}]
)
def test_acks_outside_the_contract_are_bad_responses(raw: Any) -> None:
    with pytest.raises(BadResponse):
        parse_ack(ClientEvent.INVITE, raw, CallAck)


def test_pushed_events_are_typed_and_malformed_ones_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = SignalingClient("http://voip.test", lambda: "t")
    seen: list[SignalEvent] = []
    client.set_listener(seen.append)
    client.on_pushed(ServerEvent.ENDED, {"call_id": "c1", "status": "MISSED"})
    client.on_pushed(
        ServerEvent.INCOMING,
        {"call": call_json(direction="incoming"), "ring_expires_at": "2026-11-24T12:00:30Z"},
    )
    with caplog.at_level(logging.WARNING):
        client.on_pushed(ServerEvent.ENDED, {"call_id": "c1", "status": "EXPLODED"})
        client.on_pushed(ServerEvent.INCOMING, "garbage")
    assert [type(e) for e in seen] == [Ended, Incoming]
    assert "dropping malformed ended" in caplog.text


def test_a_failing_listener_does_not_break_the_client(caplog: pytest.LogCaptureFixture) -> None:
    client = SignalingClient("http://voip.test", lambda: "t", device_id="dev-7")

    def broken(event: SignalEvent) -> None:
        raise RuntimeError("boom")

    client.set_listener(broken)
    with caplog.at_level(logging.ERROR):
        client.on_pushed(ServerEvent.RINGING, {"call_id": "c1"})
    assert "signaling listener failed" in caplog.text
    assert client.auth() == {"token": "t", "device_id": "dev-7"}


async def test_a_token_refused_on_reconnect_stops_the_client_for_good() -> None:
    client = SignalingClient("http://voip.test", lambda: "t")
    seen: list[SignalEvent] = []
    client.set_listener(seen.append)
    client.on_connect()  # it was connected once (its sync after connecting fails: no server)
    client.on_connect_error("Cannot connect to host voip.test")  # network trouble: keep trying
    assert seen == []
    assert not client.stopped.is_set()
    client.on_connect_error({"message": "unauthorized: token expired"})
    assert seen == [AuthRefused("unauthorized: token expired")]
    await asyncio.wait_for(client.stopped.wait(), 5)
    await client.disconnect()


class UnansweredSocket:
    """A connected python-socketio client whose requests are never answered."""

    def __init__(self) -> None:
        self.namespaces = {NAMESPACE: "sid"}
        self.asked = asyncio.Event()

    def on(self, *args: Any, **kwargs: Any) -> None:
        return None

    async def call(self, *args: Any, **kwargs: Any) -> Any:
        self.asked.set()
        await asyncio.Event().wait()  # never answered

    async def disconnect(self) -> None:
        self.namespaces = {}

    async def shutdown(self) -> None:
        return None


async def test_a_request_waiting_for_its_ack_fails_at_once_when_the_link_drops() -> None:
    socket = UnansweredSocket()
    client = SignalingClient("http://voip.test", lambda: "t", ack_timeout_s=60, socket=socket)
    seen: list[SignalEvent] = []
    client.set_listener(seen.append)
    invite = asyncio.create_task(client.invite("u-bob", "r1"))
    await asyncio.wait_for(socket.asked.wait(), 5)
    assert client.requests_waiting == 1
    client.on_disconnect("transport error")
    with pytest.raises(ServerUnreachable, match="connection lost during invite"):
        await asyncio.wait_for(invite, 5)
    assert seen == [LinkDown("transport error")]  # the engine hears of the drop first
    assert client.requests_waiting == 0
    await client.disconnect()


class ClosedByServerSocket:
    """A python-socketio client whose link the server closed; the first ``failures`` connects
    find nothing answering."""

    def __init__(self, clock: FakeClock, failures: int) -> None:
        self.namespaces: dict[str, str] = {}
        self.attempts: list[float] = []
        self._clock, self._start, self._failures = clock, clock.now(), failures

    def on(self, *args: Any, **kwargs: Any) -> None:
        return None

    async def connect(self, *args: Any, **kwargs: Any) -> None:
        self.attempts.append((self._clock.now() - self._start).total_seconds())
        if len(self.attempts) <= self._failures:
            raise socketio.exceptions.ConnectionError("Cannot connect to host")
        self.namespaces = {NAMESPACE: "sid"}

    async def disconnect(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


async def test_a_link_the_server_closed_is_connected_again_with_backoff() -> None:
    """python-socketio reconnects after a dropped link but not after one the server closed;
    the client then connects again itself, 0.5 s doubling to 5 s between the tries."""
    clock = FakeClock()
    socket = ClosedByServerSocket(clock, failures=5)
    client = SignalingClient("http://voip.test", lambda: "t", socket=socket, clock=clock)
    client.on_disconnect("transport error")  # python-socketio's own loop repairs this one
    await asyncio.sleep(0)
    assert clock.sleepers == 0
    client.on_disconnect(socketio.AsyncClient.reason.SERVER_DISCONNECT)
    while len(socket.attempts) < 6:
        await clock.until_sleeping()
        clock.advance(0.5)
        for _ in range(3):
            await asyncio.sleep(0)
    assert socket.attempts == [0.5, 1.5, 3.5, 7.5, 12.5, 17.5]
    assert client.connected
    await client.disconnect()
