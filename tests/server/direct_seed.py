"""The two users the direct-statement tests place calls between (``test_direct_statements``,
``test_direct_transaction``): tenant ``t1``, users ``ua`` (Ann) and ``ub`` (Bob)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db import statements as st


async def seed_ann_and_bob(sessions: async_sessionmaker[AsyncSession], at: datetime) -> None:
    """Tenant ``t1`` and its users ``ua`` and ``ub``, created ``at``, committed."""
    async with sessions() as s:
        await s.execute(
            st.TENANTS.insert(), {"id": "t1", "slug": "t1", "name": "T", "created_at": at}
        )
        for uid, name in (("ua", "Ann"), ("ub", "Bob")):
            row = {"id": uid, "tenant_id": "t1", "email": f"{uid}@x.test", "display_name": name}
            await s.execute(st.USERS.insert(), {**row, "created_at": at, "role": "member"})
        await s.commit()
