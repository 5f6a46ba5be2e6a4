"""The hot path's statements on SQLite's own connection, past SQLAlchemy's execution layers.

A call set-up runs about ten statements; profiled, SQLAlchemy's own Python around each of them
(the session's execute, the greenlet hop, the compiled cache's lookup, the execution context's
parameter processing, the result's metadata) took more CPU than SQLite running them. A
:class:`Prepared` statement is the same Core statement compiled once by SQLAlchemy (its SQL text,
its bind and result type processors), and :func:`execute` runs it on the ``sqlite3`` connection
that the session's transaction holds, in that transaction: SQLAlchemy still opens, commits,
rolls back and closes the session, so nothing about transactions changes, only who turns the
parameters into a tuple and the rows back into values.

On the inline SQLite engine (:mod:`server.db.engine`: the connection is used on the loop's
thread anyway) every prepared statement runs on ``sqlite3``. On PostgreSQL it runs on the
asyncpg connection once that connection is in a transaction (asyncpg's own
``is_in_transaction``): SQLAlchemy's adapter begins the transaction lazily, at the first
statement it sends, so a session's first statement goes through SQLAlchemy and begins it, and
the next ones run in it; a statement that needs no transaction around it (``alone``: a
read, or a step's whole write in one statement) runs before any in its own implicit one.
Anywhere else (aiosqlite on its thread) :func:`execute` is ``session.execute`` of the same
statement.

In a direct :class:`~server.db.transaction.Transaction` (the inline engine's connection with no
session around it) every prepared statement runs on ``sqlite3``, and in a direct
:class:`~server.db.pg_transaction.PgTransaction` on asyncpg (in the transaction it begins before
a statement that is not ``alone``). A statement prepared ``sqlite_only`` runs through
``session.execute`` in a session on any database but SQLite: only the direct transactions'
paths take it past SQLAlchemy on PostgreSQL.

Binding: a statement's plan is built once per shape (once for a statement that is neither an
INSERT nor takes a list) and checked against SQLAlchemy's own binding of the first parameters;
a UTC datetime is bound for SQLite by three C methods (:func:`utc_text`) instead of the column
type's two processors, to the same text.
"""

from __future__ import annotations

import re
import sqlite3
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import CursorResult, Delete, Insert, Select, Update
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import SessionTransaction
from sqlalchemy.types import TypeEngine

from server.db.engine import InlineConnection
from server.db.pg_transaction import PgTransaction
from server.db.tables.base import UTCDateTime
from server.db.transaction import Db, Transaction

Processor = Callable[[Any], Any] | None
Row = tuple[Any, ...]
_DRIVER = "server.db.direct.driver"
"""``session.info`` key: the transaction the session held (a weak reference: the transaction
refers to its session, and a cycle would leave every session to the collector) and its
``sqlite3`` connection."""


@dataclass(frozen=True, slots=True)
class Rows:
    """What a statement returned: its rows (values as SQLAlchemy would give them: aware
    datetimes, booleans) and how many rows it changed."""

    rows: list[Row]
    rowcount: int

    def first(self) -> Row | None:
        return self.rows[0] if self.rows else None


@dataclass(slots=True)
class _Plan:
    """One statement as the driver runs it: its SQL, where each parameter takes its value from,
    and the processors of its result's columns (``None``: it returns no rows)."""

    sql: str
    sources: tuple[tuple[str, int, Any, Processor], ...]
    """Per parameter: its name, its index in a list parameter (-1: not a list), the value when
    the caller gives none (a column's scalar default), its bind processor."""
    types: tuple[TypeEngine[Any], ...] | None
    """The result's column types (``None``: it returns no rows)."""
    results: tuple[Processor, ...] | None = None
    """Their processors, once known (asyncpg's need the column's type as the server sent it)."""

    def resolve(self, dialect: Dialect, coltypes: Sequence[Any]) -> tuple[Processor, ...]:
        """The result processors, for the columns' types as the driver describes them."""
        if self.results is None:
            types = self.types or ()
            self.results = tuple(
                t.dialect_impl(dialect).result_processor(dialect, c)
                for t, c in zip(types, coltypes, strict=True)
            )
        return self.results

    def bind(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        out = []
        for name, index, default, process in self.sources:
            value = params.get(name, default) if index < 0 else params[name][index]
            out.append(_processed(process, value))
        return tuple(out)

    def rows(self, found: Sequence[Sequence[Any]], procs: tuple[Processor, ...]) -> list[Row]:
        return [tuple(_processed(p, v) for v, p in zip(r, procs, strict=True)) for r in found]


class Prepared:
    """A Core statement of the hot path, compiled once per shape for SQLite; an INSERT, UPDATE
    or DELETE returns rows when it has a ``RETURNING``.

    An INSERT's columns are the parameters each execution gives (a plan per set of them, so
    that a value is never left out); ``lists``: the names of its expanding ``IN`` parameters (a
    plan per number of items); any other statement has one shape, and one plan per dialect.
    ``sqlite_only``: in a session on another database it goes through ``session.execute``."""

    def __init__(
        self,
        statement: Select[Any] | Insert | Update | Delete,
        *,
        lists: Sequence[str] = (),
        sqlite_only: bool = False,
    ) -> None:
        self.statement = statement
        self.sqlite_only = sqlite_only
        self._insert = isinstance(statement, Insert)
        self._lists = tuple(lists)
        self._fixed = not self._insert and not self._lists
        self._plans: dict[Any, _Plan] = {}

    def plan(self, dialect: Dialect, params: Mapping[str, Any]) -> _Plan:
        if self._fixed:  # one shape: its plan per dialect, no key to build
            shape: Any = type(dialect)
        else:
            lengths = tuple(len(params[name]) for name in self._lists)
            shape = (type(dialect), tuple(params) if self._insert else (), lengths)
        found = self._plans.get(shape)
        if found is None:
            found = self._plans[shape] = self._build(dialect, params)
        return found

    def _build(self, dialect: Dialect, params: Mapping[str, Any]) -> _Plan:
        columns = list(params) if self._insert else None
        compiled = self.statement.compile(dialect=dialect, column_keys=columns)
        if compiled.insert_prefetch or compiled.update_prefetch:
            raise ValueError("a column default computed in Python: not for the direct path")
        state = compiled.construct_expanded_state(dict(params))
        if state.positiontup is None:
            raise ValueError("the dialect's parameters are not positional")
        listed = re.compile(rf"({'|'.join(map(re.escape, self._lists)) or '(?!)'})_(\d+)")
        sources, theirs = [], []
        for name in state.positiontup:
            m = None if name in params else listed.fullmatch(name)
            base, index = (m.group(1), int(m.group(2)) - 1) if m else (name, -1)
            default = None if name in params or m else state.parameters[name]
            bind_type = compiled.binds[base].type
            process: Processor = bind_type.dialect_impl(dialect).bind_processor(dialect)
            theirs.append(_processed(process, state.parameters[name]))
            if isinstance(bind_type, UTCDateTime) and dialect.name == "sqlite":
                process = utc_text
            sources.append((base, index, default, process))
        statement = self.statement
        returned = (
            statement.selected_columns
            if isinstance(statement, Select)
            else statement.exported_columns
        )  # (an INSERT's, UPDATE's or DELETE's: its RETURNING, if any)
        types = tuple(c.type for c in returned) or None
        plan = _Plan(state.statement, tuple(sources), types)
        if plan.bind(params) != tuple(theirs):
            raise ValueError("parameters not bound as SQLAlchemy binds them")
        return plan


def utc_text(value: datetime) -> str:
    """An aware datetime as SQLite stores a :class:`~server.db.tables.base.UTCDateTime`: naive
    UTC, ``YYYY-MM-DD HH:MM:SS.ffffff`` (what its ``process_bind_param`` and SQLAlchemy's SQLite
    ``DATETIME`` processor make of it, by three C methods and no string formatting)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _processed(process: Processor, value: Any) -> Any:
    return value if process is None or value is None else process(value)


Driver = Any
"""A ``sqlite3.Connection`` or an ``asyncpg.Connection`` (asyncpg has no type hints)."""


async def driver(session: AsyncSession) -> Driver | None:
    """The ``sqlite3`` (inline engine) or asyncpg connection of the session's transaction (begun
    here if none is), or ``None`` when statements must go through SQLAlchemy."""
    tx: SessionTransaction | None = session.sync_session.get_transaction()
    held = session.info.get(_DRIVER)
    if held is not None and tx is not None and held[0]() is tx:
        conn: Driver | None = held[1]
        return conn
    if _dialect(session).name not in ("sqlite", "postgresql"):
        return None
    connection = await session.connection()  # the transaction's (a new one: its begin)
    found = connection.sync_connection.connection.driver_connection  # type: ignore[union-attr]
    if isinstance(found, InlineConnection):
        conn = found._connection
    else:
        conn = found if isinstance(found, asyncpg.Connection) else None
    session.info[_DRIVER] = (weakref.ref(session.sync_session.get_transaction()), conn)
    return conn


def _dialect(session: AsyncSession) -> Dialect:
    bind = session.bind
    if bind is None:
        raise RuntimeError("a session without an engine")
    return bind.dialect


async def execute(
    session: Db, prepared: Prepared, params: Mapping[str, Any], *, alone: bool = False
) -> Rows:
    """Run ``prepared`` with ``params`` in the transaction (a direct one, or the session's);
    its rows and rowcount. A constraint violated is :class:`sqlalchemy.exc.IntegrityError`
    either way.

    ``alone``: a statement that needs no transaction around it: a read (under READ
    COMMITTED a single statement sees what it would see first inside one), or a step's whole
    write in one statement. On PostgreSQL, when the session has begun no transaction yet, it
    runs in its own implicit one (committed when it returns), which spares the BEGIN and the
    COMMIT or ROLLBACK; in a transaction begun already it runs in that.
    """
    if isinstance(session, Transaction):
        return _on_sqlite(session.connection, session.dialect, prepared, params)
    if isinstance(session, PgTransaction):
        conn, dialect = await session.ready(alone=alone), session.dialect
        return await _on_asyncpg(conn, dialect, prepared.plan(dialect, params), params)
    if session.new or session.dirty or session.deleted:
        await session.flush()  # as session.execute's autoflush would: the ORM's writes first
    conn = await driver(session)
    if isinstance(conn, sqlite3.Connection):
        return _on_sqlite(conn, _dialect(session), prepared, params)
    if conn is not None and not prepared.sqlite_only and (alone or conn.is_in_transaction()):
        dialect = _dialect(session)
        return await _on_asyncpg(conn, dialect, prepared.plan(dialect, params), params)
    result = cast(CursorResult[Any], await session.execute(prepared.statement, dict(params)))
    rows = [tuple(r) for r in result.all()] if result.returns_rows else []
    return Rows(rows, result.rowcount)


def _on_sqlite(
    conn: sqlite3.Connection, dialect: Dialect, prepared: Prepared, params: Mapping[str, Any]
) -> Rows:
    plan = prepared.plan(dialect, params)
    try:
        cursor = conn.execute(plan.sql, plan.bind(params))
    except sqlite3.IntegrityError as exc:
        raise IntegrityError(plan.sql, dict(params), exc) from exc
    if plan.types is None:
        return Rows([], cursor.rowcount)
    procs = plan.resolve(dialect, [None] * len(plan.types))
    return Rows(plan.rows(cursor.fetchall(), procs), cursor.rowcount)


async def _on_asyncpg(
    conn: Driver, dialect: Dialect, plan: _Plan, params: Mapping[str, Any]
) -> Rows:
    args = plan.bind(params)
    try:
        if plan.types is None:
            status = await conn.execute(plan.sql, *args)  # "UPDATE 2", "INSERT 0 1"
            return Rows([], int(status.rsplit(" ", 1)[-1]))
        procs = plan.results
        if procs is None:  # once: the columns' types as PostgreSQL describes them
            described = (await conn.prepare(plan.sql)).get_attributes()
            procs = plan.resolve(dialect, [a.type.oid for a in described])
        records = await conn.fetch(plan.sql, *args)
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise IntegrityError(plan.sql, dict(params), exc) from exc
    rows = plan.rows(records, procs)
    return Rows(rows, len(rows))
