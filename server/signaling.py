"""Socket.IO namespace ``/call``: authentication at connect, one handler per client event.

Every handler validates its payload with the contract's model (closed, bounded) and answers
with an ack: ``{"ok": true, ...}`` or ``{"ok": false, "error": {"code", "message"}}``. Errors
are translated here, at the edge; nothing a client sends can crash the loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import socketio
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.auth import Identity, authenticate
from server.calls import (
    PRESENCE_ROOM_PREFIX,
    CallService,
    Device,
    presence_room,
    tenant_room,
    user_room,
)
from server.callstate import Event
from server.config import Settings
from server.errors import ServiceError
from voip_contract import (
    NAMESPACE,
    Ack,
    CallIdPayload,
    ErrorCode,
    InvitePayload,
    PresenceChanged,
    PresenceSnapshot,
    PresenceWatchPayload,
    ServerEvent,
    SyncPayload,
)
from voip_contract.models import ID_MAX, PRESENCE_WATCH_MAX

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)

MAX_PAYLOAD_BYTES = 2048
"""Largest event payload (JSON) a client may send; bigger is ``invalid_payload``."""
MAX_WATCH_PAYLOAD_BYTES = PRESENCE_WATCH_MAX * (ID_MAX + 4) + 64
"""``presence_watch`` carries up to :data:`PRESENCE_WATCH_MAX` ids."""


class SocketNotifier:
    """:class:`server.calls.Notifier` over the Socket.IO server (and its Redis manager)."""

    def __init__(self, sio: socketio.AsyncServer, *, distributed: bool = False) -> None:
        self._sio = sio
        self._distributed = distributed
        """With a Redis manager, other nodes' rooms cannot be seen from here."""

    async def emit(
        self, event: ServerEvent, data: dict[str, Any], *, to: str, skip_sid: str | None = None
    ) -> None:
        await self._sio.emit(event.value, data, to=to, skip_sid=skip_sid, namespace=NAMESPACE)

    def may_reach(self, room: str) -> bool:
        if self._distributed:
            return True
        return bool(self._sio.manager.rooms.get(NAMESPACE, {}).get(room))


def _invalid(message: str) -> dict[str, Any]:
    return Ack.failure(ErrorCode.INVALID_PAYLOAD, message)


def _parse(model: type[M], data: Any, *, max_bytes: int = MAX_PAYLOAD_BYTES) -> M:
    if data is None and model is SyncPayload:
        data = {}
    if not isinstance(data, dict):
        raise ServiceError(ErrorCode.INVALID_PAYLOAD, "payload must be a JSON object")
    if len(json.dumps(data, default=str)) > max_bytes:
        raise ServiceError(ErrorCode.INVALID_PAYLOAD, "payload too large")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "payload"
        raise ServiceError(ErrorCode.INVALID_PAYLOAD, f"{where}: {first['msg']}") from exc


class CallNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """Handlers of namespace ``/call``; the session holds the identity and the device."""

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        service: CallService,
    ) -> None:
        super().__init__(NAMESPACE)
        self._settings = settings
        self._sessions = sessions
        self._service = service
        self._watch_locks: dict[str, asyncio.Lock] = {}
        """One per socket of this node: a socket's ``presence_watch`` es apply in order."""

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        if not isinstance(auth, dict):
            raise socketio.exceptions.ConnectionRefusedError("unauthorized: auth={token} needed")
        token = auth.get("token")
        device_id = auth.get("device_id")
        if device_id is not None and (
            not isinstance(device_id, str) or not 0 < len(device_id) <= ID_MAX
        ):
            raise socketio.exceptions.ConnectionRefusedError("invalid_payload: bad device_id")
        try:
            async with self._sessions() as session:
                ident = await authenticate(
                    session, self._settings, token if isinstance(token, str) else None
                )
        except ServiceError as exc:
            raise socketio.exceptions.ConnectionRefusedError(
                f"unauthorized: {exc.message}"
            ) from exc
        dev = Device(sid=sid, device_id=device_id or sid)
        await self.save_session(sid, {"ident": ident, "device": dev})
        await self.enter_room(sid, user_room(ident.user_id))
        await self.enter_room(sid, tenant_room(ident.tenant_id))
        await self._service.connected(ident, dev)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self._watch_locks.pop(sid, None)  # (Socket.IO drops the socket's rooms itself)
        session = await self.get_session(sid)
        ident = session.get("ident")
        if isinstance(ident, Identity):
            await self._service.disconnected(ident, sid)

    async def _handle(
        self,
        sid: str,
        work: Callable[[Identity, Device], Awaitable[dict[str, Any]]],
    ) -> dict[str, Any]:
        session = await self.get_session(sid)
        ident, dev = session.get("ident"), session.get("device")
        if not isinstance(ident, Identity) or not isinstance(dev, Device):
            return Ack.failure(ErrorCode.FORBIDDEN, "not authenticated")
        try:
            return await work(ident, dev)
        except ServiceError as exc:
            return Ack.failure(exc.code, exc.message)
        except Exception:
            log.exception("handler failed", extra={"sid": sid})
            return Ack.failure(ErrorCode.UNAVAILABLE, "internal error")

    async def on_invite(self, sid: str, data: Any = None) -> dict[str, Any]:
        async def work(ident: Identity, dev: Device) -> dict[str, Any]:
            payload = _parse(InvitePayload, data)
            call = await self._service.invite(ident, dev, payload)
            return Ack.success(call=call.model_dump(mode="json"))

        return await self._handle(sid, work)

    async def on_accept(self, sid: str, data: Any = None) -> dict[str, Any]:
        async def work(ident: Identity, dev: Device) -> dict[str, Any]:
            payload = _parse(CallIdPayload, data)
            token = await self._service.accept(ident, dev, payload.call_id)
            return Ack.success(**token.model_dump(mode="json"))

        return await self._handle(sid, work)

    def _finisher(self, event: Event) -> Callable[[str, Any], Awaitable[dict[str, Any]]]:
        async def handler(sid: str, data: Any = None) -> dict[str, Any]:
            async def work(ident: Identity, dev: Device) -> dict[str, Any]:
                payload = _parse(CallIdPayload, data)
                await self._service.finish(ident, dev, payload.call_id, event)
                return Ack.success()

            return await self._handle(sid, work)

        return handler

    async def on_decline(self, sid: str, data: Any = None) -> dict[str, Any]:
        return await self._finisher(Event.DECLINE)(sid, data)

    async def on_cancel(self, sid: str, data: Any = None) -> dict[str, Any]:
        return await self._finisher(Event.CANCEL)(sid, data)

    async def on_hangup(self, sid: str, data: Any = None) -> dict[str, Any]:
        return await self._finisher(Event.HANGUP)(sid, data)

    async def on_sync(self, sid: str, data: Any = None) -> dict[str, Any]:
        async def work(ident: Identity, dev: Device) -> dict[str, Any]:
            _parse(SyncPayload, data)
            calls = await self._service.sync(ident)
            return Ack.success(calls=[c.model_dump(mode="json") for c in calls])

        return await self._handle(sid, work)

    async def on_presence_watch(self, sid: str, data: Any = None) -> dict[str, Any]:
        """Replace this socket's watch set with the payload's users of the caller's tenant
        (others are ignored) and ack their presence now.

        The socket joins the rooms ``presence:<user id>`` *before* the snapshot is read, so a
        change between the two is in the snapshot, in an event, or both: never lost.
        """
        # taken before any await: a socket's watches apply in the order they arrived
        async with self._watch_locks.setdefault(sid, asyncio.Lock()):

            async def work(ident: Identity, dev: Device) -> dict[str, Any]:
                payload = _parse(PresenceWatchPayload, data, max_bytes=MAX_WATCH_PAYLOAD_BYTES)
                ids = await self._service.watchable(ident, payload.user_ids)
                await self._set_watch(sid, {presence_room(uid) for uid in ids})
                states = await self._service.presence(ids)
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
