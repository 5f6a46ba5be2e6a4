"""Serializing a check and the write it allows, where the database alone would not.

On PostgreSQL two transactions that count rows and then insert one both see the count before
either insert (READ COMMITTED), so a limit checked that way is overshot by parallel requests.
:func:`serialize` takes transaction-scoped advisory locks (``pg_advisory_xact_lock``) on named
keys, so every node's transactions on the same key run their check-and-write one after another;
the locks go at commit or rollback. On SQLite the server has one connection per process and
sessions already run one at a time, so nothing is needed there.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


async def serialize(session: AsyncSession, *keys: str) -> None:
    """Hold the locks of ``keys`` until this transaction ends (PostgreSQL); sorted, so two
    transactions taking overlapping keys never wait for each other in a circle."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted(set(keys)):
        await session.execute(_LOCK, {"key": key})
