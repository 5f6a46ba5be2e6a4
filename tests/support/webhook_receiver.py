"""A CRM's webhook receiver, real, on loopback: it checks every request's Standard Webhooks
signature with the ``standardwebhooks`` package, answers what the test scripted (200 by
default), and can hold requests unanswered (:meth:`WebhookReceiver.hold`).

It runs an aiohttp server on a thread of its own, so server processes and test event loops
alike can reach it.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.support.servers import HOST, free_port


@dataclass(frozen=True)
class Hit:
    """One request as it arrived, and what the receiver made of it."""

    event_id: str
    event_type: str
    call: dict[str, Any]
    answered: int
    """The status the receiver answered (0: the sender was gone by then)."""
    signed: bool
    """Its signature verified with the endpoint's secret."""
    headers: dict[str, str]
    data: dict[str, Any]
    """The event's whole ``data`` (``call``, and ``recording`` for ``recording.ready``)."""


class WebhookReceiver:
    """``url`` takes POSTs; :attr:`hits` lists them in arrival order."""

    def __init__(self, *, wall_clock: bool, tls: ssl.SSLContext | None = None) -> None:
        """``tls``: serve https with that context (its certificate), not http."""
        self.port = free_port()
        self._tls = tls
        self.secret = ""
        self.hits: list[Hit] = []
        self.arrivals: list[tuple[str, str]] = []
        """``(event type, webhook-id)`` of every request as it arrived, answered or not."""
        self._wall_clock = wall_clock
        self._answers: deque[tuple[int, dict[str, str]]] = deque()
        self._open: asyncio.Event | None = None
        """Set: requests are answered; clear: they wait (made on the receiver's loop)."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self._tls else "http"
        return f"{scheme}://{HOST}:{self.port}/hooks"

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def __exit__(self, *_: object) -> None:
        self.release()
        assert self._runner is not None
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _start(self) -> None:
        self._open = asyncio.Event()
        self._open.set()
        app = web.Application()
        app.router.add_post("/hooks", self._take)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, HOST, self.port, ssl_context=self._tls).start()

    def answer_next(self, *answers: int | tuple[int, dict[str, str]]) -> None:
        """The next requests get these statuses (with these headers), then 200 again."""
        for a in answers:
            self._answers.append(a if isinstance(a, tuple) else (a, {}))

    def _gate(self, open_: bool) -> None:
        async def gate() -> None:
            assert self._open is not None
            if open_:
                self._open.set()
            else:
                self._open.clear()

        asyncio.run_coroutine_threadsafe(gate(), self._loop).result(timeout=10)

    def hold(self) -> None:
        """Requests from now on wait for :meth:`release` before they are answered."""
        self._gate(False)

    def release(self) -> None:
        self._gate(True)

    def _verified(self, body: str, headers: dict[str, str]) -> bool:
        hook = Webhook(self.secret)
        try:
            if self._wall_clock:
                hook.verify(body, headers)
            else:  # the sender's clock is a test's fake one: check the signature alone
                at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
                expected = hook.sign(headers["webhook-id"], at, body)
                return expected in headers.get("webhook-signature", "").split(" ")
        except (WebhookVerificationError, KeyError, ValueError):
            return False
        return True

    async def _take(self, request: web.Request) -> web.Response:
        body = await request.text()
        headers = {k.lower(): v for k, v in request.headers.items()}
        signed = self._verified(body, headers)
        event = json.loads(body)
        self.arrivals.append((event["type"], headers.get("webhook-id", "")))
        assert self._open is not None
        await self._open.wait()
        status, extra = self._answers.popleft() if self._answers else (200, {})
        if request.transport is None or request.transport.is_closing():
            status = 0  # the sender went away while the request was held: nobody got an answer
        self.hits.append(
            Hit(
                headers.get("webhook-id", ""),
                event["type"],
                event["data"]["call"],
                status,
                signed,
                headers,
                event["data"],
            )
        )
        return web.Response(status=status, headers=extra, text="ok")

    def delivered(self) -> list[Hit]:
        """The hits answered 2xx."""
        return [h for h in self.hits if 200 <= h.answered < 300]
