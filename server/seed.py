"""Demo and load users (``voip-server seed-demo`` / ``seed-load N``), idempotent; alice is
acme's admin."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.auth import hash_password
from server.db.models import Tenant, User

DEMO_PASSWORD = "demo-password"


@dataclass(frozen=True, slots=True)
class UserSpec:
    email: str
    display_name: str
    external_subject: str | None = None
    role: str = "member"


DEMO: dict[str, tuple[str, list[UserSpec]]] = {
    "acme": (
        "Acme Corp",
        [
            UserSpec("alice@acme.test", "Alice Anders", role="admin"),
            UserSpec("bob@acme.test", "Bob Brown"),
            UserSpec("carol@acme.test", "Carol Chen"),
        ],
    ),
    "globex": ("Globex", [UserSpec("dave@globex.test", "Dave Diaz")]),
}


SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
"""A tenant's slug: it begins room names (``<slug>_<call id>``), so it never holds ``_``."""


async def ensure_tenant(session: AsyncSession, slug: str, name: str) -> Tenant:
    """The tenant ``slug`` (made if new); ``ValueError`` for a slug :data:`SLUG` refuses."""
    if not SLUG.match(slug):
        raise ValueError(f"bad tenant slug {slug!r}: lowercase letters, digits and '-' only")
    tenant = await session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        tenant = Tenant(slug=slug, name=name)
        session.add(tenant)
        await session.flush()
    return tenant


async def ensure_users(
    session: AsyncSession,
    tenant: Tenant,
    specs: Iterable[UserSpec],
    password: str,
) -> list[User]:
    """Create the users that do not exist yet (one password hash shared by the new ones)."""
    specs = list(specs)
    emails = [s.email.lower() for s in specs]
    existing = {
        u.email: u for u in await session.scalars(select(User).where(User.email.in_(emails)))
    }
    password_hash = hash_password(password) if len(existing) < len(specs) else None
    result = []
    for spec in specs:
        user = existing.get(spec.email.lower())
        if user is None:
            user = User(
                tenant_id=tenant.id,
                email=spec.email.lower(),
                display_name=spec.display_name,
                password_hash=password_hash,
                external_subject=spec.external_subject,
                role=spec.role,
            )
            session.add(user)
        result.append(user)
    await session.flush()
    return result


async def seed_demo(sessions: async_sessionmaker[AsyncSession]) -> list[User]:
    users: list[User] = []
    async with sessions() as session:
        for slug, (name, specs) in DEMO.items():
            tenant = await ensure_tenant(session, slug, name)
            users += await ensure_users(session, tenant, specs, DEMO_PASSWORD)
        await session.commit()
    return users


async def seed_load(sessions: async_sessionmaker[AsyncSession], count: int) -> int:
    """Tenant ``load`` with ``u0@load.test`` … ``u<count-1>@load.test``."""
    async with sessions() as session:
        tenant = await ensure_tenant(session, "load", "Load test")
        for start in range(0, count, 1000):
            specs = [
                UserSpec(f"u{i}@load.test", f"Load User {i:05d}")
                for i in range(start, min(count, start + 1000))
            ]
            await ensure_users(session, tenant, specs, DEMO_PASSWORD)
        await session.commit()
    return count
