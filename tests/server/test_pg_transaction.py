"""The call path's direct transactions on PostgreSQL (:mod:`server.db.pg_transaction`): a real
private PostgreSQL, migrated to head, through the engine the server makes.

Specification:
- On PostgreSQL (asyncpg) a unit of work is a :class:`PgTransaction` on a connection out of the
  engine's pool, the pool the sessions use (it never opens more than the pool's connections).
- Its writes are committed by ``commit``, undone by ``rollback`` (a later statement begins the
  next transaction), and undone when the ``async with`` is left without a commit, by an
  exception or not; the connection goes back to the pool in no transaction, and is used
  again. A unique key violated is SQLAlchemy's ``IntegrityError``, and the unit can roll back
  and go on (as an invite's raced retry does).
- A statement run ``alone`` in a unit that began nothing runs in no transaction: what it wrote
  is committed when it returns, and the unit is still in none; in a transaction begun already,
  it is that one's.
- The advisory locks of :func:`locks.serialize` in a unit (a plain key with the BEGIN, another
  as a parameter) are held until the unit commits or rolls back, and a second unit asking for
  the same key waits until then.
- A unit whose connection the server terminated fails, and the next unit works (the pool
  connected afresh); so does a unit after the engine was disposed.
- After a burst has opened several connections, units one after another get the connection
  handed back last (its statements prepared, its backend awake), not the one idle longest.
- The call path takes a unit per invite and per step: an invite that rings, and its decline,
  read back through a session as they were written.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server.db import calls as call_data
from server.db import direct, folded, locks
from server.db import statements as st
from server.db.engine import make_engine, make_sessionmaker
from server.db.pg_transaction import PgTransaction
from server.db.transaction import Transactions
from server.migrate import upgrade
from tests.server.direct_seed import seed_ann_and_bob
from tests.server.test_direct_statements import _call
from tests.server.test_folded_statements import _lock_is_free
from tests.support.servers import PostgresServer

pytestmark = pytest.mark.postgres
T0 = datetime(2026, 12, 4, 7, 0, 0, 123456, tzinfo=UTC)
INSERT_CALL = direct.Prepared(st.INSERT_CALL)
NAMES = direct.Prepared(st.CALL_WITH_NAMES)


@pytest.fixture
async def engine(postgres: PostgresServer) -> AsyncIterator[AsyncEngine]:
    made = make_engine(postgres.create_database(f"pgtx_{uuid.uuid4().hex[:12]}"))
    await upgrade(made)
    await seed_ann_and_bob(make_sessionmaker(made), T0)
    yield made
    await made.dispose()


def _ringing(cid: str, **more: Any) -> dict[str, Any]:
    return _call(cid, "ua", "ub", **more)


def pg(db: object) -> PgTransaction:
    assert isinstance(db, PgTransaction)
    return db


async def _call_ids(sessions: async_sessionmaker[AsyncSession]) -> set[str]:
    async with sessions() as s:
        return set(await s.scalars(select(st.CALLS.c.id)))


async def _write_then_fail(units: Transactions, *, write: bool = True) -> None:
    async with units() as db:
        if write:
            await direct.execute(db, INSERT_CALL, _ringing("c4"))
        raise RuntimeError("boom")


async def test_a_unit_is_a_pooled_asyncpg_connection(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    units = Transactions(sessions)
    assert units.direct
    async with units() as db:
        assert isinstance(db, PgTransaction)
        assert isinstance(db.connection, asyncpg.Connection)
        mine = db.connection
    async with sessions() as s:  # the pool's one idle connection: the unit's, handed back
        assert await direct.driver(s) is mine


async def test_commit_rollback_and_leaving_without_a_commit(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    units = Transactions(sessions)
    await engine.dispose()  # (the seed's connection gone: count this test's)
    opened: list[object] = []
    event.listen(engine.sync_engine, "connect", lambda conn, _rec: opened.append(conn))
    async with units() as db:
        await direct.execute(db, INSERT_CALL, _ringing("c1"))
        assert pg(db).begun
        await db.rollback()
        await direct.execute(db, INSERT_CALL, _ringing("c2"))  # begins the next transaction
        await db.commit()
        await direct.execute(db, INSERT_CALL, _ringing("c3"))  # left without a commit
    with pytest.raises(RuntimeError, match="boom"):
        await _write_then_fail(units)
    with pytest.raises(RuntimeError, match="boom"):  # (as a refused invite: nothing begun)
        await _write_then_fail(units, write=False)
    assert await _call_ids(sessions) == {"c2"}
    async with units() as db:
        assert isinstance(db, PgTransaction)
        assert not pg(db).begun  # handed back in no transaction
        with pytest.raises(IntegrityError):  # the same caller and request_id again
            await direct.execute(db, INSERT_CALL, _ringing("c5", request_id="r-c2"))
        await db.rollback()  # (PostgreSQL ignores anything else in a failed transaction)
        # as the invite does on a raced retry: insert_call rolls back and says so
        assert not await call_data.insert_call(db, values=_ringing("c6", request_id="r-c2"))
        await direct.execute(db, INSERT_CALL, _ringing("c7"))
        await db.commit()
    assert await _call_ids(sessions) == {"c2", "c7"}
    assert len(opened) == 1  # rolled back, the connection was kept: never connected again


async def test_a_statement_alone_runs_in_no_transaction_only_outside_one(
    engine: AsyncEngine,
) -> None:
    sessions = make_sessionmaker(engine)
    units = Transactions(sessions)
    async with units() as db:
        await direct.execute(db, INSERT_CALL, _ringing("c1"))
        await db.commit()
        assert (await direct.execute(db, NAMES, {"id": "c1"}, alone=True)).first() is not None
        assert not pg(db).begun
        step = {"status": "DECLINED", "ended_at": T0}
        event_row = {"at": T0, "event": "decline", "from_status": "RINGING"}
        event_row.update(to_status="DECLINED", reason=None, actor="ub", device=None)
        assert await folded.write_step(
            db,
            call_id="c1",
            from_status="RINGING",
            changes=step,
            release=(),
            event=event_row,
            alone=True,
        )
        assert not pg(db).begun
        async with sessions() as s:  # durable before the unit ends
            assert await s.scalar(select(st.CALLS.c.status).where(st.CALLS.c.id == "c1")) == (
                "DECLINED"
            )
        await direct.execute(db, INSERT_CALL, _ringing("c2"))  # begins
        found = await direct.execute(db, NAMES, {"id": "c2"}, alone=True)
        assert found.first() is not None  # read in that transaction: its own insert
        await db.rollback()
    assert await _call_ids(sessions) == {"c1"}


async def _someone_waits_for_a_lock(engine: AsyncEngine) -> None:
    """Until another backend is blocked on an advisory lock (PostgreSQL says so)."""
    waiting = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
    for _ in range(1000):
        async with engine.connect() as conn:
            if await conn.scalar(waiting):
                return
        await asyncio.sleep(0.01)
    raise AssertionError("nobody waited for the lock")


@pytest.mark.parametrize("key", ["invite:ua", "signin-email:o'hara\\x@x.test"])
async def test_locks_hold_until_the_unit_ends_and_make_others_wait(
    engine: AsyncEngine, key: str
) -> None:
    sessions = make_sessionmaker(engine)
    units = Transactions(sessions)
    for end in ("rollback", "commit"):
        async with units() as db:
            await locks.serialize(db, key)
            assert pg(db).begun
            assert not await _lock_is_free(engine, key)
            await direct.execute(db, INSERT_CALL, _ringing(f"c-{end}"))
            await getattr(db, end)()
            assert await _lock_is_free(engine, key)
    assert await _call_ids(sessions) == {"c-commit"}
    order: list[str] = []

    async def second() -> None:
        async with units() as db:
            await locks.serialize(db, key)
            order.append("second has it")
            await db.commit()

    async with units() as db:
        await locks.serialize(db, key)
        waiting = asyncio.create_task(second())
        await _someone_waits_for_a_lock(engine)  # the second, blocked by this unit's lock
        order.append("first commits")
        await db.commit()
    await waiting
    assert order == ["first commits", "second has it"]


async def _killed_in_the_middle(units: Transactions) -> None:
    async with units() as db:
        await direct.execute(db, INSERT_CALL, _ringing("c3"))
        await pg(db).connection.execute("SELECT pg_terminate_backend(pg_backend_pid())")


async def test_a_unit_after_its_connection_was_terminated(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    units = Transactions(sessions)
    async with units() as db:
        assert isinstance(db, PgTransaction)
        victim = await db.connection.fetchval("SELECT pg_backend_pid()")
    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    outside = await asyncpg.connect(dsn)  # (not the pool's: that one would be the victim)
    try:
        assert await outside.fetchval("SELECT pg_terminate_backend($1)", victim)
    finally:
        await outside.close()
    for _ in range(2):  # the pool's idle connections: the terminated one among them
        try:
            async with units() as db:
                await direct.execute(db, INSERT_CALL, _ringing("c1"))
                await db.commit()
            break
        except Exception:  # (whatever asyncpg makes of it: it failed)
            continue
    async with units() as db:  # whatever failed, the next unit works
        await direct.execute(db, INSERT_CALL, _ringing("c2"))
        await db.commit()
    assert "c2" in await _call_ids(sessions)
    with pytest.raises(Exception):  # noqa: B017, PT011 (as above)
        await _killed_in_the_middle(units)
    async with units() as db:
        await direct.execute(db, INSERT_CALL, _ringing("c4"))
        await db.commit()
    assert await _call_ids(sessions) >= {"c2", "c4"}
    assert "c3" not in await _call_ids(sessions)
    await engine.dispose()  # a new pool: units take connections out of it
    async with units() as db:
        assert (await direct.execute(db, NAMES, {"id": "c2"}, alone=True)).first() is not None


async def test_units_never_open_more_connections_than_the_pool_keeps(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    units = Transactions(sessions)
    opened: list[object] = []
    event.listen(engine.sync_engine, "connect", lambda conn, _rec: opened.append(conn))
    size = engine.sync_engine.pool.size()  # type: ignore[attr-defined]

    async def one(n: int) -> None:
        async with units() as db:
            await locks.serialize(db, "invite:ua")  # one at a time: the others queue
            await direct.execute(db, INSERT_CALL, _ringing(f"c{n}"))
            await db.commit()

    await asyncio.gather(*(one(n) for n in range(size + 10)))
    assert len(opened) <= size
    assert len(await _call_ids(sessions)) == size + 10


async def test_units_one_after_another_reuse_the_connection_handed_back_last(
    engine: AsyncEngine,
) -> None:
    units = Transactions(make_sessionmaker(engine))
    all_out = asyncio.Barrier(4)

    async def burst_member() -> object:
        async with units() as db:
            await all_out.wait()  # all four out of the pool at once: four connections
            return db.connection

    opened = set(map(id, await asyncio.gather(*(burst_member() for _ in range(4)))))
    assert len(opened) == 4
    used = []
    for _ in range(6):
        async with units() as db:
            await direct.execute(db, NAMES, {"id": "c0"}, alone=True)
            used.append(id(db.connection))
    assert set(used) <= opened
    assert len(set(used)) == 1


async def test_a_call_rings_and_is_declined_through_units(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    units = Transactions(sessions)
    invite = {"at": T0, "event": "invite", "from_status": None, "to_status": "RINGING"}
    invite.update(reason=None, actor="ua", device="dev-a")
    async with units() as db:
        values = _ringing("c1")
        claimed = await folded.open_call(db, values=values, claim=("ua", "ub"), event=invite)
        assert claimed == 2
        await db.commit()
    decline = {**invite, "event": "decline", "from_status": "RINGING", "to_status": "DECLINED"}
    async with units() as db:
        assert await folded.write_step(
            db,
            call_id="c1",
            from_status="RINGING",
            changes={"status": "DECLINED", "ended_at": T0 + timedelta(seconds=3)},
            release=("ua", "ub"),
            event={**decline, "actor": "ub", "device": None},
        )
        await db.commit()
    async with sessions() as s:
        status = await s.scalar(select(st.CALLS.c.status).where(st.CALLS.c.id == "c1"))
        events = list(await s.scalars(select(st.EVENTS.c.event).order_by(st.EVENTS.c.id)))
        lines = dict((await s.execute(select(st.USERS.c.id, st.USERS.c.active_call_id))).all())
    assert (status, events, lines) == ("DECLINED", ["invite", "decline"], {"ua": None, "ub": None})


async def test_a_unit_cancelled_in_the_middle_of_a_statement(engine: AsyncEngine) -> None:
    """Its task cancelled while PostgreSQL runs its statement (a server shutting down, a
    deadline): the statement's writes are gone, and the next unit works at once."""
    sessions = make_sessionmaker(engine)
    units = Transactions(sessions)
    started = asyncio.Event()

    async def slow() -> None:
        async with units() as db:
            await direct.execute(db, INSERT_CALL, _ringing("c1"))
            started.set()
            await pg(db).connection.execute("SELECT pg_sleep(30)")

    task = asyncio.create_task(slow())
    await started.wait()
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with units() as db:
        await asyncio.wait_for(direct.execute(db, INSERT_CALL, _ringing("c2")), 5)
        await db.commit()
    assert await _call_ids(sessions) == {"c2"}
