"""The call path's direct transactions (:mod:`server.db.transaction`) on a real SQLite file,
migrated to head, and the SQLite datetime binder of :mod:`server.db.direct`.

Specification:
- On the inline engine a unit of work is a :class:`Transaction` on the engine's one ``sqlite3``
  connection, the same one sessions use; on aiosqlite's thread it is a session.
- Its writes are committed by ``commit``, undone by ``rollback`` (a later write begins the next
  transaction), and undone when the ``async with`` is left without a commit, by an exception
  or not. A unique key violated is SQLAlchemy's ``IntegrityError`` and the transaction can
  roll back and go on.
- One door: sessions and direct transactions, run concurrently, never use the connection at
  the same time, each waits its turn (none is refused or deadlocked), and the engine never
  opens a second connection.
- A UTC datetime bound for SQLite by :func:`direct.utc_text` is stored as the very text
  SQLAlchemy's own binding stores; a naive one is refused as SQLAlchemy's type refuses it.
- A statement of one shape has one plan; an INSERT one per set of columns it is given.
- A call row built from its values (the hot path's) reads as one made by ``CallRow(**values)``.
- A unit of work leaves no cyclic garbage (the collector never has to free one).
- A unit works after the pooled connection was invalidated (it must connect again) and after
  the engine was disposed (a new pool), still on one connection shared with the sessions.
"""

from __future__ import annotations

import asyncio
import gc
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, inspect, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from server.db import calls as call_data
from server.db import direct
from server.db import statements as st
from server.db.engine import make_engine, make_sessionmaker
from server.db.models import CallRow, UTCDateTime
from server.db.transaction import Transaction, Transactions
from server.migrate import upgrade
from tests.server.direct_seed import seed_ann_and_bob

T0 = datetime(2026, 12, 3, 16, 0, 0, 123456, tzinfo=UTC)
INSERT_CALL = direct.Prepared(st.INSERT_CALL)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    made = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'tx.db'}", sqlite_inline=True)
    await upgrade(made)
    yield made
    await made.dispose()


def _call(cid: str, **more: Any) -> dict[str, Any]:
    values = {
        "id": cid,
        "tenant_id": "t1",
        "caller_id": "ua",
        "callee_id": "ub",
        "request_id": f"r-{cid}",
        "status": "RINGING",
        "reason": None,
        "created_at": T0,
        "ring_deadline": T0 + timedelta(seconds=30),
        "ended_at": None,
        "caller_device": "dev-a",
        "caller_sid": "sid-a",
    }
    return {**values, **more}


async def _call_ids(sessions: async_sessionmaker[AsyncSession]) -> set[str]:
    async with sessions() as s:
        return set(await s.scalars(select(st.CALLS.c.id)))


async def test_a_unit_is_direct_on_the_inline_engine_only(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    sessions = make_sessionmaker(engine)
    async with Transactions(sessions)() as db:
        assert isinstance(db, Transaction)
        conn = db.connection
    async with sessions() as s:
        assert await direct.driver(s) is conn  # the same connection, out of the same pool
    threaded = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'thread.db'}")
    try:
        units = Transactions(make_sessionmaker(threaded))
        assert not units.direct
        async with units() as db:
            assert isinstance(db, AsyncSession)
    finally:
        await threaded.dispose()


async def _write_then_fail(units: Transactions) -> None:
    async with units() as db:
        await direct.execute(db, INSERT_CALL, _call("c4"))
        raise RuntimeError("boom")


async def test_commit_rollback_and_leaving_without_a_commit(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    await seed_ann_and_bob(sessions, T0)
    units = Transactions(sessions)
    async with units() as db:
        await direct.execute(db, INSERT_CALL, _call("c1"))
        await db.rollback()
        await direct.execute(db, INSERT_CALL, _call("c2"))  # begins the next transaction
        await db.commit()
        await direct.execute(db, INSERT_CALL, _call("c3"))  # left without a commit
    with pytest.raises(RuntimeError, match="boom"):
        await _write_then_fail(units)
    assert await _call_ids(sessions) == {"c2"}
    async with units() as db:
        assert isinstance(db, Transaction)
        assert not db.connection.in_transaction
        with pytest.raises(IntegrityError):  # the same caller and request_id again
            await direct.execute(db, INSERT_CALL, _call("c5", request_id="r-c2"))
        # as the invite does on a raced retry: insert_call rolls back and says so
        assert not await call_data.insert_call(db, values=_call("c6", request_id="r-c2"))
        await direct.execute(db, INSERT_CALL, _call("c7"))
        await db.commit()
    assert await _call_ids(sessions) == {"c2", "c7"}


async def test_sessions_and_units_take_turns_on_one_connection(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    await seed_ann_and_bob(sessions, T0)
    units = Transactions(sessions)
    opened: list[object] = []
    event.listen(engine.sync_engine, "connect", lambda conn, _rec: opened.append(conn))
    inside: list[str] = []
    overlaps: list[tuple[str, ...]] = []
    done: list[str] = []

    async def hold(name: str) -> None:
        inside.append(name)
        if len(inside) > 1:
            overlaps.append(tuple(inside))
        for _ in range(random.randint(0, 3)):
            await asyncio.sleep(0)
        inside.remove(name)
        done.append(name)

    async def by_session(n: int) -> None:
        async with sessions() as s:
            await s.execute(text("SELECT 1"))  # the connection is checked out here
            await hold(f"s{n}")
            await s.execute(text("UPDATE users SET active_call_id = NULL WHERE id = 'none'"))
            await s.commit()

    async def by_unit(n: int) -> None:
        async with units() as db:
            await direct.execute(db, INSERT_CALL, _call(f"c{n}"))
            await hold(f"u{n}")
            await db.commit()

    random.seed(16)
    work = [by_session(n) if n % 3 == 0 else by_unit(n) for n in range(60)]
    await asyncio.wait_for(asyncio.gather(*work), timeout=60)
    assert overlaps == []
    assert len(done) == 60
    assert len(await _call_ids(sessions)) == 40
    assert len(opened) <= 1  # none beyond the pool's one (it may have been opened before)


async def test_a_unit_waits_for_a_session_that_holds_the_connection(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    await seed_ann_and_bob(sessions, T0)
    units = Transactions(sessions)
    order: list[str] = []

    async def unit() -> None:
        async with units() as db:
            order.append("unit")
            await direct.execute(db, INSERT_CALL, _call("c1"))
            await db.commit()

    async with sessions() as s:
        await s.execute(text("SELECT 1"))
        waiting = asyncio.create_task(unit())
        for _ in range(5):
            await asyncio.sleep(0)
        assert order == []  # it waits in the pool's queue
        order.append("session")
    await asyncio.wait_for(waiting, timeout=10)
    assert order == ["session", "unit"]
    assert await _call_ids(sessions) == {"c1"}


ZONES = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-11))]
MOMENTS = [
    datetime(2026, 12, 3, 16, 0, 0, 0, tzinfo=UTC),  # no microseconds: still six digits
    datetime(2026, 12, 3, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(1, 1, 2, 0, 0, 0, 1, tzinfo=UTC),
    datetime(9999, 12, 30, 12, 0, 0, 500, tzinfo=UTC),
    datetime(2024, 2, 29, 0, 30, 0, 10, tzinfo=UTC),
]


def test_utc_text_is_sqlalchemys_binding() -> None:
    dialect = sqlite.dialect()
    theirs = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert theirs is not None
    for moment in MOMENTS:
        for zone in ZONES:
            value = moment.astimezone(zone) if moment.year not in (1, 9999) else moment
            assert direct.utc_text(value) == theirs(value)
    with pytest.raises(ValueError, match="naive"):
        direct.utc_text(datetime(2026, 12, 3, 16, 0))
    with pytest.raises(ValueError, match="naive"):
        theirs(datetime(2026, 12, 3, 16, 0))


async def test_stored_text_is_that_of_sqlalchemys_binding(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    await seed_ann_and_bob(sessions, T0)
    zone = timezone(timedelta(hours=-3))
    moments = [m.astimezone(zone) for m in MOMENTS if m.year not in (1, 9999)]
    async with sessions() as s:  # SQLAlchemy's binding
        for i, at in enumerate(moments):
            await s.execute(st.CALLS.insert(), _call(f"s{i}", created_at=at))
        await s.commit()
    async with Transactions(sessions)() as db:  # the direct one
        for i, at in enumerate(moments):
            await direct.execute(db, INSERT_CALL, _call(f"d{i}", created_at=at))
        await db.commit()
        raw = db.connection.execute("SELECT id, created_at, typeof(created_at) FROM calls")
        stored = {cid: (text_, kind) for cid, text_, kind in raw.fetchall()}
    for i in range(len(moments)):
        assert stored[f"d{i}"] == stored[f"s{i}"]
        assert stored[f"d{i}"][1] == "text"


def test_one_plan_per_shape() -> None:
    dialect = sqlite.dialect()
    by_id = direct.Prepared(st.CALL_BY_ID)
    assert by_id.plan(dialect, {"id": "a"}) is by_id.plan(dialect, {"id": "b"})
    insert = direct.Prepared(st.INSERT_CALL)
    fewer = insert.plan(dialect, _call("c1"))
    assert insert.plan(dialect, _call("c2")) is fewer
    assert insert.plan(dialect, _call("c3", room_name="r")) is not fewer
    claim = direct.Prepared(st.CLAIM_LINES, lists=("ids",))
    two = claim.plan(dialect, {"ids": ["a", "b"], "call": "c"})
    assert claim.plan(dialect, {"ids": ["a"], "call": "c"}) is not two


def test_a_call_row_built_from_values_reads_as_one_constructed() -> None:
    values = _call("c1", context_label="Renewal")
    built, constructed = call_data.call_row(values), CallRow(**values)
    for name in (c.key for c in st.CALLS.c):
        assert getattr(built, name) == getattr(constructed, name), name
    assert built.answered_at is None  # not given: None, as the constructor leaves it
    assert inspect(built).transient
    set_committed_value(built, "status", "DECLINED")
    assert built.status == "DECLINED"


async def test_units_leave_no_cyclic_garbage(engine: AsyncEngine) -> None:
    """(The collector's pauses are the tail's, issue 16: a unit must be freed by its count.)"""
    sessions = make_sessionmaker(engine)
    await seed_ann_and_bob(sessions, T0)
    units = Transactions(sessions)

    async def unit(n: int) -> None:
        async with units() as db:
            await direct.execute(db, INSERT_CALL, _call(f"c{n}"))
            await call_data.claim_lines(db, call_id=f"c{n}", user_ids=("ua", "ub"))
            await call_data.load_call_with_parties(db, call_id=f"c{n}")
            await db.rollback()

    await unit(0)  # plans built, the connection opened, before counting
    gc.collect()
    gc.disable()
    try:
        for n in range(50):
            await unit(n)
        assert gc.collect() == 0
    finally:
        gc.enable()


async def test_a_unit_after_the_connection_was_invalidated_or_the_engine_disposed(
    engine: AsyncEngine,
) -> None:
    sessions = make_sessionmaker(engine)
    await seed_ann_and_bob(sessions, T0)
    units = Transactions(sessions)
    async with engine.connect() as c:  # as after a disconnect error: the record must reconnect
        await c.invalidate()
    async with units() as db:
        await direct.execute(db, INSERT_CALL, _call("c1"))
        await db.commit()
    await engine.dispose()  # a new pool takes the old one's place
    async with units() as db:
        conn = db.connection if isinstance(db, Transaction) else None
        await direct.execute(db, INSERT_CALL, _call("c2"))
        await db.commit()
    async with sessions() as s:
        assert await direct.driver(s) is conn  # the same one connection, the new pool's
    assert await _call_ids(sessions) == {"c1", "c2"}
