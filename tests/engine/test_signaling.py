"""The signaling client's edges without a server: acks, pushed events, listener faults."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from tests.engine.fakes import call_json
from voip_app.errors import BadResponse, RequestRefused, ServerUnreachable, Unauthorized
from voip_app.signaling import (
    AuthRefused,
    LinkDown,
    SignalEvent,
    SignalingClient,
    _CallsAck,
    _EmptyAck,
    _parse_ack,
)
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
    ack = _parse_ack(ClientEvent.INVITE, {"ok": True, "call": call_json()}, _CallsAck)
    assert ack.call.id == "c1"
    token = _parse_ack(
        ClientEvent.ACCEPT,
        {"ok": True, "livekit_url": "ws://x", "room_name": "r", "token": "t"},
        RoomToken,
    )
    assert token.token == "t"


def test_a_refusal_carries_the_contract_code() -> None:
    raw = {"ok": False, "error": {"code": "busy", "message": "callee busy"}}
    with pytest.raises(RequestRefused) as info:
        _parse_ack(ClientEvent.INVITE, raw, _CallsAck)
    assert info.value.code is ErrorCode.BUSY
    assert info.value.server_message == "callee busy"
    with pytest.raises(Unauthorized):
        _parse_ack(ClientEvent.SYNC, {"ok": False, "error": {"code": "unauthorized"}}, _EmptyAck)


@pytest.mark.parametrize(
    "raw", [None, "ok", [], {"ok": "yes"}, {"ok": True, "call": {"id": 5}}, {"call": {}}]
)
def test_acks_outside_the_contract_are_bad_responses(raw: Any) -> None:
    with pytest.raises(BadResponse):
        _parse_ack(ClientEvent.INVITE, raw, _CallsAck)


def test_pushed_events_are_typed_and_malformed_ones_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = SignalingClient("http://voip.test", lambda: "t")
    seen: list[SignalEvent] = []
    client.set_listener(seen.append)
    client._pushed_handler(ServerEvent.ENDED)({"call_id": "c1", "status": "MISSED"})
    client._pushed_handler(ServerEvent.INCOMING)(
        {"call": call_json(direction="incoming"), "ring_expires_at": "2026-11-24T12:00:30Z"}
    )
    with caplog.at_level(logging.WARNING):
        client._pushed_handler(ServerEvent.ENDED)({"call_id": "c1", "status": "EXPLODED"})
        client._pushed_handler(ServerEvent.INCOMING)("garbage")
    assert [type(e) for e in seen] == [Ended, Incoming]
    assert "dropping malformed ended" in caplog.text


def test_a_failing_listener_does_not_break_the_client(caplog: pytest.LogCaptureFixture) -> None:
    client = SignalingClient("http://voip.test", lambda: "t", device_id="dev-7")

    def broken(event: SignalEvent) -> None:
        raise RuntimeError("boom")

    client.set_listener(broken)
    with caplog.at_level(logging.ERROR):
        client._pushed_handler(ServerEvent.RINGING)({"call_id": "c1"})
    assert "signaling listener failed" in caplog.text
    assert client._auth() == {"token": "t", "device_id": "dev-7"}


async def test_a_token_refused_on_reconnect_stops_the_client_for_good() -> None:
    client = SignalingClient("http://voip.test", lambda: "t")
    seen: list[SignalEvent] = []
    client.set_listener(seen.append)
    client._connected_once = True
    client._on_connect_error("Cannot connect to host voip.test")  # network trouble: keep trying
    assert seen == []
    assert not client.stopped.is_set()
    client._on_connect_error({"message": "unauthorized: token expired"})
    assert seen == [AuthRefused("unauthorized: token expired")]
    await asyncio.wait_for(client.stopped.wait(), 5)
    await client.disconnect()


async def test_a_request_waiting_for_its_ack_fails_at_once_when_the_link_drops() -> None:
    client = SignalingClient("http://voip.test", lambda: "t", ack_timeout_s=60)
    seen: list[SignalEvent] = []
    client.set_listener(seen.append)
    never = asyncio.Event()

    async def unanswered(*args: Any, **kwargs: Any) -> Any:
        await never.wait()

    client._sio.namespaces = {NAMESPACE: "sid"}
    client._sio.call = unanswered
    invite = asyncio.create_task(client.invite("u-bob", "r1"))
    await asyncio.sleep(0)
    assert not invite.done()
    client._on_disconnect("transport error")
    with pytest.raises(ServerUnreachable, match="connection lost during invite"):
        await asyncio.wait_for(invite, 5)
    assert seen == [LinkDown("transport error")]  # the engine hears of the drop first
    assert client._link_lost == set()
    client._sio.namespaces = {}
    await client.disconnect()
