"""The CallEngine against fakes of the HTTP API, signaling, media and the clock."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest

from tests.engine.fakes import (
    FakeServer,
    FakeSignaling,
    MediaFactory,
    call_json,
    fake_server_transport,
    make_call,
    refused,
    unreachable,
)
from voip_app.api import ApiClient
from voip_app.call import IllegalTrigger, Phase
from voip_app.clock import FakeClock
from voip_app.engine import CallEngine, EngineEvent, EngineSnapshot, directory
from voip_app.engine.actions import INVITE_ATTEMPTS
from voip_app.engine.media_link import REJOIN_ATTEMPTS
from voip_app.engine.news import ANSWER_POLL_S
from voip_app.engine.session import INVITE_RELINK_WAIT_S
from voip_app.errors import Unauthorized
from voip_app.media.base import (
    AudioDevicesChanged,
    ConnectionQualityChanged,
    Disconnected,
    Reconnected,
    Reconnecting,
    TrackMuted,
)
from voip_app.signaling import AuthRefused, LinkDown, LinkUp
from voip_contract import (
    Accepted,
    AnsweredElsewhere,
    Call,
    CallStatus,
    Ended,
    ErrorCode,
    Incoming,
    PresenceChanged,
    Reason,
    RecordingChanged,
    Ringing,
)

TOKEN = Accepted(call_id="c1", livekit_url="ws://sfu", room_name="r", token="t-caller")


@dataclass
class Rig:
    engine: CallEngine
    server: FakeServer
    signaling: FakeSignaling
    media: MediaFactory
    events: list[EngineEvent]
    clock: FakeClock

    async def until(self, predicate: Callable[[EngineSnapshot], bool]) -> EngineSnapshot:
        """Wait (bounded) for a snapshot that satisfies ``predicate``."""
        if predicate(self.engine.snapshot):
            return self.engine.snapshot
        reached = asyncio.Event()
        unsubscribe = self.engine.subscribe(lambda s: reached.set() if predicate(s) else None)
        try:
            await asyncio.wait_for(reached.wait(), 5)
        finally:
            unsubscribe()
        return self.engine.snapshot

    def phase(self) -> Phase | None:
        call = self.engine.snapshot.call
        return call.phase if call else None

    async def logged(self, name: str) -> None:
        """Wait (bounded) until the engine has logged ``name``."""
        if name in [e.name for e in self.events]:
            return
        seen = asyncio.Event()
        remove = self.engine.add_event_listener(lambda e: seen.set() if e.name == name else None)
        try:
            await asyncio.wait_for(seen.wait(), 5)
        finally:
            remove()

    async def settled(self) -> None:
        """Wait (bounded) until the engine's one-off background work is done."""
        await asyncio.wait_for(self.engine.tasks.session.idle(), 5)
        await asyncio.wait_for(self.engine.tasks.cleanups.idle(), 5)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    server = FakeServer(
        calls=[
            call_json("old1", direction="incoming", status="MISSED", reason="ring_timeout"),
            call_json("old2", direction="incoming", status="COMPLETED", reason="hangup"),
        ]
    )
    signaling = FakeSignaling()
    media = MediaFactory()
    clock = FakeClock()
    engine = CallEngine(
        media_factory=media,
        api_factory=lambda url: ApiClient(
            url, transport=fake_server_transport(server), clock=clock
        ),
        signaling_factory=lambda url, token, device: signaling,
        device_id="dev-1",
        clock=clock,
    )
    events: list[EngineEvent] = []
    engine.add_event_listener(events.append)
    await engine.sign_in("http://voip.test/", "alice@acme.test", "demo-password")
    yield Rig(engine, server, signaling, media, events, clock)
    await engine.close()


def phase_is(phase: Phase) -> Callable[[EngineSnapshot], bool]:
    return lambda s: s.call is not None and s.call.phase is phase


async def test_sign_in_connects_and_loads_contacts_and_history(rig: Rig) -> None:
    snap = rig.engine.snapshot
    assert snap.connection == "online"
    assert snap.server_url == "http://voip.test"
    assert snap.user is not None
    assert snap.user.email == "alice@acme.test"
    assert [c.email for c in snap.contacts] == ["bob@acme.test", "carol@acme.test"]
    assert [c.id for c in snap.history] == ["old1", "old2"]
    assert snap.missed_count == 1
    assert rig.signaling.connected
    rig.engine.mark_missed_seen()
    assert rig.engine.snapshot.missed_count == 0


async def test_a_kept_token_resumes_the_session_until_it_expires(rig: Rig) -> None:
    token = rig.engine.access_token
    assert token == "tok-1"
    await rig.engine.sign_out()
    assert rig.engine.access_token is None
    user = await rig.engine.resume("http://voip.test", token)
    assert user.email == "alice@acme.test"
    assert rig.engine.snapshot.connection == "online"
    assert len(rig.engine.snapshot.contacts) == 2
    await rig.engine.sign_out()
    with pytest.raises(Unauthorized):
        await rig.engine.resume("http://voip.test", "expired")
    assert rig.engine.snapshot.connection == "signed_out"


async def test_a_wrong_password_raises_and_stays_signed_out() -> None:
    server = FakeServer()
    engine = CallEngine(
        media_factory=MediaFactory(),
        api_factory=lambda url: ApiClient(url, transport=fake_server_transport(server)),
        signaling_factory=lambda url, token, device: FakeSignaling(),
    )
    with pytest.raises(Unauthorized):
        await engine.sign_in("http://voip.test", "alice@acme.test", "wrong")
    assert engine.snapshot.connection == "signed_out"
    assert engine.snapshot.error is not None
    assert "password" in engine.snapshot.error
    await engine.close()


async def test_signaling_unreachable_at_sign_in_is_reported() -> None:
    server = FakeServer()
    signaling = FakeSignaling()
    signaling.connect_error = unreachable()
    engine = CallEngine(
        media_factory=MediaFactory(),
        api_factory=lambda url: ApiClient(url, transport=fake_server_transport(server)),
        signaling_factory=lambda url, token, device: signaling,
    )
    with pytest.raises(type(signaling.connect_error)):
        await engine.sign_in("http://voip.test", "alice@acme.test", "demo-password")
    assert engine.snapshot.connection == "signed_out"
    await engine.close()


async def test_an_outgoing_call_rings_connects_and_hangs_up(rig: Rig) -> None:
    await rig.engine.call("u-bob")
    call = rig.engine.snapshot.call
    assert call is not None
    assert (call.id, call.phase, call.peer.display_name) == ("c1", Phase.RINGING_OUT, "Bob")
    assert rig.signaling.sent == [("invite", "u-bob")]
    rig.signaling.push(Ringing(call_id="c1"))
    rig.signaling.push(TOKEN)
    snap = await rig.until(phase_is(Phase.ACTIVE))
    assert snap.call is not None
    assert snap.call.connected_at is not None
    assert rig.media.sessions[0].joined == ("ws://sfu", "t-caller")
    await rig.until(lambda s: len(s.outputs) == 2)
    await rig.engine.hang_up()
    call = rig.engine.snapshot.call
    assert call is not None
    assert (call.phase, call.status, call.reason) == (Phase.ENDED, CallStatus.COMPLETED, "hangup")
    assert ("hangup", "c1") in rig.signaling.sent
    await rig.settled()
    assert rig.media.sessions[0].disconnected >= 1
    assert len(rig.engine.tasks.call) == 0
    rig.signaling.push(Ended(call_id="c1", status=CallStatus.COMPLETED, reason=Reason.HANGUP))
    rig.engine.dismiss()
    assert rig.engine.snapshot.call is None
    names = [e.name for e in rig.events]
    assert names.index("dialing") < names.index("media_connected") < names.index("ended")


async def test_an_incoming_call_is_answered_then_ended_by_the_server(rig: Rig) -> None:
    incoming = make_call(call_id="c9", direction="incoming")
    rig.signaling.push(Incoming(call=incoming, ring_expires_at=incoming.created_at))
    assert rig.phase() is Phase.INCOMING
    call = rig.engine.snapshot.call
    assert call is not None
    assert call.peer.display_name == "Bob"
    await rig.engine.accept()
    await rig.until(phase_is(Phase.ACTIVE))
    assert ("accept", "c9") in rig.signaling.sent
    await rig.engine.set_muted(True)
    assert rig.media.sessions[0].mic_enabled is False
    call = rig.engine.snapshot.call
    assert call is not None
    assert call.muted
    rig.signaling.push(
        Ended(call_id="c9", status=CallStatus.COMPLETED, reason=Reason.PARTICIPANT_LEFT)
    )
    call = rig.engine.snapshot.call
    assert call is not None
    assert (call.status, call.reason) == (CallStatus.COMPLETED, Reason.PARTICIPANT_LEFT)


async def test_the_callee_stops_ringing_when_the_caller_cancels(rig: Rig) -> None:
    incoming = make_call(call_id="c4", direction="incoming")
    rig.signaling.push(Incoming(call=incoming, ring_expires_at=incoming.created_at))
    assert rig.phase() is Phase.INCOMING
    rig.signaling.push(Ended(call_id="c4", status=CallStatus.CANCELED, reason=Reason.CANCELED))
    call = rig.engine.snapshot.call
    assert call is not None
    assert (call.phase, call.status, call.reason) == (
        Phase.ENDED,
        CallStatus.CANCELED,
        Reason.CANCELED,
    )
    rig.signaling.push(Incoming(call=incoming, ring_expires_at=incoming.created_at))
    assert rig.phase() is Phase.ENDED  # a late re-send never rings again


async def test_declining_and_cancelling_tell_the_server(rig: Rig) -> None:
    incoming = make_call(call_id="c2", direction="incoming")
    rig.signaling.push(Incoming(call=incoming, ring_expires_at=incoming.created_at))
    await rig.engine.decline()
    assert ("decline", "c2") in rig.signaling.sent
    call = rig.engine.snapshot.call
    assert call is not None
    assert call.status is CallStatus.DECLINED
    await rig.engine.call("u-bob")  # dismisses the ended call first
    await rig.engine.cancel()
    assert ("cancel", "c1") in rig.signaling.sent
    call = rig.engine.snapshot.call
    assert call is not None
    assert call.status is CallStatus.CANCELED


async def test_a_busy_callee_ends_the_call_busy_with_a_message(rig: Rig) -> None:
    rig.signaling.invite_result = refused(ErrorCode.BUSY)
    await rig.engine.call("u-bob")
    call = rig.engine.snapshot.call
    assert call is not None
    assert (call.phase, call.status) == (Phase.ENDED, CallStatus.BUSY)
    assert call.error == "They are on another call."
    assert rig.engine.snapshot.error == call.error


async def test_an_invite_that_cannot_ring_ends_at_once(rig: Rig) -> None:
    rig.signaling.invite_result = make_call(status="MISSED", reason="callee_offline")
    await rig.engine.call("u-carol")
    call = rig.engine.snapshot.call
    assert call is not None
    assert (call.status, call.reason) == (CallStatus.MISSED, Reason.CALLEE_OFFLINE)


async def test_an_unreachable_server_fails_the_call(rig: Rig) -> None:
    rig.signaling.invite_result = unreachable()
    await rig.engine.call("u-bob")
    call = rig.engine.snapshot.call
    assert call is not None
    assert call.status is CallStatus.FAILED
    assert call.error is not None
    assert "Cannot reach" in call.error


async def test_a_media_join_failure_fails_the_call_and_hangs_up(rig: Rig) -> None:
    rig.media.failures.append("no route to SFU")
    await rig.engine.call("u-bob")
    rig.signaling.push(TOKEN)
    snap = await rig.until(phase_is(Phase.ENDED))
    assert snap.call is not None
    assert (snap.call.status, snap.call.reason) == (CallStatus.FAILED, Reason.MEDIA_UNAVAILABLE)
    await rig.signaling.until_sent("hangup", "c1")


async def test_missing_sound_devices_are_shown_and_never_end_the_call(rig: Rig) -> None:
    await rig.engine.call("u-bob")
    rig.signaling.push(TOKEN)
    await rig.until(phase_is(Phase.ACTIVE))
    media = rig.media.sessions[0]
    media.emit(AudioDevicesChanged(microphone=False, speaker=False))
    call = rig.engine.snapshot.call
    assert call is not None
    assert (call.phase, call.has_microphone, call.has_speaker) == (Phase.ACTIVE, False, False)
    media.emit(AudioDevicesChanged(microphone=True, speaker=False))  # a headset mic appeared
    call = rig.engine.snapshot.call
    assert call is not None
    assert (call.phase, call.has_microphone, call.has_speaker) == (Phase.ACTIVE, True, False)
    assert ("hangup", "c1") not in rig.signaling.sent
    assert rig.engine.audio_levels() == (0.0, 0.0)  # a session without meters reads flat


async def test_the_sdk_reconnect_and_a_full_disconnect_rejoin(rig: Rig) -> None:
    await rig.engine.call("u-bob")
    rig.signaling.push(TOKEN)
    await rig.until(phase_is(Phase.ACTIVE))
    first = rig.media.sessions[0]
    first.emit(Reconnecting())
    assert rig.phase() is Phase.RECONNECTING
    first.emit(Reconnected())
    assert rig.phase() is Phase.ACTIVE
    first.emit(ConnectionQualityChanged("bob", "poor"))
    first.emit(TrackMuted("bob", True))
    call = rig.engine.snapshot.call
    assert call is not None
    assert (call.quality, call.remote_muted) == ("poor", True)
    await rig.engine.set_muted(True)
    first.emit(Disconnected("signal_close"))
    assert rig.phase() is Phase.RECONNECTING
    await rig.until(phase_is(Phase.ACTIVE))
    second = rig.media.sessions[1]
    assert second.joined == ("ws://sfu", "fresh")
    assert second.mic_enabled is False  # still muted after the rejoin
    assert first.disconnected >= 1
    assert any(r.url.path == "/api/calls/c1/token" for r in rig.server.requests)
    first.emit(Reconnecting())  # the old session no longer counts
    assert rig.phase() is Phase.ACTIVE


async def test_a_rejoin_refused_settles_the_call_from_history(rig: Rig) -> None:
    await rig.engine.call("u-bob")
    rig.signaling.push(TOKEN)
    await rig.until(phase_is(Phase.ACTIVE))
    rig.server.room_token_status = 409
    rig.server.calls.append(call_json("c1", status="COMPLETED", reason="participant_left"))
    rig.media.sessions[0].emit(Disconnected("room_deleted"))
    snap = await rig.until(phase_is(Phase.ENDED))
    assert snap.call is not None
    assert (snap.call.status, snap.call.reason) == (
        CallStatus.COMPLETED,
        Reason.PARTICIPANT_LEFT,
    )


async def test_after_a_reconnect_sync_settles_a_call_that_ended_meanwhile(rig: Rig) -> None:
    await rig.engine.call("u-bob")
    rig.signaling.push(LinkDown("transport close"))
    assert rig.engine.snapshot.connection == "reconnecting"
    rig.server.calls.append(call_json("c1", status="MISSED", reason="ring_timeout"))
    rig.signaling.push(LinkUp(calls=(), reconnected=True))
    assert rig.engine.snapshot.connection == "online"
    snap = await rig.until(phase_is(Phase.ENDED))
    assert snap.call is not None
    assert (snap.call.status, snap.call.reason) == (CallStatus.MISSED, Reason.RING_TIMEOUT)


async def test_after_a_reconnect_an_answered_call_joins_with_a_fresh_token(rig: Rig) -> None:
    await rig.engine.call("u-bob")
    rig.signaling.push(LinkUp(calls=(make_call(status="IN_PROGRESS"),), reconnected=True))
    await rig.until(phase_is(Phase.ACTIVE))
    assert rig.media.sessions[0].joined == ("ws://sfu", "fresh")


async def test_after_a_reconnect_a_still_ringing_call_is_shown(rig: Rig) -> None:
    ringing = make_call(call_id="c5", direction="incoming")
    rig.signaling.push(LinkUp(calls=(ringing,), reconnected=True))
    assert rig.phase() is Phase.INCOMING
    rig.signaling.push(AnsweredElsewhere(call_id="c5"))
    call = rig.engine.snapshot.call
    assert call is not None
    assert (call.phase, call.status) == (Phase.ENDED, None)


async def test_events_for_other_calls_change_nothing(rig: Rig) -> None:
    await rig.engine.call("u-bob")
    before = rig.engine.snapshot
    rig.signaling.push(Ended(call_id="other", status=CallStatus.MISSED))
    rig.signaling.push(Accepted(call_id="other", livekit_url="ws://x", room_name="r", token="t"))
    assert rig.engine.snapshot.call == before.call
    assert rig.media.sessions == []


async def test_an_answer_that_overtakes_the_invites_answer_still_connects(rig: Rig) -> None:
    # The callee's device answers at once: the server's ``accepted`` reaches the caller before
    # the answer to its invite, which is the first to name the call.
    rig.signaling.before_invite_answer = [Ringing(call_id="c1"), TOKEN]
    await rig.engine.call("u-bob")
    await rig.until(phase_is(Phase.ACTIVE))
    assert rig.media.sessions[0].joined == ("ws://sfu", "t-caller")


async def test_an_end_that_overtakes_the_invites_answer_ends_the_call(rig: Rig) -> None:
    rig.signaling.before_invite_answer = [
        Ended(call_id="c1", status=CallStatus.DECLINED, reason=Reason.DECLINED)
    ]
    await rig.engine.call("u-bob")
    call = rig.engine.snapshot.call
    assert call is not None
    assert (call.phase, call.status) == (Phase.ENDED, CallStatus.DECLINED)


async def test_news_of_another_call_while_inviting_changes_nothing(rig: Rig) -> None:
    rig.signaling.before_invite_answer = [
        Accepted(call_id="other", livekit_url="ws://x", room_name="r", token="t"),
        Ended(call_id="other", status=CallStatus.MISSED),
    ]
    await rig.engine.call("u-bob")
    call = rig.engine.snapshot.call
    assert call is not None
    assert (call.id, call.phase) == ("c1", Phase.RINGING_OUT)
    assert rig.media.sessions == []


async def test_illegal_actions_raise_and_change_nothing(rig: Rig) -> None:
    before = rig.engine.snapshot
    with pytest.raises(IllegalTrigger):
        await rig.engine.accept()
    with pytest.raises(IllegalTrigger):
        await rig.engine.hang_up()
    with pytest.raises(IllegalTrigger):
        await rig.engine.set_muted(True)
    with pytest.raises(IllegalTrigger):
        rig.engine.dismiss()
    assert rig.engine.snapshot is before
    await rig.engine.call("u-bob")
    during = rig.engine.snapshot
    with pytest.raises(IllegalTrigger):
        await rig.engine.call("u-carol")
    with pytest.raises(IllegalTrigger):
        await rig.engine.accept()
    assert rig.engine.snapshot is during


async def test_a_refused_token_on_reconnect_asks_to_sign_in_again(rig: Rig) -> None:
    rig.signaling.push(AuthRefused("unauthorized: token expired"))
    assert rig.engine.snapshot.session_expired
    assert rig.engine.snapshot.error is not None
    assert "sign in again" in rig.engine.snapshot.error


async def test_presence_updates_the_contact_list(rig: Rig) -> None:
    rig.signaling.push(PresenceChanged(user_id="u-carol", presence="online"))
    presence = {c.id: c.presence for c in rig.engine.snapshot.contacts}
    assert presence == {"u-bob": "online", "u-carol": "online"}


async def test_a_failing_listener_is_logged_and_the_engine_goes_on(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(snapshot: EngineSnapshot) -> None:
        raise RuntimeError("boom")

    seen: list[EngineSnapshot] = []
    rig.engine.subscribe(broken)
    rig.engine.subscribe(seen.append)
    with caplog.at_level(logging.ERROR):
        rig.signaling.push(PresenceChanged(user_id="u-bob", presence="busy"))
    assert "snapshot listener failed" in caplog.text
    assert seen
    assert seen[-1].contacts[0].presence == "busy"


async def test_sign_out_ends_the_call_and_forgets_everything(rig: Rig) -> None:
    await rig.engine.call("u-bob")
    rig.signaling.push(TOKEN)
    await rig.until(phase_is(Phase.ACTIVE))
    await rig.engine.sign_out()
    assert ("hangup", "c1") in rig.signaling.sent
    assert rig.engine.snapshot == EngineSnapshot()
    assert not rig.signaling.connected
    tasks = rig.engine.tasks
    assert (len(tasks.upkeep), len(tasks.session), len(tasks.call), len(tasks.cleanups)) == (
        0,
        0,
        0,
        0,
    )


async def test_signing_out_while_a_call_rings_here_does_not_decline_it(rig: Rig) -> None:
    incoming = make_call(call_id="c8", direction="incoming")
    rig.signaling.push(Incoming(call=incoming, ring_expires_at=incoming.created_at))
    assert rig.phase() is Phase.INCOMING
    await rig.engine.sign_out()
    # the person's other devices still ring: leaving is not declining
    assert not [sent for sent in rig.signaling.sent if sent[0] == "decline"]
    assert rig.engine.snapshot == EngineSnapshot()


# --- a duplicate `incoming` (re-sent after a reconnect) --------------------------------------


async def test_a_duplicate_incoming_rings_once(rig: Rig) -> None:
    incoming = make_call(call_id="c7", direction="incoming")
    rig.signaling.push(Incoming(call=incoming, ring_expires_at=incoming.created_at))
    later = incoming.created_at + timedelta(seconds=30)
    rig.signaling.push(Incoming(call=incoming, ring_expires_at=later))
    rig.signaling.push(LinkUp(calls=(incoming,), reconnected=True))
    call = rig.engine.snapshot.call
    assert call is not None
    assert (call.id, call.phase, call.ring_expires_at) == ("c7", Phase.INCOMING, later)
    assert [e.name for e in rig.events].count("incoming") == 1


@pytest.mark.parametrize("answered", [False, True])
async def test_a_duplicate_incoming_after_answering_or_declining_changes_nothing(
    rig: Rig, answered: bool
) -> None:
    incoming = make_call(call_id="c7", direction="incoming")
    rig.signaling.push(Incoming(call=incoming, ring_expires_at=incoming.created_at))
    if answered:
        await rig.engine.accept()
        await rig.until(phase_is(Phase.ACTIVE))
    else:
        await rig.engine.decline()
    before = rig.engine.snapshot.call
    rig.signaling.push(Incoming(call=incoming, ring_expires_at=incoming.created_at))
    assert rig.engine.snapshot.call == before
    if not answered:
        rig.engine.dismiss()
        rig.signaling.push(Incoming(call=incoming, ring_expires_at=incoming.created_at))
        rig.signaling.push(LinkUp(calls=(incoming,), reconnected=True))
        assert rig.engine.snapshot.call is None  # no second ring for a call declined here
    assert [e.name for e in rig.events].count("incoming") == 1


# --- a refused token stops signaling ---------------------------------------------------------


async def test_a_refused_token_stops_reconnecting_until_the_next_sign_in(rig: Rig) -> None:
    rig.signaling.push(LinkDown("transport close"))
    rig.signaling.push(AuthRefused("unauthorized: token expired"))
    snap = rig.engine.snapshot
    assert (snap.connection, snap.session_expired) == ("expired", True)
    assert snap.user is not None  # still showing who was signed in, until sign-out
    await rig.engine.sign_in("http://voip.test", "alice@acme.test", "demo-password")
    snap = rig.engine.snapshot
    assert (snap.connection, snap.session_expired, snap.error) == ("online", False, None)


# --- contacts, every page ---------------------------------------------------------------------


def many_contacts(count: int) -> list[dict[str, str]]:
    return [
        {
            "id": f"u{i:04d}",
            "display_name": f"User {i:04d}",
            "email": f"u{i:04d}@acme.test",
            "presence": "offline",
        }
        for i in range(count)
    ]


async def test_contacts_load_every_page(rig: Rig) -> None:
    rig.server.contacts = many_contacts(450)
    contacts = await rig.engine.refresh_contacts()
    assert [c.id for c in contacts] == [f"u{i:04d}" for i in range(450)]
    assert rig.engine.snapshot.contacts == contacts
    assert not rig.engine.snapshot.contacts_truncated
    pages = [r for r in rig.server.requests if r.url.path == "/api/contacts"][-3:]
    assert [r.url.params.get("cursor") for r in pages] == [None, "200", "400"]
    found = await rig.engine.refresh_contacts("u02")  # u0200 … u0299: a search pages too
    assert len(found) == 100


async def test_contacts_stop_at_the_page_bound(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(directory, "CONTACTS_MAX_PAGES", 2)
    rig.server.contacts = many_contacts(450)
    contacts = await rig.engine.refresh_contacts()
    assert len(contacts) == 400
    assert rig.engine.snapshot.contacts_truncated


# --- an invite lost with the signaling link ----------------------------------------------------


async def test_a_lost_invite_is_sent_again_after_the_reconnect(rig: Rig) -> None:
    rig.signaling.drop_invites = 1
    asleep = rig.clock.sleepers
    dialing = asyncio.create_task(rig.engine.call("u-bob"))
    await rig.until(lambda s: s.connection == "reconnecting")
    await rig.clock.until_sleeping(asleep + 1)  # the invite waits for the link
    assert rig.phase() is Phase.DIALING  # and does not fail
    rig.signaling.push(LinkUp(calls=(make_call(),), reconnected=True))
    await dialing
    call = rig.engine.snapshot.call
    assert call is not None
    assert (call.id, call.phase) == ("c1", Phase.RINGING_OUT)
    assert len(rig.signaling.request_ids) == 2
    assert len(set(rig.signaling.request_ids)) == 1  # the same request: the server's same call
    assert "invite_retry" in [e.name for e in rig.events]


async def test_a_lost_invite_is_retried_a_bounded_number_of_times(rig: Rig) -> None:
    rig.signaling.drop_invites = 10
    rig.signaling.relink_with = ()
    await rig.engine.call("u-bob")
    call = rig.engine.snapshot.call
    assert call is not None
    assert (call.phase, call.status) == (Phase.ENDED, CallStatus.FAILED)
    assert call.error is not None
    assert "Cannot reach" in call.error
    assert len(rig.signaling.request_ids) == INVITE_ATTEMPTS
    assert len(set(rig.signaling.request_ids)) == 1


async def test_a_lost_invite_fails_when_the_link_stays_down(rig: Rig) -> None:
    rig.signaling.drop_invites = 1
    asleep = rig.clock.sleepers
    dialing = asyncio.create_task(rig.engine.call("u-bob"))
    await rig.clock.until_sleeping(asleep + 1)
    rig.clock.advance(INVITE_RELINK_WAIT_S - 1)
    await rig.clock.until_sleeping(asleep + 1)
    assert not dialing.done()  # still waiting for the link
    rig.clock.advance(1)
    await dialing
    call = rig.engine.snapshot.call
    assert call is not None
    assert call.status is CallStatus.FAILED
    assert len(rig.signaling.request_ids) == 1


@pytest.mark.parametrize("server_has_it", [True, False])
async def test_a_lost_invite_cancelled_meanwhile(rig: Rig, server_has_it: bool) -> None:
    rig.signaling.drop_invites = 1
    dialing = asyncio.create_task(rig.engine.call("u-bob"))
    await rig.until(lambda s: s.connection == "reconnecting")
    await rig.engine.cancel()
    synced = (make_call(),) if server_has_it else ()
    rig.signaling.push(LinkUp(calls=synced, reconnected=True))
    await dialing
    await rig.settled()
    if server_has_it:  # sent again only to learn the call's id, then cancelled
        assert len(rig.signaling.request_ids) == 2
        assert ("cancel", "c1") in rig.signaling.sent
    else:  # the server never had it: nothing to ring, nothing to cancel
        assert rig.signaling.sent == [("invite", "u-bob")]
    call = rig.engine.snapshot.call
    assert call is not None
    assert call.status is CallStatus.CANCELED


async def test_a_retried_invite_answered_meanwhile_joins_with_a_fresh_token(rig: Rig) -> None:
    rig.signaling.drop_invites = 1
    rig.signaling.relink_with = ()
    rig.signaling.invite_result = make_call(status="IN_PROGRESS")
    await rig.engine.call("u-bob")
    await rig.until(phase_is(Phase.ACTIVE))
    assert rig.media.sessions[0].joined == ("ws://sfu", "fresh")


@pytest.mark.parametrize(
    ("status", "phase"), [("IN_PROGRESS", Phase.ACTIVE), ("MISSED", Phase.ENDED)]
)
async def test_ringing_out_across_a_reconnect_reads_the_answer_from_the_call_log(
    rig: Rig, status: str, phase: Phase
) -> None:
    await rig.engine.call("u-bob")
    rig.signaling.push(LinkDown("transport close"))
    rig.signaling.push(LinkUp(calls=(make_call(),), reconnected=True))
    assert rig.phase() is Phase.RINGING_OUT
    # answered (or timed out) now: `accepted` would go to the connection that invited, gone
    await rig.clock.until_sleeping(2)  # the renewal and the poll
    rig.clock.advance(ANSWER_POLL_S)  # read: still ringing
    await rig.clock.until_sleeping(2)
    assert rig.phase() is Phase.RINGING_OUT
    rig.server.calls.append(
        call_json("c1", status=status, reason="ring_timeout" if status == "MISSED" else None)
    )
    rig.clock.advance(ANSWER_POLL_S)
    snap = await rig.until(phase_is(phase))
    assert snap.call is not None
    if phase is Phase.ACTIVE:
        assert rig.media.sessions[0].joined == ("ws://sfu", "fresh")
        assert "answer_found" in [e.name for e in rig.events]
    else:
        assert (snap.call.status, snap.call.reason) == (CallStatus.MISSED, Reason.RING_TIMEOUT)
    await asyncio.wait_for(rig.engine.tasks.call.idle(), 5)  # the polling has stopped


# --- a call in progress that only the server remembers -----------------------------------------


def answered(call_id: str = "c3", *, direction: str = "outgoing") -> Call:
    data = call_json(call_id, direction=direction, status="IN_PROGRESS")
    data["answered_at"] = "2026-11-24T12:00:05+00:00"
    return Call.model_validate(data)


@pytest.mark.parametrize("direction", ["outgoing", "incoming"])
async def test_a_call_in_progress_found_by_sync_is_rejoined(rig: Rig, direction: str) -> None:
    rig.server.token_devices = {"dev-1"}
    rig.signaling.push(LinkUp(calls=(answered(direction=direction),), reconnected=False))
    snap = await rig.until(phase_is(Phase.ACTIVE))
    assert snap.call is not None
    assert (snap.call.id, snap.call.direction, snap.call.peer.display_name) == (
        "c3",
        direction,
        "Bob",
    )
    assert snap.call.connected_at == answered().answered_at  # the timer goes on
    assert rig.media.sessions[0].joined == ("ws://sfu", "fresh")
    asked = [r for r in rig.server.requests if r.url.path == "/api/calls/c3/token"]
    assert [json.loads(r.content) for r in asked] == [{"device_id": "dev-1"}]
    await rig.engine.hang_up()
    assert ("hangup", "c3") in rig.signaling.sent


async def test_a_call_in_progress_on_another_device_is_left_alone(rig: Rig) -> None:
    rig.server.token_devices = {"the-phone"}  # the server: not this device's call
    rig.signaling.push(LinkUp(calls=(answered(direction="incoming"),), reconnected=True))
    await rig.logged("resume_refused")
    assert rig.engine.snapshot.call is None
    assert rig.media.sessions == []
    assert rig.signaling.sent == []


async def test_without_a_device_id_a_call_in_progress_is_not_claimed() -> None:
    server = FakeServer()
    signaling = FakeSignaling()
    engine = CallEngine(
        media_factory=MediaFactory(),
        api_factory=lambda url: ApiClient(url, transport=fake_server_transport(server)),
        signaling_factory=lambda url, token, device: signaling,
    )
    await engine.sign_in("http://voip.test", "alice@acme.test", "demo-password")
    try:
        signaling.push(LinkUp(calls=(answered(),), reconnected=True))
        await asyncio.wait_for(engine.tasks.session.idle(), 5)
        assert engine.snapshot.call is None
        assert not any(r.url.path.endswith("/token") for r in server.requests)
    finally:
        await engine.close()


async def test_a_call_hung_up_here_is_not_rejoined_when_sync_still_lists_it(rig: Rig) -> None:
    rig.signaling.invite_result = make_call(call_id="c3")
    await rig.engine.call("u-bob")
    rig.signaling.push(Accepted(call_id="c3", livekit_url="ws://sfu", room_name="r", token="t"))
    await rig.until(phase_is(Phase.ACTIVE))
    rig.signaling.push(LinkDown("transport close"))
    await rig.engine.hang_up()  # not confirmed: the link is down
    rig.engine.dismiss()
    rig.signaling.push(LinkUp(calls=(answered(),), reconnected=True))
    await rig.settled()
    assert rig.engine.snapshot.call is None
    assert not any(r.url.path.endswith("/token") for r in rig.server.requests)


async def test_a_rejoin_that_cannot_join_ends_here_only(rig: Rig) -> None:
    rig.media.failures.append("room full")
    rig.signaling.push(LinkUp(calls=(answered(),), reconnected=True))
    snap = await rig.until(phase_is(Phase.ENDED))
    assert snap.call is not None
    assert snap.call.status is CallStatus.FAILED
    await rig.settled()
    assert rig.signaling.sent == []  # the server's rejoin grace decides for everyone


# --- a lost room is joined again, with a backoff on the engine's clock ---------------------------


async def lost_the_room(rig: Rig, *, failing_joins: int) -> None:
    await rig.engine.call("u-bob")
    rig.signaling.push(TOKEN)
    await rig.until(phase_is(Phase.ACTIVE))
    rig.media.failures.extend(["sfu down"] * failing_joins)
    rig.media.sessions[0].emit(Disconnected("signal_close"))


async def test_a_lost_room_is_joined_again_after_a_growing_pause(rig: Rig) -> None:
    await lost_the_room(rig, failing_joins=2)
    await rig.clock.until_sleeping(2)  # the renewal, and the first pause
    assert len(rig.media.sessions) == 2
    rig.clock.advance(0.4)
    await rig.clock.until_sleeping(2)
    assert len(rig.media.sessions) == 2  # 0.5 s have not passed yet
    rig.clock.advance(0.1)
    await rig.clock.until_sleeping(2)  # the second pause: 1 s
    assert len(rig.media.sessions) == 3
    rig.clock.advance(1.0)
    await rig.until(phase_is(Phase.ACTIVE))
    assert rig.media.sessions[3].joined == ("ws://sfu", "fresh")
    assert [e.name for e in rig.events].count("rejoining") == 3


async def test_a_room_that_cannot_be_joined_again_fails_the_call(rig: Rig) -> None:
    await lost_the_room(rig, failing_joins=REJOIN_ATTEMPTS)
    for pause in (0.5, 1.0, 2.0, 4.0, 4.0):
        await rig.clock.until_sleeping(2)
        rig.clock.advance(pause)
    snap = await rig.until(phase_is(Phase.ENDED))
    assert snap.call is not None
    assert (snap.call.status, snap.call.reason) == (CallStatus.FAILED, Reason.MEDIA_UNAVAILABLE)
    assert snap.call.error == "sfu down"
    await rig.signaling.until_sent("hangup", "c1")
    assert len(rig.media.sessions) == 1 + REJOIN_ATTEMPTS


async def test_recording_consent_and_status_reach_the_call(rig: Rig) -> None:
    incoming = make_call(call_id="c7", direction="incoming")
    rig.signaling.push(Incoming(call=incoming, ring_expires_at=incoming.created_at, recording=True))
    call = rig.engine.snapshot.call
    assert call is not None
    assert call.recorded  # told before answering
    assert call.recording is None
    await rig.engine.accept()
    await rig.until(phase_is(Phase.ACTIVE))
    rig.signaling.push(RecordingChanged(call_id="other", recording_id="r0", status="active"))
    assert rig.engine.snapshot.call is not None
    assert rig.engine.snapshot.call.recording is None  # another call's recording
    for status in ("starting", "active", "complete"):
        rig.signaling.push(RecordingChanged(call_id="c7", recording_id="r1", status=status))
        assert rig.engine.snapshot.call is not None
        assert rig.engine.snapshot.call.recording == status
