"""The push outbox on a fake clock, against a real SQLite database and the real HTTP fake of FCM
and its OAuth endpoint (``tests/support/fake_fcm.py``): retries after ``Retry-After`` and the
exponential backoff, retries ending with the ringing, one push sent once by two nodes (one of
which died after its commit, or mid-send), the outage logged once. Nothing waits for a
deadline: each test moves the clock to just before it (nothing is sent) and onto it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from server.app import push_sender
from server.auth import Identity
from server.calls import push_devices, settle
from server.calls.deps import CallDeps, DeviceSocket
from server.calls.invite import invite
from server.callstate import StatusEvent
from server.config import Settings
from server.db import push as push_data
from server.db.models import PushMessage
from server.push.sender import PushSender
from tests.server.domain import Domain, domain
from tests.support.fake_fcm import Answer, FakeFcm, fcm_error
from voip_contract import Call, InvitePayload, PushRegistration

RING_S = 30.0
TICK = 0.001
ALICE_LAPTOP = DeviceSocket("sid-a", "laptop")


@dataclass
class Pushes:
    domain: Domain
    fcm: FakeFcm
    credentials: Path
    alice: Identity
    bob: Identity

    def node(self, node_id: str, **settings: float) -> CallDeps:
        """A server process whose sender talks to the fake FCM (its loop is not running: the
        tests call ``send_due`` and ``idle`` themselves)."""
        return self.domain.node(
            node_id,
            push=lambda settings: push_sender(settings, self.domain.sessions, self.domain.clock),
            ring_timeout_s=RING_S,
            fcm_project_id=self.fcm.project_id,
            fcm_credentials_file=self.credentials,
            fcm_endpoint=self.fcm.url,
            **settings,
        )

    async def ring(self, deps: CallDeps, request_id: str = "r1") -> Call:
        payload = InvitePayload(callee_id=self.bob.user_id, request_id=request_id)
        return await invite(deps, self.alice, ALICE_LAPTOP, payload)

    async def rows(self, call_id: str) -> list[tuple[str, str, str, int]]:
        """``(kind, device, state, attempts)`` of the call's pushes."""
        async with self.domain.sessions() as session:
            found = await session.execute(
                select(PushMessage.kind, PushMessage.device_id, PushMessage.state)
                .add_columns(PushMessage.attempts)
                .where(PushMessage.call_id == call_id)
                .order_by(PushMessage.id)
            )
            return [(k, d, s, a) for k, d, s, a in found]


def sender_of(deps: CallDeps) -> PushSender:
    assert isinstance(deps.push, PushSender)
    return deps.push


async def send(deps: CallDeps) -> int:
    """One round of ``deps``' sender, to its end: how many pushes it claimed."""
    claimed = await sender_of(deps).send_due()
    await sender_of(deps).idle()
    return claimed


@pytest.fixture
async def pushes(tmp_path: Path, fake_fcm: FakeFcm) -> AsyncIterator[Pushes]:
    """Alice, and Bob with a phone and a tablet registered for push and no socket at all."""
    async with domain(tmp_path, "alice", "bob") as made:
        world = Pushes(
            made,
            fake_fcm,
            fake_fcm.write_service_account(tmp_path / "service-account.json"),
            made.people["alice"],
            made.people["bob"],
        )
        registrar = world.node("registrar")
        for device in ("phone", "tablet"):
            body = PushRegistration(provider="fcm", token=f"{tmp_path.name}-{device}")
            await push_devices.register(registrar, world.bob, device, body)
        yield world
        for deps in made.nodes:
            await sender_of(deps).drain()


def unavailable(retry_after: str | None = None) -> Answer:
    headers = {"Retry-After": retry_after} if retry_after else {}
    return Answer(503, fcm_error(503, "UNAVAILABLE", "try later"), headers)


async def test_503_is_retried_after_retry_after_and_the_outage_is_logged_once(
    pushes: Pushes, caplog: pytest.LogCaptureFixture
) -> None:
    node = pushes.node("node-a")
    pushes.fcm.answer_next(unavailable("7"), unavailable("7"))
    with caplog.at_level(logging.INFO, logger="server.push.sender"):
        call = await pushes.ring(node)
        assert call.status == "RINGING"  # rung by push alone
        assert await send(node) == 2
        assert pushes.fcm.delivered(call.id) == []
        pushes.domain.clock.advance(7 - TICK)
        assert await send(node) == 0
        pushes.domain.clock.advance(TICK)
        assert await send(node) == 2
    delivered = pushes.fcm.delivered(call.id, "incoming")
    assert sorted(r.token.rsplit("-", 1)[1] for r in delivered) == ["phone", "tablet"]
    outage = [r.message for r in caplog.records if r.message.startswith("FCM unavailable")]
    assert len(outage) == 1
    assert [r.message for r in caplog.records].count("FCM reachable again") == 1


async def test_without_retry_after_the_backoff_doubles_from_one_second(pushes: Pushes) -> None:
    node = pushes.node("node-a")
    # the phone's first three tries fail, its fourth and the tablet's first go through
    pushes.fcm.answer_next(unavailable(), Answer(200, {"name": "m/1"}))
    call = await pushes.ring(node)
    assert await send(node) == 2
    for wait in (1.0, 2.0, 4.0):
        if wait < 4.0:
            pushes.fcm.answer_next(Answer(500, fcm_error(500, "INTERNAL", "oops")))
        pushes.domain.clock.advance(wait - TICK)
        assert await send(node) == 0
        pushes.domain.clock.advance(TICK)
        assert await send(node) == 1
    assert len(pushes.fcm.delivered(call.id, "incoming")) == 2
    assert sorted(a for *_, a in await pushes.rows(call.id)) == [1, 4]


async def test_retries_end_when_the_call_stops_ringing_and_a_cancel_follows(
    pushes: Pushes,
) -> None:
    node = pushes.node("node-a")
    pushes.fcm.answer_next(unavailable("5"), unavailable("5"))
    call = await pushes.ring(node)
    await send(node)
    pushes.domain.clock.advance(1)
    await settle.finish(node, pushes.alice, ALICE_LAPTOP, call.id, StatusEvent.CANCEL)
    assert await send(node) == 2  # the two cancels (a failed request may have got through)
    pushes.domain.clock.advance(10)
    assert await send(node) == 0  # the incomings are not tried again
    assert pushes.fcm.delivered(call.id, "incoming") == []
    cancels = pushes.fcm.delivered(call.id, "cancel")
    assert [r.data["status"] for r in cancels] == ["CANCELED", "CANCELED"]


async def test_an_incoming_not_tried_when_the_call_stopped_gets_no_cancel(pushes: Pushes) -> None:
    node = pushes.node("node-a")
    call = await pushes.ring(node)
    await settle.finish(node, pushes.alice, ALICE_LAPTOP, call.id, StatusEvent.CANCEL)
    assert await send(node) == 0
    assert [s for _, _, s, _ in await pushes.rows(call.id)] == ["dropped", "dropped"]


async def test_a_push_committed_by_a_node_that_died_is_sent_once_by_another(
    pushes: Pushes,
) -> None:
    dead, alive = pushes.node("node-a"), pushes.node("node-b")
    call = await pushes.ring(dead)  # committed; node-a dies before its sender runs
    assert await send(alive) == 2
    assert await send(dead) == 0  # (had it lived: nothing left to send)
    assert len(pushes.fcm.delivered(call.id, "incoming")) == 2


async def test_a_claim_lapses_only_after_its_lease(pushes: Pushes) -> None:
    one, two = pushes.node("node-a", push_timeout_s=2), pushes.node("node-b", push_timeout_s=2)
    lease_s = 3 * one.settings.push_timeout_s + 5
    call = await pushes.ring(one)
    now = pushes.domain.clock.now()
    async with pushes.domain.sessions() as session:  # node-a claims both and dies mid-send
        ids = await push_data.due_ids(session, now=now, limit=10)
        until = now + timedelta(seconds=lease_s)
        for push_id in ids:
            assert await push_data.claim(
                session, push_id=push_id, node="node-a", now=now, until=until
            )
        await session.commit()
    pushes.domain.clock.advance(lease_s)
    assert await send(two) == 0
    pushes.domain.clock.advance(TICK)
    assert await send(two) == 2
    assert len(pushes.fcm.delivered(call.id, "incoming")) == 2


async def test_an_incoming_sent_after_the_ringing_stopped_is_followed_by_its_cancel(
    pushes: Pushes,
) -> None:
    """The race a step can lose on PostgreSQL: it read an incoming as never tried, a claim went
    through meanwhile. The sender, having sent it, writes the cancel the step did not."""
    node = pushes.node("node-a")
    call = await pushes.ring(node)
    now = pushes.domain.clock.now()
    async with pushes.domain.sessions() as session:
        ids = await push_data.due_ids(session, now=now, limit=10)
        assert await push_data.claim(session, push_id=ids[0], node="x", now=now, until=now)
        items = await push_data.claimed_items(session, ids=[ids[0]])
        await session.commit()
    await settle.finish(node, pushes.alice, ALICE_LAPTOP, call.id, StatusEvent.CANCEL)
    async with pushes.domain.sessions() as session:
        for _ in range(2):  # a second time writes nothing: one cancel per device
            await push_data.cancel_if_stopped(session, item=items[0], at=now)
        await session.commit()
    kinds = [(k, d) for k, d, _, _ in await pushes.rows(call.id)]
    assert kinds.count(("cancel", items[0].device_id)) == 1


async def test_push_off_rings_nobody_by_push(tmp_path: Path) -> None:
    async with domain(tmp_path, "alice", "bob") as made:
        node = made.node("node-a")
        assert not Settings(var_dir=tmp_path).push_enabled
        bob = made.people["bob"]
        body = PushRegistration(provider="fcm", token="a-token")
        await push_devices.register(node, bob, "phone", body)
        payload = InvitePayload(callee_id=bob.user_id, request_id="r1")
        call = await invite(node, made.people["alice"], ALICE_LAPTOP, payload)
        assert (call.status, call.reason) == ("MISSED", "callee_offline")
