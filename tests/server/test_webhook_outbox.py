"""The webhook outbox on a fake clock, against a real SQLite database and a real receiver on
loopback that checks signatures with ``standardwebhooks``: retries with backoff until a 2xx and
no more, ``Retry-After``, an endpoint failing for 24 h disabled with its reason, one attempt at
a time whichever node claims, a lease that lapses when its node dies. Each test moves the clock
to just before a retry (nothing is sent) and onto it. Where deliveries may go:
``test_webhook_destination.py``."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from server.db import webhooks as hook_data
from server.webhooks.sender import GIVE_UP_AFTER, WebhookSender
from tests.server.webhook_bench import Hooks

TICK = 0.001


async def to_just_before_due(hooks: Hooks, sender: WebhookSender) -> datetime:
    """Move the clock to just before the pending delivery's due time, check nothing goes, and
    return that due time."""
    (pending,) = [r for r in await hooks.rows() if r.state == "pending"]
    hooks.domain.clock.at = pending.due_at - timedelta(seconds=TICK)
    assert await sender.deliver_due() == 0
    return pending.due_at


async def test_three_failures_then_success_is_delivered_once_more_and_no_more(
    hooks: Hooks,
) -> None:
    deps, sender = hooks.node("node-a")
    await hooks.endpoint()
    call_id = await hooks.call_ends(deps)
    hooks.receiver.answer_next(500, 500, 500)
    assert await sender.deliver_due() == 1
    waits = []
    for _ in range(3):
        before = hooks.domain.clock.now()
        due = await to_just_before_due(hooks, sender)
        waits.append((due - before).total_seconds())
        hooks.domain.clock.at = due
        assert await sender.deliver_due() == 1
    # 5 s doubling, each wait in the upper half of its step (jitter).
    assert 2.5 <= waits[0] <= 5
    assert 5 <= waits[1] <= 10
    assert 10 <= waits[2] <= 20
    hooks.domain.clock.advance(GIVE_UP_AFTER.total_seconds() * 2)
    assert await sender.deliver_due() == 0
    hits = hooks.receiver.hits
    assert [h.answered for h in hits] == [500, 500, 500, 200]
    assert all(h.signed for h in hits)
    assert {h.event_id for h in hits} == {hits[0].event_id}
    assert {(h.event_type, h.call["id"], h.call["status"]) for h in hits} == {
        ("call.ended", call_id, "MISSED")
    }
    (row,) = await hooks.rows()
    assert (row.state, row.attempts, row.response_code) == ("delivered", 4, 200)


async def test_retry_after_is_honoured(hooks: Hooks) -> None:
    deps, sender = hooks.node("node-a")
    await hooks.endpoint()
    await hooks.call_ends(deps)
    hooks.receiver.answer_next((503, {"Retry-After": "120"}))
    sent_at = hooks.domain.clock.now()
    assert await sender.deliver_due() == 1
    due = await to_just_before_due(hooks, sender)
    assert due == sent_at + timedelta(seconds=120)
    hooks.domain.clock.at = due
    assert await sender.deliver_due() == 1
    assert [h.answered for h in hooks.receiver.hits] == [503, 200]


async def test_an_endpoint_failing_for_24_hours_is_disabled_with_the_reason(hooks: Hooks) -> None:
    deps, sender = hooks.node("node-a")
    endpoint_id = await hooks.endpoint()
    await hooks.call_ends(deps)
    started = hooks.domain.clock.now()
    hooks.receiver.answer_next(*([500] * 100))
    assert await sender.deliver_due() == 1
    while any(r.state == "pending" for r in await hooks.rows()):
        hooks.domain.clock.at = await to_just_before_due(hooks, sender)
        assert await sender.deliver_due() == 1
    row = await hooks.endpoint_row(endpoint_id)
    assert row.enabled is False
    assert row.disabled_reason is not None
    assert "failing since" in row.disabled_reason
    assert "HTTP 500" in row.disabled_reason
    assert hooks.domain.clock.now() - started >= GIVE_UP_AFTER
    (delivery,) = await hooks.rows()
    assert delivery.state == "failed"
    assert 10 < delivery.attempts < 60  # backed off, up to an hour apart
    # Disabled: a new event of the tenant is not even written for it.
    await hooks.call_ends(deps, "r2")
    assert len(await hooks.rows()) == 1


async def test_two_nodes_make_one_attempt_and_a_dead_nodes_lease_lapses(hooks: Hooks) -> None:
    deps, one = hooks.node("node-a")
    _, two = hooks.node("node-b")
    await hooks.endpoint()
    await hooks.call_ends(deps)
    made = await asyncio.gather(one.deliver_due(), two.deliver_due())
    assert sorted(made) == [0, 1]
    assert len(hooks.receiver.hits) == 1
    # A node claims the next event and dies before sending: the others wait for its lease.
    await hooks.call_ends(deps, "r2")
    (pending,) = [r for r in await hooks.rows() if r.state == "pending"]
    now = hooks.domain.clock.now()
    async with hooks.domain.sessions() as session:
        lease = now + timedelta(seconds=31)
        assert await hook_data.claim(
            session, delivery_id=pending.id, node="node-c", now=now, until=lease
        )
        await session.commit()
    hooks.domain.clock.at = lease - timedelta(seconds=TICK)
    assert await one.deliver_due() + await two.deliver_due() == 0
    hooks.domain.clock.at = lease + timedelta(seconds=TICK)
    assert await two.deliver_due() == 1
    assert [h.answered for h in hooks.receiver.hits] == [200, 200]
