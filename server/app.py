"""Assembling the ASGI app: FastAPI + Socket.IO (``socketio.ASGIApp``), and its background work.

At start: migrations (SQLite default, or ``VOIP_AUTO_MIGRATE``), forget this node's sockets of
a previous run, settle every call that rang past its deadline while the server was down. Then,
periodically: the ring-timeout sweep and the presence heartbeat. Every node runs the sweep; the
conditional UPDATE makes sure each overdue call is settled and announced once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import socketio
from fastapi import FastAPI

from server import api, migrate, signin_guard
from server.calls import CallService
from server.config import Settings
from server.db.engine import make_engine, make_sessionmaker
from server.media import LiveKitRooms, MediaRooms
from server.signaling import CallNamespace, SocketNotifier

log = logging.getLogger(__name__)


async def _every(period: float, name: str, work: Callable[[], Awaitable[Any]]) -> None:
    while True:
        await asyncio.sleep(period)
        try:
            await work()
        except Exception:
            log.exception("periodic task failed", extra={"task": name})


def create_app(settings: Settings, media: MediaRooms | None = None) -> socketio.ASGIApp:
    """The whole server as one ASGI app (what ``voip-server serve`` hands to uvicorn)."""
    engine = make_engine(settings.db_url)
    sessions = make_sessionmaker(engine)
    rooms: MediaRooms = media or LiveKitRooms(settings)
    manager = (
        socketio.AsyncRedisManager(settings.redis_url, channel="voip-call")
        if settings.redis_url
        else None
    )
    sio = socketio.AsyncServer(
        async_mode="asgi",
        client_manager=manager,
        cors_allowed_origins=[],
        max_http_buffer_size=64 * 1024,
        ping_interval=20,
        ping_timeout=20,
    )
    notifier = SocketNotifier(sio, distributed=manager is not None)
    service = CallService(settings, sessions, rooms, notifier)
    sio.register_namespace(CallNamespace(settings, sessions, service))

    async def forget_old_failures() -> None:
        async with sessions() as session:
            await signin_guard.forget_old(session, settings)
            await session.commit()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if settings.should_auto_migrate:
            await migrate.upgrade(engine)
        settings.jwt_key()  # create the dev secret now, not in the first request
        await service.forget_node()
        await service.heartbeat()  # alive before the first socket connects
        settled = await service.settle_overdue(limit=10_000)
        log.info(
            "call server ready",
            extra={"node": settings.node, "settled_at_start": settled, "redis": bool(manager)},
        )
        tasks = [
            asyncio.create_task(_every(settings.sweep_interval_s, "sweep", service.settle_overdue)),
            asyncio.create_task(_every(settings.heartbeat_s, "heartbeat", service.heartbeat)),
            asyncio.create_task(_every(60.0, "sign-in failures", forget_old_failures)),
            asyncio.create_task(
                _every(settings.room_audit_s, "room audit", service.settle_vanished_rooms)
            ),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await service.drain()
            with contextlib.suppress(Exception):
                await service.forget_node()
            await rooms.aclose()
            await engine.dispose()

    app = FastAPI(title="CRM Calls: call server", version="0.1.0", lifespan=lifespan)
    app.state.services = api.Services(settings, sessions, service, rooms)
    api.install_error_handlers(app)
    app.include_router(api.router)
    app.include_router(api.health)
    return socketio.ASGIApp(sio, other_asgi_app=app, socketio_path="socket.io")
