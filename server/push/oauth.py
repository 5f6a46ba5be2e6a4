"""The OAuth 2.0 access token FCM HTTP v1 wants, from a service account through ``google-auth``.

``google-auth`` reads the service-account JSON (``VOIP_FCM_CREDENTIALS_FILE``), signs the JWT
assertion with its private key and trades it at the JSON's ``token_uri`` (Google's, or a fake
in tests) for an access token. Its transport interface is synchronous, so a refresh runs in a
worker thread over a small ``httpx`` adapter; a token is kept until shortly before it expires,
judged on the server's :class:`~server.clock.Clock`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from google.auth import exceptions as auth_errors
from google.auth import transport
from google.oauth2 import service_account

from server.clock import Clock

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
RENEW_BEFORE = timedelta(minutes=5)
"""A token is renewed this long before it expires (Google's last an hour)."""


class TokenUnavailable(Exception):
    """No access token could be had (the token endpoint is down, slow or refused)."""


class _Response(transport.Response):
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    @property
    def data(self) -> bytes:
        return self._response.content


class HttpxRequest(transport.Request):
    """``google.auth.transport.Request`` over a synchronous ``httpx.Client``."""

    def __init__(self, timeout_s: float) -> None:
        self._timeout_s = timeout_s

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> _Response:
        try:
            with httpx.Client(timeout=timeout or self._timeout_s) as client:
                response = client.request(method, url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            why = f"{type(exc).__name__}: {exc}"
            raise auth_errors.TransportError(why) from exc  # type: ignore[no-untyped-call]
        return _Response(response)


class ServiceAccountTokens:
    """Access tokens of one service account, renewed before they expire."""

    def __init__(self, credentials_file: Path, clock: Clock, *, timeout_s: float) -> None:
        self._credentials = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            str(credentials_file), scopes=[SCOPE]
        )
        self._clock = clock
        self._request = HttpxRequest(timeout_s)
        self._token: str | None = None
        self._good_until = datetime.min.replace(tzinfo=UTC)
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        """A valid access token; :class:`TokenUnavailable` when none can be had now."""
        async with self._lock:  # one refresh at a time; the others use its token
            if self._token is None or self._clock.now() >= self._good_until:
                await self._refresh()
            assert self._token is not None
            return self._token

    def invalidate(self) -> None:
        """FCM refused the token (401): fetch a new one next time."""
        self._token = None

    async def _refresh(self) -> None:
        credentials = self._credentials
        try:
            await asyncio.to_thread(credentials.refresh, self._request)
        except (auth_errors.GoogleAuthError, ValueError) as exc:
            raise TokenUnavailable(f"OAuth token refused or unreachable: {exc}") from exc
        if not credentials.token:
            raise TokenUnavailable("the token endpoint answered no access token")
        self._token = str(credentials.token)
        # google-auth states the expiry on the wall clock (naive UTC): keep the lifetime it
        # has left, on our clock.
        expiry: datetime | None = credentials.expiry
        left = timedelta(hours=1)
        if expiry is not None:
            left = expiry.replace(tzinfo=UTC) - datetime.now(UTC)
        self._good_until = self._clock.now() + left - RENEW_BEFORE
