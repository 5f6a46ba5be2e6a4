"""``AndroidMediaSession``: the extension's events and errors in the media interface's terms.

What every implementation must do is in ``tests/media_contract``; this file covers what is
particular to the Android one (translation of odd values, the choice at start).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.android.fake_dart import (
    REFUSED_TOKEN_PREFIX,
    FakeFletClient,
    FakeLiveKitDart,
    FakePhone,
)
from voip_app.media.android import (
    AndroidMediaSession,
    platform_media_factory,
    running_on_android,
)
from voip_app.media.base import (
    AudioOutput,
    AudioOutputChanged,
    Connected,
    ConnectionQualityChanged,
    Disconnected,
    MediaError,
    MediaEvent,
    MediaSession,
    ParticipantConnected,
    ParticipantDisconnected,
    Reconnected,
    Reconnecting,
    TrackMuted,
)

APP_DIR = Path(__file__).resolve().parents[2] / "app"
URL = "wss://media.acme.test"
TOKEN = "a.b.c"
AT_THE_EAR = AudioOutputChanged(output=AudioOutput(id="automatic", name="Phone", kind="earpiece"))
"""The route every call here starts on, reported right after Connected."""


def session_and_dart(client: FakeFletClient) -> tuple[AndroidMediaSession, list[MediaEvent]]:
    events: list[MediaEvent] = []
    session = client.build(AndroidMediaSession)
    session.set_listener(events.append)
    return session, events


def dart(client: FakeFletClient, session: AndroidMediaSession) -> FakeLiveKitDart:
    service = client.dart_service(session.room._i)
    assert isinstance(service, FakeLiveKitDart)
    return service


async def test_is_a_media_session(client: FakeFletClient) -> None:
    assert isinstance(client.build(AndroidMediaSession), MediaSession)


async def test_every_room_event_becomes_a_media_event(client: FakeFletClient) -> None:
    session, events = session_and_dart(client)
    await session.connect(URL, TOKEN)
    fake = dart(client, session)
    await fake.peer_joins("bob")
    await fake.peer_mutes("bob", True)
    await fake.peer_mutes("bob", False)
    await fake.quality("bob", "excellent")
    await fake.network_drops()
    await fake.network_returns()
    await client.process_state(FakePhone).plug("wired", "Headset")
    await fake.peer_leaves("bob")
    await fake.server_ends("ROOM_DELETED")
    assert events == [
        Connected(),
        AT_THE_EAR,
        ParticipantConnected(identity="bob"),
        TrackMuted(identity="bob", muted=True),
        TrackMuted(identity="bob", muted=False),
        ConnectionQualityChanged(identity="bob", quality="excellent"),
        Reconnecting(),
        Reconnected(),
        AudioOutputChanged(output=AudioOutput(id="automatic", name="Headset", kind="wired")),
        ParticipantDisconnected(identity="bob"),
        Disconnected(reason="room_deleted"),
    ]


async def test_values_it_does_not_know_become_the_neutral_ones(client: FakeFletClient) -> None:
    session, events = session_and_dart(client)
    await session.connect(URL, TOKEN)
    fake = dart(client, session)
    await fake.quality("bob", "superb")
    await fake.emit("audio_output_changed", {"output_id": "x", "output_name": "X", "kind": "hdmi"})
    assert events[2:] == [
        ConnectionQualityChanged(identity="bob", quality="unknown"),
        AudioOutputChanged(output=AudioOutput(id="x", name="X", kind="system")),
    ]


async def test_a_listener_that_raises_is_logged_and_the_next_event_still_arrives(
    client: FakeFletClient, caplog: pytest.LogCaptureFixture
) -> None:
    session = client.build(AndroidMediaSession)
    seen: list[MediaEvent] = []

    def listener(event: MediaEvent) -> None:
        seen.append(event)
        if isinstance(event, Connected):
            raise RuntimeError("listener bug")

    session.set_listener(listener)
    with caplog.at_level(logging.ERROR, logger="voip_app.media.android"):
        await session.connect(URL, TOKEN)
    await dart(client, session).peer_joins("bob")
    assert seen == [Connected(), AT_THE_EAR, ParticipantConnected(identity="bob")]
    assert "listener bug" in caplog.text
    # the client fixture checks that nothing reached Flet as a crashed session


async def test_no_listener_no_problem(client: FakeFletClient) -> None:
    session = client.build(AndroidMediaSession)
    await session.connect(URL, TOKEN)
    session.set_listener(None)
    await dart(client, session).peer_joins("bob")


async def test_the_notification_text_reaches_the_dart_side(client: FakeFletClient) -> None:
    session = client.build(
        lambda: AndroidMediaSession(notification_title="Call with Bob", notification_text="Acme")
    )
    await session.connect(URL, TOKEN)
    assert client.process_state(FakePhone).notification == ("Call with Bob", "Acme")


async def test_bad_arguments_are_media_errors_fit_to_show(client: FakeFletClient) -> None:
    session, _ = session_and_dart(client)
    with pytest.raises(MediaError, match="Could not join the call's audio: url"):
        await session.connect("not a url", TOKEN)
    with pytest.raises(MediaError, match="Could not mute the microphone"):
        await session.set_microphone_enabled(0)  # type: ignore[arg-type]
    with pytest.raises(MediaError, match="Could not switch the audio output"):
        await session.select_audio_output("")
    assert client.calls == []


async def test_dart_failures_are_media_errors(client: FakeFletClient) -> None:
    session, events = session_and_dart(client)
    with pytest.raises(MediaError, match=r"Could not join the call's audio: .*401"):
        await session.connect(URL, REFUSED_TOKEN_PREFIX + TOKEN)
    with pytest.raises(MediaError, match=r"Could not switch the audio output: .*unknown"):
        await session.select_audio_output("hdmi")
    assert events == []


async def test_its_own_disconnect_is_not_reported_but_the_servers_is(
    client: FakeFletClient,
) -> None:
    session, events = session_and_dart(client)
    await session.connect(URL, TOKEN)
    await session.disconnect()
    assert events == [Connected(), AT_THE_EAR]
    await session.connect(URL, TOKEN)
    await dart(client, session).server_ends("room_deleted")
    assert events == [
        Connected(),
        AT_THE_EAR,
        Connected(),
        AT_THE_EAR,
        Disconnected(reason="room_deleted"),
    ]


async def test_a_session_built_outside_flet_registers_with_the_page_given(
    client: FakeFletClient,
) -> None:
    session = AndroidMediaSession(page=client.session.page)
    assert client.controls[session.room._i]["_c"] == "LiveKitRoom"
    await session.connect(URL, TOKEN)
    assert dart(client, session).room.connected


async def test_the_service_stays_registered_while_the_session_lives(
    client: FakeFletClient,
) -> None:
    session = client.build(AndroidMediaSession)
    await session.connect(URL, TOKEN)
    await dart(client, session).peer_joins("bob")  # each event ends with Flet's service sweep
    assert session.room in client.session.page._services._services


def desktop_factory(prefs: object) -> MediaSession:
    raise AssertionError("the desktop media factory must not run here")


def test_off_android_the_desktop_factory_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAIN_ACTIVITY_HOST_CLASS_NAME", raising=False)
    assert not running_on_android()
    assert platform_media_factory(desktop_factory) is desktop_factory
    assert platform_media_factory(desktop_factory, android=False) is desktop_factory


async def test_on_android_every_join_gets_an_extension_session(
    client: FakeFletClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAIN_ACTIVITY_HOST_CLASS_NAME", "com.flet.serious_python_android")
    assert running_on_android()
    factory = platform_media_factory(desktop_factory, client.session.page)
    first, second = factory(object()), factory(object())
    assert isinstance(first, AndroidMediaSession)
    assert isinstance(second, AndroidMediaSession)
    assert first.room is not second.room
    assert client.controls[first.room._i]["_c"] == "LiveKitRoom"


def test_desktop_bundles_import_the_chooser_without_the_extension() -> None:
    # A desktop `flet build` does not ship flet-livekit; the app still imports this module.
    script = (
        "import sys; sys.modules['flet_livekit'] = None\n"
        "from voip_app.media.android import platform_media_factory\n"
        "desktop = lambda prefs: 'desktop session'\n"
        "print(platform_media_factory(desktop, android=False)(None))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(APP_DIR), *sys.path])},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "desktop session"
