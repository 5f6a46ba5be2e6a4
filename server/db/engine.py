"""The async engine and session factory for SQLite (aiosqlite, WAL) or PostgreSQL (asyncpg).

SQLite ``inline``: aiosqlite runs every call (a cursor, an execute, a fetch, a commit) on its
own thread and wakes the loop for each result; on a busy machine each of those hops waits for a
core, and one call set-up makes a dozen. Inline, the same sqlite3 connection is used on the
loop's thread: a statement of this schema takes microseconds, a commit in WAL mode with
``synchronous=NORMAL`` writes the WAL without an fsync (a kill -9 loses nothing committed;
the fsync comes at checkpoints). What it costs: a lock held by another process (busy timeout)
holds the loop while it lasts. Checkpoints run on a thread of their own
(:mod:`server.db.checkpoint`); a COMMIT checkpoints only past ``WAL_AUTOCHECKPOINT_PAGES``,
where no checkpointer runs (the CLI's commands) or it fell behind.
"""

from __future__ import annotations

import time
import weakref
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import event, exc, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run on the caller's thread (the loop's)."""

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)


def _inline_creator(database: str) -> Any:
    async def connect() -> aiosqlite.Connection:
        conn = aiosqlite.connect(database, timeout=30, check_same_thread=False)
        conn.__class__ = InlineConnection  # opened on aiosqlite's thread, used on ours
        return await conn

    return connect


def make_engine(url: str, *, sqlite_inline: bool = False) -> AsyncEngine:
    """An engine for ``url``; SQLite files get WAL, a busy timeout and their folder created;
    ``sqlite_inline``: statements run on the loop's thread (see the module's docstring)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # Thirty kept, none beyond: with ten kept and twenty of overflow, the pool closed the
        # overflow connections a burst had opened as soon as they came back (asyncpg's
        # connect, PostgreSQL's fork and every statement prepared again on each new one):
        # 150-230 new connections in 10 s at 200 set-ups/s, and the tail went with them.
        # Last in, first out: a set-up takes the connection handed back last, whose statements
        # are prepared and whose backend is awake. First in, first out went round all thirty
        # (each statement planned again on each at first, thirty backends woken in turn):
        # p99 at 200 set-ups/s 8.4-14.4 ms, against 6.1-9.8 ms (docs/benchmarks.md).
        engine = create_async_engine(url, pool_size=30, max_overflow=0, pool_use_lifo=True)
        _ping_when_idle(engine)
        return engine
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # One connection per process: SQLite has one writer at a time anyway, and contending
    # connections wait in SQLite's busy handler (sleeps of up to 100 ms), which is what made
    # the tail latency. Sessions queue for the connection instead, in order, without sleeping.
    # Code must therefore never hold a session open while it opens another one (nor a direct
    # transaction, server.db.transaction, which takes the same connection out of this pool).
    inline: dict[str, Any] = {}
    if sqlite_inline and parsed.database:
        inline["async_creator"] = _inline_creator(parsed.database)
    engine = create_async_engine(
        url,
        **inline,
        connect_args={"timeout": 30},
        pool_size=1,
        max_overflow=0,
        pool_timeout=60,
        pool_reset_on_return=None,  # see _reset: a rollback only when a transaction is open
    )
    event.listen(engine.sync_engine, "connect", _pragmas)
    event.listen(engine.sync_engine, "reset", _reset)
    if inline:
        _INLINE.add(engine.sync_engine)
    return engine


_INLINE: weakref.WeakSet[Engine] = weakref.WeakSet()
"""The engines made with ``sqlite_inline`` (their connection is used on the loop's thread)."""


def is_inline(engine: AsyncEngine) -> bool:
    """Whether ``engine`` is an inline SQLite engine: its one ``sqlite3`` connection may be used
    on the loop's thread (:mod:`server.db.transaction`)."""
    return engine.sync_engine in _INLINE


PING_IDLE_S = 2.0
"""A pooled PostgreSQL connection idle longer than this is pinged before it is handed out."""
_IDLE_SINCE = "idle_since"


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Ping a connection at checkout only when it sat in the pool for :data:`PING_IDLE_S`.

    ``pool_pre_ping`` pings at every checkout, and asyncpg's ping outside a transaction is
    three round trips (BEGIN, an empty query, ROLLBACK: pgbouncer's transaction mode needs the
    BEGIN); on the hot path every session paid them, as many as its own statements. A
    connection handed back milliseconds ago is alive but for a crash in between, and then its
    first statement fails as a disconnect, which makes the pool drop every connection older
    than that (so one session fails where the ping would have spared it)."""
    sync = engine.sync_engine
    dialect = sync.dialect

    def checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def connected(_dbapi_conn: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_IDLE_SINCE, 0.0) <= PING_IDLE_S:
            return
        try:
            dialect.do_ping(dbapi_conn)
        except Exception as error:  # the pool then tries another connection (a new one)
            raise exc.DisconnectionError(f"ping failed: {error}") from error

    event.listen(sync, "connect", connected)
    event.listen(sync, "checkin", checked_in)
    event.listen(sync, "checkout", checkout)


WAL_AUTOCHECKPOINT_PAGES = 10_000
"""A connection of the engine checkpoints inside a COMMIT only once the WAL is past this many
pages (40 MB; SQLite's default is 1,000): the server checkpoints on a thread of its own
(:mod:`server.db.checkpoint`), and this bounds the WAL where none runs (the CLI) or when it
cannot keep up."""


def _pragmas(dbapi_conn: Any, _record: Any) -> None:
    """A new SQLite connection: WAL, no fsync per commit, a busy timeout, foreign keys, and
    checkpoints left to :mod:`server.db.checkpoint` (but for a bound on the WAL)."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
    cur.close()


def _reset(dbapi_conn: Any, _record: Any, _state: Any) -> None:
    """A SQLite connection back to the pool."""
    # The pool's default reset is an unconditional ROLLBACK, which for aiosqlite is a trip
    # through its worker thread on every session close, even after a COMMIT. Roll back
    # only what is still open (a session that read and did not commit holds a snapshot).
    if dbapi_conn._connection.in_transaction:
        dbapi_conn.rollback()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def ping(sessions: async_sessionmaker[AsyncSession]) -> None:
    """One round trip to the database; raises if it does not answer."""
    async with sessions() as session:
        await session.execute(text("SELECT 1"))
