"""The remembered sign-in: the server address, the email and this installation's device id in
the platform's shared preferences (browser storage on the web); the access token only in the
platform's secure store, never in the clear.

On Android the secure store is ``flet-secure-storage`` (the Android Keystore encrypts it). Where
the app runs without one (the web, a desktop run of the stock Flet client, which does not carry
the extension), the token is kept in memory only: a restart signs in again. A token an older
version left in the shared preferences is deleted at the first load. The password is never kept.

Every read and write is a round trip to the Flet client (a browser tab, the phone's UI). A client
that does not answer (a tab gone in the middle, a lost reply) must not hold up signing in, so each
one waits at most :data:`ANSWER_TIMEOUT_S`: a read that times out finds nothing, a write that
times out is not remembered, and the log says which.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable
from typing import Any, Protocol

import flet as ft

from voip_app.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger(__name__)

PREFIX = "crm_calls."
KEYS = ("server_url", "email")
TOKEN = PREFIX + "access_token"
ANSWER_TIMEOUT_S = 5.0
"""How long a read or write waits for the client's answer."""


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

    def __init__(
        self,
        prefs: KeyValues | None = None,
        vault: KeyValues | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._prefs: KeyValues = prefs if prefs is not None else ft.SharedPreferences()
        self._vault = vault
        self._clock = clock
        self._token = ""
        """The token, when there is no vault (memory only)."""

    async def device_id(self) -> str:
        """This installation's device id: made at the first start, the same ever after.

        The server knows a call's devices by it, so after a restart the app can rejoin a call it
        was in, and another device of the same person is never mistaken for this one.
        """
        key = PREFIX + "device_id"
        value = await self._answer(f"read {key}", self._prefs.get(key))
        if isinstance(value, str) and value:
            return value
        value = uuid.uuid4().hex[:12]
        await self._answer(f"write {key}", self._prefs.set(key, value))
        return value

    async def load(self) -> tuple[str, str, str] | None:
        # (the token was kept in the clear by older versions)
        await self._answer(f"remove {TOKEN}", self._prefs.remove(TOKEN))
        values = [await self._answer(f"read {key}", self._prefs.get(PREFIX + key)) for key in KEYS]
        server_url, email = (v if isinstance(v, str) else "" for v in values)
        if not server_url or not email:
            return None
        return server_url, email, await self._load_token()

    async def save(self, server_url: str, email: str, access_token: str) -> None:
        for key, value in zip(KEYS, (server_url, email), strict=True):
            await self._answer(f"write {key}", self._prefs.set(PREFIX + key, value))
        if self._vault is not None:
            await self._answer("write the token", self._vault.set(TOKEN, access_token))
        else:
            self._token = access_token

    async def clear(self) -> None:
        # The server and email stay filled in for the next sign-in; the token goes.
        self._token = ""
        if self._vault is not None:
            await self._answer("remove the token", self._vault.remove(TOKEN))

    async def _load_token(self) -> str:
        if self._vault is None:
            return self._token
        value = await self._answer("read the token", self._vault.get(TOKEN))
        return value if isinstance(value, str) else ""

    async def _answer(self, what: str, request: Awaitable[Any]) -> Any:
        """The client's answer to ``request``; ``None`` when none came in time (logged)."""
        answer = asyncio.ensure_future(request)
        deadline = asyncio.ensure_future(self._clock.sleep(ANSWER_TIMEOUT_S))
        try:
            await asyncio.wait({answer, deadline}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            answered = answer.done()
            for task in (answer, deadline):
                task.cancel()  # (nothing, once done)
            await asyncio.gather(answer, deadline, return_exceptions=True)
        if answered:
            return answer.result()
        log.warning(
            "the app's storage did not %s in %.0f s: went on without it", what, ANSWER_TIMEOUT_S
        )
        return None
