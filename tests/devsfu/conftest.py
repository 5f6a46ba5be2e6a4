"""Fixtures for devsfu's tests: a real ``voip-devsfu`` process and a webhook receiver."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator

import pytest
from livekit import api
from livekit.protocol.webhook import WebhookEvent

from tests.support import netns
from tests.support.devsfu import DevSfu, running_devsfu
from tests.support.loopback_http import LoopbackHTTPServer, QuietHandler


class WebhookSink:
    """An HTTP endpoint collecting devsfu's webhooks, each checked by ``WebhookReceiver``."""

    def __init__(self, api_key: str, api_secret: str) -> None:
        self._receiver = api.WebhookReceiver(api.TokenVerifier(api_key, api_secret))
        self._raw: queue.Queue[tuple[str, str, str]] = queue.Queue()
        self.seen: list[WebhookEvent] = []
        sink = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode()
                sink._raw.put(
                    (body, self.headers.get("Authorization", ""), self.headers["Content-Type"])
                )
                self.send_response(200)
                self.end_headers()

        self._http = LoopbackHTTPServer(Handler)

    @property
    def url(self) -> str:
        return f"{self._http.origin}/webhook"

    def close(self) -> None:
        self._http.close()

    def wait_for(
        self, predicate: Callable[[WebhookEvent], bool], timeout: float = 15.0
    ) -> WebhookEvent:
        """The first (verified) event matching ``predicate``, among those seen or yet to come."""
        for event in self.seen:
            if predicate(event):
                return event
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                body, auth, content_type = self._raw.get(timeout=left)
            except queue.Empty:
                break
            assert content_type == "application/webhook+json"
            event = self._receiver.receive(body, auth)
            self.seen.append(event)
            if predicate(event):
                return event
        raise AssertionError(f"no matching webhook within {timeout}s; saw {self.names()}")

    def names(self) -> list[tuple[str, str]]:
        return [(e.event, e.participant.identity or e.room.name) for e in self.seen]


@pytest.fixture(scope="module")
def webhooks() -> Iterator[WebhookSink]:
    from tests.support.devsfu import DEFAULT_API_KEY, DEFAULT_API_SECRET

    sink = WebhookSink(DEFAULT_API_KEY, DEFAULT_API_SECRET)
    yield sink
    sink.close()


@pytest.fixture(scope="module")
def sfu(webhooks: WebhookSink) -> Iterator[DevSfu]:
    """One devsfu per test module, on the namespace address when there is one."""
    host = netns.HOST_A if netns.in_private_netns() else "127.0.0.1"
    with running_devsfu(host=host, webhook_url=webhooks.url) as server:
        yield server
