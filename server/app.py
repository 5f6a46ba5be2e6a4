"""Assembling the ASGI app: FastAPI + Socket.IO (``socketio.ASGIApp``), and its background work.

At start: migrations (SQLite default, or ``VOIP_AUTO_MIGRATE``), forget this node's sockets of
a previous run, settle every call whose deadline passed while the server was down. Then,
periodically: the sweeps, the room audit, the presence heartbeat and forgetting old sign-in
failures and sessions. Every node runs the sweeps; the conditional UPDATE makes sure each
overdue call is settled and announced once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

import socketio
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server import api, gcpolicy, loopwatch, migrate, signin_guard
from server.bodylimit import BodyLimit
from server.calls import access, connections, recording, recording_files, sweeps
from server.calls.deps import CallDeps, NoPush
from server.clock import Clock, SystemClock
from server.config import Settings
from server.db import checkpoint
from server.db.engine import make_engine, make_sessionmaker
from server.media import LiveKitRooms, MediaRooms
from server.push.fcm import FcmClient
from server.push.oauth import ServiceAccountTokens
from server.push.sender import PushSender
from server.sio import redis_wire
from server.sio.manager import InlineEmitManager, InlineRedisManager, JsonPacket
from server.sio.namespace import CallNamespace, SocketNotifier
from server.sio.watches import RedisWatches, Watches
from server.webhooks.sender import WebhookSender

log = logging.getLogger(__name__)


FAILURE_NOTE_S = 60.0
"""A periodic task that keeps failing is logged once, then once this often (its clock)."""


async def every(clock: Clock, period: float, name: str, work: Callable[[], Awaitable[Any]]) -> None:
    """Run ``work`` every ``period`` seconds of ``clock``, for ever; a failure is logged and the
    next round comes all the same. Failures in a row are logged at the first, then once every
    :data:`FAILURE_NOTE_S` with their count (the WAL checkpoint runs ten times a second: a
    broken disk must not flood the log), and the round that works again says so."""
    noted_at, failures = clock.now(), 0
    while True:
        await clock.sleep(period)
        try:
            await work()
        except Exception:
            failures += 1
            now = clock.now()
            if failures == 1 or (now - noted_at).total_seconds() >= FAILURE_NOTE_S:
                noted_at = now
                extra = {"task": name, "failures_in_a_row": failures}
                log.exception("periodic task failed", extra=extra)
            continue
        if failures:
            extra = {"task": name, "failures_in_a_row": failures}
            log.warning("periodic task works again", extra=extra)
            failures = 0


def _socketio_server(settings: Settings) -> socketio.AsyncServer:
    manager = (
        InlineRedisManager(settings.redis_url, channel="voip-call")
        if settings.redis_url
        else InlineEmitManager()
    )
    return socketio.AsyncServer(
        async_mode="asgi",
        client_manager=manager,
        serializer=JsonPacket,
        cors_allowed_origins=[],
        max_http_buffer_size=64 * 1024,
        ping_interval=20,
        ping_timeout=20,
    )


def _watches(settings: Settings, clock: Clock) -> Watches:
    """Who watches whose presence: this node's sockets, or (with Redis) every node's."""
    if not settings.redis_url:
        return Watches()
    where = redis_wire.address(settings.redis_url)
    if where is None:
        raise ValueError("VOIP_REDIS_URL: a redis://, rediss:// or unix:// URL is needed")
    # a Redis that hangs fails a watch within seconds instead of holding the node's watches
    client = redis_wire.Client(where, timeout_s=2)
    ttl_s, now = settings.presence_ttl_s, lambda: clock.now().timestamp()
    return RedisWatches(client, settings.node, ttl_s=ttl_s, now=now)


def create_app(
    settings: Settings, media: MediaRooms | None = None, clock: Clock | None = None
) -> BodyLimit:
    """The whole server as one ASGI app (what ``voip-server serve`` hands to uvicorn)."""
    settings.prepare_storage()
    engine = make_engine(settings.db_url, sqlite_inline=settings.sqlite_inline)
    sio = _socketio_server(settings)
    sessions, clock = make_sessionmaker(engine), clock or SystemClock()
    watches = _watches(settings, clock)
    notifier = SocketNotifier(sio, watches)
    sender = push_sender(settings, sessions, clock) if settings.push_enabled else None
    hooks = WebhookSender(settings, sessions, clock)
    deps = CallDeps(
        settings=settings,
        sessions=sessions,
        clock=clock,
        media=media or LiveKitRooms(settings),
        notifier=notifier,
        push=sender or NoPush(),
        webhooks=hooks,
    )
    sio.register_namespace(CallNamespace(deps, watches))
    app = FastAPI(
        title="CRM Calls: call server",
        version="0.1.0",
        lifespan=lambda _: _serving(deps, engine, sender, hooks, watches, sio.manager),
    )
    api.install(app, deps)
    whole = socketio.ASGIApp(sio, other_asgi_app=app, socketio_path="socket.io")
    return BodyLimit(
        whole,
        settings.max_body_bytes,
        {"/api/livekit/webhook": settings.max_webhook_body_bytes},
    )


@contextlib.asynccontextmanager
async def _serving(
    deps: CallDeps,
    engine: AsyncEngine,
    sender: PushSender | None,
    hooks: WebhookSender,
    watches: Watches,
    manager: InlineEmitManager,
) -> AsyncIterator[None]:
    """The app's lifespan: start-up, the background work while it serves, then the shutdown."""
    settings = deps.settings
    if settings.should_auto_migrate:
        await migrate.upgrade(engine)
    settings.jwt_key()  # create the dev secret now, not in the first request
    await _start(deps)
    wal = checkpoint.Checkpointer.for_url(settings.db_url)
    jobs = _background(deps, sender, hooks, watches, wal)
    tasks = [asyncio.create_task(job) for job in jobs]
    thresholds = (settings.gc_threshold0, settings.gc_threshold1, settings.gc_threshold2)
    loopwatch.tune_gc(*thresholds, freeze=settings.gc_freeze)
    if settings.gc_refreeze:
        tasks.append(asyncio.create_task(_gc_policy(deps).run()))
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if sender is not None:
            await sender.drain()  # pushes in flight finish; unsent ones stay for any node
        await hooks.aclose()  # an attempt cut short is retried by any node after its lease
        await _stop(deps)
        await manager.drain()  # the last emits reach the other nodes
        await watches.aclose()
        if wal is not None:
            await wal.aclose()
        await engine.dispose()


def _background(
    deps: CallDeps,
    sender: PushSender | None,
    hooks: WebhookSender,
    watches: Watches,
    wal: checkpoint.Checkpointer | None,
) -> list[Coroutine[Any, Any, None]]:
    """The work the app does while it serves, besides answering."""
    settings = deps.settings
    jobs = _periodic(deps) + (_push_jobs(deps.clock, sender) if sender else [])
    jobs.append(hooks.run())
    if settings.redis_url:  # other nodes read this node's watches: kept fresh in Redis
        jobs.append(every(deps.clock, settings.heartbeat_s, "presence watches", watches.refresh))
    if settings.loop_watch:
        jobs.append(loopwatch.watch(report_s=settings.loop_watch_report_s))
    if wal is not None:  # SQLite: its WAL checkpoints on a thread, not inside a COMMIT
        jobs.append(every(deps.clock, checkpoint.PERIOD_S, "wal checkpoint", wal.checkpoint))
    return jobs


def _gc_policy(deps: CallDeps) -> gcpolicy.GcPolicy:
    s = deps.settings
    config = gcpolicy.GcPolicyConfig(
        check_s=s.gc_check_s, garbage_ratio=s.gc_garbage_ratio, refresh_min_s=s.gc_refresh_min_s
    )
    return gcpolicy.GcPolicy(config, deps.clock, gcpolicy.PythonCollector())


async def _start(deps: CallDeps) -> None:
    """Before the first request: no stale sockets, alive, no overdue call."""
    await connections.forget_node(deps)
    await connections.heartbeat(deps, now=deps.clock.now())  # before the first socket
    settled = await sweeps.settle_overdue(deps, now=deps.clock.now(), limit=10_000)
    reconciled = await recording.reconcile(deps)
    log.info(
        "call server ready",
        extra={
            "node": deps.settings.node,
            "settled_at_start": settled,
            "recordings_reconciled": reconciled,
            "redis": bool(deps.settings.redis_url),
        },
    )


def _periodic(deps: CallDeps) -> list[Coroutine[Any, Any, None]]:
    """The node's periodic work, each judged at the clock's time when it runs."""
    settings, clock = deps.settings, deps.clock
    schedule: list[tuple[float, str, Callable[[], Awaitable[Any]]]] = [
        (settings.sweep_interval_s, "sweep", lambda: sweeps.settle_overdue(deps, now=clock.now())),
        (settings.sweep_interval_s, "access", lambda: _take_access_away(deps)),
        (settings.heartbeat_s, "heartbeat", lambda: connections.heartbeat(deps, now=clock.now())),
        (60.0, "old sign-ins", lambda: _forget_old_sign_ins(deps)),
        (
            settings.recording_sweep_s,
            "recording retention",
            lambda: recording_files.sweep_retention(deps, now=clock.now()),
        ),
        (
            settings.room_audit_s,
            "room audit",
            lambda: sweeps.settle_vanished_rooms(deps, now=clock.now()),
        ),
    ]
    return [every(clock, period, name, work) for period, name, work in schedule]


async def _take_access_away(deps: CallDeps) -> None:
    """Close this node's sockets that lost their access (user disabled, session revoked, token
    expired); end the calls of disabled users."""
    await access.close_sockets(deps, now=deps.clock.now())
    await access.end_calls_of_disabled(deps)


async def _forget_old_sign_ins(deps: CallDeps) -> None:
    """Delete the wrong-password rows older than the sign-in guard's window, and the sign-in
    sessions that ended long enough ago."""
    async with deps.sessions() as session:
        now = deps.clock.now()
        await signin_guard.forget_old(session, deps.settings, now=now)
        await signin_guard.forget_old_sessions(session, deps.settings, now=now)
        await session.commit()


def push_sender(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> PushSender:
    """The node's FCM sender (``VOIP_FCM_*``): the service account's tokens and FCM v1."""
    assert settings.fcm_credentials_file is not None
    assert settings.fcm_project_id is not None
    tokens = ServiceAccountTokens(
        settings.fcm_credentials_file, clock, timeout_s=settings.push_timeout_s
    )
    fcm = FcmClient(
        endpoint=settings.fcm_endpoint,
        project_id=settings.fcm_project_id,
        tokens=tokens,
        timeout_s=settings.push_timeout_s,
    )
    return PushSender(settings, sessions, clock, fcm)


def _push_jobs(clock: Clock, sender: PushSender) -> list[Coroutine[Any, Any, None]]:
    """The sender's loop, and forgetting pushes of calls long over."""
    return [sender.run(), every(clock, 60.0, "push outbox", sender.forget_old)]


async def _stop(deps: CallDeps) -> None:
    await deps.background.drain()
    with contextlib.suppress(Exception):
        await connections.forget_node(deps)
    await deps.media.aclose()
