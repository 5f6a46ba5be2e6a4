"""My tenant's administration, for its admins: its users and its webhook endpoints.

Each method is one request of the signed-in user's (``/api/admin/*``); the server checks that
they are an admin of the tenant and answers ``forbidden`` otherwise.
"""

from __future__ import annotations

from voip_app.engine.session import Session
from voip_contract.admin import (
    AdminUser,
    WebhookDeliveryOut,
    WebhookEndpointCreated,
    WebhookEndpointOut,
)


class TenantAdmin:
    """The Users and Webhooks screens' requests (``CallEngine.admin``)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    async def users(self) -> list[AdminUser]:
        """My tenant's users."""
        return await self._session.require_api().admin_users()

    async def change_user(self, user_id: str, change: str) -> AdminUser:
        """``disable``, ``enable``, ``admin`` or ``member`` a user of my tenant."""
        return await self._session.require_api().admin_change(user_id, change)

    async def add_user(self, email: str, display_name: str) -> AdminUser:
        """A new member of my tenant (it signs in through the CRM's identity provider)."""
        return await self._session.require_api().admin_add(email, display_name)

    async def webhooks(self) -> tuple[list[WebhookEndpointOut], list[WebhookDeliveryOut]]:
        """My tenant's webhook endpoints and latest deliveries."""
        return await self._session.require_api().webhooks()

    async def add_webhook(self, url: str) -> WebhookEndpointCreated:
        """A new webhook endpoint of my tenant; the answer holds its secret, shown once."""
        return await self._session.require_api().add_webhook(url)

    async def change_webhook(self, endpoint_id: str, change: str) -> None:
        """``enable``, ``disable`` or ``delete`` a webhook endpoint of my tenant."""
        await self._session.require_api().change_webhook(endpoint_id, change)

    async def resend(self, delivery_id: int) -> None:
        """Send one of my tenant's webhook deliveries again."""
        await self._session.require_api().resend(delivery_id)
