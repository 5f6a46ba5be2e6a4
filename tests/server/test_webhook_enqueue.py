"""Which steps write webhook deliveries, on a fake clock with a real database.

Specification: every step of a call writes one delivery per enabled endpoint of the call's
tenant that wants its event, in the step's transaction, and nothing when the tenant has no
such endpoint (a disabled one, or another tenant's, does not count). Whether an endpoint
exists is read by each step anew: one created while a call rings gets that call's end.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from server.calls import settle
from server.calls.invite import invite
from server.callstate import StatusEvent
from server.db.models import WebhookDelivery, WebhookEndpoint
from server.seed import ensure_tenant
from tests.server.domain import ALICE_LAPTOP, BOB_PHONE, Domain, alice_and_bob_online
from voip_contract import InvitePayload

EVENTS = ",call.ringing,call.answered,call.ended,"


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[Domain]:
    async with alice_and_bob_online(tmp_path) as made:
        yield made


async def _endpoint(world: Domain, tenant_id: str, *, enabled: bool = True) -> str:
    async with world.sessions() as session:
        row = WebhookEndpoint(
            tenant_id=tenant_id,
            url="https://crm.example/hooks",
            event_types=EVENTS,
            enabled=enabled,
            secret="s" * 32,
            created_at=world.clock.now(),
        )
        session.add(row)
        await session.commit()
        return row.id


async def _deliveries(world: Domain) -> list[tuple[str, str]]:
    """``(event type, endpoint id)`` of every delivery written, in order."""
    async with world.sessions() as session:
        rows = await session.execute(
            select(WebhookDelivery.event_type, WebhookDelivery.endpoint_id).order_by(
                WebhookDelivery.id
            )
        )
        return [(t, e) for t, e in rows]


async def _ring(world: Domain, request_id: str) -> str:
    alice, bob = world.people["alice"], world.people["bob"]
    payload = InvitePayload(callee_id=bob.user_id, request_id=request_id)
    return (await invite(world.nodes[0], alice, ALICE_LAPTOP, payload)).id


async def _decline(world: Domain, call_id: str) -> None:
    bob = world.people["bob"]
    await settle.finish(world.nodes[0], bob, BOB_PHONE, call_id, StatusEvent.DECLINE)


async def test_no_enabled_endpoint_of_the_tenant_no_delivery(world: Domain) -> None:
    async with world.sessions() as session:
        other = await ensure_tenant(session, "other", "Other")
        await session.commit()
    await _endpoint(world, other.id)
    await _endpoint(world, world.people["alice"].tenant_id, enabled=False)

    await _decline(world, await _ring(world, "r1"))

    assert await _deliveries(world) == []


async def test_each_step_reads_the_endpoints_anew(world: Domain) -> None:
    tenant = world.people["alice"].tenant_id
    first = await _ring(world, "r1")
    hook = await _endpoint(world, tenant)  # while the first call rings

    await _decline(world, first)
    await _decline(world, await _ring(world, "r2"))

    ended, ringing = ("call.ended", hook), ("call.ringing", hook)
    assert await _deliveries(world) == [ended, ringing, ended]
    async with world.sessions() as session:
        await session.execute(
            update(WebhookEndpoint).where(WebhookEndpoint.id == hook).values(enabled=False)
        )
        await session.commit()
    await _decline(world, await _ring(world, "r3"))
    assert await _deliveries(world) == [ended, ringing, ended]
