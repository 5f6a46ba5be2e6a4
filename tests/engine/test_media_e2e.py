"""End to end through a real call server and a real devsfu: two engines, real livekit SDK audio.

Alice calls Bob, Bob answers, Alice sends a 440 Hz tone; Bob hears 440 Hz at the level sent;
mute silences it; hang-up logs COMPLETED; Bob's media cut mid-call rejoins with a fresh token.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from tests.engine.stack import (
    PASSWORD,
    CaptureSink,
    CuttableLink,
    Stack,
    running_stack,
    tone_of,
)
from voip_app.audio.sources import SilenceSource, ToneSource
from voip_app.call import Phase
from voip_app.engine import CallEngine, EngineSnapshot, MediaPrefs
from voip_app.media.base import MediaSession
from voip_app.media.livekit_session import LiveKitMediaSession
from voip_contract import CallStatus

pytestmark = pytest.mark.media

TONE_DBFS = -12.0  # peak; a sine's RMS is 3 dB lower
TONE_RMS_DBFS = TONE_DBFS - 3.0


class LinkedSession(LiveKitMediaSession):
    """The real session, its signal connection through a :class:`CuttableLink` of its own."""

    link: CuttableLink | None = None

    async def connect(self, url: str, token: str) -> None:
        host, port = url.removeprefix("ws://").rsplit(":", 1)
        self.link = CuttableLink(host, int(port))
        await self.link.start(host)
        await super().connect(f"ws://{host}:{self.link.port}", token)

    async def disconnect(self) -> None:
        await super().disconnect()
        if self.link is not None:
            await self.link.cut()


class Phone:
    def __init__(self, name: str, source: ToneSource | SilenceSource) -> None:
        self.source = source
        self.sink = CaptureSink()
        self.sessions: list[LinkedSession] = []
        self.engine = CallEngine(media_factory=self._media)
        self.engine.add_event_listener(lambda e: print(name, e.name, e.data))

    def _media(self, prefs: MediaPrefs) -> MediaSession:
        session = LinkedSession(
            audio_input=self.source, audio_output=self.sink, reconnect_give_up_s=3
        )
        self.sessions.append(session)
        return session

    async def until(self, predicate: Callable[[EngineSnapshot], bool], within: float = 20) -> None:
        if predicate(self.engine.snapshot):
            return
        reached = asyncio.Event()
        unsubscribe = self.engine.subscribe(lambda s: reached.set() if predicate(s) else None)
        try:
            await asyncio.wait_for(reached.wait(), within)
        finally:
            unsubscribe()

    async def heard(self, frames: int, within: float = 15) -> int:
        """Wait until ``frames`` more frames were heard; return the mark before them."""
        start = self.sink.mark()
        await asyncio.wait_for(self.sink.reach(start + frames), within)
        return start


def in_phase(phase: Phase) -> Callable[[EngineSnapshot], bool]:
    return lambda s: s.call is not None and s.call.phase is phase


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    with running_stack(tmp_path) as running:
        yield running


async def connected_pair(stack: Stack) -> tuple[Phone, Phone]:
    alice, bob = Phone("alice", ToneSource(440, TONE_DBFS)), Phone("bob", SilenceSource())
    await alice.engine.sign_in(stack.url, "alice@acme.test", PASSWORD)
    await bob.engine.sign_in(stack.url, "bob@acme.test", PASSWORD)
    bob_id = next(c.id for c in alice.engine.snapshot.contacts if c.email == "bob@acme.test")
    await alice.engine.call(bob_id)
    await bob.until(in_phase(Phase.INCOMING))
    await bob.engine.accept()
    await alice.until(in_phase(Phase.ACTIVE))
    await bob.until(in_phase(Phase.ACTIVE))
    return alice, bob


async def test_a_tone_is_heard_muted_and_the_call_logged_completed(stack: Stack) -> None:
    alice, bob = await connected_pair(stack)
    try:
        await bob.heard(100)  # let the jitter buffer settle
        start = await bob.heard(150)
        hz, level = tone_of(bob.sink.pcm(start, start + 150))
        assert hz == pytest.approx(440, abs=5)
        assert level == pytest.approx(TONE_RMS_DBFS, abs=3)

        await alice.engine.set_muted(True)
        await bob.until(lambda s: s.call is not None and s.call.remote_muted)
        alice_call = alice.engine.snapshot.call
        assert alice_call is not None
        assert alice_call.muted
        assert not alice_call.remote_muted  # our own mute is not the far end's
        await bob.heard(50)  # what was in flight when muting
        start = await bob.heard(100)
        _, muted_level = tone_of(bob.sink.pcm(start, start + 100))
        assert muted_level < -50

        await alice.engine.set_muted(False)
        await bob.heard(50)
        start = await bob.heard(100)
        hz, level = tone_of(bob.sink.pcm(start, start + 100))
        assert hz == pytest.approx(440, abs=5)
        assert level == pytest.approx(TONE_RMS_DBFS, abs=3)

        await alice.engine.hang_up()
        await bob.until(in_phase(Phase.ENDED))
        bob_call = bob.engine.snapshot.call
        assert bob_call is not None
        assert bob_call.status is CallStatus.COMPLETED
        call_id = bob_call.id
        async with httpx.AsyncClient(base_url=stack.url) as http:
            login = await http.post(
                "/api/auth/login", json={"email": "alice@acme.test", "password": PASSWORD}
            )
            token = login.json()["access_token"]
            logged = await http.get(
                f"/api/calls/{call_id}", headers={"Authorization": f"Bearer {token}"}
            )
        record = logged.json()
        assert record["status"] == "COMPLETED"
        assert record["reason"] == "hangup"
        assert 2.0 < record["duration_s"] < 60.0
    finally:
        await alice.engine.close()
        await bob.engine.close()


async def test_a_cut_media_link_rejoins_with_a_fresh_token(stack: Stack) -> None:
    # Webhooks on: devsfu reports Bob's dropped participant at once; the server's rejoin
    # grace keeps the call while Bob comes back with a fresh token.
    await _cut_and_rejoin(stack)


async def _cut_and_rejoin(stack: Stack) -> None:
    alice, bob = await connected_pair(stack)
    try:
        await bob.heard(50)
        link = bob.sessions[0].link
        assert link is not None
        await link.cut()  # Bob's network is gone: no goodbye, and nothing gets through
        await bob.until(lambda s: len(bob.sessions) == 2 and in_phase(Phase.ACTIVE)(s))
        await bob.heard(100)
        start = await bob.heard(100)
        hz, level = tone_of(bob.sink.pcm(start, start + 100))
        assert hz == pytest.approx(440, abs=5)
        assert level == pytest.approx(TONE_RMS_DBFS, abs=3)
        call = bob.engine.snapshot.call
        assert call is not None
        assert call.phase is Phase.ACTIVE
        call_id = call.id
        assert call_id is not None

        await alice.engine.hang_up()
        await bob.until(in_phase(Phase.ENDED))
        ended = bob.engine.snapshot.call
        assert ended is not None
        assert ended.status is CallStatus.COMPLETED
        record = await logged_call(stack, call_id)
        assert (record["status"], record["reason"]) == ("COMPLETED", "hangup")
        events = await stack.events(call_id)
        # the server saw Bob's media leave and come back (the grace), then the hang-up
        assert ("participant_left", "IN_PROGRESS") in events
        assert ("participant_joined", "IN_PROGRESS") in events
        assert events[-1] == ("hangup", "COMPLETED")
    finally:
        await alice.engine.close()
        await bob.engine.close()


async def logged_call(stack: Stack, call_id: str) -> dict[str, object]:
    """The call as Alice's history shows it."""
    async with httpx.AsyncClient(base_url=stack.url) as http:
        login = await http.post(
            "/api/auth/login", json={"email": "alice@acme.test", "password": PASSWORD}
        )
        token = login.json()["access_token"]
        logged = await http.get(
            f"/api/calls/{call_id}", headers={"Authorization": f"Bearer {token}"}
        )
    record: dict[str, object] = logged.json()
    return record
