"""The devsfu aiohttp application: RoomService and Egress (Twirp), the signal WebSocket, media.

:class:`DevSfu` owns the room registry, the webhook notifier and the signal endpoints, and puts
CORS headers on every response (:mod:`devsfu.cors`); use :func:`serve` to run it until cancelled.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from devsfu import cors
from devsfu.auth import TokenAuthority
from devsfu.egress import EgressService
from devsfu.rooms import RoomRegistry
from devsfu.signal import SignalService
from devsfu.twirp import RoomService
from devsfu.webhooks import WebhookNotifier

log = logging.getLogger(__name__)

MAX_REQUEST_LINE_BYTES = 1 << 20
"""A ``/rtc/v1`` URL carries the client's first offer: allow what livekit-server allows (Go's
``http.DefaultMaxHeaderBytes``), not aiohttp's 8 KiB."""

DEV_ONLY_WARNING = (
    "devsfu is a development and CI media server only: no TURN, no clustering, no hardening. "
    "Never expose it to the internet; production uses LiveKit."
)


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    api_key: str
    api_secret: str
    webhook_url: str = ""
    auto_create: bool = True
    egress_dir: Path = Path("var/recordings")


class DevSfu:
    """One devsfu server: its rooms, webhooks and HTTP/WebSocket endpoints."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.authority = TokenAuthority(settings.api_key, settings.api_secret)
        self.webhooks = WebhookNotifier(settings.webhook_url, self.authority)
        self.rooms = RoomRegistry(self.webhooks, auto_create=settings.auto_create)
        self.signal = SignalService(self.rooms, self.authority)
        self.app = web.Application()
        cors.install(self.app)
        self.app.router.add_get("/", self._root)
        RoomService(self.rooms, self.authority).add_routes(self.app)
        self.egress = EgressService(self.rooms, self.authority, self.webhooks, settings.egress_dir)
        self.egress.add_routes(self.app)
        self.signal.add_routes(self.app)
        self.app.on_startup.append(self._on_startup)
        self.app.on_shutdown.append(self._on_shutdown)

    def runner(self) -> web.AppRunner:
        """An ``AppRunner`` for :attr:`app` with the request limits a ``/rtc/v1`` join needs."""
        return web.AppRunner(
            self.app,
            handle_signals=False,
            access_log=None,
            max_line_size=MAX_REQUEST_LINE_BYTES,
            max_field_size=MAX_REQUEST_LINE_BYTES,
        )

    async def _root(self, request: web.Request) -> web.Response:
        return web.Response(text="OK")

    async def _on_startup(self, app: web.Application) -> None:
        await self.webhooks.start()

    async def _on_shutdown(self, app: web.Application) -> None:
        await self.egress.close()
        await self.rooms.close_all()
        await self.signal.close()
        await self.webhooks.stop()


async def serve(settings: Settings, *, ready: asyncio.Event | None = None) -> None:
    """Run devsfu until cancelled."""
    sfu = DevSfu(settings)
    runner = sfu.runner()
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    log.warning(DEV_ONLY_WARNING)
    log.info("devsfu listening on http://%s:%d", settings.host, settings.port)
    if ready is not None:
        ready.set()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
