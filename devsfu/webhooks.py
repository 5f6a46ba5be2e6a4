"""Webhooks, POSTed the way LiveKit posts them.

The body is the ``WebhookEvent`` as JSON; the ``Authorization`` header is a JWT signed with the
API secret whose ``sha256`` claim is the base64 SHA-256 of the body; the content type is
``application/webhook+json``. So ``livekit.api.WebhookReceiver`` (or any LiveKit webhook
receiver) accepts them.

Events are delivered in order by one background task; a failed delivery is retried a few times
and then logged and dropped (as LiveKit does), never blocking the rooms.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from google.protobuf.json_format import MessageToJson
from livekit.protocol import webhook

from devsfu.auth import TokenAuthority

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/webhook+json"
_ATTEMPTS = 3
_RETRY_DELAY_S = 0.5
_TIMEOUT_S = 5.0


def encode_event(event: webhook.WebhookEvent) -> bytes:
    return MessageToJson(event, indent=None).encode()


class WebhookNotifier:
    """Queues events and POSTs them to ``url`` (does nothing when ``url`` is empty)."""

    def __init__(self, url: str, authority: TokenAuthority) -> None:
        self._url = url
        self._authority = authority
        self._queue: asyncio.Queue[webhook.WebhookEvent | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    def emit(self, event: webhook.WebhookEvent) -> None:
        if self._url:
            self._queue.put_nowait(event)

    async def start(self) -> None:
        if self._url and self._task is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=_TIMEOUT_S))
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Deliver what is queued, then stop."""
        if self._task is not None:
            self._queue.put_nowait(None)
            try:
                await asyncio.wait_for(self._task, timeout=_TIMEOUT_S * _ATTEMPTS)
            except TimeoutError:
                self._task.cancel()
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _run(self) -> None:
        while (event := await self._queue.get()) is not None:
            await self._deliver(event)

    async def _deliver(self, event: webhook.WebhookEvent) -> None:
        assert self._session is not None
        body = encode_event(event)
        for attempt in range(1, _ATTEMPTS + 1):
            headers = {
                "Authorization": self._authority.sign_body(body),
                "Content-Type": CONTENT_TYPE,
            }
            try:
                async with self._session.post(self._url, data=body, headers=headers) as resp:
                    if resp.status < 400:
                        return
                    why = f"HTTP {resp.status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                why = repr(exc)
            log.warning("webhook %s attempt %d failed: %s", event.event, attempt, why)
            if attempt < _ATTEMPTS:
                await asyncio.sleep(_RETRY_DELAY_S * attempt)
        log.error("webhook %s dropped after %d attempts", event.event, _ATTEMPTS)
