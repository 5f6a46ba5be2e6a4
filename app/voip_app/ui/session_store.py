"""The remembered sign-in: the server address, the email and this installation's device id in
the platform's shared preferences (browser storage on the web); the access token only in the
platform's secure store, never in the clear.

On Android the secure store is ``flet-secure-storage`` (the Android Keystore encrypts it). Where
the app runs without one (the web, a desktop run of the stock Flet client, which does not carry
the extension), the token is kept in memory only: a restart signs in again. A token an older
version left in the shared preferences is deleted at the first load. The password is never kept.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Protocol

import flet as ft

log = logging.getLogger(__name__)

PREFIX = "crm_calls."
KEYS = ("server_url", "email")
TOKEN = PREFIX + "access_token"


class KeyValues(Protocol):
    """The part of ``SharedPreferences`` / ``SecureStorage`` the store uses."""

    async def get(self, key: str) -> Any: ...

    async def set(self, key: str, value: Any) -> Any: ...

    async def remove(self, key: str) -> Any: ...


def platform_vault() -> KeyValues | None:
    """The platform's secure store, where the app has one (Android); ``None`` elsewhere."""
    from voip_app.platform import is_android

    if not is_android():
        return None
    try:
        import flet_secure_storage as fss
    except ImportError:  # a build without the extension: keep the token in memory
        log.warning("flet-secure-storage missing: the access token is kept in memory only")
        return None
    vault: KeyValues = fss.SecureStorage()
    return vault


class PreferencesStore:
    """:class:`voip_app.ui.ports.SessionStore`: preferences for what is not secret, ``vault``
    (or memory) for the token."""

    def __init__(self, prefs: KeyValues | None = None, vault: KeyValues | None = None) -> None:
        self._prefs: KeyValues = prefs if prefs is not None else ft.SharedPreferences()
        self._vault = vault
        self._token = ""
        """The token, when there is no vault (memory only)."""

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
        await self._prefs.remove(TOKEN)  # (kept in the clear by older versions)
        values = [await self._prefs.get(PREFIX + key) for key in KEYS]
        server_url, email = (v if isinstance(v, str) else "" for v in values)
        if not server_url or not email:
            return None
        return server_url, email, await self._load_token()

    async def save(self, server_url: str, email: str, access_token: str) -> None:
        for key, value in zip(KEYS, (server_url, email), strict=True):
            await self._prefs.set(PREFIX + key, value)
        if self._vault is not None:
            await self._vault.set(TOKEN, access_token)
        else:
            self._token = access_token

    async def clear(self) -> None:
        # The server and email stay filled in for the next sign-in; the token goes.
        self._token = ""
        if self._vault is not None:
            await self._vault.remove(TOKEN)

    async def _load_token(self) -> str:
        if self._vault is None:
            return self._token
        value = await self._vault.get(TOKEN)
        return value if isinstance(value, str) else ""
