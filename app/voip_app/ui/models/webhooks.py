"""The Webhooks screen's model (``admin.webhook*``): a tenant admin's endpoints, adding one
(its signing secret shown once), disabling, enabling or deleting one (after a second click),
the latest deliveries and re-sending one."""

from __future__ import annotations

from dataclasses import dataclass, field

import flet as ft

from voip_app.errors import VoipError
from voip_app.ui.models.call import Fail
from voip_app.ui.ports import EnginePort
from voip_contract.admin import WebhookDeliveryOut, WebhookEndpointOut


@ft.observable
@dataclass
class WebhooksModel:
    engine: EnginePort
    fail: Fail
    endpoints: list[WebhookEndpointOut] = field(default_factory=list)
    deliveries: list[WebhookDeliveryOut] = field(default_factory=list)
    new_url: str = ""
    secret: str = ""
    """The last added endpoint's signing secret: the server shows it this once."""
    deleting: str = ""
    """The endpoint whose Delete was clicked once: the row asks to confirm."""

    async def opened(self) -> None:
        """Read the endpoints and deliveries (again)."""
        try:
            self.endpoints, self.deliveries = await self.engine.webhooks()
        except VoipError as exc:
            await self.fail(exc)

    def type_url(self, url: str) -> None:
        self.new_url = url

    async def add(self) -> None:
        url = self.new_url.strip()
        if not url:
            return
        try:
            made = await self.engine.add_webhook(url)
        except VoipError as exc:  # not http(s), a private address...: the banner says why
            await self.fail(exc)
            return
        self.secret, self.new_url = made.secret, ""
        await self.opened()

    async def switch(self, endpoint: WebhookEndpointOut) -> None:
        """Disable an enabled endpoint, enable a disabled one (that clears why it was)."""
        await self._change(endpoint.id, "disable" if endpoint.enabled else "enable")

    def ask_delete(self, endpoint_id: str) -> None:
        """Delete's first click: the row asks to confirm ("" = it asks no more)."""
        self.deleting = endpoint_id

    async def delete(self, endpoint_id: str) -> None:
        """Delete confirmed: the endpoint and its deliveries are gone."""
        self.deleting = ""
        await self._change(endpoint_id, "delete")

    async def _change(self, endpoint_id: str, change: str) -> None:
        try:
            await self.engine.change_webhook(endpoint_id, change)
        except VoipError as exc:  # e.g. another admin deleted it: the banner says so
            await self.fail(exc)
        await self.opened()

    async def resend(self, delivery_id: int) -> None:
        try:
            await self.engine.resend(delivery_id)
        except VoipError as exc:
            await self.fail(exc)
            return
        await self.opened()
