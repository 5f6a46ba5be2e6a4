"""Firebase Cloud Messaging HTTP v1: one ``messages:send`` request, and what its answer means.

``POST {VOIP_FCM_ENDPOINT}/v1/projects/{VOIP_FCM_PROJECT_ID}/messages:send`` with the service
account's OAuth token. Every answer becomes one :class:`SendOutcome`:

- ``sent``: FCM took it;
- ``token_gone``: the token is dead for good (``UNREGISTERED``, 404; ``SENDER_ID_MISMATCH``, a
  token of another Firebase project; ``INVALID_ARGUMENT`` about the registration token): forget it;
- ``retry``: 429, 5xx, a timeout, no connection, no OAuth token, or our OAuth token refused
  (401: a new one is fetched): try again later, after ``Retry-After`` if FCM said so;
- ``refused``: anything else (a message FCM will never take): give up on it.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import httpx

from server.push.oauth import ServiceAccountTokens, TokenUnavailable

OutcomeKind = Literal["sent", "token_gone", "retry", "refused"]
GONE_CODES = frozenset({"UNREGISTERED", "SENDER_ID_MISMATCH"})
RETRY_AFTER_MAX_S = 3600.0


@dataclass(frozen=True, slots=True)
class SendOutcome:
    kind: OutcomeKind
    detail: str = ""
    retry_after: str | None = None
    """FCM's ``Retry-After`` header, when it gave one (:func:`retry_after_s` reads it)."""


class FcmClient:
    """Sends FCM v1 messages for one project; :meth:`aclose` at shutdown."""

    def __init__(
        self, *, endpoint: str, project_id: str, tokens: ServiceAccountTokens, timeout_s: float
    ) -> None:
        self._url = f"{endpoint.rstrip('/')}/v1/projects/{project_id}/messages:send"
        self._tokens = tokens
        self._http = httpx.AsyncClient(timeout=timeout_s)

    async def send(self, message: dict[str, Any]) -> SendOutcome:
        """Send one message; never raises for FCM's or the network's trouble."""
        try:
            token = await self._tokens.token()
        except TokenUnavailable as exc:
            return SendOutcome("retry", str(exc))
        try:
            response = await self._http.post(
                self._url, json=message, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as exc:
            return SendOutcome("retry", f"FCM unreachable: {type(exc).__name__}: {exc}")
        if response.status_code == 401:
            self._tokens.invalidate()
        return outcome_of(response)

    async def aclose(self) -> None:
        await self._http.aclose()


def outcome_of(response: httpx.Response) -> SendOutcome:
    """What FCM's answer means for the message and its token."""
    status = response.status_code
    if response.is_success:
        return SendOutcome("sent")
    code, message = _error_of(response)
    detail = f"FCM {status} {code}: {message}".strip()
    if status == 401 or status == 429 or status >= 500:
        return SendOutcome("retry", detail, response.headers.get("retry-after"))
    if code in GONE_CODES or status == 404:
        return SendOutcome("token_gone", detail)
    if code == "INVALID_ARGUMENT" and "registration token" in message.lower():
        return SendOutcome("token_gone", detail)
    return SendOutcome("refused", detail)


def _error_of(response: httpx.Response) -> tuple[str, str]:
    """FCM's error code (``details[].errorCode``, else ``status``) and message."""
    try:
        error = response.json()["error"]
        codes = [
            d.get("errorCode")
            for d in error.get("details", [])
            if isinstance(d, dict) and d.get("errorCode")
        ]
        return str(codes[0] if codes else error.get("status", "")), str(error.get("message", ""))
    except (ValueError, KeyError, TypeError, AttributeError):
        return "", response.text[:200]


def retry_after_s(value: str | None, *, now: datetime) -> float | None:
    """A ``Retry-After`` header in seconds from ``now`` (delta-seconds or an HTTP date),
    bounded; ``None`` when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), RETRY_AFTER_MAX_S)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - now).total_seconds()
    return min(max(seconds, 0.0), RETRY_AFTER_MAX_S)
