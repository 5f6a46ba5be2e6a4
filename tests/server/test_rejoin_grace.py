"""The rejoin grace decided by the call operations alone, against a real SQLite database and a
fake LiveKit (``FakeRooms``): a ``participant_left`` whose identity is still in the room (a
duplicate-identity rejoin whose ``joined`` came first) starts no grace; when LiveKit cannot say,
the grace starts (a later ``joined`` still clears it). And the room audit: an answered call
whose room vanished without a ``room_finished`` webhook is ended, never while LiveKit is silent.
Time is a fake clock: the audit's minimum age passes by moving it, not by waiting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from server.calls import answer, connections, sweeps, webhooks
from server.calls.deps import CallDeps, DeviceSocket
from server.calls.invite import invite
from server.db.models import CallEvent, CallRow, User
from server.media import WebhookNotice
from tests.server.domain import Domain, domain, rooms_of
from tests.server.fakes import FakeRooms
from voip_contract import InvitePayload

AUDIT_MIN_AGE_S = 30.0


@dataclass
class Setup:
    deps: CallDeps
    world: Domain
    call_id: str
    room: str
    bob: str

    @property
    def rooms(self) -> FakeRooms:
        return rooms_of(self.deps)

    async def webhook(self, event: str, identity: str | None, room: str | None = None) -> None:
        await webhooks.on_webhook(self.deps, WebhookNotice(event, room or self.room, identity))

    async def audit(self) -> int:
        return await sweeps.settle_vanished_rooms(self.deps, now=self.world.clock.now())


@pytest.fixture
async def answered(tmp_path: Path) -> AsyncIterator[Setup]:
    """Alice called Bob (device ``phone``) and Bob answered: an IN_PROGRESS call."""
    async with domain(tmp_path, "alice", "bob") as world:
        deps = world.node(room_audit_min_age_s=AUDIT_MIN_AGE_S)
        await connections.heartbeat(deps, now=world.clock.now())  # as the server does at start
        alice, bob = world.people["alice"], world.people["bob"]
        phone = DeviceSocket("sid-b", "phone")
        await connections.connected(deps, bob, phone)
        payload = InvitePayload(callee_id=bob.user_id, request_id="r1")
        call = await invite(deps, alice, DeviceSocket("sid-a", "laptop"), payload)
        token = await answer.accept(deps, bob, phone, call.id)
        yield Setup(deps, world, call.id, token.room_name, bob.user_id)


async def _grace(setup: Setup) -> Any:
    async with setup.world.sessions() as session:
        return await session.scalar(
            select(CallRow.callee_grace_until).where(CallRow.id == setup.call_id)
        )


async def _media_events(setup: Setup) -> list[str]:
    async with setup.world.sessions() as session:
        rows = await session.scalars(
            select(CallEvent.event)
            .where(CallEvent.call_id == setup.call_id, CallEvent.to_status == "IN_PROGRESS")
            .order_by(CallEvent.id)
        )
        return list(rows)


async def test_left_while_the_same_identity_is_still_in_the_room_starts_no_grace(
    answered: Setup,
) -> None:
    identity = f"{answered.bob}:phone"
    answered.rooms.inside[answered.room] = [identity]  # the new session joined first
    await answered.webhook("participant_left", identity)
    assert await _grace(answered) is None
    assert await _media_events(answered) == ["accept"]


async def test_left_and_gone_starts_the_grace_and_a_join_clears_it(answered: Setup) -> None:
    identity = f"{answered.bob}:phone"
    await answered.webhook("participant_left", identity)
    first = await _grace(answered)
    assert first is not None
    # a repeated left does not extend the deadline
    answered.world.clock.advance(5)
    await answered.webhook("participant_left", identity)
    assert await _grace(answered) == first
    await answered.webhook("participant_joined", f"{answered.bob}:desktop")
    assert await _grace(answered) is None
    assert await _media_events(answered) == ["accept", "participant_left", "participant_joined"]


async def test_livekit_unreachable_when_listing_still_starts_the_grace(answered: Setup) -> None:
    answered.rooms.down = True
    await answered.webhook("participant_left", f"{answered.bob}:phone")
    assert await _grace(answered) is not None


async def test_webhooks_without_a_party_change_nothing(answered: Setup) -> None:
    await answered.webhook("participant_left", None)
    await answered.webhook("participant_left", "stranger:x")
    await answered.webhook("participant_left", f"{answered.bob}:phone", room="acme_no-such-room")
    await answered.webhook("track_published", f"{answered.bob}:phone")
    assert await _grace(answered) is None
    assert await _media_events(answered) == ["accept"]


# --- rooms that vanish without a webhook --------------------------------------------------------


async def _status(setup: Setup) -> tuple[str, str | None, str | None]:
    async with setup.world.sessions() as session:
        row = await session.get(CallRow, setup.call_id)
        bob = await session.get(User, setup.bob)
        assert row is not None
        assert bob is not None
        return row.status, row.reason, bob.active_call_id


async def test_a_call_whose_room_vanished_unannounced_ends_once_it_is_old_enough(
    answered: Setup,
) -> None:
    del answered.rooms.inside[answered.room]  # closed, and the room_finished webhook was lost
    answered.world.clock.advance(AUDIT_MIN_AGE_S - 0.001)
    assert await answered.audit() == 0  # too young to judge
    assert await _status(answered) == ("IN_PROGRESS", None, answered.call_id)

    answered.world.clock.advance(0.001)
    assert await answered.audit() == 1
    assert await _status(answered) == ("COMPLETED", "room_finished", None)  # bob's line is free
    assert await answered.audit() == 0  # settled once


async def test_a_room_that_is_still_open_is_left_alone(answered: Setup) -> None:
    answered.world.clock.advance(3600)
    assert await answered.audit() == 0
    assert (await _status(answered))[0] == "IN_PROGRESS"


async def test_livekit_unreachable_ends_no_call(answered: Setup) -> None:
    del answered.rooms.inside[answered.room]
    answered.rooms.down = True
    answered.world.clock.advance(3600)
    assert await answered.audit() == 0
    assert (await _status(answered))[0] == "IN_PROGRESS"
