"""The hot path's statements run on SQLite's own connection (:mod:`server.db.direct`). Real
databases: a SQLite file (inline, and on aiosqlite's thread) and PostgreSQL, migrated to head.

Specification:
- With the inline SQLite engine a prepared statement runs on the ``sqlite3`` connection of the
  session's transaction; on PostgreSQL on the asyncpg connection once the session's
  transaction has begun there (its first statement goes through SQLAlchemy and begins it);
  with aiosqlite on its thread through ``session.execute``.
- Either way it returns what ``session.execute`` of the same statement returns: the same rows
  with the same values (aware UTC datetimes, booleans, ``None``), and the same rowcount; an
  INSERT with a ``RETURNING`` returns its rows; a DELETE says how many rows it deleted.
- Its writes belong to the session's transaction: gone after a rollback, seen by another
  connection after the commit; a unique key violated is SQLAlchemy's ``IntegrityError`` and
  the session can roll back and go on.
- A session that ran prepared statements leaves no cyclic garbage behind (the collector must
  not have to free sessions: its pauses are the tail's, issue 16).
"""

from __future__ import annotations

import gc
import sqlite3
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.db import direct
from server.db import statements as st
from server.db.engine import make_engine, make_sessionmaker
from server.migrate import upgrade
from tests.server.direct_seed import seed_ann_and_bob
from tests.support.servers import PostgresServer

T0 = datetime(2026, 12, 3, 16, 0, 0, 123456, tzinfo=UTC)
KINDS = ["inline", "thread", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=KINDS)
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    kind = request.param
    if kind == "postgres":
        pg: PostgresServer = request.getfixturevalue("postgres")
        url = pg.create_database(f"direct_{uuid.uuid4().hex[:12]}")
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'direct.db'}"
    made = make_engine(url, sqlite_inline=kind == "inline")
    await upgrade(made)
    request.node.kind = kind
    yield made
    await made.dispose()


def _call(cid: str, caller: str, callee: str, **more: Any) -> dict[str, Any]:
    values = {
        "id": cid,
        "tenant_id": "t1",
        "caller_id": caller,
        "callee_id": callee,
        "request_id": f"r-{cid}",
        "status": "RINGING",
        "reason": None,
        "created_at": T0,
        "ring_deadline": T0 + timedelta(seconds=30),
        "ended_at": None,
        "caller_device": "dev-a",
        "caller_sid": "sid-a",
        "context_type": None,
        "context_id": None,
        "context_label": None,
    }
    return {**values, **more}


CALL_WITH_NAMES = direct.Prepared(st.CALL_WITH_NAMES)
INSERT_CALL = direct.Prepared(st.INSERT_CALL)
INVITE_LOOKUP = direct.Prepared(st.INVITE_LOOKUP, lists=("ids",))
CLAIM_LINES = direct.Prepared(st.CLAIM_LINES, lists=("ids",))


def _invite_params() -> dict[str, Any]:
    return {
        "ids": ["ua", "ub"],
        "me": "ua",
        "rid": "r-c1",
        "since": T0 - timedelta(minutes=1),
        "callee": "ub",
        "live_since": T0 - timedelta(seconds=30),
    }


async def _begin(session: AsyncSession) -> None:
    """A first statement through SQLAlchemy (on PostgreSQL it begins the transaction, so the
    prepared statements after it run on asyncpg)."""
    await session.execute(text("SELECT 1"))


async def test_which_connection_runs_a_prepared_statement(
    engine: AsyncEngine, request: pytest.FixtureRequest
) -> None:
    sessions = make_sessionmaker(engine)
    async with sessions() as s:
        conn = await direct.driver(s)
        kind = request.node.kind
        if kind == "inline":
            assert isinstance(conn, sqlite3.Connection)
        elif kind == "postgres":
            assert isinstance(conn, asyncpg.Connection)
            assert not conn.is_in_transaction()  # not yet: SQLAlchemy begins it
            await _begin(s)
            assert conn.is_in_transaction()
        else:
            assert conn is None


async def test_rows_and_rowcounts_are_those_of_session_execute(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    await seed_ann_and_bob(sessions, T0)
    async with sessions() as s:
        await _begin(s)
        inserted = await direct.execute(s, INSERT_CALL, _call("c1", "ua", "ub"))
        assert inserted.rowcount == 1
        assert inserted.rows == []
        claimed = await direct.execute(s, CLAIM_LINES, {"ids": ["ua", "ub"], "call": "c1"})
        assert claimed.rowcount == 2
        again = await direct.execute(s, CLAIM_LINES, {"ids": ["ua", "ub"], "call": "c2"})
        assert again.rowcount == 0  # the lines are taken: the conditional UPDATE changes none
        await s.commit()
    async with sessions() as s:
        await _begin(s)
        mine = (await direct.execute(s, CALL_WITH_NAMES, {"id": "c1"})).rows
        theirs = [tuple(r) for r in await s.execute(st.CALL_WITH_NAMES, {"id": "c1"})]
        assert mine == theirs
        assert len(mine) == 1
        row = dict(zip(st.CALLS.c.keys(), mine[0], strict=False))
        assert row["created_at"] == T0
        assert row["created_at"].tzinfo is not None
        assert row["ring_deadline"] == T0 + timedelta(seconds=30)
        assert row["answered_at"] is None
        assert mine[0][-3:] == ("Ann", "Bob", False)
        mine = (await direct.execute(s, INVITE_LOOKUP, _invite_params())).rows
        theirs = [tuple(r) for r in await s.execute(st.INVITE_LOOKUP, _invite_params())]
        assert sorted(mine) == sorted(theirs)
        assert len(mine) == 2
        ann = next(r for r in mine if r[0] == "ua")
        # its line, the call of this request, one invite in the minute, no live socket
        assert ann[3:7] == ("c1", "c1", 1, False)
        assert (await direct.execute(s, CALL_WITH_NAMES, {"id": "nope"})).first() is None


async def test_writes_belong_to_the_sessions_transaction(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    await seed_ann_and_bob(sessions, T0)
    async with sessions() as s:
        await _begin(s)
        await direct.execute(s, INSERT_CALL, _call("c1", "ua", "ub"))
        await s.rollback()
        # a new transaction of the same session: the driver connection is looked up again
        await direct.execute(s, INSERT_CALL, _call("c2", "ua", "ub"))
        await s.commit()
    async with sessions() as s:
        await _begin(s)
        assert (await direct.execute(s, CALL_WITH_NAMES, {"id": "c1"})).first() is None
        assert (await direct.execute(s, CALL_WITH_NAMES, {"id": "c2"})).first() is not None
        with pytest.raises(IntegrityError):  # the same caller and request_id again
            await direct.execute(s, INSERT_CALL, _call("c3", "ua", "ub", request_id="r-c2"))
        await s.rollback()
        await direct.execute(s, INSERT_CALL, _call("c4", "ub", "ua"))
        await s.commit()
    async with sessions() as s:
        found = {r[0] for r in await s.execute(st.CALLS.select())}
        assert found == {"c2", "c4"}


async def test_sessions_leave_no_cyclic_garbage(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    await seed_ann_and_bob(sessions, T0)
    params = {"ids": ["ua", "ub"], "call": "c1"}
    async with sessions() as s:  # plans built, pools filled, before counting
        await direct.execute(s, CLAIM_LINES, params)
        await s.rollback()
    gc.collect()
    gc.disable()
    try:
        for _ in range(50):
            async with sessions() as s:
                await _begin(s)
                await direct.execute(s, CLAIM_LINES, params)
                await direct.execute(s, CALL_WITH_NAMES, {"id": "c1"})
                await s.rollback()
        assert gc.collect() == 0
    finally:
        gc.enable()


async def test_an_insert_keeps_every_value_it_is_given(engine: AsyncEngine) -> None:
    """An INSERT's columns are the values each execution gives: a call made with fewer values
    first, then one with more (a context the first had not, a room no invite gives), keeps
    all of the second's."""
    sessions = make_sessionmaker(engine)
    await seed_ann_and_bob(sessions, T0)
    fewer = {k: v for k, v in _call("c1", "ua", "ub").items() if not k.startswith("context_")}
    more = _call("c2", "ub", "ua", context_type="deal", context_id="d-7", room_name="Renewal")
    async with sessions() as s:
        await _begin(s)
        await direct.execute(s, INSERT_CALL, fewer)
        await direct.execute(s, INSERT_CALL, more)
        await s.commit()
    async with sessions() as s:
        context = st.CALLS.c.context_type, st.CALLS.c.context_id, st.CALLS.c.room_name
        rows = (await s.execute(select(st.CALLS.c.id, *context).order_by(st.CALLS.c.id))).all()
    assert [tuple(r) for r in rows] == [
        ("c1", None, None, None),
        ("c2", "deal", "d-7", "Renewal"),
    ]


async def test_an_insert_returns_what_its_returning_names(engine: AsyncEngine) -> None:
    """A socket's row, written with ``RETURNING`` whether a call rings for its user: no, then
    yes once one does (the connect's one round trip, :func:`server.db.presence.add_connection`)."""
    sessions = make_sessionmaker(engine)
    await seed_ann_and_bob(sessions, T0)
    insert_socket = direct.Prepared(st.INSERT_CONNECTION)

    def socket(sid: str) -> dict[str, Any]:
        return {"sid": sid, "user_id": "ub", "tenant_id": "t1", "device_id": sid,
                "node_id": "n1", "connected_at": T0, "session_id": None, "expires_at": None,
                "ringing_for": "ub"}  # fmt: skip

    async with sessions() as s:
        await _begin(s)
        before = await direct.execute(s, insert_socket, socket("s1"))
        await direct.execute(s, INSERT_CALL, _call("c1", "ua", "ub"))  # rings for Bob
        after = await direct.execute(s, insert_socket, socket("s2"))
        await s.commit()
    assert [tuple(map(bool, r)) for r in (*before.rows, *after.rows)] == [(False,), (True,)]


async def test_a_delete_says_how_many_rows_it_deleted(engine: AsyncEngine) -> None:
    """A socket's row forgotten at its disconnect (:func:`server.db.presence.delete_connection`'s
    statement): one row, then none; the row is gone for another session after the commit."""
    sessions = make_sessionmaker(engine)
    await seed_ann_and_bob(sessions, T0)
    delete_socket = direct.Prepared(st.DELETE_CONNECTION)
    all_sids = select(st.CONNECTIONS.c.sid)
    async with sessions() as s:
        await _begin(s)
        await s.execute(st.INSERT_CONNECTION, {"sid": "s1", "user_id": "ub", "tenant_id": "t1",
                        "device_id": "s1", "node_id": "n1", "connected_at": T0,
                        "ringing_for": "ub"})  # fmt: skip
        await s.commit()
    async with sessions() as s:
        await _begin(s)
        first = await direct.execute(s, delete_socket, {"sid": "s1"})
        again = await direct.execute(s, delete_socket, {"sid": "s1"})
        assert (first.rowcount, first.rows, again.rowcount) == (1, [], 0)
        await s.commit()
    async with sessions() as s:
        assert list(await s.scalars(all_sids)) == []
