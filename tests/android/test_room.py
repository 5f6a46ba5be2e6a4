"""``flet_livekit.LiveKitRoom``: what it sends to the Dart side and what it makes of the answers."""

from __future__ import annotations

from typing import Any, ClassVar

import flet as ft
import flet_livekit.room
import pytest
from flet_livekit import (
    AudioOutputChangedEvent,
    AudioOutputInfo,
    ConnectionQualityEvent,
    DisconnectedEvent,
    LiveKitError,
    LiveKitProtocolError,
    LiveKitRoom,
    ParticipantEvent,
    RoomEvent,
    TrackMutedEvent,
)

from tests.android.fake_dart import (
    REFUSED_TOKEN_PREFIX,
    DartError,
    FakeDartService,
    FakeFletClient,
    FakeLiveKitDart,
    FakePhone,
)

URL = "ws://10.200.0.1:7880"
TOKEN = "header.payload.signature"
EVENT_NAMES = (
    "connected",
    "reconnecting",
    "reconnected",
    "disconnected",
    "participant_connected",
    "participant_disconnected",
    "track_muted",
    "connection_quality",
    "audio_output_changed",
)


class Recorder:
    """Every ``on_*`` handler of a room, appending the typed Flet events it receives."""

    def __init__(self) -> None:
        self.events: list[ft.Event[Any]] = []

    def handlers(self) -> dict[str, Any]:
        return {f"on_{name}": self.events.append for name in EVENT_NAMES}

    def names(self) -> list[str]:
        return [e.name for e in self.events]


def room_with_recorder(client: FakeFletClient, **props: Any) -> tuple[LiveKitRoom, Recorder]:
    recorder = Recorder()
    room = client.build(lambda: LiveKitRoom(**props, **recorder.handlers()))
    return room, recorder


def dart(client: FakeFletClient, room: LiveKitRoom) -> FakeLiveKitDart:
    service = client.dart_service(room._i)
    assert isinstance(service, FakeLiveKitDart)
    return service


def phone(client: FakeFletClient) -> FakePhone:
    return client.process_state(FakePhone)


EARPIECE = AudioOutputInfo(id="automatic", name="Phone", kind="earpiece")
SPEAKER = AudioOutputInfo(id="speaker", name="Speaker", kind="speaker")


async def test_registers_with_its_props_and_every_handler(client: FakeFletClient) -> None:
    room, _ = room_with_recorder(client, notification_title="Call with Bob")
    serialized = client.controls[room._i]
    assert serialized["_c"] == "LiveKitRoom"
    assert serialized["notification_title"] == "Call with Bob"
    assert all(serialized.get(f"on_{name}") is True for name in EVENT_NAMES)


async def test_connect_sends_url_and_token_and_the_room_reports_connected(
    client: FakeFletClient,
) -> None:
    room, recorder = room_with_recorder(client, notification_text="Bob")
    await room.connect(URL, TOKEN)
    assert [(c.name, c.args) for c in client.calls] == [("connect", {"url": URL, "token": TOKEN})]
    # connected, then the route the call starts on: the earpiece, as a phone call does
    assert recorder.names() == ["connected", "audio_output_changed"]
    event, route = recorder.events
    assert isinstance(event, RoomEvent)
    assert event.control is room
    assert isinstance(route, AudioOutputChangedEvent)
    assert (route.output_id, route.output_name, route.kind) == ("automatic", "Phone", "earpiece")
    state = dart(client, room).room
    assert state.connected
    assert state.microphone_live
    assert phone(client).service_running
    assert phone(client).notification == ("Call in progress", "Bob")
    assert phone(client).proximity_lock


async def test_proximity_screen_off_can_be_turned_off(client: FakeFletClient) -> None:
    room, _ = room_with_recorder(client, proximity_screen_off=False)
    await room.connect(URL, TOKEN)
    assert client.controls[room._i]["proximity_screen_off"] is False
    assert not phone(client).proximity_lock


@pytest.mark.parametrize(
    ("url", "token"),
    [
        ("", TOKEN),
        ("ftp://10.200.0.1", TOKEN),
        ("ws://", TOKEN),
        ("10.200.0.1:7880", TOKEN),
        ("ws://h/" + "x" * 3000, TOKEN),
        (URL, ""),
        (URL, "   "),
        (URL, "t" * (flet_livekit.room.TOKEN_MAX + 1)),
        (None, TOKEN),
        (URL, None),
    ],
)
async def test_connect_refuses_bad_arguments_and_sends_nothing(
    client: FakeFletClient, url: Any, token: Any
) -> None:
    room, recorder = room_with_recorder(client)
    with pytest.raises(ValueError, match=r"url|token"):
        await room.connect(url, token)
    assert client.calls == []
    assert recorder.events == []


async def test_a_refused_join_raises_with_the_sdk_message_and_reports_nothing(
    client: FakeFletClient,
) -> None:
    room, recorder = room_with_recorder(client)
    with pytest.raises(LiveKitError, match="401 unauthorized"):
        await room.connect(URL, REFUSED_TOKEN_PREFIX + TOKEN)
    assert recorder.events == []
    assert not dart(client, room).room.connected
    assert not phone(client).service_running


async def test_disconnect_reports_the_reason_once_and_is_safe_twice(
    client: FakeFletClient,
) -> None:
    room, recorder = room_with_recorder(client)
    await room.connect(URL, TOKEN)
    await room.disconnect()
    await room.disconnect()
    assert recorder.names() == ["connected", "audio_output_changed", "disconnected"]
    event = recorder.events[-1]
    assert isinstance(event, DisconnectedEvent)
    assert event.reason == "client_initiated"
    assert [c.name for c in client.calls] == ["connect", "disconnect", "disconnect"]
    assert not dart(client, room).room.microphone_live
    assert not phone(client).service_running
    assert not phone(client).proximity_lock


async def test_microphone_mute_and_unmute_reach_the_room(client: FakeFletClient) -> None:
    room, _ = room_with_recorder(client)
    await room.connect(URL, TOKEN)
    await room.set_microphone_enabled(False)
    assert not dart(client, room).room.microphone_enabled
    await room.set_microphone_enabled(True)
    assert dart(client, room).room.microphone_enabled
    assert [c.args for c in client.calls_named("set_microphone_enabled")] == [
        {"enabled": False},
        {"enabled": True},
    ]


@pytest.mark.parametrize("enabled", [0, 1, "false", None])
async def test_microphone_refuses_a_non_bool(client: FakeFletClient, enabled: Any) -> None:
    room, _ = room_with_recorder(client)
    with pytest.raises(ValueError, match="bool"):
        await room.set_microphone_enabled(enabled)
    assert client.calls == []


async def test_a_microphone_muted_before_the_join_joins_muted(client: FakeFletClient) -> None:
    room, _ = room_with_recorder(client)
    await room.set_microphone_enabled(False)
    await room.connect(URL, TOKEN)
    assert dart(client, room).room.connected
    assert not dart(client, room).room.microphone_published


async def test_lists_and_selects_audio_outputs(client: FakeFletClient) -> None:
    room, recorder = room_with_recorder(client)
    await room.connect(URL, TOKEN)
    outputs = await room.list_audio_outputs()
    assert outputs == [EARPIECE, SPEAKER]
    chosen = await room.select_audio_output("speaker")
    assert chosen == SPEAKER
    assert phone(client).speaker_forced
    event = recorder.events[-1]
    assert isinstance(event, AudioOutputChangedEvent)
    assert (event.output_id, event.output_name, event.kind) == ("speaker", "Speaker", "speaker")
    assert await room.select_audio_output("automatic") == EARPIECE
    assert not phone(client).speaker_forced
    assert recorder.events[-1].kind == "earpiece"  # type: ignore[attr-defined]


async def test_an_unknown_output_is_refused_and_the_route_stays(client: FakeFletClient) -> None:
    room, recorder = room_with_recorder(client)
    await room.connect(URL, TOKEN)
    with pytest.raises(LiveKitError, match="unknown audio output"):
        await room.select_audio_output("bluetooth-1")
    assert phone(client).route()["kind"] == "earpiece"
    assert recorder.names() == ["connected", "audio_output_changed"]


@pytest.mark.parametrize("output_id", ["", None, 3, "x" * 129])
async def test_select_refuses_a_bad_output_id(client: FakeFletClient, output_id: Any) -> None:
    room, _ = room_with_recorder(client)
    with pytest.raises(ValueError, match="output_id"):
        await room.select_audio_output(output_id)
    assert client.calls == []


async def test_headsets_and_bluetooth_show_up_and_take_the_route(client: FakeFletClient) -> None:
    room, recorder = room_with_recorder(client)
    await room.connect(URL, TOKEN)
    await phone(client).plug("bluetooth", "Jabra Evolve")
    event = recorder.events[-1]
    assert isinstance(event, AudioOutputChangedEvent)
    assert (event.output_id, event.output_name, event.kind) == (
        "automatic",
        "Jabra Evolve",
        "bluetooth",
    )
    assert await room.list_audio_outputs() == [
        AudioOutputInfo(id="automatic", name="Jabra Evolve", kind="bluetooth"),
        SPEAKER,
    ]


async def test_room_events_arrive_typed(client: FakeFletClient) -> None:
    room, recorder = room_with_recorder(client)
    await room.connect(URL, TOKEN)
    fake = dart(client, room)
    await fake.peer_joins("bob@acme.test")
    await fake.peer_mutes("bob@acme.test", True)
    await fake.quality("bob@acme.test", "poor")
    await fake.network_drops()
    await fake.network_returns()
    await fake.peer_leaves("bob@acme.test")
    await fake.server_ends("room_deleted")
    assert recorder.names() == [
        "connected",
        "audio_output_changed",
        "participant_connected",
        "track_muted",
        "connection_quality",
        "reconnecting",
        "reconnected",
        "participant_disconnected",
        "disconnected",
    ]
    joined, muted, quality, _, _, left, ended = recorder.events[2:]
    assert isinstance(joined, ParticipantEvent)
    assert joined.identity == "bob@acme.test"
    assert isinstance(muted, TrackMutedEvent)
    assert (muted.identity, muted.muted) == ("bob@acme.test", True)
    assert isinstance(quality, ConnectionQualityEvent)
    assert quality.quality == "poor"
    assert isinstance(left, ParticipantEvent)
    assert isinstance(ended, DisconnectedEvent)
    assert ended.reason == "room_deleted"


async def test_only_events_with_a_handler_are_sent(client: FakeFletClient) -> None:
    seen: list[ft.Event[Any]] = []
    room = client.build(lambda: LiveKitRoom(on_connected=seen.append))
    await room.connect(URL, TOKEN)
    assert not await dart(client, room).peer_joins("bob@acme.test")
    assert [e.name for e in seen] == ["connected"]


async def test_a_handler_set_later_takes_effect_after_update(client: FakeFletClient) -> None:
    seen: list[ft.Event[Any]] = []
    room = client.build(lambda: LiveKitRoom())
    await room.connect(URL, TOKEN)
    room.on_participant_connected = seen.append
    room.update()
    assert await dart(client, room).peer_joins("bob@acme.test")
    assert [e.name for e in seen] == ["participant_connected"]


class GarbledDart(FakeDartService):
    """A Dart side that answers with shapes the Python side must refuse."""

    answers: ClassVar[list[Any]] = []

    async def invoke(self, name: str, args: Any) -> Any:
        return self.answers.pop(0)


@pytest.mark.parametrize(
    "answer",
    [
        None,
        {"id": "speaker"},
        [{"id": "speaker", "name": "Speaker"}],
        [{"id": "speaker", "name": "Speaker", "kind": "hdmi"}],
        [{"id": "", "name": "Speaker", "kind": "speaker"}],
        [{"id": "speaker", "name": 5, "kind": "speaker"}],
        ["speaker"],
    ],
)
async def test_garbled_answers_are_protocol_errors(answer: Any) -> None:
    client = FakeFletClient({"LiveKitRoom": GarbledDart})
    try:
        room = client.build(LiveKitRoom)
        GarbledDart.answers = [answer]
        with pytest.raises(LiveKitProtocolError):
            await room.list_audio_outputs()
    finally:
        await client.close()


class SilentDart(FakeDartService):
    """A Dart side that never answers (a hung plugin)."""

    async def invoke(self, name: str, args: Any) -> Any:
        await __import__("asyncio").Event().wait()


async def test_no_answer_times_out_as_a_livekit_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(flet_livekit.room, "CALL_TIMEOUT_S", 0.05)
    client = FakeFletClient({"LiveKitRoom": SilentDart})
    try:
        room = client.build(LiveKitRoom)
        with pytest.raises(LiveKitError, match="no answer"):
            await room.disconnect()
    finally:
        await client.close()


async def test_unknown_methods_are_refused_by_the_dart_side(client: FakeFletClient) -> None:
    room = client.build(LiveKitRoom)
    with pytest.raises(LiveKitError, match="Unknown LiveKitRoom method"):
        await room._call("start_video", None, 1.0)


async def test_a_room_outside_any_page_fails_cleanly() -> None:
    room = LiveKitRoom()
    with pytest.raises(LiveKitError, match="page"):
        await room.disconnect()


def test_dart_errors_are_plain_text() -> None:
    assert str(DartError("boom")) == "boom"
