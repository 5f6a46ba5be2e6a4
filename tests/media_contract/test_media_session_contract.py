"""The media interface's contract, once, for every implementation (see ``harness.py``).

``android``: the Flet extension's session against the fake Flutter side (fast, no network).
``desktop``: the livekit SDK session for real through devsfu, in the test's network namespace
(marked ``media``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.media_contract.harness import (
    ME,
    PEER,
    AndroidHarness,
    DesktopHarness,
    Harness,
)
from tests.support import netns
from voip_app.media.base import (
    AudioOutput,
    AudioOutputChanged,
    Connected,
    Disconnected,
    MediaError,
    MediaSession,
    ParticipantConnected,
    ParticipantDisconnected,
    TrackMuted,
)


@pytest.fixture(scope="module")
def sfu() -> Iterator[Any]:
    """One devsfu for the module's desktop cases (each case has its own room)."""
    if not netns.in_private_netns():
        pytest.skip(f"no private network namespace: {netns.why_no_netns()}")
    from tests.support.devsfu import running_devsfu

    with running_devsfu(host=netns.HOST_A) as server:
        yield server


@pytest.fixture(params=["android", pytest.param("desktop", marks=pytest.mark.media)])
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    built: Harness
    if request.param == "android":
        built = AndroidHarness()
    else:
        built = DesktopHarness(request.getfixturevalue("sfu"))
    yield built
    await built.close()


async def join(harness: Harness) -> None:
    await harness.session.connect(*harness.credentials())
    await wait_for(harness, lambda e: isinstance(e, Connected), "Connected")


async def wait_for(harness: Harness, predicate: Any, what: str) -> Any:
    return await harness.log.wait_for(predicate, what)


async def test_is_a_media_session(harness: Harness) -> None:
    assert isinstance(harness.session, MediaSession)


async def test_joining_reports_connected(harness: Harness) -> None:
    await join(harness)
    assert harness.events.count(Connected()) == 1


async def test_a_refused_token_is_a_media_error_and_reports_nothing(harness: Harness) -> None:
    with pytest.raises(MediaError) as raised:
        await harness.session.connect(*harness.refused_credentials())
    assert str(raised.value)
    assert Connected() not in harness.events


async def test_leaving_is_quiet_and_safe_twice(harness: Harness) -> None:
    await harness.session.disconnect()  # before any join
    await join(harness)
    await harness.session.disconnect()
    await harness.session.disconnect()
    assert not any(isinstance(e, Disconnected) for e in harness.events)


async def test_the_peer_comes_mutes_unmutes_and_goes(harness: Harness) -> None:
    await join(harness)
    await harness.peer_joins()
    await wait_for(harness, lambda e: e == ParticipantConnected(PEER), "peer joined")
    await harness.peer_mutes(True)
    await wait_for(harness, lambda e: e == TrackMuted(PEER, True), "peer muted")
    await harness.peer_mutes(False)
    await wait_for(harness, lambda e: e == TrackMuted(PEER, False), "peer unmuted")
    await harness.peer_leaves()
    await wait_for(harness, lambda e: e == ParticipantDisconnected(PEER), "peer left")


async def test_muting_reaches_the_peer(harness: Harness) -> None:
    await join(harness)
    await harness.peer_joins()
    await wait_for(harness, lambda e: e == ParticipantConnected(PEER), "peer joined")
    await harness.session.set_microphone_enabled(False)
    await harness.peer_sees_my_microphone(False)
    await harness.session.set_microphone_enabled(True)
    await harness.peer_sees_my_microphone(True)
    assert not any(isinstance(e, TrackMuted) and e.identity == PEER for e in harness.events)


async def test_outputs_can_be_listed_and_chosen(harness: Harness) -> None:
    await join(harness)
    outputs = await harness.session.list_audio_outputs()
    assert outputs
    assert all(isinstance(o, AudioOutput) for o in outputs)
    assert len({o.id for o in outputs}) == len(outputs)
    chosen = outputs[-1]
    await harness.session.select_audio_output(chosen.id)
    await wait_for(harness, lambda e: e == AudioOutputChanged(chosen), "output changed")


async def test_an_unknown_output_is_refused_and_changes_nothing(harness: Harness) -> None:
    await join(harness)
    before = list(harness.events)
    with pytest.raises(MediaError):
        await harness.session.select_audio_output("no-such-output")
    assert harness.events == before


async def test_the_room_going_away_is_reported(harness: Harness) -> None:
    await join(harness)
    await harness.room_is_deleted()
    event = await wait_for(harness, lambda e: isinstance(e, Disconnected), "Disconnected")
    assert event.reason
    assert event.reason == event.reason.lower()


def test_identities_differ() -> None:
    assert ME != PEER
