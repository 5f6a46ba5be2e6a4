"""Data of access that can be taken away: sign-in sessions (``auth_sessions``), disabled users,
and the sockets that must close because of either (or because their token expired)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import direct, locks
from server.db import statements as st
from server.db.models import AuthSession, CallRow, Connection, User
from server.db.transaction import Db

_CONNECT_LOOKUP = direct.Prepared(st.CONNECT_LOOKUP)


async def open_session(
    session: AsyncSession,
    *,
    user_id: str,
    device_id: str | None,
    now: datetime,
    until: datetime,
    address: str = "",
) -> str:
    """A new sign-in session of ``user_id`` (from ``address``), renewable until ``until``."""
    row = AuthSession(
        user_id=user_id,
        device_id=device_id,
        address=address,
        created_at=now,
        renewed_at=now,
        expires_at=until,
    )
    session.add(row)
    await session.flush()
    return row.id


async def live_session(
    session: AsyncSession, *, session_id: str, user_id: str
) -> AuthSession | None:
    """The session ``session_id`` of ``user_id`` if it is not revoked."""
    row = await session.get(AuthSession, session_id)
    if row is None or row.user_id != user_id or row.revoked_at is not None:
        return None
    return row


async def renewed(session: AsyncSession, *, session_id: str, at: datetime) -> None:
    await session.execute(
        update(AuthSession).where(AuthSession.id == session_id).values(renewed_at=at)
    )


async def sessions_of(session: AsyncSession, *, user_id: str, now: datetime) -> list[AuthSession]:
    """The user's sessions neither revoked nor over at ``now``, newest first."""
    rows = await session.scalars(
        select(AuthSession)
        .where(
            AuthSession.user_id == user_id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > now,
        )
        .order_by(AuthSession.created_at.desc(), AuthSession.id)
        .limit(200)
    )
    return list(rows)


async def revoke(
    session: AsyncSession, *, user_id: str, at: datetime, session_id: str | None = None
) -> list[AuthSession]:
    """Revoke session ``session_id`` of ``user_id`` (every one of theirs when ``None``); the
    sessions that this revoked."""
    where = [AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)]
    if session_id is not None:
        where.append(AuthSession.id == session_id)
    rows = list(await session.scalars(select(AuthSession).where(*where).with_for_update()))
    if rows:
        await session.execute(
            update(AuthSession)
            .where(AuthSession.id.in_([r.id for r in rows]))
            .values(revoked_at=at)
        )
    return rows


async def set_disabled(session: AsyncSession, *, user_id: str, at: datetime | None) -> None:
    """Disable ``user_id`` as of ``at``; ``None`` enables them again."""
    await session.execute(update(User).where(User.id == user_id).values(disabled_at=at))


async def socket_ids(
    session: AsyncSession, *, user_id: str, session_id: str | None = None
) -> list[str]:
    """The sockets (any node) of ``user_id``, or of that user's session ``session_id``."""
    where = [Connection.user_id == user_id]
    if session_id is not None:
        where.append(Connection.session_id == session_id)
    return list(await session.scalars(select(Connection.sid).where(*where)))


async def sockets_to_close(session: AsyncSession, *, node_id: str, now: datetime) -> list[str]:
    """This node's sockets that may stay no longer at ``now``: their user is disabled, their
    session revoked or their token expired."""
    revoked = select(AuthSession.id).where(AuthSession.revoked_at.is_not(None))
    disabled = select(User.id).where(User.disabled_at.is_not(None))
    rows = await session.scalars(
        select(Connection.sid).where(
            Connection.node_id == node_id,
            or_(
                Connection.expires_at <= now,
                Connection.session_id.in_(revoked),
                Connection.user_id.in_(disabled),
            ),
        )
    )
    return list(rows)


async def renew_socket(
    session: AsyncSession, *, sid: str, session_id: str | None, expires_at: datetime | None
) -> None:
    """Socket ``sid`` now holds a token of ``session_id`` valid until ``expires_at``."""
    await session.execute(
        update(Connection)
        .where(Connection.sid == sid)
        .values(session_id=session_id, expires_at=expires_at)
    )


async def active_calls_of_disabled(
    session: AsyncSession, *, limit: int = 200
) -> list[tuple[str, str]]:
    """``(call id, disabled party)`` of calls not over that a disabled user is a party of."""
    disabled = select(User.id).where(User.disabled_at.is_not(None))
    caller_off = CallRow.caller_id.in_(disabled)
    rows = await session.execute(
        select(CallRow.id, CallRow.caller_id, CallRow.callee_id, caller_off)
        .where(
            CallRow.status.in_(["RINGING", "IN_PROGRESS"]),
            or_(caller_off, CallRow.callee_id.in_(disabled)),
        )
        .limit(limit)
    )
    return [(r[0], r[1] if r[3] else r[2]) for r in rows]


@dataclass(frozen=True, slots=True)
class TokenFacts:
    """What a token of ours is checked against (:data:`server.db.statements.TOKEN_LOOKUP`)."""

    tenant_id: str
    email: str
    display_name: str
    inactive: bool
    """The user is disabled or deleted."""
    session_user_id: str | None
    """The user of the sign-in session asked about, ``None`` when it is revoked or unknown."""
    live_sockets: int = 0
    """The user's sockets on live nodes (asked at a socket's connect only)."""


async def token_facts(
    session: AsyncSession, *, user_id: str, session_id: str | None
) -> TokenFacts | None:
    """One round trip: the user (``None``: no such user) and sign-in session ``session_id``'s
    user if it is not revoked."""
    params = {"user": user_id, "session": session_id}
    row = (await session.execute(st.TOKEN_LOOKUP, params)).first()
    if row is None:
        return None
    tenant_id, email, name, inactive, session_user = row
    return TokenFacts(tenant_id, email, name, bool(inactive), session_user)


async def connect_facts(
    session: Db, *, user_id: str, session_id: str | None, live_since: datetime
) -> TokenFacts | None:
    """:func:`token_facts` and the user's sockets on nodes alive since ``live_since``, in one
    round trip.

    The count is taken under the user's lock (PostgreSQL: one more round trip), held until this
    transaction ends: the connect that counts and then inserts its socket runs after another
    connect of the same user has committed its own, on any node, so the cap is exact."""
    await locks.serialize(session, f"sockets:{user_id}")
    params = {"user": user_id, "session": session_id, "live_since": live_since}
    row = (await direct.execute(session, _CONNECT_LOOKUP, params)).first()
    if row is None:
        return None
    tenant_id, email, name, inactive, session_user, sockets = row
    return TokenFacts(tenant_id, email, name, bool(inactive), session_user, int(sockets or 0))


async def sign_ins_since(
    session: AsyncSession, *, user_id: str | None, address: str, since: datetime
) -> tuple[int, int]:
    """Successful sign-ins since ``since``: ``(of user_id, from address)``."""
    by_user = func.sum(case((AuthSession.user_id == user_id, 1), else_=0))
    by_address = func.sum(case((AuthSession.address == address, 1), else_=0))
    row = (
        await session.execute(
            select(by_user, by_address).where(
                AuthSession.created_at >= since,
                or_(AuthSession.user_id == user_id, AuthSession.address == address),
            )
        )
    ).one()
    return int(row[0] or 0), int(row[1] or 0)


async def forget_sessions(
    session: AsyncSession, *, over_before: datetime, created_before: datetime, limit: int = 1000
) -> int:
    """Delete up to ``limit`` sessions that ended (expired or revoked) before ``over_before``
    and began before ``created_before``; how many. A token naming a deleted session is refused
    as signed out, as it was while the row said so."""
    over = or_(AuthSession.expires_at < over_before, AuthSession.revoked_at < over_before)
    ids = select(AuthSession.id).where(over, AuthSession.created_at < created_before).limit(limit)
    result = await session.execute(delete(AuthSession).where(AuthSession.id.in_(ids)))
    return int(getattr(result, "rowcount", 0) or 0)
