"""Data functions on sockets (``connections``) and server processes (``nodes``), and the presence
derived from them: keyword-only, no decisions; the caller owns the session.

A socket counts while its node is alive: the node's row was refreshed at ``live_since`` or
later (one row per node, however many sockets it holds).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.db import direct, folded
from server.db import statements as st
from server.db.transaction import Db
from voip_contract import Presence

_INSERT_CONNECTION = direct.Prepared(st.INSERT_CONNECTION)
_DELETE_CONNECTION = direct.Prepared(st.DELETE_CONNECTION)
_HAS_LIVE_SOCKET = direct.Prepared(st.HAS_LIVE_SOCKET)
_PRESENCE = direct.Prepared(st.PRESENCE, lists=("ids",))
_PRESENCE_WITH_PUSH = direct.Prepared(st.PRESENCE_WITH_PUSH, lists=("ids",))
"""Run as a session's only statement on PostgreSQL: outside a transaction (``alone``)."""


async def presence_of(
    session: AsyncSession, *, user_ids: Sequence[str], live_since: datetime, push: bool = False
) -> dict[str, Presence]:
    """``busy`` while a call holds the line, else ``online`` with a live socket on any node (or,
    with ``push`` on, a push device: a call would ring), else ``offline`` (also for ids that are
    no user), in the order asked. One round trip."""
    if not user_ids:
        return {}
    params = {"ids": sorted(set(user_ids)), "live_since": live_since}
    prepared = _PRESENCE_WITH_PUSH if push else _PRESENCE
    if folded.applies(session):  # PostgreSQL: in no transaction when none was begun
        rows: Sequence[Any] = (await direct.execute(session, prepared, params, alone=True)).rows
    else:  # SQLite as it was
        rows = (await session.execute(prepared.statement, params)).all()
    known: dict[str, Presence] = {
        uid: "busy" if busy else "online" if live else "offline" for uid, busy, live in rows
    }
    return {uid: known.get(uid, "offline") for uid in user_ids}


async def has_live_socket(session: Db, *, user_id: str, live_since: datetime) -> bool:
    """``user_id`` has a socket on a live node (a read: in no transaction on PostgreSQL)."""
    params = {"user": user_id, "live_since": live_since}
    found = (await direct.execute(session, _HAS_LIVE_SOCKET, params, alone=True)).first()
    return found is not None and bool(found[0])


async def add_connection(
    session: Db,
    *,
    sid: str,
    user_id: str,
    tenant_id: str,
    device_id: str,
    node_id: str,
    at: datetime,
    session_id: str | None = None,
    expires_at: datetime | None = None,
) -> bool:
    """Record a connected socket (of sign-in session ``session_id``, its token valid until
    ``expires_at``); whether a call is ringing for ``user_id`` as it is recorded."""
    values = {
        "session_id": session_id,
        "expires_at": expires_at,
        "sid": sid,
        "user_id": user_id,
        "tenant_id": tenant_id,
        "device_id": device_id,
        "node_id": node_id,
        "connected_at": at,
        "ringing_for": user_id,
    }
    (rings,) = (await direct.execute(session, _INSERT_CONNECTION, values)).rows[0]
    return bool(rings)


async def delete_connection(session: Db, *, sid: str) -> None:
    """Forget the socket ``sid`` (one statement: on PostgreSQL in its own transaction when
    none was begun)."""
    await direct.execute(session, _DELETE_CONNECTION, {"sid": sid}, alone=True)


async def touch_node(session: AsyncSession, *, node_id: str, at: datetime) -> None:
    """``node_id`` is alive at ``at`` (its row is made on the first call)."""
    touched = await session.execute(st.TOUCH_NODE, {"node": node_id, "at": at})
    if not getattr(touched, "rowcount", 0):
        await session.execute(st.INSERT_NODE, {"id": node_id, "last_seen": at})


async def forget_dead_nodes(session: AsyncSession, *, live_since: datetime) -> None:
    """Delete the nodes not seen since ``live_since``, and the sockets of no node."""
    await session.execute(st.DELETE_DEAD_NODES, {"live_since": live_since})
    await session.execute(st.DELETE_ORPHAN_CONNECTIONS)


async def forget_node_connections(session: AsyncSession, *, node_id: str) -> None:
    """Delete every socket of ``node_id``."""
    await session.execute(st.DELETE_NODE_CONNECTIONS, {"node": node_id})
