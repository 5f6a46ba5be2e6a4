"""The rejoin grace decided by the call service alone, against a real SQLite database and a fake
LiveKit (``FakeRooms``): a ``participant_left`` whose identity is still in the room (a
duplicate-identity rejoin whose ``joined`` came first) starts no grace; when LiveKit cannot say,
the grace starts (a later ``joined`` still clears it). And the room audit: an answered call
whose room vanished without a ``room_finished`` webhook is ended, never while LiveKit is silent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from server import migrate
from server.auth import Identity
from server.calls import CallService, Device
from server.config import Settings
from server.db.engine import make_engine, make_sessionmaker
from server.db.models import CallEvent, CallRow, User
from server.media import WebhookNotice
from server.seed import UserSpec, ensure_tenant, ensure_users
from tests.server.fakes import FakeRooms, Recorded
from voip_contract import InvitePayload


@dataclass
class Setup:
    service: CallService
    rooms: FakeRooms
    sessions: Any
    call_id: str
    room: str
    bob: str


@pytest.fixture
async def answered(tmp_path: Path) -> AsyncIterator[Setup]:
    """Alice called Bob (device ``phone``) and Bob answered: an IN_PROGRESS call."""
    settings = Settings(
        var_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path / 'voip.db'}"
    )
    engine = make_engine(settings.db_url)
    await migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    async with sessions() as session:
        tenant = await ensure_tenant(session, "acme", "ACME")
        alice, bob = await ensure_users(
            session,
            tenant,
            [UserSpec("alice@acme.test", "Alice"), UserSpec("bob@acme.test", "Bob")],
            "pw",
        )
        await session.commit()
    rooms = FakeRooms()
    service = CallService(settings, sessions, rooms, Recorded())
    await service.heartbeat()  # this node is alive, as the server says at start
    caller = Identity(alice.id, tenant.id, alice.email, alice.display_name)
    callee = Identity(bob.id, tenant.id, bob.email, bob.display_name)
    await service.connected(callee, Device("sid-b", "phone"))
    call = await service.invite(
        caller, Device("sid-a", "laptop"), InvitePayload(callee_id=bob.id, request_id="r1")
    )
    token = await service.accept(callee, Device("sid-b", "phone"), call.id)
    try:
        yield Setup(service, rooms, sessions, call.id, token.room_name, bob.id)
    finally:
        await service.drain()
        await engine.dispose()


async def _grace(setup: Setup) -> Any:
    async with setup.sessions() as session:
        return await session.scalar(
            select(CallRow.callee_grace_until).where(CallRow.id == setup.call_id)
        )


async def _media_events(setup: Setup) -> list[str]:
    async with setup.sessions() as session:
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
    await answered.service.on_webhook(WebhookNotice("participant_left", answered.room, identity))
    assert await _grace(answered) is None
    assert await _media_events(answered) == ["accept"]


async def test_left_and_gone_starts_the_grace_and_a_join_clears_it(answered: Setup) -> None:
    identity = f"{answered.bob}:phone"
    await answered.service.on_webhook(WebhookNotice("participant_left", answered.room, identity))
    first = await _grace(answered)
    assert first is not None
    # a repeated left does not extend the deadline
    await answered.service.on_webhook(WebhookNotice("participant_left", answered.room, identity))
    assert await _grace(answered) == first
    await answered.service.on_webhook(
        WebhookNotice("participant_joined", answered.room, f"{answered.bob}:desktop")
    )
    assert await _grace(answered) is None
    assert await _media_events(answered) == ["accept", "participant_left", "participant_joined"]


async def test_livekit_unreachable_when_listing_still_starts_the_grace(answered: Setup) -> None:
    answered.rooms.down = True
    identity = f"{answered.bob}:phone"
    await answered.service.on_webhook(WebhookNotice("participant_left", answered.room, identity))
    assert await _grace(answered) is not None


async def test_webhooks_without_a_party_change_nothing(answered: Setup) -> None:
    for notice in (
        WebhookNotice("participant_left", answered.room, None),
        WebhookNotice("participant_left", answered.room, "stranger:x"),
        WebhookNotice("participant_left", "acme_no-such-room", f"{answered.bob}:phone"),
        WebhookNotice("track_published", answered.room, f"{answered.bob}:phone"),
    ):
        await answered.service.on_webhook(notice)
    assert await _grace(answered) is None
    assert await _media_events(answered) == ["accept"]


# --- rooms that vanish without a webhook --------------------------------------------------------


async def _age(setup: Setup, seconds: float) -> None:
    """Pretend the call was answered ``seconds`` earlier than it was."""
    async with setup.sessions() as session:
        row = await session.get(CallRow, setup.call_id)
        assert row is not None
        assert row.answered_at is not None
        row.answered_at -= timedelta(seconds=seconds)
        await session.commit()


async def _status(setup: Setup) -> tuple[str, str | None, str | None]:
    async with setup.sessions() as session:
        row = await session.get(CallRow, setup.call_id)
        bob = await session.get(User, setup.bob)
        assert row is not None
        assert bob is not None
        return row.status, row.reason, bob.active_call_id


async def test_a_call_whose_room_vanished_unannounced_ends_once_it_is_old_enough(
    answered: Setup,
) -> None:
    del answered.rooms.inside[answered.room]  # closed, and the room_finished webhook was lost
    assert await answered.service.settle_vanished_rooms() == 0  # too young to judge
    assert await _status(answered) == ("IN_PROGRESS", None, answered.call_id)

    await _age(answered, answered.service._settings.room_audit_min_age_s + 1)
    assert await answered.service.settle_vanished_rooms() == 1
    assert await _status(answered) == ("COMPLETED", "room_finished", None)  # bob's line is free
    assert await answered.service.settle_vanished_rooms() == 0  # settled once


async def test_a_room_that_is_still_open_is_left_alone(answered: Setup) -> None:
    await _age(answered, 3600)
    assert await answered.service.settle_vanished_rooms() == 0
    assert (await _status(answered))[0] == "IN_PROGRESS"


async def test_livekit_unreachable_ends_no_call(answered: Setup) -> None:
    del answered.rooms.inside[answered.room]
    answered.rooms.down = True
    await _age(answered, 3600)
    assert await answered.service.settle_vanished_rooms() == 0
    assert (await _status(answered))[0] == "IN_PROGRESS"
