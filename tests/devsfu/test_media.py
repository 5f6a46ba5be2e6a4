"""Two real ``livekit`` SDK clients talking through a real devsfu process.

Runs in the test process's private network namespace: devsfu listens on ``netns.HOST_A`` and
the clients connect to ``ws://10.200.0.1:<port>``. The SDK joins by ``/rtc/v1`` (one peer
connection). devsfu's ``/rtc`` is run end to end by livekit-client 2.16.1 (``tests/jssdk``), not
by this SDK: sessions of its two paths in one process (``single_peer_connection=False`` after
``/rtc/v1`` sessions) sometimes left a later ``AudioStream`` without frames although RTP reached
the client (livekit 1.2.1; seen in the full suite's order only), and a process uses one path.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from livekit import api, rtc
from livekit.protocol import room as room_pb

from tests.devsfu.conftest import WebhookSink
from tests.devsfu.tones import (
    TONE_HZ,
    ToneSource,
    dominant_hz,
    expected_tone_dbfs,
    record,
    rms_dbfs,
)
from tests.support import netns
from tests.support.devsfu import DevSfu, running_devsfu, stop_devsfu

pytestmark = pytest.mark.media

EVENT_TIMEOUT_S = 15.0
SILENCE_DBFS = -50.0
LEVEL_TOLERANCE_DB = 3.0


def token(
    sfu: DevSfu,
    identity: str,
    room: str,
    *,
    secret: str | None = None,
    ttl: datetime.timedelta = datetime.timedelta(minutes=10),
) -> str:
    return (
        api.AccessToken(sfu.api_key, secret or sfu.api_secret)
        .with_identity(identity)
        .with_name(identity.title())
        .with_grants(api.VideoGrants(room_join=True, room=room))
        .with_ttl(ttl)
        .to_jwt()
    )


class Client:
    """One SDK participant and the events the tests wait for."""

    def __init__(self, identity: str) -> None:
        self.identity = identity
        self.room = rtc.Room()
        self.subscribed: asyncio.Queue[rtc.RemoteTrackPublication] = asyncio.Queue()
        self.muted = asyncio.Event()
        self.unmuted = asyncio.Event()
        self.disconnected = asyncio.Event()
        self.disconnect_reason: int | None = None
        self.audio: rtc.RemoteAudioTrack | None = None
        self.room.on("track_subscribed", self._on_subscribed)
        self.room.on("track_muted", lambda p, pub: self.muted.set())
        self.room.on("track_unmuted", lambda p, pub: self.unmuted.set())
        self.room.on("disconnected", self._on_disconnected)

    def _on_disconnected(self, reason: int) -> None:
        self.disconnect_reason = reason
        self.disconnected.set()

    def _on_subscribed(
        self,
        track: rtc.Track,
        publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> None:
        if isinstance(track, rtc.RemoteAudioTrack):
            self.audio = track
            self.subscribed.put_nowait(publication)

    async def connect(self, sfu: DevSfu, room: str) -> None:
        await self.room.connect(sfu.url, token(sfu, self.identity, room))

    async def audio_stream(self) -> rtc.AudioStream:
        await asyncio.wait_for(self.subscribed.get(), EVENT_TIMEOUT_S)
        assert self.audio is not None
        return rtc.AudioStream(self.audio, sample_rate=48_000, num_channels=1)


@pytest.fixture(scope="module")
def sfu(webhooks: WebhookSink) -> Iterator[DevSfu]:
    """devsfu as the call server uses it: rooms exist only once RoomService created them."""
    with running_devsfu(host=netns.HOST_A, webhook_url=webhooks.url, auto_create=False) as server:
        yield server


@pytest.fixture
async def lkapi(sfu: DevSfu) -> AsyncIterator[api.LiveKitAPI]:
    client = api.LiveKitAPI(sfu.http_url, sfu.api_key, sfu.api_secret)
    yield client
    await client.aclose()


@pytest.fixture
async def clients() -> AsyncIterator[list[Client]]:
    made: list[Client] = []
    yield made
    for client in made:
        await client.room.disconnect()


@pytest.fixture
async def room_name(lkapi: api.LiveKitAPI) -> str:
    name = f"call-{uuid.uuid4().hex[:8]}"
    await lkapi.room.create_room(
        room_pb.CreateRoomRequest(
            name=name, max_participants=2, empty_timeout=30, departure_timeout=1
        )
    )
    return name


async def _pair(sfu: DevSfu, room: str, clients: list[Client]) -> tuple[Client, Client]:
    alice, bob = Client("alice"), Client("bob")
    clients += [alice, bob]
    await alice.connect(sfu, room)
    await bob.connect(sfu, room)
    return alice, bob


async def _tone_level(stream: rtc.AudioStream, seconds: float = 0.5) -> tuple[float, float]:
    samples = await record(stream, seconds)
    return dominant_hz(samples), rms_dbfs(samples)


async def _await_level(
    stream: rtc.AudioStream, predicate_db: float, *, below: bool, within_s: float = 5.0
) -> float:
    """Record 100 ms windows until one is below (or above) ``predicate_db``; return its level."""
    level = 0.0
    for _ in range(int(within_s * 10)):
        level = rms_dbfs(await record(stream, 0.1))
        if (level < predicate_db) if below else (level > predicate_db):
            return level
    return level


def _joins(sfu: DevSfu, identity: str) -> list[str]:
    return re.findall(rf"\b{re.escape(identity)} joined by (\S+)", sfu.log_text())


async def test_the_sdk_joins_by_rtc_v1_at_the_first_try(
    sfu: DevSfu, room_name: str, clients: list[Client], caplog: pytest.LogCaptureFixture
) -> None:
    identity = f"first-{uuid.uuid4().hex[:6]}"
    client = Client(identity)
    clients.append(client)
    with caplog.at_level(logging.WARNING, logger="livekit"):
        await client.connect(sfu, room_name)
    assert _joins(sfu, identity) == ["/rtc/v1"]
    # The SDK logs each failed attempt ("signal connection failed on v1 path", "falling back").
    assert [r.getMessage() for r in caplog.records if r.name.startswith("livekit")] == []


async def test_tone_reaches_the_other_participant(
    sfu: DevSfu, room_name: str, clients: list[Client]
) -> None:
    alice, bob = await _pair(sfu, room_name, clients)
    tone = ToneSource()
    try:
        await tone.publish(alice.room)
        stream = await bob.audio_stream()
        await _await_level(stream, -30.0, below=False)  # the tone has started
        hz, level = await _tone_level(stream)
        await stream.aclose()
    finally:
        await tone.aclose()
    assert abs(hz - TONE_HZ) < 5.0
    assert abs(level - expected_tone_dbfs()) < LEVEL_TOLERANCE_DB
    assert list(bob.room.remote_participants) == ["alice"]
    assert _joins(sfu, "bob")[-1] == "/rtc/v1"


async def test_a_fourth_track_gets_a_section_of_its_own(
    sfu: DevSfu, room_name: str, clients: list[Client]
) -> None:
    # The SDK's first /rtc/v1 offer holds three receive sections: devsfu asks for a fourth.
    alice, bob = await _pair(sfu, room_name, clients)
    subscribed: asyncio.Queue[tuple[rtc.RemoteTrackPublication, rtc.Track]] = asyncio.Queue()
    bob.room.on("track_subscribed", lambda track, pub, _: subscribed.put_nowait((pub, track)))
    tones = {hz: ToneSource(hz=hz, name=f"tone-{hz:.0f}") for hz in (330.0, 440.0, 550.0, 660.0)}
    heard: dict[str, float] = {}
    sids: list[str] = []
    try:
        for tone in tones.values():
            await tone.publish(alice.room)
        for _ in tones:
            publication, track = await asyncio.wait_for(subscribed.get(), EVENT_TIMEOUT_S)
            sids.append(publication.sid)
            stream = rtc.AudioStream(track, sample_rate=48_000, num_channels=1)
            await _await_level(stream, -30.0, below=False)
            heard[publication.name] = (await _tone_level(stream, 0.3))[0]
            await stream.aclose()
    finally:
        for tone in tones.values():
            await tone.aclose()
    assert sorted(heard) == sorted(f"tone-{hz:.0f}" for hz in tones)
    for name, hz in heard.items():
        assert abs(hz - float(name.removeprefix("tone-"))) < 5.0
    sections = {
        sid: re.findall(rf"bob: {sid} travels in section (\S+)", sfu.log_text()) for sid in sids
    }
    assert len({mid for mids in sections.values() for mid in mids}) == 4, sections


async def test_connection_quality_is_reported(
    sfu: DevSfu, room_name: str, clients: list[Client]
) -> None:
    alice, bob = await _pair(sfu, room_name, clients)
    heard: dict[tuple[str, str], rtc.ConnectionQuality] = {}
    both = asyncio.Event()

    def seen_by(who: str) -> Callable[[rtc.Participant | None, Any], None]:
        def on_quality(participant: rtc.Participant | None, quality: Any) -> None:
            if participant is not None:
                heard[(who, participant.identity)] = quality
            if {("bob", "alice"), ("alice", "alice")} <= heard.keys():
                both.set()

        return on_quality

    alice.room.on("connection_quality_changed", seen_by("alice"))
    bob.room.on("connection_quality_changed", seen_by("bob"))
    tone = ToneSource()
    try:
        await tone.publish(alice.room)
        await asyncio.wait_for(both.wait(), EVENT_TIMEOUT_S)
    finally:
        await tone.aclose()
    # Nothing is lost on the namespace's veth pair.
    assert heard[("bob", "alice")] == rtc.ConnectionQuality.QUALITY_EXCELLENT
    assert heard[("alice", "alice")] == rtc.ConnectionQuality.QUALITY_EXCELLENT


async def test_mute_is_seen_and_silences_the_track(
    sfu: DevSfu, room_name: str, clients: list[Client]
) -> None:
    alice, bob = await _pair(sfu, room_name, clients)
    tone = ToneSource()
    try:
        await tone.publish(alice.room)
        stream = await bob.audio_stream()
        assert await _await_level(stream, -30.0, below=False) > -30.0

        track = tone.track
        track.mute()
        await asyncio.wait_for(bob.muted.wait(), EVENT_TIMEOUT_S)
        remote = bob.room.remote_participants["alice"].track_publications
        assert [p.muted for p in remote.values()] == [True]
        assert await _await_level(stream, SILENCE_DBFS, below=True) < SILENCE_DBFS

        track.unmute()
        await asyncio.wait_for(bob.unmuted.wait(), EVENT_TIMEOUT_S)
        assert await _await_level(stream, -30.0, below=False) > -30.0
        hz, _ = await _tone_level(stream, 0.3)
        await stream.aclose()
    finally:
        await tone.aclose()
    assert abs(hz - TONE_HZ) < 5.0


async def test_leaving_fires_participant_left_then_room_finished(
    sfu: DevSfu, room_name: str, clients: list[Client], webhooks: WebhookSink
) -> None:
    alice, bob = await _pair(sfu, room_name, clients)
    joined = webhooks.wait_for(
        lambda e: (
            e.event == "participant_joined"
            and e.room.name == room_name
            and e.participant.identity == "bob"
        )
    )
    await bob.room.disconnect()
    left = webhooks.wait_for(
        lambda e: (
            e.event == "participant_left"
            and e.room.name == room_name
            and e.participant.identity == "bob"
        )
    )
    assert left.participant.sid == joined.participant.sid
    with pytest.raises(AssertionError):
        webhooks.wait_for(
            lambda e: e.event == "room_finished" and e.room.name == room_name, timeout=0.2
        )

    await alice.room.disconnect()
    webhooks.wait_for(
        lambda e: (
            e.event == "participant_left"
            and e.room.name == room_name
            and e.participant.identity == "alice"
        )
    )
    finished = webhooks.wait_for(lambda e: e.event == "room_finished" and e.room.name == room_name)
    assert finished.room.name == room_name


async def test_delete_room_disconnects_everyone(
    sfu: DevSfu, room_name: str, clients: list[Client], lkapi: api.LiveKitAPI
) -> None:
    alice, bob = await _pair(sfu, room_name, clients)
    listed = await lkapi.room.list_participants(room_pb.ListParticipantsRequest(room=room_name))
    assert sorted(p.identity for p in listed.participants) == ["alice", "bob"]

    await lkapi.room.delete_room(room_pb.DeleteRoomRequest(room=room_name))
    await asyncio.wait_for(alice.disconnected.wait(), EVENT_TIMEOUT_S)
    await asyncio.wait_for(bob.disconnected.wait(), EVENT_TIMEOUT_S)
    assert alice.disconnect_reason == bob.disconnect_reason == rtc.DisconnectReason.ROOM_DELETED
    rooms = await lkapi.room.list_rooms(room_pb.ListRoomsRequest(names=[room_name]))
    assert list(rooms.rooms) == []


async def test_remove_participant_disconnects_only_that_one(
    sfu: DevSfu,
    room_name: str,
    clients: list[Client],
    lkapi: api.LiveKitAPI,
    webhooks: WebhookSink,
) -> None:
    alice, bob = await _pair(sfu, room_name, clients)
    left = asyncio.Event()
    alice.room.on("participant_disconnected", lambda p: left.set())
    await lkapi.room.remove_participant(
        room_pb.RoomParticipantIdentity(room=room_name, identity="bob")
    )
    await asyncio.wait_for(bob.disconnected.wait(), EVENT_TIMEOUT_S)
    assert bob.disconnect_reason == rtc.DisconnectReason.PARTICIPANT_REMOVED
    await asyncio.wait_for(left.wait(), EVENT_TIMEOUT_S)
    assert list(alice.room.remote_participants) == []
    assert not alice.disconnected.is_set()
    webhooks.wait_for(
        lambda e: (
            e.event == "participant_left"
            and e.room.name == room_name
            and e.participant.identity == "bob"
        )
    )


@pytest.mark.parametrize("case", ["other_room", "expired", "wrong_secret"])
async def test_bad_tokens_are_refused(
    sfu: DevSfu, room_name: str, clients: list[Client], lkapi: api.LiveKitAPI, case: str
) -> None:
    alice = Client("alice")
    clients.append(alice)
    await alice.connect(sfu, room_name)

    bad = {
        "other_room": token(sfu, "mallory", "someone-elses-room"),
        "expired": token(sfu, "mallory", room_name, ttl=datetime.timedelta(minutes=-5)),
        "wrong_secret": token(sfu, "mallory", room_name, secret="x" * 40),
    }[case]
    # The token alone names the room: another room's token can never lead into this one, and
    # a room nobody created is refused (404), as LiveKit does without auto-create.
    status = "404" if case == "other_room" else "401"
    mallory = rtc.Room()
    with pytest.raises(rtc.ConnectError, match=status):
        await mallory.connect(sfu.url, bad)
    listed = await lkapi.room.list_participants(room_pb.ListParticipantsRequest(room=room_name))
    assert [p.identity for p in listed.participants] == ["alice"]
    assert list(alice.room.remote_participants) == []


async def test_third_participant_is_refused_when_full(
    sfu: DevSfu, room_name: str, clients: list[Client], lkapi: api.LiveKitAPI
) -> None:
    await _pair(sfu, room_name, clients)
    carol = rtc.Room()
    with pytest.raises(rtc.ConnectError, match="max participants"):
        await carol.connect(sfu.url, token(sfu, "carol", room_name))
    listed = await lkapi.room.list_participants(room_pb.ListParticipantsRequest(room=room_name))
    assert sorted(p.identity for p in listed.participants) == ["alice", "bob"]


async def test_late_joiner_and_rejoining_publisher_hear_the_tone(
    sfu: DevSfu, room_name: str, clients: list[Client]
) -> None:
    alice = Client("alice")
    clients.append(alice)
    await alice.connect(sfu, room_name)
    tone = ToneSource()
    try:
        await tone.publish(alice.room)
        bob = Client("bob")
        clients.append(bob)
        await bob.connect(sfu, room_name)  # joins after the track is published
        stream = await bob.audio_stream()
        assert await _await_level(stream, -30.0, below=False) > -30.0
        await stream.aclose()
    finally:
        await tone.aclose()

    # alice drops out and comes back (as the app does after a network loss): bob hears her again.
    await alice.room.disconnect()
    again = Client("alice")
    clients.append(again)
    await again.connect(sfu, room_name)
    tone = ToneSource(hz=660.0)
    try:
        await tone.publish(again.room)
        stream = await bob.audio_stream()
        assert await _await_level(stream, -30.0, below=False) > -30.0
        hz, level = await _tone_level(stream)
        await stream.aclose()
    finally:
        await tone.aclose()
    assert abs(hz - 660.0) < 5.0
    assert abs(level - expected_tone_dbfs()) < LEVEL_TOLERANCE_DB


async def test_stopping_devsfu_disconnects_clients_and_finishes_rooms(
    webhooks: WebhookSink, clients: list[Client]
) -> None:
    with running_devsfu(host=netns.HOST_A, webhook_url=webhooks.url) as own:
        alice = Client("alice")
        clients.append(alice)
        await alice.connect(own, "shutdown-room")
        started = webhooks.wait_for(
            lambda e: e.event == "room_started" and e.room.name == "shutdown-room"
        )
        stopped = await asyncio.to_thread(stop_devsfu, own)
    assert stopped == 0
    await asyncio.wait_for(alice.disconnected.wait(), EVENT_TIMEOUT_S)
    assert alice.disconnect_reason == rtc.DisconnectReason.SERVER_SHUTDOWN
    finished = webhooks.wait_for(
        lambda e: e.event == "room_finished" and e.room.sid == started.room.sid
    )
    assert finished.room.name == "shutdown-room"
