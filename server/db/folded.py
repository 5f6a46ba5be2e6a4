"""PostgreSQL: a call's step and its consequences in one statement (data-modifying CTEs).

On SQLite a statement costs microseconds on the loop's own thread; on PostgreSQL each is a
round trip, with the loop's wake-up, asyncpg's protocol and a backend's work around it. Two
writes of every set-up follow from the one that decides:

* an invite that rings: the call's INSERT, the claim of both parties' lines (the decision: a
  line another invite took is not claimed) and the invite's ``call_events`` row;
* a step (a decline, a cancel, a hang-up, a timeout): the conditional UPDATE of the call
  (the decision: first one wins), the release of the lines a final status frees and the
  step's ``call_events`` row.

Each runs here as one statement, ``WITH`` the writes that follow, so they are the decision's
own: the release and the event row of a step are written only if its UPDATE changed the row
(they read its ``RETURNING``), in the same transaction and the same snapshot, and PostgreSQL
runs every sub-statement of a ``WITH`` to completion. What the caller learns is what it learned
before from the separate statements: whether the UPDATE won, how many lines were claimed.
SQLite keeps the separate statements (:mod:`server.db.calls`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import CTE, Insert, Select, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from server.db import direct
from server.db import statements as st
from server.db.pg_transaction import PgTransaction
from server.db.transaction import Db, Transaction

EVENT_COLUMNS = ("at", "event", "from_status", "to_status", "reason", "actor", "device")
"""A ``call_events`` row's values besides its call (given as ``ev_<name>``)."""


def applies(session: Db) -> bool:
    """Whether the session's database takes these statements (PostgreSQL)."""
    if isinstance(session, Transaction):
        return False  # (SQLite's)
    if isinstance(session, PgTransaction):
        return True
    bind = session.bind
    return bind is not None and bind.dialect.name == "postgresql"


def _logged(call_id: Any) -> Insert:
    """The ``call_events`` row of the call ``call_id`` (a column of a CTE: none, no row)."""
    values = [bindparam(f"ev_{name}", type_=st.EVENTS.c[name].type) for name in EVENT_COLUMNS]
    return insert(st.EVENTS).from_select(["call_id", *EVENT_COLUMNS], select(call_id, *values))


def _count(cte: CTE) -> Any:
    return select(func.count()).select_from(cte).scalar_subquery()


_STEPS: dict[tuple[tuple[str, ...], bool], direct.Prepared] = {}


def _step(columns: tuple[str, ...], release: bool) -> direct.Prepared:
    """The step's statement setting ``columns`` (``release``: and freeing the lines)."""
    found = _STEPS.get((columns, release))
    if found is not None:
        return found
    calls = st.CALLS.c
    moved = (
        update(st.CALLS)
        .where(calls.id == bindparam("call"), calls.status == bindparam("from_status"))
        .values({name: bindparam(f"new_{name}", type_=calls[name].type) for name in columns})
        .returning(calls.id)
        .cte("moved")
    )
    writes = [_logged(moved.c.id).cte("logged")]
    if release:
        users = st.USERS.c
        freed = (
            update(st.USERS)
            .where(
                users.id.in_(bindparam("ids", expanding=True)),
                users.active_call_id == bindparam("call"),
                select(moved.c.id).exists(),
            )
            .values(active_call_id=None)
            .cte("freed")
        )
        writes.append(freed)
    statement: Select[Any] = select(_count(moved)).add_cte(*writes)
    found = _STEPS[(columns, release)] = direct.Prepared(statement, lists=("ids",))
    return found


async def write_step(
    session: Db,
    *,
    call_id: str,
    from_status: str,
    changes: Mapping[str, Any],
    release: Sequence[str],
    event: Mapping[str, Any],
    alone: bool = False,
) -> bool:
    """``UPDATE calls SET changes WHERE id = :call_id AND status = :from_status``, and only if
    it changed the row, the lines of ``release`` that the call holds freed and the ``event``
    row written; whether it changed the row.

    ``alone``: the step writes nothing else; if the session began no transaction, the
    statement is its own (committed when it returns: BEGIN and COMMIT spared)."""
    params: dict[str, Any] = {f"new_{name}": value for name, value in changes.items()}
    params.update({f"ev_{name}": event[name] for name in EVENT_COLUMNS})
    params.update(call=call_id, from_status=from_status, ids=sorted(release))
    prepared = _step(tuple(sorted(changes)), bool(release))
    found = (await direct.execute(session, prepared, params, alone=alone)).first()
    return found is not None and found[0] == 1


_OPENINGS: dict[tuple[tuple[str, ...], bool], direct.Prepared] = {}


def _opening(columns: tuple[str, ...], claim: bool) -> direct.Prepared:
    """The invite's statement inserting a call of ``columns`` (``claim``: claiming lines)."""
    found = _OPENINGS.get((columns, claim))
    if found is not None:
        return found
    calls = st.CALLS.c
    made = (
        insert(st.CALLS)
        .values({name: bindparam(f"call_{name}", type_=calls[name].type) for name in columns})
        .returning(calls.id)
        .cte("made")
    )
    writes = [made, _logged(made.c.id).cte("logged")]
    claimed = None
    if claim:
        users = st.USERS.c
        claimed = (
            update(st.USERS)
            .where(users.id.in_(bindparam("ids", expanding=True)), users.active_call_id.is_(None))
            .values(active_call_id=bindparam("call_id", type_=users.active_call_id.type))
            .returning(users.id)
            .cte("claimed")
        )
        writes.append(claimed)
    counted = _count(claimed) if claimed is not None else _count(made)
    statement: Select[Any] = select(counted).add_cte(*writes)
    found = _OPENINGS[(columns, claim)] = direct.Prepared(statement, lists=("ids",))
    return found


async def open_call(
    session: Db,
    *,
    values: Mapping[str, Any],
    claim: Sequence[str],
    event: Mapping[str, Any],
) -> int | None:
    """INSERT the call of ``values`` with its ``event`` row, and claim the lines of ``claim``
    for it (those still free); how many lines it claimed, ``None`` (rolled back) when the call's
    ``request_id`` was used already. Fewer than asked: the caller rolls back."""
    params: dict[str, Any] = {f"call_{name}": value for name, value in values.items()}
    params.update({f"ev_{name}": event[name] for name in EVENT_COLUMNS})
    params.update(call_id=values["id"], ids=sorted(claim))
    prepared = _opening(tuple(sorted(values)), bool(claim))
    try:
        found = (await direct.execute(session, prepared, params)).first()
    except IntegrityError:
        await session.rollback()
        return None
    return int(found[0]) if found is not None else 0
