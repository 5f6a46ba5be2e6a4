"""One harness per media implementation, so one set of contract tests runs against each.

A :class:`Harness` owns a :class:`~voip_app.media.base.MediaSession` under test, collects its
events, and plays the rest of the world: a LiveKit server that issues (or refuses) credentials, a
peer who joins, mutes and leaves, and an operator who deletes the room.

- :class:`AndroidHarness`: :class:`~voip_app.media.android.AndroidMediaSession` on a real Flet
  session whose Flutter side is the fake of ``tests/android/fake_dart.py``; the peer and the
  server are played by that fake, exactly as the Dart service reports them.
- :class:`DesktopHarness`: :class:`~voip_app.media.livekit_session.LiveKitMediaSession` on the real
  ``livekit`` SDK through a real ``voip-devsfu`` inside the test's network namespace; the peer is a
  second real SDK client publishing a tone, and the room is deleted through RoomService.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from tests.android.fake_dart import (
    REFUSED_TOKEN_PREFIX,
    FakeFletClient,
    FakeLiveKitDart,
    new_client,
)
from voip_app.media.android import AndroidMediaSession
from voip_app.media.base import MediaEvent, MediaSession

EVENT_TIMEOUT_S = 30.0
"""How long a real SFU may take to deliver an event (ICE and DTLS on a loaded CI machine)."""
PEER = "bob@acme.test"
ME = "alice@acme.test"


class EventLog:
    """The session's events, and a way to wait for one (bounded by :data:`EVENT_TIMEOUT_S`)."""

    def __init__(self) -> None:
        self.events: list[MediaEvent] = []
        self._changed = asyncio.Event()

    def append(self, event: MediaEvent) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_for(self, predicate: Callable[[MediaEvent], bool], what: str) -> MediaEvent:
        async with asyncio.timeout(EVENT_TIMEOUT_S):
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                self._changed.clear()
                await self._changed.wait()
        raise AssertionError(what)  # pragma: no cover - asyncio.timeout raises first


class Harness(Protocol):
    session: MediaSession
    log: EventLog
    events: list[MediaEvent]

    def credentials(self) -> tuple[str, str]:
        """A URL and a token that join this test's room as :data:`ME`."""

    def refused_credentials(self) -> tuple[str, str]:
        """A URL and a token the server refuses (signed with the wrong secret)."""

    async def peer_joins(self) -> None: ...

    async def peer_mutes(self, muted: bool) -> None: ...

    async def peer_leaves(self) -> None: ...

    async def peer_sees_my_microphone(self, enabled: bool) -> None:
        """Return once the peer sees :data:`ME`'s microphone enabled (or muted)."""

    async def room_is_deleted(self) -> None: ...

    async def close(self) -> None: ...


class AndroidHarness:
    def __init__(self) -> None:
        self.client: FakeFletClient = new_client()
        self.log = EventLog()
        self.events = self.log.events
        self.android = AndroidMediaSession(page=self.client.session.page)
        self.session: MediaSession = self.android
        self.session.set_listener(self.log.append)

    @property
    def dart(self) -> FakeLiveKitDart:
        service = self.client.dart_service(self.android.room._i)
        assert isinstance(service, FakeLiveKitDart)
        return service

    def credentials(self) -> tuple[str, str]:
        return "ws://10.200.0.1:7880", f"token-for-{ME}"

    def refused_credentials(self) -> tuple[str, str]:
        return "ws://10.200.0.1:7880", f"{REFUSED_TOKEN_PREFIX}token-for-{ME}"

    async def peer_joins(self) -> None:
        await self.dart.peer_joins(PEER)

    async def peer_mutes(self, muted: bool) -> None:
        await self.dart.peer_mutes(PEER, muted)

    async def peer_leaves(self) -> None:
        await self.dart.peer_leaves(PEER)

    async def peer_sees_my_microphone(self, enabled: bool) -> None:
        # What the fake room publishes is what the peer would see.
        assert self.dart.room.microphone_enabled is enabled

    async def room_is_deleted(self) -> None:
        await self.dart.server_ends("room_deleted")

    async def close(self) -> None:
        await self.client.close()
        assert self.client.crashes == []


class DesktopHarness:
    """The livekit SDK through devsfu; ``sfu`` is a running :class:`tests.support.devsfu.DevSfu`."""

    def __init__(self, sfu: Any) -> None:
        from livekit import api

        from voip_app.audio.sources import NullSink, ToneSource
        from voip_app.media.livekit_session import LiveKitMediaSession

        self.sfu = sfu
        self.room_name = f"contract-{uuid.uuid4().hex[:12]}"
        self.log = EventLog()
        self.events = self.log.events
        self.session: MediaSession = LiveKitMediaSession(
            audio_input=ToneSource(440), audio_output=NullSink()
        )
        self.session.set_listener(self.log.append)
        self._api = api
        self._peer: Any = None
        self._peer_track: Any = None
        self._peer_source: Any = None
        self._peer_changed = asyncio.Event()

    def _token(self, identity: str, secret: str | None = None) -> str:
        api = self._api
        grants = api.VideoGrants(room_join=True, room=self.room_name)
        token = api.AccessToken(self.sfu.api_key, secret or self.sfu.api_secret)
        return str(token.with_identity(identity).with_grants(grants).to_jwt())

    def credentials(self) -> tuple[str, str]:
        return self.sfu.url, self._token(ME)

    def refused_credentials(self) -> tuple[str, str]:
        return self.sfu.url, self._token(ME, secret="not-the-secret-of-this-server-0123")

    async def peer_joins(self) -> None:
        from livekit import rtc

        peer = rtc.Room()
        for name in ("track_muted", "track_unmuted", "track_published", "participant_connected"):
            peer.on(name, lambda *_: self._peer_changed.set())
        await peer.connect(self.sfu.url, self._token(PEER))
        self._peer = peer
        source = rtc.AudioSource(48_000, 1)
        track = rtc.LocalAudioTrack.create_audio_track("microphone", source)
        options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        await peer.local_participant.publish_track(track, options)
        self._peer_source, self._peer_track = source, track

    async def peer_mutes(self, muted: bool) -> None:
        if muted:
            self._peer_track.mute()
        else:
            self._peer_track.unmute()

    async def peer_leaves(self) -> None:
        peer, self._peer = self._peer, None
        if peer is not None:
            await peer.disconnect()
        source, self._peer_source = self._peer_source, None
        if source is not None:
            await source.aclose()

    async def peer_sees_my_microphone(self, enabled: bool) -> None:
        def seen() -> bool:
            me = self._peer.remote_participants.get(ME) if self._peer else None
            pubs = list(me.track_publications.values()) if me else []
            return bool(pubs) and all(p.muted is (not enabled) for p in pubs)

        async with asyncio.timeout(EVENT_TIMEOUT_S):
            while not seen():
                self._peer_changed.clear()
                await self._peer_changed.wait()

    async def room_is_deleted(self) -> None:
        api = self._api
        async with api.LiveKitAPI(self.sfu.http_url, self.sfu.api_key, self.sfu.api_secret) as lk:
            await lk.room.delete_room(api.DeleteRoomRequest(room=self.room_name))

    async def close(self) -> None:
        await self.session.disconnect()
        await self.peer_leaves()
