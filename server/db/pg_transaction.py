"""The call path's transactions on PostgreSQL: a pooled asyncpg connection, held for one unit
of work, with no SQLAlchemy session around it.

Profiled at 200 set-ups a second (issue 16), a quarter of a set-up's CPU on PostgreSQL went to
the session around statements that already ran on asyncpg itself (:mod:`server.db.direct`):
its begin, commit and close, the adapter's transaction object, a greenlet for every awaited
call. :class:`PgTransaction` is what the call path needs of a session: the connection, a
transaction begun before the first statement that needs one, its commit and rollback, and an
``info`` dict (what a statement noted for a later one, as ``session.info``).

Semantics are the session's on this engine (READ COMMITTED, the server's default, as the
adapter's plain ``BEGIN``): a statement begins a transaction unless it runs ``alone`` (a
read, or a step's whole write in one statement, then its own implicit transaction, as
:func:`server.db.direct.execute` runs it in a session), :meth:`PgTransaction.commit` and
:meth:`PgTransaction.rollback` end it and a later statement begins the next; leaving the
``async with`` rolls back what was not committed.

The connection comes out of the engine's pool, as a session's does (its checkout ping when
idle included), and goes back to it; one that failed (closed under us, left in a transaction
its ROLLBACK could not end, or not answering a query after the unit failed) is
invalidated instead, so the pool connects afresh.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.pool import Pool, PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

Connection = Any
"""An ``asyncpg.Connection`` (asyncpg has no type hints)."""


class PgTransaction:
    """A pooled asyncpg connection, held for one unit of work."""

    __slots__ = ("connection", "dialect", "info")

    def __init__(self, connection: Connection, dialect: Dialect) -> None:
        self.connection = connection
        self.dialect = dialect
        self.info: dict[str, Any] = {}
        """What this unit's statements noted for later ones (as ``AsyncSession.info``)."""

    @property
    def begun(self) -> bool:
        """Whether a transaction is open on the connection."""
        return bool(self.connection.is_in_transaction())

    async def ready(self, *, alone: bool = False) -> Connection:
        """The connection, in a transaction unless ``alone`` (then in the one open, if any)."""
        connection = self.connection
        if not alone and not connection.is_in_transaction():
            await connection.execute("BEGIN;")
        return connection

    async def begin_with(self, sql: str) -> None:
        """BEGIN and ``sql`` (simple statements, no parameters) in one round trip; the
        transaction must not be open yet."""
        if self.begun:
            raise RuntimeError("a transaction is open already")
        await self.connection.execute("BEGIN;" + sql)

    async def commit(self) -> None:
        if self.connection.is_in_transaction():
            await self.connection.execute("COMMIT;")

    async def rollback(self) -> None:
        if self.connection.is_in_transaction():
            await self.connection.execute("ROLLBACK;")


class PgUnit:
    """One :class:`PgTransaction`: a connection out of the engine's pool, and back."""

    __slots__ = ("_dialect", "_held", "_pool", "_tx")

    def __init__(self, pool: Pool, dialect: Dialect) -> None:
        self._pool, self._dialect = pool, dialect
        self._held: PoolProxiedConnection | None = None
        self._tx: PgTransaction | None = None

    async def __aenter__(self) -> PgTransaction:
        # in a greenlet: the checkout may connect, or ping a connection idle for a while
        held = await greenlet_spawn(self._pool.connect)
        self._held = held
        self._tx = PgTransaction(held.driver_connection, self._dialect)
        return self._tx

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        held, tx = self._held, self._tx
        self._held = self._tx = None
        assert held is not None
        assert tx is not None
        connection = tx.connection
        sound = not connection.is_closed()
        try:
            if sound and connection.is_in_transaction():
                await connection.execute("ROLLBACK;")  # not committed: it never happened
            elif sound and exc_type is not None:
                # What failed may have been the connection (a server gone, a protocol left
                # mid-way): a query proves it before another unit gets it.
                await connection.execute("SELECT 1;")
        except Exception:
            sound = False
            raise
        finally:
            if not sound or connection.is_closed() or connection.is_in_transaction():
                await greenlet_spawn(held.invalidate)  # the pool connects afresh
            else:
                held.close()  # back to the pool, no wait (the adapter began nothing)
