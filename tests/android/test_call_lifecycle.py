"""A call's life on the phone: joins cut short, refusals, the phone's shared state, the route.

Each test is a defect a device would show, played on the fake Dart side (which follows
room_service.dart step by step, see ``fake_dart.py``) under the app's real ``AndroidMediaSession``:
a hang-up while the call is still connecting, a foreground service Android refuses, an old call's
service swept while the next call runs, a route that changes before the join ends, the proximity
lock with the speaker or a headset.
"""

from __future__ import annotations

import asyncio
import gc

import flet_livekit.room
import pytest
from flet_livekit import LiveKitError, LiveKitRoom

from tests.android.fake_dart import (
    JOIN_STEPS,
    FakeFletClient,
    FakeLiveKitDart,
    FakePhone,
    wait_until,
)
from tests.android.fake_phone import JoinStep
from voip_app.media.android import AndroidMediaSession
from voip_app.media.base import (
    AudioOutput,
    AudioOutputChanged,
    Connected,
    MediaError,
    MediaEvent,
)

URL = "wss://media.acme.test"
TOKEN = "a.b.c"
EARPIECE = AudioOutput(id="automatic", name="Phone", kind="earpiece")
SPEAKER = AudioOutput(id="speaker", name="Speaker", kind="speaker")


def phone(client: FakeFletClient) -> FakePhone:
    return client.process_state(FakePhone)


def dart_of(client: FakeFletClient, room: LiveKitRoom) -> FakeLiveKitDart:
    service = client.dart_service(room._i)
    assert isinstance(service, FakeLiveKitDart)
    return service


def listening(client: FakeFletClient) -> tuple[AndroidMediaSession, list[MediaEvent]]:
    events: list[MediaEvent] = []
    session = client.build(AndroidMediaSession)
    session.set_listener(events.append)
    return session, events


def assert_nothing_held(client: FakeFletClient, dart: FakeLiveKitDart) -> None:
    assert not dart.room.joined, "the room is still joined"
    assert not dart.room.microphone_live, "the microphone is still live"
    assert not phone(client).service_running, "the foreground service still runs"
    assert not phone(client).proximity_lock, "the proximity lock is still held"


@pytest.mark.parametrize("step", JOIN_STEPS)
async def test_a_hang_up_while_joining_releases_the_room_and_the_microphone(
    client: FakeFletClient, step: JoinStep
) -> None:
    session, events = listening(client)
    dart = dart_of(client, session.room)
    gate = phone(client).hold(step)
    joining = asyncio.ensure_future(session.connect(URL, TOKEN))
    await wait_until(lambda: step in phone(client).reached, f"the join reached {step}")
    # What the engine does on a hang-up while connecting: cancel its join, then disconnect.
    joining.cancel()
    await session.disconnect()
    assert dart.join is not None
    assert dart.join.cancelled
    gate.set()  # the step that was running finishes; the join notices and lets go
    await wait_until(lambda: dart.join is None, "the join ended")
    assert_nothing_held(client, dart)
    assert events == []
    assert not any(e.name == "connected" for e in client.events)
    with pytest.raises(asyncio.CancelledError):
        await joining


async def test_a_join_that_times_out_in_python_is_left(
    client: FakeFletClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flet_livekit.room, "CONNECT_TIMEOUT_S", 0.05)
    room = client.build(LiveKitRoom)
    dart = dart_of(client, room)
    gate = phone(client).hold("room_connect")
    with pytest.raises(LiveKitError, match="no answer from the app"):
        await room.connect(URL, TOKEN)
    assert [c.name for c in client.calls] == ["connect", "disconnect"]
    gate.set()
    await wait_until(lambda: dart.join is None, "the join ended")
    assert_nothing_held(client, dart)


async def test_a_service_disposed_while_joining_lets_go_without_touching_the_next_call(
    client: FakeFletClient,
) -> None:
    first = client.build(LiveKitRoom)
    first_dart = dart_of(client, first)
    gate = phone(client).hold("room_connect")
    joining = asyncio.ensure_future(first.connect(URL, TOKEN))
    await wait_until(lambda: "room_connect" in phone(client).reached, "the first join waits")
    joining.cancel()
    await asyncio.gather(joining, return_exceptions=True)
    del first, joining

    second, events = listening(client)
    second_dart = dart_of(client, second.room)
    # A cyclic GC (registration leaves a cycle of snapshots behind); then Flet sweeps, after the
    # next event, every service nothing references any more.
    gc.collect()
    gate.set()  # the first join and the second call both pass the SFU step now
    await second.connect(URL, TOKEN)  # its events end with Flet's sweep of the first
    await wait_until(lambda: first_dart.disposed, "the first service was disposed")
    await wait_until(lambda: first_dart.join is None, "the first join ended")

    assert not first_dart.room.joined
    assert not first_dart.room.microphone_live
    assert second_dart.room.microphone_live
    assert phone(client).service_running, "the old join stopped the current call's service"
    assert phone(client).proximity_lock
    assert events == [Connected(), AudioOutputChanged(EARPIECE)]


async def test_an_old_calls_service_swept_mid_call_leaves_the_route_events_to_the_new_one(
    client: FakeFletClient,
) -> None:
    old = client.build(LiveKitRoom)
    await old.connect(URL, TOKEN)
    await old.disconnect()
    old_dart = dart_of(client, old)
    del old
    current, events = listening(client)
    gc.collect()
    await current.connect(URL, TOKEN)
    await wait_until(lambda: old_dart.disposed, "the old service was swept")
    await phone(client).plug("bluetooth", "Jabra Evolve")
    assert phone(client).route_watched
    assert events[-1] == AudioOutputChanged(
        AudioOutput(id="automatic", name="Jabra Evolve", kind="bluetooth")
    )


async def test_a_refused_foreground_service_is_an_error_not_a_crash(
    client: FakeFletClient,
) -> None:
    session, events = listening(client)
    dart = dart_of(client, session.room)
    phone(
        client
    ).refuse_foreground_start = (
        "ForegroundServiceStartNotAllowedException: startForegroundService() not allowed"
    )
    with pytest.raises(MediaError, match="Android refused the call's foreground service") as err:
        await session.connect(URL, TOKEN)
    assert "Exception: could not join" not in str(err.value)  # Dart's prefix is dropped
    assert events == []
    assert_nothing_held(client, dart)
    assert phone(client).service_starts == 0
    await session.connect(URL, TOKEN)  # Android allows it again: the call goes ahead
    assert dart.room.microphone_live


async def test_a_revoked_microphone_is_an_error_before_anything_starts(
    client: FakeFletClient,
) -> None:
    session, events = listening(client)
    phone(client).record_audio_granted = False
    with pytest.raises(MediaError, match="microphone permission is not granted"):
        await session.connect(URL, TOKEN)
    assert events == []
    assert_nothing_held(client, dart_of(client, session.room))


async def test_a_route_that_changed_during_the_join_is_the_one_reported(
    client: FakeFletClient,
) -> None:
    session, events = listening(client)
    gate = phone(client).hold("room_connect")
    joining = asyncio.ensure_future(session.connect(URL, TOKEN))
    await wait_until(lambda: "room_connect" in phone(client).reached, "the join waits")
    await phone(client).plug("wired", "Headset")
    gate.set()
    await joining
    headset = AudioOutput(id="automatic", name="Headset", kind="wired")
    assert events == [Connected(), AudioOutputChanged(headset)]
    assert not phone(client).proximity_lock  # a headset: the phone is not at the ear


async def test_the_proximity_lock_is_held_only_while_the_call_is_at_the_earpiece(
    client: FakeFletClient,
) -> None:
    session, events = listening(client)
    await session.connect(URL, TOKEN)
    held = [phone(client).proximity_lock]
    await session.select_audio_output("speaker")
    held.append(phone(client).proximity_lock)
    await session.select_audio_output("automatic")
    held.append(phone(client).proximity_lock)
    await phone(client).plug("bluetooth", "Jabra Evolve")
    held.append(phone(client).proximity_lock)
    await phone(client).unplug("Jabra Evolve")
    held.append(phone(client).proximity_lock)
    assert held == [True, False, True, False, True]
    assert [e for e in events if isinstance(e, AudioOutputChanged)][:3] == [
        AudioOutputChanged(EARPIECE),
        AudioOutputChanged(SPEAKER),
        AudioOutputChanged(EARPIECE),
    ]


async def test_the_speaker_choice_holds_when_a_headset_arrives(client: FakeFletClient) -> None:
    # LiveKit's audioswitch owns the route; a forced speaker is the one choice it keeps.
    session, events = listening(client)
    await session.connect(URL, TOKEN)
    await session.select_audio_output("speaker")
    await phone(client).plug("wired", "Headset")
    assert events[-1] == AudioOutputChanged(SPEAKER)
    assert [o.id for o in await session.list_audio_outputs()] == ["automatic", "speaker"]


async def test_a_mute_during_the_join_joins_muted(client: FakeFletClient) -> None:
    session, _ = listening(client)
    dart = dart_of(client, session.room)
    gate = phone(client).hold("room_connect")
    joining = asyncio.ensure_future(session.connect(URL, TOKEN))
    await wait_until(lambda: "room_connect" in phone(client).reached, "the join waits")
    await session.set_microphone_enabled(False)
    gate.set()
    await joining
    assert dart.room.joined
    assert not dart.room.microphone_live
