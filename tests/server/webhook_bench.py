"""The webhook outbox's test bench: one tenant's database on a fake clock (alice calls bob),
senders made as its nodes would make them, and a receiver on loopback (the ``hooks``
fixture, ``conftest.py``)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from server.auth import Identity
from server.calls.deps import CallDeps, DeviceSocket
from server.calls.invite import invite
from server.db.models import WebhookDelivery, WebhookEndpoint
from server.webhooks.destination import Resolver, system_resolver
from server.webhooks.sender import WebhookSender
from tests.server.domain import Domain
from tests.support.webhook_receiver import WebhookReceiver
from voip_contract import InvitePayload

ALICE_LAPTOP = DeviceSocket("sid-a", "laptop")


@dataclass
class Hooks:
    domain: Domain
    receiver: WebhookReceiver
    alice: Identity
    bob: Identity
    senders: list[WebhookSender] = field(default_factory=list)

    def node(
        self,
        node_id: str,
        *,
        allow_private: bool = True,
        resolve: Resolver = system_resolver,
        **settings: Any,
    ) -> tuple[CallDeps, WebhookSender]:
        deps = self.domain.node(node_id, webhook_allow_private=allow_private, **settings)
        sender = WebhookSender(
            deps.settings, deps.sessions, deps.clock, rng=random.Random(7), resolve=resolve
        )
        self.senders.append(sender)
        return deps, sender

    async def endpoint(self, url: str | None = None) -> str:
        async with self.domain.sessions() as session:
            row = WebhookEndpoint(
                tenant_id=self.alice.tenant_id,
                url=url or self.receiver.url,
                event_types=",call.ringing,call.answered,call.ended,call.note,",
                enabled=True,
                secret=self.receiver.secret,
                created_at=self.domain.clock.now(),
            )
            session.add(row)
            await session.commit()
            return row.id

    async def call_ends(self, deps: CallDeps, request_id: str = "r1") -> str:
        """Bob is offline: the invite ends at once (``MISSED``), one ``call.ended``."""
        payload = InvitePayload(callee_id=self.bob.user_id, request_id=request_id)
        return (await invite(deps, self.alice, ALICE_LAPTOP, payload)).id

    async def rows(self) -> list[WebhookDelivery]:
        async with self.domain.sessions() as session:
            found = await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))
            return list(found)

    async def endpoint_row(self, endpoint_id: str) -> WebhookEndpoint:
        async with self.domain.sessions() as session:
            row = await session.get(WebhookEndpoint, endpoint_id)
            assert row is not None
            return row
