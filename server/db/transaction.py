"""The call path's transactions: on the inline SQLite engine, its one ``sqlite3`` connection in a
transaction of its own, with no SQLAlchemy session around it; on PostgreSQL a pooled asyncpg
connection, likewise (:mod:`server.db.pg_transaction`); on aiosqlite's thread a session.

Profiled (issue 16), a call set-up's two sessions cost more than its ten statements: the
session's begin, commit and close, the pool's checkout and return, a greenlet hop for every
awaited call, about 0.45 ms per transaction. The statements already run on ``sqlite3`` itself
(:mod:`server.db.direct`); :class:`Transaction` is what remains of a session for them: the
connection, its commit and rollback, and an ``info`` dict (what a statement noted for a later
one, as ``session.info``).

One door to the connection. The inline engine has one connection (``pool_size=1``, see
:mod:`server.db.engine`), and a :class:`Transaction` takes it out of that same pool, as a
session does: it waits in the pool's queue with the sessions (not strictly first come, first
served: a unit or session that asks while the connection is free takes it before a waiter
woken for it, which then waits again, as sessions always did), holds the connection
until it ends, and hands it back through the pool (whose reset rolls back anything left open).
So the rule stays the engine's: never hold a session or a transaction open while opening
another.

Semantics are those of a session on this engine: ``sqlite3`` begins a transaction (deferred)
before the first write, as it does under SQLAlchemy, whose SQLite dialect begins nothing
itself; :meth:`Transaction.commit` and :meth:`Transaction.rollback` end it, and a later write
begins the next; leaving the ``async with`` rolls back what was not committed.
"""

from __future__ import annotations

import sqlite3
from types import TracebackType
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import MissingGreenlet
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import PoolProxiedConnection, QueuePool
from sqlalchemy.util import greenlet_spawn

from server.db.engine import InlineConnection, is_inline
from server.db.pg_transaction import PgTransaction, PgUnit


class Transaction:
    """The inline engine's ``sqlite3`` connection, held for one unit of work."""

    __slots__ = ("connection", "dialect", "info")

    def __init__(self, connection: sqlite3.Connection, dialect: Dialect) -> None:
        self.connection = connection
        self.dialect = dialect
        self.info: dict[str, Any] = {}
        """What this unit's statements noted for later ones (as ``AsyncSession.info``)."""

    async def commit(self) -> None:
        self.connection.commit()

    async def rollback(self) -> None:
        self.connection.rollback()


Db = AsyncSession | Transaction | PgTransaction
"""What the call path's data functions take: a direct :class:`Transaction` (inline SQLite), a
direct :class:`~server.db.pg_transaction.PgTransaction` (PostgreSQL) or a session (aiosqlite on
its thread, and the paths that still open sessions)."""


class Transactions:
    """Opens the call path's units of work: ``async with transactions() as db``."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        engine = sessions.kw.get("bind")
        # the engine, not its pool: engine.dispose() puts a new pool in place of the old
        self._engine: AsyncEngine | None = engine if engine and is_inline(engine) else None
        self._pg: AsyncEngine | None = engine if engine and _on_asyncpg(engine) else None

    @property
    def direct(self) -> bool:
        """Whether units of work are direct transactions (inline SQLite, PostgreSQL)."""
        return self._engine is not None or self._pg is not None

    def __call__(self) -> _Unit | PgUnit | AsyncSession:
        if self._pg is not None:
            return PgUnit(self._pg.sync_engine.pool, self._pg.dialect)
        if self._engine is None:
            return self._sessions()
        pool = self._engine.sync_engine.pool
        assert isinstance(pool, QueuePool), "the inline engine pools one connection"
        return _Unit(pool, self._engine.dialect)


def _on_asyncpg(engine: AsyncEngine) -> bool:
    dialect = engine.dialect
    return dialect.name == "postgresql" and dialect.driver == "asyncpg"


class _Unit:
    """One :class:`Transaction`: the connection out of the pool, and back."""

    __slots__ = ("_dialect", "_held", "_pool", "_tx")

    def __init__(self, pool: QueuePool, dialect: Dialect) -> None:
        self._pool, self._dialect = pool, dialect
        self._held: PoolProxiedConnection | None = None

    async def __aenter__(self) -> Transaction:
        pool = self._pool
        if pool.checkedin():  # free: taken at once (no wait, so no greenlet)
            try:
                held = pool.connect()
            except MissingGreenlet:  # its record must connect again (invalidated): that awaits
                held = await greenlet_spawn(pool.connect)
        else:  # in use, or not opened yet: wait in the pool's queue as a session does
            held = await greenlet_spawn(pool.connect)
        self._held = held
        inline = held.driver_connection
        if not isinstance(inline, InlineConnection) or inline._connection is None:
            held.close()
            raise RuntimeError("the inline engine's connection is not an open InlineConnection")
        self._tx = Transaction(inline._connection, self._dialect)
        return self._tx

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        held, self._held = self._held, None
        assert held is not None
        connection = self._tx.connection
        try:
            if connection.in_transaction:  # not committed: it never happened
                connection.rollback()
        finally:
            if connection.in_transaction:  # the rollback failed: the pool's reset tries again
                await greenlet_spawn(held.close)
            else:
                held.close()  # back to the pool, no wait (its reset finds nothing open)
