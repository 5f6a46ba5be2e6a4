"""``voip-server user add|disable|enable|role|list``: a tenant's accounts from the command line
(the first admin of a tenant is made here). The same rules as ``/api/admin/users``: the last
admin of a tenant is neither disabled nor demoted."""

from __future__ import annotations

import argparse
import sys

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server import accounts
from server.auth import hash_password
from server.clock import SystemClock
from server.config import Settings
from server.db.engine import make_engine, make_sessionmaker
from server.db.models import User
from server.errors import ServiceError
from server.seed import ensure_tenant
from voip_contract import ErrorCode
from voip_contract.admin import AdminUserCreate, AdminUserUpdate


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``voip-server user ...``'s arguments."""
    user = sub.add_parser("user", help="manage a tenant's users")
    actions = user.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="create a user (and its tenant if new)")
    add.add_argument("email")
    add.add_argument("display_name")
    add.add_argument("--tenant", required=True, help="the tenant's slug")
    add.add_argument("--role", choices=["member", "admin"], default="member")
    add.add_argument("--subject", help="the identity provider's `sub` of the user")
    add.add_argument(
        "--password-stdin", action="store_true", help="read an initial password from stdin"
    )
    for name in ("disable", "enable"):
        actions.add_parser(name, help=f"{name} a user").add_argument("email")
    role = actions.add_parser("role", help="make a user admin or member")
    role.add_argument("email")
    role.add_argument("role", choices=["member", "admin"])


async def _by_email(session: AsyncSession, email: str) -> User:
    user = await session.scalar(
        select(User).where(User.email == email.lower(), User.deleted_at.is_(None))
    )
    if user is None:
        raise ServiceError(ErrorCode.NOT_FOUND, f"no user {email}")
    return user


async def _apply(session: AsyncSession, args: argparse.Namespace) -> User:
    if args.action == "add":
        password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
        body = AdminUserCreate(
            email=args.email,
            display_name=args.display_name,
            role=args.role,
            password=password,
            external_subject=args.subject,
        )
        tenant = await ensure_tenant(session, args.tenant, args.tenant)
        hashed = hash_password(password) if password else None
        return await accounts.create(session, tenant_id=tenant.id, body=body, password_hash=hashed)
    user = await _by_email(session, args.email)
    if args.action == "role":
        body_update = AdminUserUpdate(role=args.role)
        return await accounts.update(
            session, tenant_id=user.tenant_id, user_id=user.id, body=body_update
        )
    return await accounts.set_disabled(
        session,
        tenant_id=user.tenant_id,
        user_id=user.id,
        disabled=args.action == "disable",
        at=SystemClock().now(),
    )


async def run(settings: Settings, args: argparse.Namespace) -> int:
    """Do ``args``' action; print the user as the admin API shows it (exit 0) or why not (1)."""
    engine = make_engine(settings.db_url)
    try:
        async with make_sessionmaker(engine)() as session:
            try:
                user = await _apply(session, args)
                await session.commit()
            except ServiceError as exc:
                print(f"voip-server user {args.action}: {exc.message}", file=sys.stderr)
                return 1
            print(accounts.admin_view(user).model_dump_json())
            return 0
    finally:
        await engine.dispose()
