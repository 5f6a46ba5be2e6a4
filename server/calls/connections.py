"""Sockets and nodes: a socket's connect and disconnect, and this node's heartbeat.

Presence comes from the ``connections`` rows of live nodes; a node is alive while its
heartbeat refreshes its ``nodes`` row (every ``VOIP_PRESENCE_TTL_S / 3``).
"""

from __future__ import annotations

from datetime import datetime

from server.auth import Identity
from server.calls import announce, presence, recording
from server.calls.deps import CallDeps, DeviceSocket
from server.db import access as access_data
from server.db import calls as call_data
from server.db import presence as socket_data
from server.db import users as user_data
from voip_contract import ServerEvent


async def connected(deps: CallDeps, ident: Identity, dev: DeviceSocket) -> None:
    """Record the socket; ring it again for every call still ringing for this user; a
    named device that placed a call still ringing takes it over (``accepted`` comes here)."""
    now = deps.clock.now()
    told = bool(await presence.heard(deps, ident.tenant_id, [ident.user_id]))
    async with deps.sessions() as session:
        was_offline = told and not await socket_data.has_live_socket(
            session, user_id=ident.user_id, live_since=deps.live_since(now)
        )
        await socket_data.add_connection(
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
        ringing = await call_data.ringing_for(session, callee_id=ident.user_id)
        parties = await user_data.users_by_id(
            session, ids={u for r in ringing for u in (r.caller_id, r.callee_id)}
        )
    recorded = await recording.consent(deps, ident.tenant_id) if ringing else False
    for row in ringing:
        await deps.notifier.to_socket(
            dev.sid, ServerEvent.INCOMING, announce.incoming(row, parties, recording=recorded)
        )
    if was_offline:
        await presence.publish(deps, ident.tenant_id, [ident.user_id])


async def socket_count(deps: CallDeps, user_id: str) -> int:
    """How many sockets ``user_id`` holds on live nodes."""
    async with deps.sessions() as session:
        return await access_data.live_socket_count(
            session, user_id=user_id, live_since=deps.live_since()
        )


async def disconnected(deps: CallDeps, ident: Identity, sid: str) -> None:
    """Forget the socket; publish the user's presence if that was its last live one."""
    async with deps.sessions() as session:
        await socket_data.delete_connection(session, sid=sid)
        await session.commit()
        told = bool(await presence.heard(deps, ident.tenant_id, [ident.user_id]))
        gone = told and not await socket_data.has_live_socket(
            session, user_id=ident.user_id, live_since=deps.live_since()
        )
    if gone:
        await presence.publish(deps, ident.tenant_id, [ident.user_id])


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
