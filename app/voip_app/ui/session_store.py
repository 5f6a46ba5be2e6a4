"""The remembered sign-in, in the platform's shared preferences (browser storage on the web).

Only the server address, the email and (when the engine can resume with it) the access token are
kept; the password never is.
"""

from __future__ import annotations

import flet as ft

PREFIX = "crm_calls."
KEYS = ("server_url", "email", "access_token")


class PreferencesStore:
    """:class:`voip_app.ui.ports.SessionStore` over :class:`flet.SharedPreferences`."""

    def __init__(self) -> None:
        self._prefs = ft.SharedPreferences()

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
