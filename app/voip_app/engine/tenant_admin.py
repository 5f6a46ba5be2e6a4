"""My tenant's administration, for its admins: its users and its webhook endpoints.

Each method is one request of the signed-in user's (``/api/admin/*``); the server checks that
they are an admin of the tenant and answers ``forbidden`` otherwise.
"""

from __future__ import annotations

from voip_app.api import ApiClient
from voip_app.engine.session import Session
from voip_contract import Page
from voip_contract.admin import (
    WEBHOOK_EVENTS,
    AdminUser,
    WebhookDeliveryOut,
    WebhookEndpointCreated,
    WebhookEndpointOut,
)

USERS = "/api/admin/users"
WEBHOOKS = "/api/admin/webhooks"


class TenantAdmin:
    """The Users and Webhooks screens' requests (``CallEngine.admin``)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    @property
    def _api(self) -> ApiClient:
        return self._session.require_api()

    async def users(self) -> list[AdminUser]:
        """My tenant's users, by email; the first 200."""
        page = await self._api.request("GET", USERS, Page[AdminUser], params={"limit": 200})
        return list(page.items)

    async def change_user(self, user_id: str, change: str) -> AdminUser:
        """``disable``, ``enable``, ``admin`` or ``member`` a user of my tenant."""
        path = f"{USERS}/{user_id}"
        if change in ("disable", "enable"):
            return await self._api.request("POST", f"{path}/{change}", AdminUser)
        return await self._api.request("PATCH", path, AdminUser, json={"role": change})

    async def add_user(self, email: str, display_name: str) -> AdminUser:
        """A new member of my tenant (it signs in through the CRM's identity provider)."""
        body = {"email": email, "display_name": display_name}
        return await self._api.request("POST", USERS, AdminUser, json=body)

    async def webhooks(self) -> tuple[list[WebhookEndpointOut], list[WebhookDeliveryOut]]:
        """My tenant's webhook endpoints and its 50 latest deliveries."""
        endpoints = await self._api.send("GET", WEBHOOKS)
        page = Page[WebhookDeliveryOut]
        deliveries = await self._api.request("GET", f"{WEBHOOKS}/deliveries", page)
        listed = [WebhookEndpointOut.model_validate(e) for e in endpoints.json()]
        return listed, list(deliveries.items)

    async def add_webhook(self, url: str) -> WebhookEndpointCreated:
        """A new endpoint for every call event; its secret is in this answer only."""
        body = {"url": url, "event_types": list(WEBHOOK_EVENTS)}
        return await self._api.request("POST", WEBHOOKS, WebhookEndpointCreated, json=body)

    async def change_webhook(self, endpoint_id: str, change: str) -> None:
        """``enable``, ``disable`` or ``delete`` a webhook endpoint of my tenant."""
        path = f"{WEBHOOKS}/{endpoint_id}"
        if change == "delete":
            await self._api.send("DELETE", path)
        else:
            await self._api.send("PATCH", path, json={"enabled": change == "enable"})

    async def resend(self, delivery_id: int) -> None:
        """Send one of my tenant's webhook deliveries again."""
        await self._api.send("POST", f"{WEBHOOKS}/deliveries/{delivery_id}/resend")
