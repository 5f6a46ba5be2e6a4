"""The call service: every decision about a call, made against the database only.

Each status change goes through :mod:`server.callstate` and lands as one conditional UPDATE
(``WHERE id = :id AND status = :from``) plus a ``call_events`` row in the same transaction.
Whoever's UPDATE changes the row is the one node/device that tells the parties; everyone else
learns they lost (``invalid_state``). So the first answer wins across devices and nodes, and a
ring timeout settled twice (two nodes sweeping) is settled and announced once.

Notifications go out through a :class:`Notifier` (the Socket.IO server, or a fake in tests).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import (
    Exists,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import ColumnElement

from server import callstate
from server.auth import Identity
from server.callstate import Event, IllegalTransition, Opening, Role
from server.config import Settings
from server.db.models import CallEvent, CallRow, Connection, Node, Tenant, User, new_id, utcnow
from server.errors import ServiceError
from server.media import (
    MediaRooms,
    MediaUnavailable,
    WebhookNotice,
    participant_identity,
    user_of_identity,
)
from voip_contract import (
    Accepted,
    AnsweredElsewhere,
    Call,
    CallStatus,
    Ended,
    ErrorCode,
    Incoming,
    InvitePayload,
    Party,
    Presence,
    PresenceChanged,
    Ringing,
    RoomToken,
    ServerEvent,
)

log = logging.getLogger(__name__)

ACTIVE = (CallStatus.RINGING.value, CallStatus.IN_PROGRESS.value)
SYSTEM_ACTOR = "system"

# The hot path runs Core statements on the tables, built once with bind parameters: no ORM
# unit of work, no identity map, and no expression building per request (profiling showed
# statement construction and ORM bookkeeping costing more than SQLite itself).
CALLS = cast(Table, CallRow.__table__)
USERS = cast(Table, User.__table__)
EVENTS = cast(Table, CallEvent.__table__)
CONNECTIONS = cast(Table, Connection.__table__)
NODES = cast(Table, Node.__table__)


def _live_socket_of(user: Any) -> Exists:
    """Whether ``user`` has a socket on a node that is alive (``:live_since`` or later)."""
    return (
        select(CONNECTIONS.c.sid)
        .join(NODES, NODES.c.id == CONNECTIONS.c.node_id)
        .where(CONNECTIONS.c.user_id == user, NODES.c.last_seen >= bindparam("live_since"))
        .exists()
    )


_CALL_BY_ID = select(CALLS).where(CALLS.c.id == bindparam("id"))
_CALLER, _CALLEE = USERS.alias("caller"), USERS.alias("callee")
_CALL_WITH_NAMES = (
    select(CALLS, _CALLER.c.display_name, _CALLEE.c.display_name)
    .join(_CALLER, _CALLER.c.id == CALLS.c.caller_id)
    .join(_CALLEE, _CALLEE.c.id == CALLS.c.callee_id)
    .where(CALLS.c.id == bindparam("id"))
)
"""A call and its parties' display names (for views and tokens) in one SELECT."""
_CALL_IN_ROOM = select(CALLS).where(
    CALLS.c.room_name == bindparam("room"), CALLS.c.status == CallStatus.IN_PROGRESS.value
)
_TENANT_USERS_AMONG = select(USERS.c.id).where(
    USERS.c.tenant_id == bindparam("tenant"), USERS.c.id.in_(bindparam("ids", expanding=True))
)
"""Which of these ids are users of this tenant (``presence_watch`` ignores the others)."""
_PRESENCE = select(
    USERS.c.id,
    USERS.c.active_call_id.is_not(None),
    _live_socket_of(USERS.c.id),
).where(USERS.c.id.in_(bindparam("ids", expanding=True)))
"""Each user's line and whether it has a live socket on any node: its presence, in one SELECT
(it runs for every presence change, and for every page of contacts)."""
_INSERT_CALL = insert(CALLS)
_INSERT_EVENT = insert(EVENTS)
_USERS_BY_ID = select(
    USERS.c.id, USERS.c.tenant_id, USERS.c.display_name, USERS.c.active_call_id
).where(USERS.c.id.in_(bindparam("ids", expanding=True)))
_INVITE_LOOKUP = select(
    USERS.c.id,
    USERS.c.tenant_id,
    USERS.c.display_name,
    USERS.c.active_call_id,
    select(CALLS.c.id)
    .where(CALLS.c.caller_id == bindparam("me"), CALLS.c.request_id == bindparam("rid"))
    .scalar_subquery(),
    select(func.count())
    .select_from(CALLS)
    .where(CALLS.c.caller_id == bindparam("me"), CALLS.c.created_at >= bindparam("since"))
    .scalar_subquery(),
    _live_socket_of(bindparam("callee")),
).where(USERS.c.id.in_(bindparam("ids", expanding=True)))
"""Everything an invite decides on, in one round trip: both users (and their lines), the call
this ``request_id`` already made, the caller's invites of the last minute, and whether the
callee has a live socket on any node."""
_CLAIM_LINES = (
    update(USERS)
    .where(USERS.c.id.in_(bindparam("ids", expanding=True)), USERS.c.active_call_id.is_(None))
    .values(active_call_id=bindparam("call"))
)
_RELEASE_LINES = (
    update(USERS)
    .where(
        USERS.c.id.in_(bindparam("ids", expanding=True)),
        USERS.c.active_call_id == bindparam("call"),
    )
    .values(active_call_id=None)
)
_SET_ROOM_SID = (
    update(CALLS)
    .where(CALLS.c.id == bindparam("call"), CALLS.c.status == CallStatus.IN_PROGRESS.value)
    .values(room_sid=bindparam("room_sid"))
    .returning(CALLS.c.caller_sid)
)
"""Store the room's sid; returns the caller's socket as it stood when the call was answered
(it may have moved since the accept read the row, and never moves after)."""
_RINGING_FROM = and_(
    CALLS.c.status == CallStatus.RINGING.value, CALLS.c.caller_device == bindparam("device")
)
_FOLLOW_CALLER = (
    update(CALLS)
    .where(CALLS.c.caller_id == bindparam("user"), _RINGING_FROM)
    .values(caller_sid=bindparam("sid"))
)
"""A caller's device that reconnects takes over its ringing calls: ``accepted`` goes there."""
_FOLLOW_RETRY = (
    update(CALLS)
    .where(
        CALLS.c.caller_id == bindparam("user"),
        CALLS.c.request_id == bindparam("rid"),
        _RINGING_FROM,
    )
    .values(caller_sid=bindparam("sid"))
)
"""A retried invite (same ``request_id``) from the calling device's new socket takes it over."""


async def load_call(session: AsyncSession, call_id: str) -> CallRow | None:
    """The call as a plain (transient) row object, read with one Core SELECT."""
    found = (await session.execute(_CALL_BY_ID, {"id": call_id})).first()
    return None if found is None else CallRow(**found._mapping)


def user_room(user_id: str) -> str:
    return f"user:{user_id}"


def tenant_room(tenant_id: str) -> str:
    return f"tenant:{tenant_id}"


PRESENCE_ROOM_PREFIX = "presence:"


def presence_room(user_id: str) -> str:
    """The sockets watching ``user_id`` (``presence_watch``); they get its ``presence`` events
    in tenants above ``VOIP_PRESENCE_FANOUT_MAX``."""
    return f"{PRESENCE_ROOM_PREFIX}{user_id}"


class Notifier(Protocol):
    """Delivers server -> client events; ``to`` is a room or one socket id."""

    async def emit(
        self, event: ServerEvent, data: dict[str, Any], *, to: str, skip_sid: str | None = None
    ) -> None: ...

    def may_reach(self, room: str) -> bool:
        """``False`` only when no socket on any node can be in ``room``."""
        ...


@dataclass(frozen=True, slots=True)
class Device:
    """The socket a request came on, and the device behind it."""

    sid: str
    device_id: str


@dataclass(frozen=True, slots=True)
class PartyRow:
    """What the call service reads of a user: a plain row, not an ORM object."""

    id: str
    tenant_id: str
    display_name: str
    active_call_id: str | None


def call_view(row: CallRow, users: Mapping[str, PartyRow], viewer_id: str) -> Call:
    """A call row as ``viewer_id`` sees it."""
    caller, callee = users[row.caller_id], users[row.callee_id]
    return Call(
        id=row.id,
        caller=Party(id=caller.id, display_name=caller.display_name),
        callee=Party(id=callee.id, display_name=callee.display_name),
        direction="outgoing" if viewer_id == row.caller_id else "incoming",
        status=CallStatus(row.status),
        reason=row.reason,
        created_at=row.created_at,
        answered_at=row.answered_at,
        ended_at=row.ended_at,
        duration_s=row.duration_s,
    )


async def users_by_id(session: AsyncSession, ids: Iterable[str]) -> dict[str, PartyRow]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = await session.execute(_USERS_BY_ID, {"ids": sorted(wanted)})
    return {r[0]: PartyRow(*r) for r in rows}


async def presence_of(
    session: AsyncSession, user_ids: Sequence[str], *, live_since: datetime
) -> dict[str, Presence]:
    """``busy`` while a call holds the line, else ``online`` with a live socket on any node,
    else ``offline`` (also for ids that are no user). One round trip."""
    if not user_ids:
        return {}
    rows = await session.execute(
        _PRESENCE, {"ids": sorted(set(user_ids)), "live_since": live_since}
    )
    known: dict[str, Presence] = {
        uid: "busy" if busy else "online" if live else "offline" for uid, busy, live in rows
    }
    return {uid: known.get(uid, "offline") for uid in user_ids}


class CallService:
    """Signaling decisions; one instance per server process, stateless between requests."""

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        media: MediaRooms,
        notifier: Notifier,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._media = media
        self._notify = notifier
        self._tasks: set[asyncio.Task[None]] = set()
        self._tenant_sizes: dict[str, tuple[float, int]] = {}
        self._tenant_slugs: dict[str, str] = {}

    # --- helpers ---------------------------------------------------------------------------

    def _live_since(self) -> datetime:
        return utcnow() - timedelta(seconds=self._settings.presence_ttl_s)

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for background work (room deletions) started by this process."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _load_party_call(
        self, session: AsyncSession, ident: Identity, call_id: str
    ) -> tuple[CallRow, Role, dict[str, PartyRow]]:
        """The call ``ident`` is a party of, the role, and both parties (names only: their
        lines are not read here); ``not_found`` for anyone else."""
        found = (await session.execute(_CALL_WITH_NAMES, {"id": call_id})).first()
        if found is None:
            raise ServiceError(ErrorCode.NOT_FOUND, "no such call")
        *columns, caller_name, callee_name = found
        row = CallRow(**dict(zip(CALLS.c.keys(), columns, strict=True)))
        if ident.user_id not in (row.caller_id, row.callee_id):
            raise ServiceError(ErrorCode.NOT_FOUND, "no such call")
        role = Role.CALLER if row.caller_id == ident.user_id else Role.CALLEE
        users = {
            row.caller_id: PartyRow(row.caller_id, row.tenant_id, caller_name, None),
            row.callee_id: PartyRow(row.callee_id, row.tenant_id, callee_name, None),
        }
        return row, role, users

    @staticmethod
    def _check(status: CallStatus, event: Event, role: Role) -> callstate.Transition:
        try:
            return callstate.transition(status, event, role)
        except IllegalTransition as exc:
            row = callstate.TRANSITIONS.get((status, event))
            code = ErrorCode.FORBIDDEN if row is not None else ErrorCode.INVALID_STATE
            raise ServiceError(code, str(exc)) from exc

    async def _apply(
        self,
        session: AsyncSession,
        row: CallRow,
        step: callstate.Transition,
        *,
        actor: str,
        device: str | None,
        values: dict[str, Any] | None = None,
        guard: ColumnElement[bool] | None = None,
    ) -> bool:
        """Conditionally move ``row`` along ``step``; ``False`` when someone else moved it first
        (or ``guard``, a further condition on the row, no longer holds)."""
        now = utcnow()
        changes: dict[str, Any] = {"status": step.target.value, **(values or {})}
        if step.reason is not None:
            changes["reason"] = step.reason.value
        if step.target.is_final:
            changes["ended_at"] = now
            if row.answered_at is not None:
                changes["duration_s"] = round((now - row.answered_at).total_seconds(), 3)
        condition = and_(CALLS.c.id == row.id, CALLS.c.status == step.source.value)
        if guard is not None:
            condition = and_(condition, guard)
        result = await session.execute(update(CALLS).where(condition).values(**changes))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            await session.rollback()
            return False
        if step.target.is_final:  # the call no longer holds its parties' lines
            await session.execute(
                _RELEASE_LINES, {"ids": sorted((row.caller_id, row.callee_id)), "call": row.id}
            )
        await session.execute(
            _INSERT_EVENT,
            {
                "call_id": row.id,
                "at": now,
                "event": step.event.value,
                "from_status": step.source.value,
                "to_status": step.target.value,
                "reason": step.reason.value if step.reason else None,
                "actor": actor,
                "device": device,
            },
        )
        await session.commit()
        # Mirror the change on the loaded row without making it dirty: a later autoflush must
        # never write these values again unconditionally (that could undo a later transition).
        for name, value in changes.items():
            set_committed_value(row, name, value)
        return True

    async def _announce_end(self, row: CallRow) -> None:
        ended = Ended(call_id=row.id, status=CallStatus(row.status), reason=row.reason)
        payload = ended.model_dump(mode="json")
        await self._notify.emit(ServerEvent.ENDED, payload, to=user_room(row.caller_id))
        await self._notify.emit(ServerEvent.ENDED, payload, to=user_room(row.callee_id))
        if row.room_name:
            self._spawn(self._delete_room(row.room_name))
        await self.publish_presence(row.tenant_id, [row.caller_id, row.callee_id])

    async def _delete_room(self, name: str) -> None:
        try:
            await self._media.delete_room(name)
        except MediaUnavailable as exc:
            log.warning("room not deleted", extra={"room": name, "error": str(exc)})

    async def tenant_slug(self, tenant_id: str) -> str:
        """The tenant's slug (room names start with ``<slug>_``)."""
        async with self._sessions() as session:
            return await self._tenant_slug(session, tenant_id)

    async def _tenant_slug(self, session: AsyncSession, tenant_id: str) -> str:
        """Tenant slugs never change: read once per process."""
        slug = self._tenant_slugs.get(tenant_id)
        if slug is None:
            tenant = await session.get(Tenant, tenant_id)
            assert tenant is not None
            slug = self._tenant_slugs[tenant_id] = tenant.slug
        return slug

    async def _fans_out(self, tenant_id: str) -> bool:
        return await self._tenant_size(tenant_id) <= self._settings.presence_fanout_max

    async def _tenant_size(self, tenant_id: str) -> int:
        cached = self._tenant_sizes.get(tenant_id)
        if cached and time.monotonic() - cached[0] < 60:
            return cached[1]
        async with self._sessions() as session:
            size = await session.scalar(
                select(func.count()).select_from(User).where(User.tenant_id == tenant_id)
            )
        self._tenant_sizes[tenant_id] = (time.monotonic(), int(size or 0))
        return int(size or 0)

    async def publish_presence(self, tenant_id: str, user_ids: Sequence[str]) -> None:
        """Tell where these users stand now: the whole tenant up to the fan-out limit (one
        event per connected device), above it only the sockets that watch each user
        (``presence_watch``: one event per watcher), so a change costs O(watchers), not
        O(tenant). The rooms live in Socket.IO's manager (Redis across nodes)."""
        fans_out = await self._fans_out(tenant_id)
        user_ids = await self._heard(tenant_id, user_ids)
        if not user_ids:
            return
        async with self._sessions() as session:
            states = await presence_of(session, user_ids, live_since=self._live_since())
        for uid, presence in states.items():
            data = PresenceChanged(user_id=uid, presence=presence).model_dump(mode="json")
            to = tenant_room(tenant_id) if fans_out else presence_room(uid)
            await self._notify.emit(ServerEvent.PRESENCE, data, to=to)

    async def _heard(self, tenant_id: str, user_ids: Sequence[str]) -> list[str]:
        """Those of ``user_ids`` whose presence change could reach anyone: all of them up to the
        fan-out limit (the tenant hears); above it, those a socket may be watching. That is
        known for sure on a single node, never across nodes (then: all of them)."""
        if await self._fans_out(tenant_id):
            return list(user_ids)
        return [uid for uid in user_ids if self._notify.may_reach(presence_room(uid))]

    async def watchable(self, ident: Identity, user_ids: Sequence[str]) -> list[str]:
        """The ids (deduplicated, in order) that are users of the caller's own tenant: the
        only ones ``presence_watch`` may watch. Unknown ids and other tenants' users are
        dropped alike, so the answer tells nothing about who exists elsewhere."""
        wanted = list(dict.fromkeys(user_ids))
        if not wanted:
            return []
        async with self._sessions() as session:
            found = set(
                await session.scalars(
                    _TENANT_USERS_AMONG, {"tenant": ident.tenant_id, "ids": wanted}
                )
            )
        return [uid for uid in wanted if uid in found]

    async def presence(self, user_ids: Sequence[str]) -> dict[str, Presence]:
        """Where these users stand now (the caller checked they are of its tenant)."""
        async with self._sessions() as session:
            return await presence_of(session, user_ids, live_since=self._live_since())

    # --- client requests -------------------------------------------------------------------

    async def invite(self, ident: Identity, dev: Device, payload: InvitePayload) -> Call:
        if payload.callee_id == ident.user_id:
            raise ServiceError(ErrorCode.SELF_CALL, "you cannot call yourself")
        me, callee_id = ident.user_id, payload.callee_id
        now = utcnow()
        params = {
            "ids": sorted((me, callee_id)),
            "me": me,
            "rid": payload.request_id,
            "since": now - timedelta(seconds=60),
            "callee": callee_id,
            "live_since": self._live_since(),
        }
        row: CallRow | None = None
        async with self._sessions() as session:
            found = (await session.execute(_INVITE_LOOKUP, params)).all()
            users = {r[0]: PartyRow(*r[:4]) for r in found}
            existing, recent, live = (
                (found[0][4], found[0][5], found[0][6]) if found else (None, 0, False)
            )
            if existing is None:
                callee = users.get(callee_id)
                if callee is None or me not in users:
                    raise ServiceError(ErrorCode.NOT_FOUND, "no such user")
                if callee.tenant_id != ident.tenant_id:
                    raise ServiceError(ErrorCode.FORBIDDEN, "that user is not in your organisation")
                if (recent or 0) >= self._settings.invite_limit_per_min:
                    raise ServiceError(
                        ErrorCode.RATE_LIMITED, "too many calls; try again in a minute"
                    )
                row, users = await self._open_call(
                    session, ident, dev, payload, users, bool(live), now
                )
        if row is None:  # a retried invite (same request_id): the call it made
            return await self._existing_invite(ident, dev, payload)
        if row.status == CallStatus.RINGING.value:
            await self._announce_ringing(row, users)
            await self.publish_presence(row.tenant_id, [row.caller_id, row.callee_id])
        elif CallStatus(row.status).is_final and row.caller_sid == dev.sid:
            await self._announce_end(row)
        return call_view(row, users, ident.user_id)

    async def _open_call(
        self,
        session: AsyncSession,
        ident: Identity,
        dev: Device,
        payload: InvitePayload,
        users: dict[str, PartyRow],
        live: bool,
        now: datetime,
    ) -> tuple[CallRow | None, dict[str, PartyRow]]:
        """Insert the call, claim both lines if it rings, log the invite, commit; ``None``
        when a call with this ``request_id`` exists already (a raced retry)."""
        me, callee_id = ident.user_id, payload.callee_id
        opening = self._opening(users[me], users[callee_id], live)
        row = await self._insert_call(session, ident, dev, payload, opening, now)
        if (
            row is not None
            and opening is Opening.REACHABLE
            and not await self._claim_lines(session, row)
        ):
            # Another invite took one of the two lines since we looked: that call rings,
            # this one does not (the claim is the decision, not the look).
            await session.rollback()
            users = await users_by_id(session, (me, callee_id))
            opening = self._opening(users[me], users[callee_id], live, lost_race=True)
            row = await self._insert_call(session, ident, dev, payload, opening, now)
        if row is None:
            return None, users
        await session.execute(
            _INSERT_EVENT,
            {
                "call_id": row.id,
                "at": now,
                "event": "invite",
                "from_status": None,
                "to_status": row.status,
                "reason": row.reason,
                "actor": me,
                "device": dev.device_id,
            },
        )
        await session.commit()
        return row, users

    async def _insert_call(
        self,
        session: AsyncSession,
        ident: Identity,
        dev: Device,
        payload: InvitePayload,
        opening: Opening,
        now: datetime,
    ) -> CallRow | None:
        """A Core INSERT of the new call (no ORM unit of work); the returned row is a plain
        transient object for the views. ``None`` (rolled back) if ``request_id`` was used."""
        status, reason = callstate.open_call(opening)
        values: dict[str, Any] = {
            "id": new_id(),
            "tenant_id": ident.tenant_id,
            "caller_id": ident.user_id,
            "callee_id": payload.callee_id,
            "request_id": payload.request_id,
            "status": status.value,
            "reason": reason.value if reason else None,
            "created_at": now,
            "ring_deadline": (
                now + timedelta(seconds=self._settings.ring_timeout_s)
                if status is CallStatus.RINGING
                else None
            ),
            "ended_at": now if status.is_final else None,
            "caller_device": dev.device_id,
            "caller_sid": dev.sid,
        }
        try:
            await session.execute(_INSERT_CALL, values)
        except IntegrityError:
            await session.rollback()
            return None
        return CallRow(**values)

    async def _existing_invite(self, ident: Identity, dev: Device, payload: InvitePayload) -> Call:
        """The call a retried (or raced) invite with the same ``request_id`` created; a retry
        from a new socket of the calling device, while the call rings, moves ``accepted`` to
        that socket (conditional on the status and the device, so it never takes a call
        another device placed, nor one answered meanwhile)."""
        async with self._sessions() as session:
            await session.execute(
                _FOLLOW_RETRY,
                {
                    "user": ident.user_id,
                    "rid": payload.request_id,
                    "device": dev.device_id,
                    "sid": dev.sid,
                },
            )
            await session.commit()
            row = await session.scalar(
                select(CallRow).where(
                    CallRow.caller_id == ident.user_id, CallRow.request_id == payload.request_id
                )
            )
            if row is None:
                raise ServiceError(ErrorCode.INVALID_STATE, "the invite could not be stored")
            users = await users_by_id(session, (row.caller_id, row.callee_id))
        return call_view(row, users, ident.user_id)

    @staticmethod
    def _opening(
        caller: PartyRow, callee: PartyRow, live: bool, *, lost_race: bool = False
    ) -> Opening:
        """What an invite from ``caller`` finds; ``lost_race``: its claim of the lines failed."""
        if caller.active_call_id is not None:
            raise ServiceError(ErrorCode.INVALID_STATE, "you are already in a call")
        if lost_race or callee.active_call_id is not None:
            return Opening.BUSY
        return Opening.REACHABLE if live else Opening.OFFLINE

    @staticmethod
    async def _claim_lines(session: AsyncSession, row: CallRow) -> bool:
        """Claim both parties' lines for ``row`` in one conditional UPDATE; ``True`` only if
        both were free. Rows are locked in key order, so crossed invites cannot deadlock."""
        result = await session.execute(
            _CLAIM_LINES, {"ids": sorted((row.caller_id, row.callee_id)), "call": row.id}
        )
        return bool(result.rowcount == 2)  # type: ignore[attr-defined]

    async def _has_live_socket(self, session: AsyncSession, user_id: str) -> bool:
        found = await session.scalar(
            select(_live_socket_of(user_id)), {"live_since": self._live_since()}
        )
        return bool(found)

    def _incoming(self, row: CallRow, users: Mapping[str, PartyRow]) -> dict[str, Any]:
        assert row.ring_deadline is not None
        view = call_view(row, users, row.callee_id)
        return Incoming(call=view, ring_expires_at=row.ring_deadline).model_dump(mode="json")

    async def _announce_ringing(self, row: CallRow, users: Mapping[str, PartyRow]) -> None:
        await self._notify.emit(
            ServerEvent.INCOMING, self._incoming(row, users), to=user_room(row.callee_id)
        )
        await self._notify.emit(
            ServerEvent.RINGING,
            Ringing(call_id=row.id).model_dump(mode="json"),
            to=user_room(row.caller_id),
        )

    async def accept(self, ident: Identity, dev: Device, call_id: str) -> RoomToken:
        async with self._sessions() as session:
            row, role, users = await self._load_party_call(session, ident, call_id)
            step = self._check(CallStatus(row.status), Event.ACCEPT, role)
            slug = await self._tenant_slug(session, row.tenant_id)
            won = await self._apply(
                session,
                row,
                step,
                actor=ident.user_id,
                device=dev.device_id,
                values={
                    "answered_at": utcnow(),
                    "answer_device": dev.device_id,
                    "answer_sid": dev.sid,
                    "room_name": f"{slug}_{row.id}",
                },
            )
            if not won:
                raise ServiceError(ErrorCode.INVALID_STATE, "the call was answered or ended")
        assert row.room_name is not None
        await self._notify.emit(
            ServerEvent.ANSWERED_ELSEWHERE,
            AnsweredElsewhere(call_id=row.id).model_dump(mode="json"),
            to=user_room(row.callee_id),
            skip_sid=dev.sid,
        )
        try:
            room_sid = await self._media.create_room(row.room_name)
            caller_token = self._token_for(row, users[row.caller_id], row.caller_device)
            callee_token = self._token_for(row, users[row.callee_id], dev.device_id)
        except MediaUnavailable as exc:
            log.warning("media unavailable at accept", extra={"call": row.id, "error": str(exc)})
            await self._fail(row.id)
            raise ServiceError(ErrorCode.UNAVAILABLE, "media server unavailable") from exc
        async with self._sessions() as session:
            still = (
                await session.execute(_SET_ROOM_SID, {"call": row.id, "room_sid": room_sid})
            ).first()
            await session.commit()
        if still is None:
            self._spawn(self._delete_room(row.room_name))
            raise ServiceError(ErrorCode.INVALID_STATE, "the call ended while it was answered")
        accepted = Accepted(
            call_id=row.id,
            livekit_url=self._media.client_url,
            room_name=row.room_name,
            token=caller_token,
        )
        await self._notify.emit(ServerEvent.ACCEPTED, accepted.model_dump(mode="json"), to=still[0])
        return RoomToken(
            livekit_url=self._media.client_url, room_name=row.room_name, token=callee_token
        )

    def _token_for(self, row: CallRow, user: PartyRow, device_id: str) -> str:
        assert row.room_name is not None
        return self._media.mint_token(
            room=row.room_name,
            identity=participant_identity(user.id, device_id),
            name=user.display_name,
        )

    async def _fail(self, call_id: str) -> None:
        async with self._sessions() as session:
            row = await load_call(session, call_id)
            if row is None or CallStatus(row.status).is_final:
                return
            step = callstate.transition(CallStatus(row.status), Event.MEDIA_FAILED, Role.SYSTEM)
            won = await self._apply(session, row, step, actor=SYSTEM_ACTOR, device=None)
        if won:
            await self._announce_end(row)

    async def finish(self, ident: Identity, dev: Device, call_id: str, event: Event) -> None:
        """``decline``, ``cancel`` or ``hangup`` (hangup while ringing = cancel / decline)."""
        async with self._sessions() as session:
            row, role, _ = await self._load_party_call(session, ident, call_id)
            status = CallStatus(row.status)
            if event is Event.HANGUP:
                event = callstate.hangup_event(status, role)
            step = self._check(status, event, role)
            won = await self._apply(session, row, step, actor=ident.user_id, device=dev.device_id)
        if not won:
            raise ServiceError(ErrorCode.INVALID_STATE, "the call changed meanwhile")
        await self._announce_end(row)

    async def sync(self, ident: Identity) -> list[Call]:
        async with self._sessions() as session:
            rows = list(
                await session.scalars(
                    select(CallRow)
                    .where(
                        CallRow.status.in_(ACTIVE),
                        or_(CallRow.caller_id == ident.user_id, CallRow.callee_id == ident.user_id),
                    )
                    .order_by(CallRow.created_at.desc())
                )
            )
            users = await users_by_id(
                session, {u for r in rows for u in (r.caller_id, r.callee_id)}
            )
        return [call_view(r, users, ident.user_id) for r in rows]

    async def room_token(self, ident: Identity, call_id: str, device_id: str | None) -> RoomToken:
        """A fresh room token to rejoin an IN_PROGRESS call: only for the device on it (the
        caller's calling device, the callee's answering device), named by ``device_id``."""
        async with self._sessions() as session:
            row, role, users = await self._load_party_call(session, ident, call_id)
        if row.status != CallStatus.IN_PROGRESS.value or row.room_name is None:
            raise ServiceError(ErrorCode.INVALID_STATE, "the call is not in progress")
        stored: str | None
        stored_sid: str | None
        if role is Role.CALLER:
            stored, stored_sid = row.caller_device, row.caller_sid
        else:
            stored, stored_sid = row.answer_device, row.answer_sid
        if device_id is None and stored == stored_sid:
            # That device connected without naming itself (its device is its socket id, which
            # changes on every reconnect): it cannot name itself now, so it may rejoin unnamed.
            device_id = stored
        if device_id is None:
            # A named device always names itself; an unnamed request is another device, and a
            # token under the stored identity would push the device on the call out of the
            # room (LiveKit drops the older of two participants with one identity).
            raise ServiceError(
                ErrorCode.FORBIDDEN,
                "Say which device is rejoining (device_id): only the device on the call may.",
            )
        if device_id != stored:
            raise ServiceError(ErrorCode.FORBIDDEN, "This call is on another of your devices.")
        try:
            token = self._token_for(row, users[ident.user_id], device_id)
        except MediaUnavailable as exc:
            raise ServiceError(ErrorCode.UNAVAILABLE, "media server unavailable") from exc
        return RoomToken(livekit_url=self._media.client_url, room_name=row.room_name, token=token)

    # --- connections and presence ----------------------------------------------------------

    async def connected(self, ident: Identity, dev: Device) -> None:
        """Record the socket; ring it again for every call still ringing for this user; a
        named device that placed a call still ringing takes it over (``accepted`` comes here)."""
        now = utcnow()
        told = bool(await self._heard(ident.tenant_id, [ident.user_id]))
        async with self._sessions() as session:
            was_offline = told and not await self._has_live_socket(session, ident.user_id)
            session.add(
                Connection(
                    sid=dev.sid,
                    user_id=ident.user_id,
                    tenant_id=ident.tenant_id,
                    device_id=dev.device_id,
                    node_id=self._settings.node,
                    connected_at=now,
                )
            )
            if dev.device_id != dev.sid:  # a socket-id device is new: it placed nothing
                await session.execute(
                    _FOLLOW_CALLER,
                    {"user": ident.user_id, "device": dev.device_id, "sid": dev.sid},
                )
            await session.commit()
            ringing = list(
                await session.scalars(
                    select(CallRow).where(
                        CallRow.callee_id == ident.user_id,
                        CallRow.status == CallStatus.RINGING.value,
                    )
                )
            )
            users = await users_by_id(
                session, {u for r in ringing for u in (r.caller_id, r.callee_id)}
            )
        for row in ringing:
            await self._notify.emit(ServerEvent.INCOMING, self._incoming(row, users), to=dev.sid)
        if was_offline:
            await self.publish_presence(ident.tenant_id, [ident.user_id])

    async def disconnected(self, ident: Identity, sid: str) -> None:
        async with self._sessions() as session:
            await session.execute(delete(Connection).where(Connection.sid == sid))
            await session.commit()
            told = bool(await self._heard(ident.tenant_id, [ident.user_id]))
            gone = told and not await self._has_live_socket(session, ident.user_id)
        if gone:
            await self.publish_presence(ident.tenant_id, [ident.user_id])

    async def heartbeat(self) -> None:
        """Say this node is alive (one row, however many sockets it holds); forget the sockets
        of nodes that stopped saying so, and those of no node at all."""
        now, live_since = utcnow(), self._live_since()
        node = self._settings.node
        async with self._sessions() as session:
            touched = await session.execute(
                update(Node).where(Node.id == node).values(last_seen=now)
            )
            if not getattr(touched, "rowcount", 0):
                session.add(Node(id=node, last_seen=now))
                await session.flush()
            await session.execute(delete(Node).where(Node.last_seen < live_since))
            await session.execute(
                delete(Connection).where(Connection.node_id.not_in(select(NODES.c.id)))
            )
            await session.commit()

    async def forget_node(self) -> None:
        """At start and stop: this node holds no sockets (rows of a previous run are stale)."""
        async with self._sessions() as session:
            await session.execute(
                delete(Connection).where(Connection.node_id == self._settings.node)
            )
            await session.commit()

    # --- the server's own events -----------------------------------------------------------

    async def settle_overdue(self, *, limit: int = 200) -> int:
        """End every call ringing past its deadline as MISSED; return how many this node ended."""
        settled = 0
        async with self._sessions() as session:
            ids = list(
                await session.scalars(
                    select(CallRow.id)
                    .where(
                        and_(
                            CallRow.status == CallStatus.RINGING.value,
                            CallRow.ring_deadline <= utcnow(),
                        )
                    )
                    .limit(limit)
                )
            )
        for call_id in ids:
            settled += await self._settle(call_id, CallStatus.RINGING, Event.RING_TIMEOUT)
        return settled + await self.settle_lost_media(limit=limit)

    async def _settle(
        self,
        call_id: str,
        status: CallStatus,
        event: Event,
        *,
        guard: ColumnElement[bool] | None = None,
    ) -> bool:
        """Move a call from ``status`` by the system's ``event`` and announce its end; ``False``
        when it had moved on already (another node, a client, a webhook got there first) or
        ``guard`` (an extra condition of the UPDATE) no longer holds."""
        async with self._sessions() as session:
            row = await load_call(session, call_id)
            if row is None or row.status != status.value:
                return False
            step = callstate.transition(status, event, Role.SYSTEM)
            won = await self._apply(
                session, row, step, actor=SYSTEM_ACTOR, device=None, guard=guard
            )
        if won:
            await self._announce_end(row)
        return won

    async def settle_lost_media(self, *, limit: int = 200) -> int:
        """End every answered call a party left and did not rejoin within the grace as
        COMPLETED / ``participant_left``; return how many this node ended."""
        settled = 0
        now = utcnow()
        passed = or_(CallRow.caller_grace_until <= now, CallRow.callee_grace_until <= now)
        async with self._sessions() as session:
            ids = list(
                await session.scalars(
                    select(CallRow.id)
                    .where(CallRow.status == CallStatus.IN_PROGRESS.value, passed)
                    .limit(limit)
                )
            )
        for call_id in ids:
            # Only if the grace still ran out: a rejoin may have cleared it meanwhile.
            settled += await self._settle(
                call_id, CallStatus.IN_PROGRESS, Event.PARTICIPANT_LEFT, guard=passed
            )
        return settled

    async def settle_vanished_rooms(self, *, limit: int = 500) -> int:
        """End answered calls whose room LiveKit no longer has, as ``room_finished`` would have;
        return how many this node ended.

        The ``room_finished`` webhook is the only other news of a room's end, and it is lost
        when every node was down as it came, or LiveKit could not reach us: such a call would
        stay IN_PROGRESS, holding both parties' lines (``busy`` to every caller) forever. Calls
        answered less than ``VOIP_ROOM_AUDIT_MIN_AGE_S`` ago are left alone (their room may be
        in the making); if LiveKit does not answer, nothing is ended.
        """
        answered_before = utcnow() - timedelta(seconds=self._settings.room_audit_min_age_s)
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(CallRow.id, CallRow.room_name)
                    .where(
                        CallRow.status == CallStatus.IN_PROGRESS.value,
                        CallRow.answered_at <= answered_before,
                        CallRow.room_name.is_not(None),
                    )
                    .order_by(CallRow.answered_at)
                    .limit(limit)
                )
            ).all()
        if not rows:
            return 0
        try:
            alive = await self._media.existing_rooms([str(room) for _, room in rows])
        except MediaUnavailable as exc:
            log.warning("rooms not audited", extra={"error": str(exc)})
            return 0
        settled = 0
        for call_id, room in rows:
            if room not in alive and await self._settle(
                call_id, CallStatus.IN_PROGRESS, Event.ROOM_FINISHED
            ):
                settled += 1
                log.info("room vanished", extra={"call": call_id, "room": room})
        return settled

    async def on_webhook(self, notice: WebhookNotice) -> None:
        """``room_finished`` ends the call in that room at once; ``participant_left`` of a party
        starts its rejoin grace, ``participant_joined`` of that party ends the grace."""
        if not notice.room_name:
            return
        if notice.event == "room_finished":
            await self._room_finished(notice)
        elif notice.event == "participant_left":
            await self._media_lost(notice)
        elif notice.event == "participant_joined":
            await self._media_back(notice)

    async def _room_finished(self, notice: WebhookNotice) -> None:
        async with self._sessions() as session:
            found = (await session.execute(_CALL_IN_ROOM, {"room": notice.room_name})).first()
            if found is None:
                return
            row = CallRow(**found._mapping)
            step = callstate.transition(CallStatus.IN_PROGRESS, Event.ROOM_FINISHED, Role.SYSTEM)
            won = await self._apply(session, row, step, actor=SYSTEM_ACTOR, device=notice.identity)
        if won:
            await self._announce_end(row)

    async def _party_in_room(self, notice: WebhookNotice) -> tuple[str, Any] | None:
        """``(call id, grace column)`` of the answered call whose party ``notice`` is about."""
        if notice.identity is None:
            return None
        async with self._sessions() as session:
            found = (
                await session.execute(
                    select(CallRow.id, CallRow.caller_id, CallRow.callee_id).where(
                        CallRow.room_name == notice.room_name,
                        CallRow.status == CallStatus.IN_PROGRESS.value,
                    )
                )
            ).first()
        if found is None:
            return None
        call_id, caller_id, callee_id = found
        user_id = user_of_identity(notice.identity)
        if user_id == caller_id:
            return call_id, CallRow.caller_grace_until
        if user_id == callee_id:
            return call_id, CallRow.callee_grace_until
        return None

    async def _still_in_room(self, notice: WebhookNotice) -> bool:
        """A newer session of the same identity is in the room (a rejoin whose ``joined``
        came before the old session's ``left``). When LiveKit cannot tell, assume not: the
        grace then only delays the end, and a later ``joined`` still clears it."""
        try:
            people = await self._media.list_participants(notice.room_name)
        except MediaUnavailable as exc:
            log.warning(
                "participants not listed", extra={"room": notice.room_name, "error": str(exc)}
            )
            return False
        return any(p.identity == notice.identity for p in people)

    async def _media_lost(self, notice: WebhookNotice) -> None:
        party = await self._party_in_room(notice)
        if party is None or await self._still_in_room(notice):
            return
        call_id, grace = party
        deadline = utcnow() + timedelta(seconds=self._settings.rejoin_grace_s)
        # a grace already running is not extended by a repeated webhook
        if await self._set_grace(call_id, grace, deadline, "participant_left", notice.identity):
            log.info("media lost", extra={"call": call_id, "identity": notice.identity})

    async def _media_back(self, notice: WebhookNotice) -> None:
        party = await self._party_in_room(notice)
        if party is None:
            return
        call_id, grace = party
        # nothing to clear on the first join, or once the call ended
        if await self._set_grace(call_id, grace, None, "participant_joined", notice.identity):
            log.info("media back", extra={"call": call_id, "identity": notice.identity})

    async def _set_grace(
        self,
        call_id: str,
        grace: Any,
        deadline: datetime | None,
        event: str,
        identity: str | None,
    ) -> bool:
        """Start (``deadline``) or clear (``None``) a party's rejoin grace on an IN_PROGRESS call.

        One conditional UPDATE: starting needs no grace running, clearing needs one. Returns
        whether it changed the call; only then is the event written.
        """
        running = grace.is_(None) if deadline is not None else grace.is_not(None)
        async with self._sessions() as session:
            result = await session.execute(
                update(CallRow)
                .where(
                    CallRow.id == call_id,
                    CallRow.status == CallStatus.IN_PROGRESS.value,
                    running,
                )
                .values({grace.key: deadline})
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return False
            session.add(self._media_event(call_id, utcnow(), event, identity))
            await session.commit()
        return True

    @staticmethod
    def _media_event(call_id: str, at: datetime, event: str, identity: str | None) -> CallEvent:
        """A ``call_events`` row for a party's media leaving or coming back (no status change)."""
        status = CallStatus.IN_PROGRESS.value
        return CallEvent(
            call_id=call_id,
            at=at,
            event=event,
            from_status=status,
            to_status=status,
            actor=SYSTEM_ACTOR,
            device=identity,
        )
