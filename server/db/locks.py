"""Serializing a check and the write it allows, where the database alone would not.

On PostgreSQL two transactions that count rows and then insert one both see the count before
either insert (READ COMMITTED), so a limit checked that way is overshot by parallel requests.
:func:`serialize` takes transaction-scoped advisory locks (``pg_advisory_xact_lock``) on named
keys, so every node's transactions on the same key run their check-and-write one after another;
the locks go at commit or rollback. On SQLite the server has one connection per process and
sessions already run one at a time, so nothing is needed there.

The locks are a transaction's first statements (the invite's, the connect's), and SQLAlchemy's
asyncpg adapter sends the BEGIN as a round trip of its own before the first statement. When
the session (or a direct :class:`~server.db.pg_transaction.PgTransaction`) has begun nothing
yet, :func:`serialize` sends the BEGIN and the locks as one simple query instead (keys are
written into it as literals, so only keys of plain characters go that way); a session's
adapter is handed the transaction and ends it as its own, a direct transaction ends it
itself. The check that follows is a statement of its own, so its snapshot is taken after the
locks are held: it sees what the locks' previous holder committed.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.pg_transaction import PgTransaction
from server.db.transaction import Db, Transaction

_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
_LOCK_DIRECT = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_:.@+-]{1,200}")
"""A key that may be written into SQL as a literal as it is (no quote, no backslash)."""
_BEGIN = {None: "BEGIN;", "read_committed": "BEGIN ISOLATION LEVEL READ COMMITTED;"}
"""The adapter's BEGIN (asyncpg's) per isolation level it may be set to; others: its own."""


async def serialize(session: Db, *keys: str) -> None:
    """Hold the locks of ``keys`` until this transaction ends (PostgreSQL); sorted, so two
    transactions taking overlapping keys never wait for each other in a circle."""
    if isinstance(session, PgTransaction):
        await _lock_direct(session, sorted(set(keys)))
        return
    if isinstance(session, Transaction) or session.get_bind().dialect.name != "postgresql":
        return
    ordered = sorted(set(keys))
    if await _begin_with_locks(session, ordered):
        return
    for key in ordered:
        await session.execute(_LOCK, {"key": key})


async def _lock_direct(tx: PgTransaction, keys: list[str]) -> None:
    """:func:`serialize` in a direct transaction: with its BEGIN in one round trip when it has
    begun nothing yet and the keys are plain; else each lock a statement of its own."""
    if not tx.begun and all(_PLAIN_KEY.fullmatch(key) for key in keys):
        await tx.begin_with("".join(_literal_lock(key) for key in keys))
        return
    connection = await tx.ready()
    for key in keys:
        await connection.execute(_LOCK_DIRECT, key)


def _literal_lock(key: str) -> str:
    return f"SELECT pg_advisory_xact_lock(hashtextextended('{key}', 0));"


class _Begun:
    """A transaction begun by :func:`_begin_with_locks`, ended as the adapter ends its own
    (it calls ``commit`` or ``rollback`` once, then forgets it)."""

    __slots__ = ("_conn",)

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def commit(self) -> None:
        await self._conn.execute("COMMIT;")

    async def rollback(self) -> None:
        await self._conn.execute("ROLLBACK;")


async def _begin_with_locks(session: AsyncSession, keys: list[str]) -> bool:
    """BEGIN and the locks of ``keys`` in one round trip, if the session's connection is in
    no transaction yet, at an isolation level of :data:`_BEGIN`, and the keys are plain; whether
    it did."""
    if not all(_PLAIN_KEY.fullmatch(key) for key in keys):
        return False
    connection = await session.connection()
    adapter: Any = connection.sync_connection.connection.dbapi_connection  # type: ignore[union-attr]
    begin = _BEGIN.get(getattr(adapter, "isolation_level", "?"))
    if (
        begin is None
        or getattr(adapter, "_transaction", False) is not None
        or adapter.readonly
        or adapter.deferrable
    ):
        return False
    raw = adapter._connection
    if raw.is_in_transaction():
        return False
    locks = "".join(_literal_lock(key) for key in keys)
    # The adapter owns it from here, as if its BEGIN had run: a failure below is rolled back
    # when the session ends, and a later statement does not begin another.
    adapter._transaction = _Begun(raw)
    await raw.execute(begin + locks)
    return True
