"""The remembered sign-in, in the platform's shared preferences (browser storage on the web).

Only the server address, the email, (when the engine can resume with it) the access token and
this installation's device id are kept; the password never is.
"""

from __future__ import annotations

import uuid

import flet as ft

PREFIX = "crm_calls."
KEYS = ("server_url", "email", "access_token")


class PreferencesStore:
    """:class:`voip_app.ui.ports.SessionStore` over :class:`flet.SharedPreferences`."""

    def __init__(self) -> None:
        self._prefs = ft.SharedPreferences()

    async def device_id(self) -> str:
        """This installation's device id: made at the first start, the same ever after.

        The server knows a call's devices by it, so after a restart the app can rejoin a call it
        was in, and another device of the same person is never mistaken for this one.
        """
        key = PREFIX + "device_id"
        value = await self._prefs.get(key)
        if isinstance(value, str) and value:
            return value
        value = uuid.uuid4().hex[:12]
        await self._prefs.set(key, value)
        return value

    async def load(self) -> tuple[str, str, str] | None:
        values = [await self._prefs.get(PREFIX + key) for key in KEYS]
        server_url, email, token = (v if isinstance(v, str) else "" for v in values)
        if not server_url or not email:
            return None
        return server_url, email, token

    async def save(self, server_url: str, email: str, access_token: str) -> None:
        for key, value in zip(KEYS, (server_url, email, access_token), strict=True):
            await self._prefs.set(PREFIX + key, value)

    async def clear(self) -> None:
        # The server and email stay filled in for the next sign-in; the token goes.
        await self._prefs.remove(PREFIX + "access_token")
