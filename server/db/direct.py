"""The hot path's statements on SQLite's own connection, past SQLAlchemy's execution layers.

A call set-up runs about ten statements; profiled, SQLAlchemy's own Python around each of them
(the session's execute, the greenlet hop, the compiled cache's lookup, the execution context's
parameter processing, the result's metadata) took more CPU than SQLite running them. A
:class:`Prepared` statement is the same Core statement compiled once by SQLAlchemy (its SQL text,
its bind and result type processors), and :func:`execute` runs it on the ``sqlite3`` connection
that the session's transaction holds, in that transaction: SQLAlchemy still opens, commits,
rolls back and closes the session, so nothing about transactions changes, only who turns the
parameters into a tuple and the rows back into values.

Only for the inline SQLite engine (:mod:`server.db.engine`: the connection is used on the
loop's thread anyway); anywhere else (PostgreSQL, aiosqlite on its thread) :func:`execute` is
``session.execute`` of the same statement.
"""

from __future__ import annotations

import re
import sqlite3
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Insert, Select, Update
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import SessionTransaction

from server.db.engine import InlineConnection

Processor = Callable[[Any], Any] | None
_DRIVER = "server.db.direct.driver"
"""``session.info`` key: the transaction the session held (a weak reference: the transaction
refers to its session, and a cycle would leave every session to the collector) and its
``sqlite3`` connection."""


@dataclass(frozen=True, slots=True)
class Rows:
    """What a statement returned: its rows (values as SQLAlchemy would give them: aware
    datetimes, booleans) and how many rows it changed."""

    rows: list[tuple[Any, ...]]
    rowcount: int

    def first(self) -> tuple[Any, ...] | None:
        return self.rows[0] if self.rows else None


@dataclass(frozen=True, slots=True)
class _Plan:
    """One statement as SQLite runs it: its SQL, where each ``?`` takes its value from, and the
    processors of its result's columns (``None``: it returns no rows)."""

    sql: str
    sources: tuple[tuple[str, int, Any, Processor], ...]
    """Per ``?``: the parameter's name, its index in a list parameter (-1: not a list), the
    value when the caller gives none (a column's scalar default), its bind processor."""
    results: tuple[Processor, ...] | None

    def bind(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        out = []
        for name, index, default, process in self.sources:
            value = params.get(name, default) if index < 0 else params[name][index]
            out.append(value if process is None or value is None else process(value))
        return tuple(out)

    def rows(self, cursor: sqlite3.Cursor) -> list[tuple[Any, ...]]:
        if self.results is None:
            return []
        procs = self.results
        return [
            tuple(v if p is None or v is None else p(v) for v, p in zip(r, procs, strict=True))
            for r in cursor.fetchall()
        ]


class Prepared:
    """A Core statement of the hot path, compiled once per shape for SQLite.

    ``columns``: an INSERT's columns (the parameters every execution gives); ``lists``: the
    names of its expanding ``IN`` parameters (a plan per number of items)."""

    def __init__(
        self,
        statement: Select[Any] | Insert | Update,
        *,
        columns: Sequence[str] = (),
        lists: Sequence[str] = (),
    ) -> None:
        self.statement = statement
        self._columns = list(columns) or None
        self._lists = tuple(lists)
        self._plans: dict[tuple[int, ...], _Plan] = {}

    def plan(self, dialect: Dialect, params: Mapping[str, Any]) -> _Plan:
        shape = tuple(len(params[name]) for name in self._lists)
        found = self._plans.get(shape)
        if found is None:
            found = self._plans[shape] = self._build(dialect, params)
        return found

    def _build(self, dialect: Dialect, params: Mapping[str, Any]) -> _Plan:
        compiled = self.statement.compile(dialect=dialect, column_keys=self._columns)
        if compiled.insert_prefetch or compiled.update_prefetch:
            raise ValueError("a column default computed in Python: not for the direct path")
        state = compiled.construct_expanded_state(dict(params))
        if state.positiontup is None:
            raise ValueError("the dialect's parameters are not positional")
        listed = re.compile(rf"({'|'.join(map(re.escape, self._lists)) or '(?!)'})_(\d+)")
        sources = []
        for name in state.positiontup:
            m = None if name in params else listed.fullmatch(name)
            base, index = (m.group(1), int(m.group(2)) - 1) if m else (name, -1)
            default = None if name in params or m else state.parameters[name]
            bind_type = compiled.binds[base].type
            process = bind_type.dialect_impl(dialect).bind_processor(dialect)
            sources.append((base, index, default, process))
        plan = _Plan(state.statement, tuple(sources), self._result_processors(dialect))
        if plan.bind(params) != tuple(
            _processed(sources[i][3], state.parameters[n]) for i, n in enumerate(state.positiontup)
        ):
            raise ValueError("parameters not bound as SQLAlchemy binds them")
        return plan

    def _result_processors(self, dialect: Dialect) -> tuple[Processor, ...] | None:
        if not isinstance(self.statement, Select):
            return None  # (no RETURNING on this path)
        return tuple(
            c.type.dialect_impl(dialect).result_processor(dialect, None)
            for c in self.statement.selected_columns
        )


def _processed(process: Processor, value: Any) -> Any:
    return value if process is None or value is None else process(value)


async def driver(session: AsyncSession) -> sqlite3.Connection | None:
    """The ``sqlite3`` connection of the session's transaction (begun here if none is), or
    ``None`` when the engine is not the inline SQLite one."""
    tx: SessionTransaction | None = session.sync_session.get_transaction()
    held = session.info.get(_DRIVER)
    if held is not None and tx is not None and held[0]() is tx:
        conn: sqlite3.Connection | None = held[1]
        return conn
    if _dialect(session).name != "sqlite":
        return None
    connection = await session.connection()  # the transaction's (a new one: its begin)
    found = connection.sync_connection.connection.driver_connection  # type: ignore[union-attr]
    conn = found._connection if isinstance(found, InlineConnection) else None
    session.info[_DRIVER] = (weakref.ref(session.sync_session.get_transaction()), conn)
    return conn


def _dialect(session: AsyncSession) -> Dialect:
    bind = session.bind
    if bind is None:
        raise RuntimeError("a session without an engine")
    return bind.dialect


async def execute(session: AsyncSession, prepared: Prepared, params: Mapping[str, Any]) -> Rows:
    """Run ``prepared`` with ``params`` in the session's transaction; its rows and rowcount.
    A constraint violated is :class:`sqlalchemy.exc.IntegrityError` either way."""
    conn = await driver(session)
    if conn is None:
        result = cast(CursorResult[Any], await session.execute(prepared.statement, dict(params)))
        rows = [tuple(r) for r in result.all()] if result.returns_rows else []
        return Rows(rows, result.rowcount)
    plan = prepared.plan(_dialect(session), params)
    try:
        cursor = conn.execute(plan.sql, plan.bind(params))
    except sqlite3.IntegrityError as exc:
        raise IntegrityError(plan.sql, dict(params), exc) from exc
    return Rows(plan.rows(cursor), cursor.rowcount)
