"""The call server's HTTP API as an async client with typed results (:mod:`voip_contract`).

Every failure becomes one of :mod:`voip_app.errors`: :class:`~voip_app.errors.ServerUnreachable`
when nothing answers, :class:`~voip_app.errors.RequestRefused` (``.code``) for a contract error
body, :class:`~voip_app.errors.Unauthorized` for 401, :class:`~voip_app.errors.BadResponse` for
anything outside the contract. Tests pass ``transport=httpx.MockTransport(...)``.

A 401 to a request that carried the access token means the session is over: the listener set
with :meth:`ApiClient.on_session_refused` hears of it (a 401 to a sign-in is a wrong password).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from voip_app.clock import SYSTEM_CLOCK, Clock
from voip_app.errors import (
    BadResponse,
    RequestRefused,
    ServerUnreachable,
    SignInThrottled,
    Unauthorized,
    VoipError,
    refused,
)
from voip_app.listeners import notify
from voip_contract import (
    Call,
    Contact,
    ErrorCode,
    LoginResponse,
    Page,
    RecordingUrl,
    RoomToken,
    User,
)
from voip_contract.models import Outcomes

M = TypeVar("M", bound=BaseModel)

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 10.0
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class ApiClient:
    """One server, one signed-in user at most. Use as ``async with`` or call :meth:`aclose`."""

    def __init__(
        self,
        server_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.server_url = server_url.rstrip("/")
        self._clock = clock
        self._http = httpx.AsyncClient(
            base_url=self.server_url, transport=transport, timeout=timeout_s
        )
        self._token: str | None = None
        self._lifetime: tuple[datetime, datetime] | None = None
        self._on_refused: Callable[[Unauthorized], None] | None = None

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def access_token(self) -> str | None:
        """The bearer token after :meth:`login` (also what signaling authenticates with)."""
        return self._token

    def forget_token(self) -> None:
        self._token, self._lifetime = None, None

    def use_token(self, access_token: str) -> None:
        """Resume a session whose token was kept (check it with :meth:`me`)."""
        self._token, self._lifetime = access_token, None

    @property
    def token_lifetime(self) -> tuple[datetime, datetime] | None:
        """From when to when the access token is good, on this device's clock, or ``None``.

        For a token from :meth:`login` or :meth:`refresh`: from its arrival (on the client's
        clock) for ``expires_in`` seconds, so a device clock that is off changes nothing. For a
        kept token (:meth:`use_token`): its ``iat`` and ``exp``, read without checking the
        signature (only the server can); the client uses them to decide when to
        :meth:`refresh`, never to trust.
        """
        if self._lifetime is not None:
            return self._lifetime
        return _lifetime_of(self._token) if self._token else None

    def _keep(self, result: LoginResponse) -> LoginResponse:
        now = self._clock.now()
        self._token = result.access_token
        self._lifetime = (now, now + timedelta(seconds=result.expires_in))
        return result

    def on_session_refused(self, listener: Callable[[Unauthorized], None] | None) -> None:
        """Call ``listener(error)`` when the server refuses the access token (HTTP 401)."""
        self._on_refused = listener

    async def login(self, email: str, password: str) -> LoginResponse:
        """Sign in; keeps the access token for every later request. Raises ``Unauthorized``
        for a wrong email or password, ``SignInThrottled`` after too many of them."""
        body = {"email": email.strip(), "password": password}
        try:
            result = await self.request("POST", "/api/auth/login", LoginResponse, json=body)
        except RequestRefused as exc:
            if exc.code is ErrorCode.RATE_LIMITED:
                raise SignInThrottled(exc.server_message) from exc
            raise
        return self._keep(result)

    async def refresh(self) -> LoginResponse:
        """Trade the access token, while it is valid, for a fresh one (``POST
        /api/auth/refresh``); keeps the new one. An identity provider's token is refused with
        ``forbidden``: the identity provider renews it."""
        return self._keep(await self.request("POST", "/api/auth/refresh", LoginResponse))

    async def logout(self, device_id: str | None = None) -> None:
        """Sign out on the server (``POST /api/auth/logout``): this token's session is revoked
        and ``device_id``'s push registration removed."""
        body = {"device_id": device_id} if device_id else None
        await self.send("POST", "/api/auth/logout", json=body)

    async def me(self) -> User:
        return await self.request("GET", "/api/me", User)

    async def contacts(
        self, *, query: str = "", limit: int = 50, cursor: str | None = None
    ) -> Page[Contact]:
        """One page of my tenant's directory, filtered by ``query`` (name or email)."""
        params: dict[str, str | int] = {"limit": limit}
        if query:
            params["q"] = query
        if cursor:
            params["cursor"] = cursor
        return await self.request("GET", "/api/contacts", Page[Contact], params=params)

    async def calls(self, *, limit: int = 50, cursor: str | None = None) -> Page[Call]:
        """One page of my call history, newest first."""
        params: dict[str, str | int] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        return await self.request("GET", "/api/calls", Page[Call], params=params)

    async def call(self, call_id: str) -> Call:
        return await self.request("GET", f"/api/calls/{call_id}", Call)

    async def put_note(self, call_id: str, *, outcome: str | None, text: str | None) -> Call:
        """My outcome and note on a finished call of mine; the call with it."""
        body = {"outcome": outcome, "text": text}
        return await self.request("PUT", f"/api/calls/{call_id}/note", Call, json=body)

    async def outcomes(self) -> list[str]:
        """My tenant's call outcomes."""
        return list((await self.request("GET", "/api/outcomes", Outcomes)).outcomes)

    async def room_token(self, call_id: str, *, device_id: str | None = None) -> RoomToken:
        """A fresh token for an IN_PROGRESS call of mine: rejoin after a network loss.

        ``device_id`` names the device asking (the one signaling connects as); the server
        hands tokens only to the caller's device and the callee's answering device.
        """
        body = {"device_id": device_id} if device_id else None
        return await self.request("POST", f"/api/calls/{call_id}/token", RoomToken, json=body)

    async def recording_url(self, recording_id: str) -> RecordingUrl:
        """A URL playing one recording of my call, without a bearer header, for a short while."""
        return await self.request("POST", f"/api/recordings/{recording_id}/url", RecordingUrl)

    async def register_push(self, device_id: str, token: str) -> None:
        """Wake this device (``device_id``, as signaling names it) with FCM ``token`` when a call
        comes and its app holds no live connection; replaces the device's previous token."""
        body = {"provider": "fcm", "token": token}
        await self.send("PUT", f"/api/devices/{device_id}/push", json=body)

    async def unregister_push(self, device_id: str) -> None:
        """Stop waking this device (at sign-out)."""
        await self.send("DELETE", f"/api/devices/{device_id}/push")

    async def request(self, method: str, path: str, model: type[M], **kwargs: Any) -> M:
        """:meth:`send`, its answer read as ``model``."""
        response = await self.send(method, path, **kwargs)
        try:
            return model.model_validate(response.json())
        except (ValueError, ValidationError) as exc:
            raise BadResponse(f"The call server sent an unexpected answer to {path}.") from exc

    async def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The response to a request that succeeded; a :class:`VoipError` for any other.

        An idempotent request whose kept-alive connection broke unanswered is sent once more.
        """
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        try:
            response = await self._exchange(method, path, headers=headers, **kwargs)
        except httpx.TimeoutException as exc:
            raise ServerUnreachable(self.server_url, "timed out") from exc
        except httpx.TransportError as exc:
            raise ServerUnreachable(self.server_url, type(exc).__name__) from exc
        if response.is_success:
            return response
        error = _error_of(response)
        if isinstance(error, Unauthorized) and self._token:
            notify([self._on_refused], error, log=log, what="session refused")
        raise error

    async def _exchange(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; an idempotent one is sent once more when its connection broke.

        A kept-alive connection the server closes (its idle timeout) just as a request goes
        out fails that request unanswered: ``RemoteProtocolError`` (the server's FIN) or
        ``ReadError`` (its RST); a ``WriteError`` (httpcore mostly reads on after one) is the
        same break. httpcore drops the broken connection from the pool, so the second try opens
        a fresh one. Only methods that may run twice (RFC 9110 9.2.2) are retried: a POST may
        have been carried out. A timeout or a refused connection is not retried: a server that
        is slow or down stays so.
        """
        try:
            return await self._http.request(method, path, **kwargs)
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            if method.upper() not in _IDEMPOTENT:
                raise
            log.info("%s %s again on a new connection: %s", method, path, type(exc).__name__)
            return await self._http.request(method, path, **kwargs)


def _error_of(response: httpx.Response) -> VoipError:
    code, message = _error_body(response)
    if code is None:
        if response.status_code == 401:
            return Unauthorized()
        return BadResponse(f"The call server failed (HTTP {response.status_code}).")
    if response.status_code == 401:
        return Unauthorized(message)
    return refused(code, message)


def _lifetime_of(token: str) -> tuple[datetime, datetime] | None:
    """``(iat, exp)`` of a JWT, unverified; ``None`` when it has no such claims."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        issued, expires = float(claims["iat"]), float(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError, binascii.Error):
        return None
    return datetime.fromtimestamp(issued, UTC), datetime.fromtimestamp(expires, UTC)


def _error_body(response: httpx.Response) -> tuple[str | None, str]:
    try:
        body = response.json()
        error = body["error"]
        return str(error["code"]), str(error.get("message", ""))
    except (ValueError, KeyError, TypeError):
        return None, ""
