"""Data functions on a tenant's accounts for its admins (``/api/admin/users``, ``voip-server
user``): keyword-only, no decisions; the caller owns the session and its transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import Tenant, User

ADMIN, MEMBER = "admin", "member"
_LIVE = and_(User.deleted_at.is_(None))


async def lock_tenant(session: AsyncSession, *, tenant_id: str) -> bool:
    """Lock the tenant's row until the transaction ends (PostgreSQL ``FOR UPDATE``; SQLite
    writes one at a time anyway), so two admins changing roles cannot both pass the last-admin
    check; whether the tenant exists."""
    found = await session.scalar(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())
    return found is not None


async def tenant_user(session: AsyncSession, *, tenant_id: str, user_id: str) -> User | None:
    """A user of ``tenant_id`` that is not deleted (any other is ``None``)."""
    return await session.scalar(
        select(User).where(User.id == user_id, User.tenant_id == tenant_id, _LIVE)
    )


async def active_admins(session: AsyncSession, *, tenant_id: str) -> int:
    """How many admins of ``tenant_id`` can act (neither disabled nor deleted)."""
    query = select(func.count()).where(
        User.tenant_id == tenant_id, User.role == ADMIN, User.disabled_at.is_(None), _LIVE
    )
    return int(await session.scalar(query) or 0)


async def users_page(
    session: AsyncSession,
    *,
    tenant_id: str,
    search: str,
    after: tuple[str, str] | None,
    limit: int,
) -> list[User]:
    """Up to ``limit`` users of ``tenant_id`` (disabled ones too, deleted ones not) by email,
    whose name or email contains ``search``, after ``after`` (``(email, id)``)."""
    query = select(User).where(User.tenant_id == tenant_id, _LIVE)
    if search:
        like = f"%{search.lower()}%"
        query = query.where(
            or_(func.lower(User.display_name).like(like), func.lower(User.email).like(like))
        )
    if after is not None:
        email, uid = after
        query = query.where(or_(User.email > email, and_(User.email == email, User.id > uid)))
    return list(await session.scalars(query.order_by(User.email, User.id).limit(limit)))


async def set_user(session: AsyncSession, *, user_id: str, values: dict[str, Any]) -> None:
    """Set these columns of the user."""
    await session.execute(update(User).where(User.id == user_id).values(**values))


async def email_taken(session: AsyncSession, *, email: str, subject: str | None) -> bool:
    """Whether a user (of any tenant) has this email or external subject."""
    clash = User.email == email
    if subject is not None:
        clash = or_(clash, User.external_subject == subject)
    return (await session.scalar(select(User.id).where(clash).limit(1))) is not None


def deleted_values(user_id: str, at: datetime) -> dict[str, Any]:
    """What deleting a user sets: its row stays for its calls (and their names), everything
    that signs in is gone, and its email is free again."""
    return {
        "deleted_at": at,
        "disabled_at": at,
        "email": f"deleted-{user_id}@deleted.invalid",
        "password_hash": None,
        "external_subject": None,
        "role": MEMBER,
    }


async def tenant_id_of(session: AsyncSession, *, ref: str) -> str | None:
    """The id of the tenant ``ref`` names (its id or its slug)."""
    found = await session.scalar(
        select(Tenant.id).where(or_(Tenant.id == ref, Tenant.slug == ref)).limit(1)
    )
    return None if found is None else str(found)
