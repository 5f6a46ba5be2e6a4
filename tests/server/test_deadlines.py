"""The server's deadlines on a fake clock, against a real SQLite database: the ring timeout, the
rejoin grace, a call's duration, the invite rate window, the periodic runner and the tenant-size
cache (which decides whether presence goes to the tenant or to watchers). Each moves the
clock to just before a deadline (nothing happens) and onto it (it happens): nothing waits.
The same deadlines end to end against a real server, on the real clock:
``test_timers_and_failures.py``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from server.app import every
from server.auth import Identity
from server.calls import answer, connections, settle, sweeps, webhooks
from server.calls.deps import CallDeps, DeviceSocket
from server.calls.invite import invite
from server.callstate import StatusEvent
from server.db.models import CallEvent, CallRow, Tenant
from server.errors import ServiceError
from server.media import WebhookNotice
from server.seed import UserSpec, ensure_users
from tests.server.domain import Domain, domain, told
from tests.server.fakes import FakeClock
from voip_contract import Call, ErrorCode, InvitePayload, ServerEvent

RING_S, GRACE_S = 30.0, 20.0
TICK = 0.001
ALICE_LAPTOP, BOB_PHONE = DeviceSocket("sid-a", "laptop"), DeviceSocket("sid-b", "phone")


@dataclass
class World:
    deps: CallDeps
    domain: Domain
    alice: Identity
    bob: Identity

    @property
    def clock(self) -> FakeClock:
        return self.domain.clock

    async def ring(self, request_id: str = "r1") -> Call:
        payload = InvitePayload(callee_id=self.bob.user_id, request_id=request_id)
        return await invite(self.deps, self.alice, ALICE_LAPTOP, payload)

    async def answered(self) -> tuple[Call, str]:
        call = await self.ring()
        token = await answer.accept(self.deps, self.bob, BOB_PHONE, call.id)
        return call, token.room_name

    async def sweep(self) -> int:
        return await sweeps.settle_overdue(self.deps, now=self.clock.now())

    async def row(self, call_id: str) -> CallRow:
        async with self.domain.sessions() as session:
            row = await session.get(CallRow, call_id)
            assert row is not None
            return row

    async def events(self, call_id: str) -> list[tuple[str, str, datetime]]:
        async with self.domain.sessions() as session:
            rows = await session.execute(
                select(CallEvent.event, CallEvent.to_status, CallEvent.at)
                .where(CallEvent.call_id == call_id)
                .order_by(CallEvent.id)
            )
            return [(e, s, at) for e, s, at in rows]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """Alice and Bob; Bob's phone is connected to a live node."""
    async with domain(tmp_path, "alice", "bob") as made:
        deps = made.node(ring_timeout_s=RING_S, rejoin_grace_s=GRACE_S, invite_limit_per_min=2)
        await connections.heartbeat(deps, now=made.clock.now())
        world = World(deps, made, made.people["alice"], made.people["bob"])
        await connections.connected(deps, world.bob, BOB_PHONE)
        yield world


async def test_a_call_rings_until_its_deadline_and_then_ends_missed(world: World) -> None:
    start = world.clock.now()
    call = await world.ring()
    (incoming, to), *_ = told(world.deps).sent(ServerEvent.INCOMING)
    assert to == ("user", world.bob.user_id)
    assert datetime.fromisoformat(incoming["ring_expires_at"]) == start + timedelta(seconds=RING_S)

    world.clock.advance(RING_S - TICK)
    assert await world.sweep() == 0
    assert (await world.row(call.id)).status == "RINGING"

    world.clock.advance(TICK)
    assert await world.sweep() == 1
    row = await world.row(call.id)
    assert (row.status, row.reason, row.ended_at) == ("MISSED", "ring_timeout", world.clock.now())
    ended = told(world.deps).sent(ServerEvent.ENDED)
    assert {to for _, to in ended} == {("user", world.alice.user_id), ("user", world.bob.user_id)}
    assert all(d["status"] == "MISSED" for d, _ in ended)
    assert await world.sweep() == 0  # settled once
    with pytest.raises(ServiceError) as late:
        await answer.accept(world.deps, world.bob, BOB_PHONE, call.id)
    assert late.value.code is ErrorCode.INVALID_STATE


async def test_a_party_that_does_not_rejoin_within_the_grace_ends_the_call(world: World) -> None:
    call, room = await world.answered()
    world.clock.advance(100)
    left_at = world.clock.now()
    bob_phone = f"{world.bob.user_id}:phone"
    await webhooks.on_webhook(world.deps, WebhookNotice("participant_left", room, bob_phone))
    assert (await world.row(call.id)).callee_grace_until == left_at + timedelta(seconds=GRACE_S)

    world.clock.advance(GRACE_S - TICK)
    assert await world.sweep() == 0
    world.clock.advance(TICK)
    assert await world.sweep() == 1
    row = await world.row(call.id)
    assert (row.status, row.reason) == ("COMPLETED", "participant_left")
    assert row.duration_s == pytest.approx(100 + GRACE_S)
    assert [(e, s) for e, s, _ in await world.events(call.id)] == [
        ("invite", "RINGING"),
        ("accept", "IN_PROGRESS"),
        ("participant_left", "IN_PROGRESS"),
        ("participant_left", "COMPLETED"),
    ]


async def test_a_rejoin_within_the_grace_keeps_the_call(world: World) -> None:
    call, room = await world.answered()
    bob_phone = f"{world.bob.user_id}:phone"
    await webhooks.on_webhook(world.deps, WebhookNotice("participant_left", room, bob_phone))
    world.clock.advance(GRACE_S - TICK)
    await webhooks.on_webhook(world.deps, WebhookNotice("participant_joined", room, bob_phone))
    world.clock.advance(3600)
    assert await world.sweep() == 0
    assert (await world.row(call.id)).status == "IN_PROGRESS"


async def test_the_duration_runs_from_the_answer_to_the_hang_up(world: World) -> None:
    call = await world.ring()
    world.clock.advance(4)
    await answer.accept(world.deps, world.bob, BOB_PHONE, call.id)
    answered_at = world.clock.now()
    world.clock.advance(42.5)
    await settle.finish(world.deps, world.alice, ALICE_LAPTOP, call.id, StatusEvent.HANGUP)
    row = await world.row(call.id)
    assert (row.answered_at, row.ended_at) == (answered_at, world.clock.now())
    assert (row.status, row.reason, row.duration_s) == ("COMPLETED", "hangup", 42.5)
    assert [at for _, _, at in await world.events(call.id)] == [
        answered_at - timedelta(seconds=4),
        answered_at,
        world.clock.now(),
    ]


async def test_the_invite_limit_counts_the_last_minute(world: World) -> None:
    for n in range(2):  # the limit is 2 a minute; each call is cancelled to free the lines
        call = await world.ring(f"r{n}")
        await settle.finish(world.deps, world.alice, ALICE_LAPTOP, call.id, StatusEvent.CANCEL)
        world.clock.advance(10)
    world.clock.advance(60 - 20 - TICK)  # the first invite is 60 s - TICK old
    with pytest.raises(ServiceError) as limited:
        await world.ring("r2")
    assert limited.value.code is ErrorCode.RATE_LIMITED
    world.clock.advance(TICK + TICK)
    assert (await world.ring("r3")).status == "RINGING"


async def test_periodic_work_runs_every_period_of_the_clock_and_outlives_a_failure() -> None:
    clock = FakeClock()
    start, seen = clock.now(), []

    async def work() -> None:
        seen.append(clock.now() - start)
        if len(seen) == 2:
            raise RuntimeError("a failing round")  # logged; the next round comes anyway
        if len(seen) == 4:
            raise asyncio.CancelledError  # as at shutdown: the loop ends

    with pytest.raises(asyncio.CancelledError):
        await every(clock, 5.0, "test", work)
    assert seen == [timedelta(seconds=s) for s in (5, 10, 15, 20)]
    assert clock.slept == [5.0] * 4


async def test_a_periodic_task_failing_in_a_row_is_logged_once_a_minute_then_its_recovery(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Specification: ten rounds a second failing for 150 s log three failures (at 0, 60 and
    120 s, each with the count so far), and the first round that works says so, once."""
    clock = FakeClock()
    rounds = 0

    async def work() -> None:
        nonlocal rounds
        rounds += 1
        if rounds <= 1500:
            raise OSError("disk I/O error")
        if rounds == 1510:
            raise asyncio.CancelledError

    with (
        caplog.at_level(logging.WARNING, logger="server.app"),
        pytest.raises(asyncio.CancelledError),
    ):
        await every(clock, 0.1, "wal checkpoint", work)
    failed = [r for r in caplog.records if r.getMessage() == "periodic task failed"]
    assert [vars(r)["failures_in_a_row"] for r in failed] == [1, 601, 1201]
    again = [r for r in caplog.records if r.getMessage() == "periodic task works again"]
    assert [vars(r)["failures_in_a_row"] for r in again] == [1500]


async def test_a_tenants_size_is_read_again_after_a_minute(world: World) -> None:
    tenant_id = world.alice.tenant_id
    assert await world.deps.tenants.size(world.domain.sessions, tenant_id) == 2
    async with world.domain.sessions() as session:
        tenant = await session.get(Tenant, tenant_id)
        assert tenant is not None
        await ensure_users(session, tenant, [UserSpec("carol@acme.test", "Carol")], "pw")
        await session.commit()
    world.clock.advance(60 - TICK)
    assert await world.deps.tenants.size(world.domain.sessions, tenant_id) == 2  # as read
    world.clock.advance(TICK)
    assert await world.deps.tenants.size(world.domain.sessions, tenant_id) == 3
