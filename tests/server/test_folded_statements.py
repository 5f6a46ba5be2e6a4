"""PostgreSQL: a step and its consequences in one statement (:mod:`server.db.folded`), and a
presence read outside a transaction (``direct.execute(..., alone=True)``). A real private
PostgreSQL, migrated to head.

Specification:
- A step's statement changes the call only from the status it names, and only then frees the
  lines the call holds and writes the step's ``call_events`` row; a step that lost (the call
  moved first) writes nothing, and leaves lines another call holds alone.
- All of it belongs to the session's transaction: gone after a rollback.
- Of two steps racing on one call (two sessions, two connections), exactly one wins: one
  status, one event row, the lines freed once.
- An invite's statement inserts the call and its event row and claims the lines still free;
  it says how many it claimed (a line another call holds is not taken), and after the
  caller's rollback nothing of it remains; a ``request_id`` used already is ``None``.
- The advisory locks taken with the BEGIN (one round trip) are the transaction's: held until
  it commits or rolls back, and its writes go with it; a key that is not plain takes the
  parameterized path with the same effect. Connects of one user from many sessions at once
  admit exactly the socket cap.
- A presence read on a session that began no transaction runs in none (no BEGIN, no
  ROLLBACK), and reads what the committed rows say.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server.db import access as access_data
from server.db import direct, folded, locks
from server.db import presence as socket_data
from server.db import statements as st
from server.db.engine import make_engine, make_sessionmaker
from server.db.presence import presence_of
from server.migrate import upgrade
from tests.server.direct_seed import seed_ann_and_bob
from tests.server.test_direct_statements import _call
from tests.support.servers import PostgresServer

pytestmark = pytest.mark.postgres
T0 = datetime(2026, 12, 3, 16, 0, 0, tzinfo=UTC)


@pytest.fixture
async def engine(postgres: PostgresServer) -> AsyncIterator[AsyncEngine]:
    made = make_engine(postgres.create_database(f"folded_{uuid.uuid4().hex[:12]}"))
    await upgrade(made)
    await seed_ann_and_bob(make_sessionmaker(made), T0)
    yield made
    await made.dispose()


def _event(name: str, source: str | None, target: str, actor: str = "ub") -> dict[str, Any]:
    return {
        "at": T0,
        "event": name,
        "from_status": source,
        "to_status": target,
        "reason": None,
        "actor": actor,
        "device": "dev-b",
    }


async def _ringing(sessions: async_sessionmaker[AsyncSession], cid: str) -> None:
    """Call ``cid`` from ua to ub, ringing, holding both lines (as an invite commits it)."""
    async with sessions() as s:
        claimed = await folded.open_call(
            s,
            values=_call(cid, "ua", "ub"),
            claim=("ua", "ub"),
            event=_event("invite", None, "RINGING", "ua"),
        )
        assert claimed == 2
        await s.commit()


async def _decline(s: AsyncSession, cid: str) -> bool:
    return await folded.write_step(
        s,
        call_id=cid,
        from_status="RINGING",
        changes={"status": "DECLINED", "ended_at": T0 + timedelta(seconds=3)},
        release=("ua", "ub"),
        event=_event("decline", "RINGING", "DECLINED"),
    )


async def _state(sessions: async_sessionmaker[AsyncSession], cid: str) -> tuple[Any, ...]:
    """The call's status, its event rows' names (in order) and the users' lines."""
    async with sessions() as s:
        status = await s.scalar(select(st.CALLS.c.status).where(st.CALLS.c.id == cid))
        events = list(
            await s.scalars(
                select(st.EVENTS.c.event).where(st.EVENTS.c.call_id == cid).order_by(st.EVENTS.c.id)
            )
        )
        found = await s.execute(select(st.USERS.c.id, st.USERS.c.active_call_id))
        lines = {str(row[0]): row[1] for row in found}
    return status, events, lines


async def test_a_step_frees_the_lines_and_logs_only_if_it_won(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    await _ringing(sessions, "c1")
    assert await _state(sessions, "c1") == ("RINGING", ["invite"], {"ua": "c1", "ub": "c1"})
    async with sessions() as s:
        assert await _decline(s, "c1")
        await s.rollback()  # the step's writes are its transaction's, all of them
    assert await _state(sessions, "c1") == ("RINGING", ["invite"], {"ua": "c1", "ub": "c1"})
    async with sessions() as s:
        assert await _decline(s, "c1")
        await s.commit()
    assert await _state(sessions, "c1") == (
        "DECLINED",
        ["invite", "decline"],
        {"ua": None, "ub": None},
    )
    await _ringing(sessions, "c2")  # the lines are now c2's
    async with sessions() as s:
        assert not await _decline(s, "c1")  # c1 is no longer RINGING: lost
        await s.commit()
    assert await _state(sessions, "c1") == (
        "DECLINED",
        ["invite", "decline"],
        {"ua": "c2", "ub": "c2"},
    )


async def test_a_step_that_frees_nothing_still_logs(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    await _ringing(sessions, "c1")
    async with sessions() as s:
        won = await folded.write_step(
            s,
            call_id="c1",
            from_status="RINGING",
            changes={"status": "IN_PROGRESS", "answered_at": T0},
            release=(),
            event=_event("accept", "RINGING", "IN_PROGRESS"),
        )
        assert won
        await s.commit()
    assert await _state(sessions, "c1") == (
        "IN_PROGRESS",
        ["invite", "accept"],
        {"ua": "c1", "ub": "c1"},
    )
    async with sessions() as s:  # a decline that read the call while it rang: lost
        assert not await _decline(s, "c1")
        await s.commit()
    assert await _state(sessions, "c1") == (
        "IN_PROGRESS",
        ["invite", "accept"],
        {"ua": "c1", "ub": "c1"},
    )


async def test_of_two_racing_steps_one_wins(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    for n in range(10):
        cid = f"race{n}"
        await _ringing(sessions, cid)
        async with sessions() as first, sessions() as second:
            # both begin and read first, so both UPDATEs meet on the row's lock
            for s in (first, second):
                await s.execute(select(st.CALLS.c.status).where(st.CALLS.c.id == cid))
            won = await asyncio.gather(_commit_after(first, cid), _commit_after(second, cid))
        assert sorted(won) == [False, True]
        assert await _state(sessions, cid) == (
            "DECLINED",
            ["invite", "decline"],
            {"ua": None, "ub": None},
        )


async def _commit_after(s: AsyncSession, cid: str) -> bool:
    won = await _decline(s, cid)
    await s.commit()
    return won


async def test_an_invite_claims_only_free_lines(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    async with sessions() as s:  # ub is in another call (held, say, by c0)
        await s.execute(st.USERS.update().where(st.USERS.c.id == "ub").values(active_call_id="c0"))
        await s.commit()
    async with sessions() as s:
        claimed = await folded.open_call(
            s,
            values=_call("c1", "ua", "ub"),
            claim=("ua", "ub"),
            event=_event("invite", None, "RINGING", "ua"),
        )
        assert claimed == 1  # ua's only: the caller must roll back
        await s.rollback()
    assert await _state(sessions, "c1") == (None, [], {"ua": None, "ub": "c0"})
    async with sessions() as s:  # the same invite, ringing nobody: no claim
        made = await folded.open_call(
            s,
            values=_call("c1", "ua", "ub", status="BUSY", ring_deadline=None, ended_at=T0),
            claim=(),
            event=_event("invite", None, "BUSY", "ua"),
        )
        assert made == 1
        await s.commit()
    assert await _state(sessions, "c1") == ("BUSY", ["invite"], {"ua": None, "ub": "c0"})
    async with sessions() as s:  # its request_id again
        again = await folded.open_call(
            s,
            values=_call("c2", "ua", "ub", request_id="r-c1"),
            claim=(),
            event=_event("invite", None, "MISSED", "ua"),
        )
        assert again is None
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(st.CALLS)) == 1


async def test_a_presence_read_begins_no_transaction(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    await _ringing(sessions, "c1")
    async with sessions() as s:
        states = await presence_of(s, user_ids=["ub", "ua", "nobody"], live_since=T0)
        conn = await direct.driver(s)
        assert isinstance(conn, asyncpg.Connection)
        assert not conn.is_in_transaction()
    assert states == {"ub": "busy", "ua": "busy", "nobody": "offline"}
    async with sessions() as s:  # after another statement began one: it runs in it
        await s.execute(st.USERS.update().values(active_call_id=None))
        states = await presence_of(s, user_ids=["ua"], live_since=T0)
        assert states == {"ua": "offline"}
        await s.rollback()


async def _lock_is_free(engine: AsyncEngine, key: str) -> bool:
    """Whether another connection could take ``key``'s lock now (it lets go at once)."""
    async with engine.connect() as other:
        taken = await other.scalar(
            text("SELECT pg_try_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": key}
        )
        await other.rollback()
    return bool(taken)


@pytest.mark.parametrize("key", ["invite:ua", "signin-email:o'hara\\x@x.test"])
async def test_locks_taken_with_the_begin_hold_until_the_transaction_ends(
    engine: AsyncEngine, key: str
) -> None:
    """A plain key goes with the BEGIN as a literal, another as a parameter: either way the
    lock is the transaction's, and its writes are committed or rolled back with it."""
    sessions = make_sessionmaker(engine)
    for end in ("rollback", "commit"):
        async with sessions() as s:
            await locks.serialize(s, key)
            assert not await _lock_is_free(engine, key)
            await s.execute(st.USERS.update().where(st.USERS.c.id == "ua").values(display_name=end))
            await getattr(s, end)()
            assert await _lock_is_free(engine, key)
        async with sessions() as s:
            name = await s.scalar(select(st.USERS.c.display_name).where(st.USERS.c.id == "ua"))
        assert name == ("Ann" if end == "rollback" else "commit")


async def test_parallel_connects_never_pass_the_socket_cap(engine: AsyncEngine) -> None:
    """The connect's check and insert (:func:`access.connect_facts`, then its socket's row)
    from many sessions at once: exactly the cap is admitted, each count taken after the lock
    sees the sockets its previous holder committed."""
    sessions = make_sessionmaker(engine)
    async with sessions() as s:
        await s.execute(st.NODES.insert(), {"id": "node-a", "last_seen": T0})
        await s.commit()
    cap = 3

    async def connect(n: int) -> bool:
        async with sessions() as s:
            facts = await access_data.connect_facts(s, user_id="ua", session_id=None, live_since=T0)
            assert facts is not None
            if facts.live_sockets >= cap:
                return False
            await socket_data.add_connection(
                s,
                sid=f"s{n}",
                user_id="ua",
                tenant_id="t1",
                device_id=f"d{n}",
                node_id="node-a",
                at=T0,
            )
            await s.commit()
            return True

    admitted = await asyncio.gather(*(connect(n) for n in range(12)))
    assert admitted.count(True) == cap
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(st.CONNECTIONS)) == cap


async def test_a_step_alone_is_its_own_transaction_only_outside_one(engine: AsyncEngine) -> None:
    """A step that writes nothing else (``alone``) on a session that began no transaction is
    committed when its statement returns; in a transaction begun already it is that one's."""
    sessions = make_sessionmaker(engine)
    await _ringing(sessions, "c1")
    async with sessions() as s:
        found = await direct.execute(
            s, direct.Prepared(st.CALL_WITH_NAMES), {"id": "c1"}, alone=True
        )
        assert found.first() is not None
        assert await folded.write_step(
            s,
            call_id="c1",
            from_status="RINGING",
            changes={"status": "DECLINED", "ended_at": T0},
            release=("ua", "ub"),
            event=_event("decline", "RINGING", "DECLINED"),
            alone=True,
        )
        conn = await direct.driver(s)
        assert conn is not None
        assert not conn.is_in_transaction()
        # durable already: another connection sees all of it before this session commits
        assert await _state(sessions, "c1") == (
            "DECLINED",
            ["invite", "decline"],
            {"ua": None, "ub": None},
        )
        await s.rollback()  # nothing of its own to undo
    assert (await _state(sessions, "c1"))[0] == "DECLINED"
    await _ringing(sessions, "c2")
    async with sessions() as s:
        await s.execute(select(st.CALLS.c.status).where(st.CALLS.c.id == "c2"))  # begins
        assert await folded.write_step(
            s,
            call_id="c2",
            from_status="RINGING",
            changes={"status": "DECLINED", "ended_at": T0},
            release=("ua", "ub"),
            event=_event("decline", "RINGING", "DECLINED"),
            alone=True,
        )
        await s.rollback()
    assert await _state(sessions, "c2") == ("RINGING", ["invite"], {"ua": "c2", "ub": "c2"})


async def test_a_sockets_insert_says_whether_a_call_rings_for_its_user(
    engine: AsyncEngine,
) -> None:
    sessions = make_sessionmaker(engine)
    await _ringing(sessions, "c1")  # ua calls ub
    async with sessions() as s:
        await s.execute(st.NODES.insert(), {"id": "node-a", "last_seen": T0})
        rings = {}
        for uid in ("ua", "ub"):
            rings[uid] = await socket_data.add_connection(
                s,
                sid=f"s-{uid}",
                user_id=uid,
                tenant_id="t1",
                device_id="d",
                node_id="node-a",
                at=T0,
            )
        await s.commit()
    assert rings == {"ua": False, "ub": True}
