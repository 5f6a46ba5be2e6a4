"""A tenant's accounts: roles, disabling and deleting, the last-admin rule; what
``/api/admin/users`` and ``voip-server user`` both do.

Disabling is a mark on the user (``users.disabled_at``) that :func:`ensure_active` checks
wherever a token or a password is accepted: a disabled user's tokens stop working at their next
use. (The hardening work brings sessions and revocation; :func:`ensure_active` is the one place
that joins them.)

An identity provider's token whose ``sub`` is unknown creates its member on first use when the
server is told which claim names the tenant (:func:`provision`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import Settings
from server.db import accounts as data
from server.db.accounts import ADMIN, MEMBER
from server.db.models import User
from server.errors import ServiceError
from voip_contract import ErrorCode
from voip_contract.admin import AdminUser, AdminUserCreate, AdminUserUpdate

__all__ = ["ADMIN", "MEMBER", "ensure_active", "is_admin"]


def ensure_active(user: User) -> None:
    """``unauthorized`` for a disabled or deleted user."""
    if user.deleted_at is not None or user.disabled_at is not None:
        raise ServiceError(ErrorCode.UNAUTHORIZED, "this account is disabled")


def is_admin(user: User) -> bool:
    return user.role == ADMIN and user.disabled_at is None and user.deleted_at is None


def admin_view(user: User) -> AdminUser:
    return AdminUser(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        role="admin" if user.role == ADMIN else "member",
        disabled=user.disabled_at is not None,
        external_subject=user.external_subject,
        created_at=user.created_at,
    )


async def _target(session: AsyncSession, tenant_id: str, user_id: str) -> User:
    """The user ``user_id`` of ``tenant_id``, with the tenant locked; ``not_found`` for a user of
    any other tenant, exactly as for none."""
    await data.lock_tenant(session, tenant_id=tenant_id)
    user = await data.tenant_user(session, tenant_id=tenant_id, user_id=user_id[:64])
    if user is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "no such user")
    return user


async def _keep_an_admin(session: AsyncSession, user: User) -> None:
    """Refuse a change that takes ``user``'s admin rights when it is its tenant's last admin."""
    if is_admin(user) and await data.active_admins(session, tenant_id=user.tenant_id) <= 1:
        raise ServiceError(
            ErrorCode.INVALID_STATE,
            "the tenant's last admin cannot be disabled, demoted or deleted",
        )


async def create(
    session: AsyncSession, *, tenant_id: str, body: AdminUserCreate, password_hash: str | None
) -> User:
    """A new user of ``tenant_id`` (the caller commits); ``invalid_state`` when the email or
    external subject is taken."""
    email = body.email.lower()
    if await data.email_taken(session, email=email, subject=body.external_subject):
        raise ServiceError(ErrorCode.INVALID_STATE, "a user with this email or subject exists")
    user = User(
        tenant_id=tenant_id,
        email=email,
        display_name=body.display_name,
        role=body.role,
        password_hash=password_hash,
        external_subject=body.external_subject,
    )
    session.add(user)
    await session.flush()
    return user


async def update(
    session: AsyncSession, *, tenant_id: str, user_id: str, body: AdminUserUpdate
) -> User:
    """Rename or change the role of a user of ``tenant_id``."""
    user = await _target(session, tenant_id, user_id)
    values: dict[str, object] = {}
    if body.display_name is not None:
        values["display_name"] = body.display_name
    if body.role is not None and body.role != user.role:
        if body.role == MEMBER:
            await _keep_an_admin(session, user)
        values["role"] = body.role
    if values:
        await data.set_user(session, user_id=user.id, values=values)
        await session.refresh(user)
    return user


async def set_disabled(
    session: AsyncSession, *, tenant_id: str, user_id: str, disabled: bool, at: datetime
) -> User:
    """Disable (at ``at``) or enable a user of ``tenant_id``."""
    user = await _target(session, tenant_id, user_id)
    if disabled and user.disabled_at is None:
        await _keep_an_admin(session, user)
        await data.set_user(session, user_id=user.id, values={"disabled_at": at})
    elif not disabled and user.disabled_at is not None:
        await data.set_user(session, user_id=user.id, values={"disabled_at": None})
    await session.refresh(user)
    return user


async def delete(session: AsyncSession, *, tenant_id: str, user_id: str, at: datetime) -> None:
    """Delete a user of ``tenant_id``: gone from lists and sign-in, its calls keep its name."""
    user = await _target(session, tenant_id, user_id)
    await _keep_an_admin(session, user)
    await data.set_user(session, user_id=user.id, values=data.deleted_values(user.id, at))


def _claim(claims: dict[str, Any], path: str) -> object:
    """The value at a dotted path (``app_metadata.tenant_id``) of the claims, or ``None``."""
    value: object = claims
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


async def provision(session: AsyncSession, settings: Settings, claims: dict[str, Any]) -> User:
    """The member an identity provider's token names for the first time, created from its
    claims (``VOIP_IDP_AUTO_PROVISION``, ``VOIP_IDP_TENANT_CLAIM``); ``unauthorized`` saying
    why when it cannot be."""
    if not settings.idp_auto_provision or not settings.idp_tenant_claim:
        raise ServiceError(ErrorCode.UNAUTHORIZED, "unknown user (no account for this subject)")
    tenant_ref = _claim(claims, settings.idp_tenant_claim)
    email = claims.get("email")
    if not isinstance(tenant_ref, str) or not tenant_ref:
        raise ServiceError(
            ErrorCode.UNAUTHORIZED, f"unknown user; the token has no {settings.idp_tenant_claim}"
        )
    tenant_id = await data.tenant_id_of(session, ref=tenant_ref[:64])
    if tenant_id is None:
        raise ServiceError(ErrorCode.UNAUTHORIZED, "unknown user; the token's tenant is unknown")
    if not isinstance(email, str) or "@" not in email or len(email) > 254:
        raise ServiceError(ErrorCode.UNAUTHORIZED, "unknown user; the token has no email")
    name = _claim(claims, "user_metadata.full_name") or claims.get("name") or email.split("@")[0]
    body = AdminUserCreate(
        email=email, display_name=str(name)[:200], external_subject=str(claims["sub"])[:200]
    )
    try:
        user = await create(session, tenant_id=tenant_id, body=body, password_hash=None)
        await session.commit()
    except ServiceError as exc:
        await session.rollback()
        raise ServiceError(
            ErrorCode.UNAUTHORIZED, "unknown user; a user with this email exists already"
        ) from exc
    except IntegrityError:  # the same subject's first two requests at once: the other won
        await session.rollback()
        again = await session.scalar(
            select(User).where(User.external_subject == body.external_subject)
        )
        if again is None:
            raise
        return again
    return user
