"""Sockets and nodes: a socket's connect and disconnect, and this node's heartbeat.

Presence comes from the ``connections`` rows of live nodes; a node is alive while its
heartbeat refreshes its ``nodes`` row (every ``VOIP_PRESENCE_TTL_S / 3``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from server.auth import Identity, authenticate_socket, decode_bearer
from server.calls import announce, presence, recording
from server.calls.deps import CallDeps, DeviceSocket
from server.db import calls as call_data
from server.db import presence as socket_data
from server.db import users as user_data
from server.db.models import CallRow
from server.db.transaction import Db
from server.db.users import PartyRow
from server.errors import ServiceError
from voip_contract import ErrorCode, ServerEvent

Join = Callable[[Identity], Awaitable[None]]
"""Puts an admitted socket in its rooms (the transport's business)."""


async def connect(deps: CallDeps, token: str | None, dev: DeviceSocket, join: Join) -> Identity:
    """Admit a socket presenting ``token``, or raise ``ServiceError`` (``unauthorized``: bad or
    revoked token, disabled user; ``rate_limited``: the per-user socket cap), then as
    :func:`connected`. The token is decoded before any database work; one unit of work and one
    round trip for the checks: the token's user, its sign-in session and the user's live
    sockets (:func:`server.auth.authenticate_socket`). ``join`` runs once admitted, before the
    socket's row exists: a call that rings the user from then on finds the socket in its rooms,
    one that rang before is read after the row's commit."""
    now = deps.clock.now()
    bearer = decode_bearer(deps.settings, token, now)
    # the call path's direct unit; an identity provider's user may be provisioned: a session
    unit = deps.transactions() if bearer.ours else deps.sessions()
    async with unit as session:
        ident, sockets = await authenticate_socket(
            session, deps.settings, bearer, live_since=deps.live_since(now)
        )
        if sockets >= deps.settings.max_sockets_per_user:
            raise ServiceError(ErrorCode.RATE_LIMITED, "too many connections for this user")
        await join(ident)
        rings = await _record(deps, session, ident, dev, now)
    await _welcome(deps, ident, dev, rings=rings, was_offline=sockets == 0)
    return ident


async def connected(deps: CallDeps, ident: Identity, dev: DeviceSocket) -> None:
    """Record the socket of ``ident`` (already authenticated); ring it again for every call
    still ringing for this user; a named device that placed a call still ringing takes it over
    (``accepted`` comes here); publish the user's presence if it was offline."""
    now = deps.clock.now()
    async with deps.sessions() as session:
        live = await socket_data.has_live_socket(
            session, user_id=ident.user_id, live_since=deps.live_since(now)
        )
        rings = await _record(deps, session, ident, dev, now)
    await _welcome(deps, ident, dev, rings=rings, was_offline=not live)


async def _record(
    deps: CallDeps, session: Db, ident: Identity, dev: DeviceSocket, now: datetime
) -> bool:
    """The socket's row, committed; whether a call was ringing for its user as it was written
    (usually none: the calls are read only then)."""
    rings = await socket_data.add_connection(
        session,
        sid=dev.sid,
        user_id=ident.user_id,
        tenant_id=ident.tenant_id,
        device_id=dev.device_id,
        node_id=deps.settings.node,
        at=now,
        session_id=ident.session_id,
        expires_at=ident.expires_at,
    )
    if dev.device_id != dev.sid:  # a socket-id device is new: it placed nothing
        await call_data.follow_caller(
            session, user_id=ident.user_id, device_id=dev.device_id, sid=dev.sid
        )
    await session.commit()
    return rings


async def _ringing(deps: CallDeps, ident: Identity) -> tuple[list[CallRow], dict[str, PartyRow]]:
    """The calls ringing for the user, with their parties."""
    async with deps.sessions() as session:
        ringing = await call_data.ringing_for(session, callee_id=ident.user_id)
        parties = await user_data.users_by_id(
            session, ids={u for r in ringing for u in (r.caller_id, r.callee_id)}
        )
    return ringing, parties


async def _welcome(
    deps: CallDeps, ident: Identity, dev: DeviceSocket, *, rings: bool, was_offline: bool
) -> None:
    """Ring the new socket for the calls ringing for its user (read only when its row said one
    rings); if the user was offline, tell those who can hear it (no session held: both may
    open one)."""
    if rings:
        ringing, parties = await _ringing(deps, ident)
        recorded = await recording.consent(deps, ident.tenant_id)
        for row in ringing:
            event = announce.incoming(row, parties, recording=recorded)
            await deps.notifier.to_socket(dev.sid, ServerEvent.INCOMING, event)
    if was_offline:
        await presence.publish(deps, ident.tenant_id, [ident.user_id])


async def disconnected(deps: CallDeps, ident: Identity, sid: str) -> None:
    """Forget the socket; publish the user's presence if that was its last live one. Both
    statements in the call path's direct unit: a storm of disconnects (a load balancer
    restarted) is thousands of them at once."""
    async with deps.transactions() as db:
        await socket_data.delete_connection(db, sid=sid)
        await db.commit()
    # who hears is read after the commit: a watch counted later reads a snapshot that has it
    hearing = await presence.heard(deps, ident.tenant_id, [ident.user_id])
    if not hearing.user_ids:
        return
    async with deps.transactions() as db:
        gone = not await socket_data.has_live_socket(
            db, user_id=ident.user_id, live_since=deps.live_since()
        )
    if gone:
        await presence.tell(deps, hearing)


async def heartbeat(deps: CallDeps, *, now: datetime) -> None:
    """Say this node is alive at ``now`` (one row, however many sockets it holds); forget the
    sockets of nodes that stopped saying so, and those of no node at all."""
    async with deps.sessions() as session:
        await socket_data.touch_node(session, node_id=deps.settings.node, at=now)
        await socket_data.forget_dead_nodes(session, live_since=deps.live_since(now))
        await session.commit()


async def forget_node(deps: CallDeps) -> None:
    """At start and stop: this node holds no sockets (rows of a previous run are stale)."""
    async with deps.sessions() as session:
        await socket_data.forget_node_connections(session, node_id=deps.settings.node)
        await session.commit()
