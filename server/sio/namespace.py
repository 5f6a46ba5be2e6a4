"""Socket.IO namespace ``/call``: authentication at connect, one handler per client event, and
the rooms that carry the server's events.

Every handler validates its payload with the contract's model (closed, bounded) and answers
with an ack: ``{"ok": true, ...}`` or ``{"ok": false, "error": {"code", "message"}}``. Errors
are translated here, at the edge; nothing a client sends can crash the loop.

Rooms are this module's business alone: each socket joins ``user:<id>`` (every device of a
user rings), ``tenant:<id>`` (presence in small tenants) and ``presence:<id>`` for each user it
watches. :class:`SocketNotifier` maps the call operations' users, tenants and watchers onto them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import socketio

from server.auth import Identity, authenticate
from server.calls import access, answer, connections, presence, recording, settle, views
from server.calls.deps import CallDeps, DeviceSocket
from server.calls.invite import place
from server.callstate import StatusEvent
from server.errors import ServiceError
from server.sio.environ import slim_environ
from server.sio.payloads import MAX_WATCH_PAYLOAD_BYTES, device_id_of, parse
from server.sio.ratelimit import EventBudget, Verdict
from server.sio.watches import Watches
from voip_contract import (
    NAMESPACE,
    Ack,
    CallIdPayload,
    ErrorCode,
    InvitePayload,
    PresenceChanged,
    PresenceSnapshot,
    PresenceWatchPayload,
    RenewTokenPayload,
    ServerEvent,
    SyncPayload,
)

log = logging.getLogger(__name__)
Payload = dict[str, Any]
Work = Callable[[Identity, DeviceSocket], Awaitable[Payload]]

PRESENCE_ROOM_PREFIX = "presence:"


def user_room(user_id: str) -> str:
    return f"user:{user_id}"


def tenant_room(tenant_id: str) -> str:
    return f"tenant:{tenant_id}"


def presence_room(user_id: str) -> str:
    """The sockets watching ``user_id`` (``presence_watch``)."""
    return f"{PRESENCE_ROOM_PREFIX}{user_id}"


class SocketNotifier:
    """:class:`server.calls.announce.Notifier` over the Socket.IO server's rooms (and its
    Redis manager, which carries an emit to the node that holds the socket)."""

    def __init__(self, sio: socketio.AsyncServer, watches: Watches) -> None:
        self._sio = sio
        self._watches = watches

    async def _emit(
        self, to: str, event: ServerEvent, data: Payload, skip: str | None = None
    ) -> None:
        await self._sio.emit(event.value, data, to=to, skip_sid=skip, namespace=NAMESPACE)

    async def to_user(
        self, user_id: str, event: ServerEvent, data: Payload, *, except_sid: str | None = None
    ) -> None:
        await self._emit(user_room(user_id), event, data, except_sid)

    async def to_tenant(self, tenant_id: str, event: ServerEvent, data: Payload) -> None:
        await self._emit(tenant_room(tenant_id), event, data)

    async def to_watchers(self, user_id: str, event: ServerEvent, data: Payload) -> None:
        await self._emit(presence_room(user_id), event, data)

    async def to_socket(self, sid: str, event: ServerEvent, data: Payload) -> None:
        await self._emit(sid, event, data)

    async def disconnect(self, sid: str) -> None:
        # With Redis, a socket of another node is closed there (the manager's pub/sub).
        await self._sio.disconnect(sid, namespace=NAMESPACE)

    async def watched_among(self, user_ids: Sequence[str]) -> list[str]:
        return await self._watches.watched_among(user_ids)


class CallNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """Handlers of namespace ``/call``; the session holds the identity and the device."""

    def __init__(self, deps: CallDeps, watches: Watches) -> None:
        super().__init__(NAMESPACE)
        self._deps = deps
        self._watches = watches
        settings = deps.settings
        self._budget = EventBudget(
            settings.socket_events_per_s, settings.socket_event_burst, settings.socket_flood_limit
        )
        self._watch_locks: dict[str, asyncio.Lock] = {}
        """One per socket of this node: a socket's ``presence_watch`` es apply in order."""

    async def on_connect(self, sid: str, environ: Payload, auth: Any = None) -> None:
        slim_environ(environ)
        if not isinstance(auth, dict):
            raise socketio.exceptions.ConnectionRefusedError("unauthorized: auth={token} needed")
        try:
            device_id = device_id_of(auth)
        except ValueError as exc:
            raise socketio.exceptions.ConnectionRefusedError(
                "invalid_payload: bad device_id"
            ) from exc
        token = auth.get("token")
        dev = DeviceSocket(sid=sid, device_id=device_id or sid)

        async def join(ident: Identity) -> None:
            await self.save_session(sid, {"ident": ident, "device": dev})
            await self.enter_room(sid, user_room(ident.user_id))
            await self.enter_room(sid, tenant_room(ident.tenant_id))

        try:
            text = token if isinstance(token, str) else None
            await connections.connect(self._deps, text, dev, join)
        except ServiceError as exc:
            raise socketio.exceptions.ConnectionRefusedError(
                f"{exc.code.value}: {exc.message}"
            ) from exc

    async def _authenticate(self, token: Any) -> Identity:
        deps = self._deps
        try:
            async with deps.sessions() as session:
                text = token if isinstance(token, str) else None
                return await authenticate(session, deps.settings, text, now=deps.clock.now())
        except ServiceError as exc:
            raise socketio.exceptions.ConnectionRefusedError(
                f"unauthorized: {exc.message}"
            ) from exc

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        # (Socket.IO drops the socket's rooms itself.) Not under the socket's watch lock: a
        # flood's disconnect runs inside it. A watch still in flight forgets itself.
        self._watch_locks.pop(sid, None)
        self._budget.forget(sid)
        session = await self.get_session(sid)
        ident = session.get("ident")
        if isinstance(ident, Identity):
            await connections.disconnected(self._deps, ident, sid)
        await self._watches.forget(sid)

    async def _handle(self, sid: str, work: Work) -> Payload:
        verdict = self._budget.spend(sid, self._deps.clock.now())
        if verdict is not Verdict.ALLOW:
            if verdict is Verdict.DISCONNECT:
                log.warning("socket flooding: disconnected", extra={"sid": sid})
                await self.disconnect(sid)
            return Ack.failure(ErrorCode.RATE_LIMITED, "too many events; slow down")
        session = await self.get_session(sid)
        ident, dev = session.get("ident"), session.get("device")
        if not isinstance(ident, Identity) or not isinstance(dev, DeviceSocket):
            return Ack.failure(ErrorCode.FORBIDDEN, "not authenticated")
        if ident.expires_at is not None and self._deps.clock.now() >= ident.expires_at:
            # the sweep closes it within a second; until then it does nothing
            return Ack.failure(ErrorCode.FORBIDDEN, "token expired; renew_token or reconnect")
        try:
            return await work(ident, dev)
        except ServiceError as exc:
            return Ack.failure(exc.code, exc.message)
        except Exception:
            log.exception("handler failed", extra={"sid": sid})
            return Ack.failure(ErrorCode.UNAVAILABLE, "internal error")

    async def on_invite(self, sid: str, data: Any = None) -> Payload:
        async def work(ident: Identity, dev: DeviceSocket) -> Payload:
            call, recorded = await place(self._deps, ident, dev, parse(InvitePayload, data))
            return Ack.success(call=call.model_dump(mode="json"), recording=recorded)

        return await self._handle(sid, work)

    async def on_accept(self, sid: str, data: Any = None) -> Payload:
        async def work(ident: Identity, dev: DeviceSocket) -> Payload:
            call_id = parse(CallIdPayload, data).call_id
            token = await answer.accept(self._deps, ident, dev, call_id)
            return Ack.success(**token.model_dump(mode="json"))

        return await self._handle(sid, work)

    async def _finish(self, sid: str, data: Any, event: StatusEvent) -> Payload:
        async def work(ident: Identity, dev: DeviceSocket) -> Payload:
            call_id = parse(CallIdPayload, data).call_id
            await settle.finish(self._deps, ident, dev, call_id, event)
            return Ack.success()

        return await self._handle(sid, work)

    async def on_decline(self, sid: str, data: Any = None) -> Payload:
        return await self._finish(sid, data, StatusEvent.DECLINE)

    async def on_cancel(self, sid: str, data: Any = None) -> Payload:
        return await self._finish(sid, data, StatusEvent.CANCEL)

    async def on_hangup(self, sid: str, data: Any = None) -> Payload:
        return await self._finish(sid, data, StatusEvent.HANGUP)

    async def _recording(self, sid: str, data: Any, *, start: bool) -> Payload:
        async def work(ident: Identity, dev: DeviceSocket) -> Payload:
            call_id = parse(CallIdPayload, data).call_id
            await recording.request(self._deps, ident, call_id, start=start)
            return Ack.success()

        return await self._handle(sid, work)

    async def on_recording_start(self, sid: str, data: Any = None) -> Payload:
        """A party starts recording the call (tenant policy ``on_demand`` only)."""
        return await self._recording(sid, data, start=True)

    async def on_recording_stop(self, sid: str, data: Any = None) -> Payload:
        return await self._recording(sid, data, start=False)

    async def on_sync(self, sid: str, data: Any = None) -> Payload:
        async def work(ident: Identity, dev: DeviceSocket) -> Payload:
            parse(SyncPayload, data)
            calls = await views.active_calls(self._deps, ident)
            return Ack.success(calls=[c.model_dump(mode="json") for c in calls])

        return await self._handle(sid, work)

    async def on_renew_token(self, sid: str, data: Any = None) -> Payload:
        """The socket's renewed token: the socket stays past the old one's expiry. Another
        user's token, or one not valid now, is refused and changes nothing."""

        async def work(ident: Identity, dev: DeviceSocket) -> Payload:
            token = parse(RenewTokenPayload, data, max_bytes=8192).token
            try:
                fresh = await self._authenticate(token)
            except socketio.exceptions.ConnectionRefusedError as exc:
                raise ServiceError(ErrorCode.FORBIDDEN, "token refused") from exc
            if fresh.user_id != ident.user_id:
                raise ServiceError(ErrorCode.FORBIDDEN, "a token of the same user is needed")
            await access.renewed(self._deps, sid, fresh)
            await self.save_session(sid, {"ident": fresh, "device": dev})
            expires = fresh.expires_at.isoformat() if fresh.expires_at else None
            return Ack.success(expires_at=expires)

        return await self._handle(sid, work)

    async def on_presence_watch(self, sid: str, data: Any = None) -> Payload:
        """Replace this socket's watch set with the payload's users of the caller's tenant
        (others are ignored) and ack their presence now.

        The socket joins the rooms ``presence:<user id>`` *before* the snapshot is read, so a
        change between the two is in the snapshot, in an event, or both: never lost.
        """
        # taken before any await: a socket's watches apply in the order they arrived
        async with self._watch_locks.setdefault(sid, asyncio.Lock()):

            async def work(ident: Identity, dev: DeviceSocket) -> Payload:
                payload = parse(PresenceWatchPayload, data, max_bytes=MAX_WATCH_PAYLOAD_BYTES)
                ids = await presence.watchable(self._deps, ident, payload.user_ids)
                await self._set_watch(sid, {presence_room(uid) for uid in ids})
                await self._watches.replace(sid, ids)  # counted before the snapshot is read
                if not self.server.manager.is_connected(sid, NAMESPACE):
                    await self._watches.forget(sid)  # gone meanwhile: its disconnect forgot
                    raise ServiceError(ErrorCode.FORBIDDEN, "not connected")
                states = await presence.snapshot(self._deps, ids)
                snapshot = PresenceSnapshot(
                    presence=[PresenceChanged(user_id=u, presence=p) for u, p in states.items()]
                )
                return Ack.success(**snapshot.model_dump(mode="json"))

            return await self._handle(sid, work)

    async def _set_watch(self, sid: str, rooms: set[str]) -> None:
        for room in self.rooms(sid):
            if room.startswith(PRESENCE_ROOM_PREFIX) and room not in rooms:
                await self.leave_room(sid, room)
        for room in rooms:
            await self.enter_room(sid, room)
