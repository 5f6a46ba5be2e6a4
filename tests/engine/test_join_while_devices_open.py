"""The devices open while the room is joined, not before it (answer to first audio).

Specification: opening a speaker (40-190 ms on PulseAudio) must not hold up the join. The
speaker here is slow on purpose: its ``start()`` returns only once devsfu lists this session's
participant in the room (at most :data:`OPEN_WAIT_S`). A session that opened its devices first
would keep it waiting the whole time and join late; one that opens them during the join lets it
return as soon as the join reaches the SFU. The real SDK, a real devsfu.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from livekit import api

from tests.support import netns
from voip_app.audio.sources import NullSink, ToneSource
from voip_app.media.base import Connected, MediaEvent
from voip_app.media.livekit_session import LiveKitMediaSession

pytestmark = pytest.mark.media

OPEN_WAIT_S = 8.0
ME = "alice@acme.test"


@pytest.fixture
def sfu() -> Iterator[Any]:
    if not netns.in_private_netns():
        pytest.skip(f"no private network namespace: {netns.why_no_netns()}")
    from tests.support.devsfu import running_devsfu

    with running_devsfu(host=netns.HOST_A) as server:
        yield server


class SlowSpeaker(NullSink):
    """A speaker whose opening ends when the SFU has this participant (or after a while)."""

    def __init__(self, sfu: Any, room: str) -> None:
        super().__init__()
        self.sfu, self.room = sfu, room
        self.joined_while_opening: bool | None = None

    async def start(self) -> None:
        await super().start()
        deadline = time.monotonic() + OPEN_WAIT_S
        async with api.LiveKitAPI(self.sfu.http_url, self.sfu.api_key, self.sfu.api_secret) as lk:
            while time.monotonic() < deadline:
                if await self._listed(lk):
                    self.joined_while_opening = True
                    return
                await asyncio.sleep(0.05)
        self.joined_while_opening = False

    async def _listed(self, lk: api.LiveKitAPI) -> bool:
        try:
            found = await lk.room.list_participants(api.ListParticipantsRequest(room=self.room))
        except api.ServerError as exc:
            if exc.status == 404:  # the room is made by the first join
                return False
            raise
        return any(p.identity == ME for p in found.participants)


async def test_the_room_is_joined_while_the_speaker_opens(sfu: Any) -> None:
    room = f"devices-{uuid.uuid4().hex[:12]}"
    grants = api.VideoGrants(room_join=True, room=room)
    token = api.AccessToken(sfu.api_key, sfu.api_secret).with_identity(ME).with_grants(grants)
    speaker = SlowSpeaker(sfu, room)
    session = LiveKitMediaSession(audio_input=ToneSource(440), audio_output=speaker)
    events: list[MediaEvent] = []
    session.set_listener(events.append)
    started = time.monotonic()
    try:
        await asyncio.wait_for(session.connect(sfu.url, token.to_jwt()), 30)
        took = time.monotonic() - started
    finally:
        await session.disconnect()
    assert speaker.joined_while_opening is True
    assert took < OPEN_WAIT_S  # the join did not wait for the speaker's whole opening
    assert any(isinstance(e, Connected) for e in events)
