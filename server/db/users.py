"""Data functions on users and tenants: keyword-only, no decisions; the caller owns the session."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import direct
from server.db import statements as st
from server.db import webhooks as hook_data
from server.db.models import User
from server.db.transaction import Db

_INVITE_LOOKUP = direct.Prepared(st.INVITE_LOOKUP, lists=("ids",))
_USERS_BY_ID = direct.Prepared(st.USERS_BY_ID, lists=("ids",), sqlite_only=True)


@dataclass(frozen=True, slots=True)
class PartyRow:
    """What the call path reads of a user: a plain row, not an ORM object."""

    id: str
    tenant_id: str
    display_name: str
    active_call_id: str | None


@dataclass(frozen=True, slots=True)
class InviteFacts:
    """Everything an invite decides on (:data:`server.db.statements.INVITE_LOOKUP`)."""

    users: dict[str, PartyRow]
    """The caller and the callee, those of them that exist."""
    existing_call_id: str | None
    """The call this ``request_id`` already made."""
    recent_invites: int
    """The caller's invites since ``since``."""
    callee_live: bool
    """The callee has a socket on a live node."""
    callee_pushable: bool = False
    """The callee registered a push device."""
    recording_policy: str | None = None
    """The caller's tenant's own recording policy (``None``: ``VOIP_RECORDING_DEFAULT``)."""


async def invite_facts(
    session: Db,
    *,
    caller_id: str,
    callee_id: str,
    request_id: str,
    since: datetime,
    live_since: datetime,
) -> InviteFacts:
    """One round trip: both users, the call of this request, recent invites, the callee's
    sockets and push devices, the caller's tenant's recording policy (and whether it has a
    webhook endpoint, noted on the session: :mod:`server.db.webhooks`)."""
    params = {
        "ids": sorted((caller_id, callee_id)),
        "me": caller_id,
        "rid": request_id,
        "since": since,
        "callee": callee_id,
        "live_since": live_since,
    }
    found = (await direct.execute(session, _INVITE_LOOKUP, params)).rows
    users = {r[0]: PartyRow(*r[:4]) for r in found}
    if not found:
        return InviteFacts(users, None, 0, False)
    existing, recent, live, pushable = found[0][4:8]
    mine = next((r for r in found if r[0] == caller_id), None)
    policy = None if mine is None else mine[8]
    if mine is not None:
        hook_data.note_endpoints(session, tenant_id=mine[1], any_enabled=bool(mine[9]))
    own = None if policy is None else str(policy)
    return InviteFacts(users, existing, int(recent or 0), bool(live), bool(pushable), own)


async def users_by_id(session: Db, *, ids: Iterable[str]) -> dict[str, PartyRow]:
    """These users (those that exist), by id."""
    wanted = set(ids)
    if not wanted:
        return {}
    found = await direct.execute(session, _USERS_BY_ID, {"ids": sorted(wanted)})
    return {r[0]: PartyRow(*r) for r in found.rows}


async def tenant_users_among(
    session: AsyncSession, *, tenant_id: str, ids: Sequence[str]
) -> set[str]:
    """Those of ``ids`` that are users of ``tenant_id``."""
    return set(await session.scalars(st.TENANT_USERS_AMONG, {"tenant": tenant_id, "ids": ids}))


async def tenant_size(session: AsyncSession, *, tenant_id: str) -> int:
    """How many users ``tenant_id`` has."""
    return int(await session.scalar(st.TENANT_SIZE, {"tenant": tenant_id}) or 0)


async def tenant_slug(session: AsyncSession, *, tenant_id: str) -> str | None:
    """The tenant's slug (``None``: no such tenant)."""
    slug = await session.scalar(st.TENANT_SLUG, {"tenant": tenant_id})
    return None if slug is None else str(slug)


async def user_by_id(session: AsyncSession, *, user_id: str) -> User | None:
    return await session.get(User, user_id)


async def user_by_email(session: AsyncSession, *, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email))


async def user_by_subject(session: AsyncSession, *, subject: str) -> User | None:
    """The user the identity provider knows as ``subject``."""
    return await session.scalar(select(User).where(User.external_subject == subject))


async def contacts_page(
    session: AsyncSession,
    *,
    tenant_id: str,
    viewer_id: str,
    search: str,
    after: tuple[str, str] | None,
    limit: int,
) -> list[User]:
    """Up to ``limit`` users of ``tenant_id`` but ``viewer_id``, by display name, whose name or
    email contains ``search`` (any case), after ``after`` (``(display_name, id)`` of the last
    contact of the previous page)."""
    query = select(User).where(
        User.tenant_id == tenant_id, User.id != viewer_id, User.deleted_at.is_(None)
    )
    if search:
        like = f"%{search.lower()}%"
        query = query.where(
            or_(func.lower(User.display_name).like(like), func.lower(User.email).like(like))
        )
    if after is not None:
        name, uid = after
        query = query.where(
            or_(User.display_name > name, and_(User.display_name == name, User.id > uid))
        )
    return list(await session.scalars(query.order_by(User.display_name, User.id).limit(limit)))
