"""The hot path's knobs (issue 16): SQLite on the loop's thread, the collector's tuning and its
pause log. Real SQLite files; no server needed.

Specification:
- ``make_engine(url, sqlite_inline=True)`` runs every statement on the thread that awaits it
  (the loop's), and a commit is on disk for any other connection at once (WAL, as before);
  without ``sqlite_inline`` statements run on aiosqlite's worker thread.
- ``tune_gc(t0, freeze=True)`` leaves what existed frozen and the young threshold at ``t0``;
  ``tune_gc(0, freeze=False)`` changes nothing.
- ``slim_environ`` keeps of a connected socket's environ only what the transport reads later.
- ``GcPauses`` counts each collection and keeps the longest; ``take`` hands them over and
  starts afresh.
"""

from __future__ import annotations

import gc
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from server.db.engine import make_engine
from server.loopwatch import GcPauses, tune_gc
from server.sio.environ import slim_environ


async def _thread_of_statement(path: Path, *, inline: bool) -> int:
    engine = make_engine(f"sqlite+aiosqlite:///{path}", sqlite_inline=inline)
    seen: list[int] = []
    try:
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            sqlite_conn = raw.driver_connection._conn  # type: ignore[union-attr]
            sqlite_conn.create_function("who", 0, lambda: seen.append(threading.get_ident()) or 1)
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
            await conn.execute(text("INSERT INTO t SELECT who()"))
            await conn.commit()
    finally:
        await engine.dispose()
    return seen[0]


async def test_inline_statements_run_on_the_loops_thread_and_commit(tmp_path: Path) -> None:
    db = tmp_path / "inline.db"
    assert await _thread_of_statement(db, inline=True) == threading.get_ident()
    with sqlite3.connect(db) as other:  # committed: another connection sees the row
        assert other.execute("SELECT count(*) FROM t").fetchone() == (1,)


async def test_without_inline_statements_run_on_another_thread(tmp_path: Path) -> None:
    assert await _thread_of_statement(tmp_path / "thread.db", inline=False) != (
        threading.get_ident()
    )


@pytest.fixture
def gc_state() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


@pytest.mark.usefixtures("gc_state")
def test_tune_gc_freezes_and_sets_the_young_threshold() -> None:
    _, t1, t2 = gc.get_threshold()
    tune_gc(12_345, freeze=True)
    assert gc.get_threshold() == (12_345, t1, t2)
    assert gc.get_freeze_count() > 0


@pytest.mark.usefixtures("gc_state")
def test_tune_gc_off_changes_nothing() -> None:
    gc.unfreeze()
    before = gc.get_threshold()
    tune_gc(0, freeze=False)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_gc_pauses_are_counted_and_taken() -> None:
    pauses = GcPauses()
    gc.callbacks.append(pauses)
    try:
        gc.collect()
        gc.collect()
    finally:
        gc.callbacks.remove(pauses)
    worst, gen, count = pauses.take()
    assert count >= 2
    assert worst > 0
    assert gen == 2
    assert pauses.take() == (0.0, -1, 0)


def test_a_connected_sockets_environ_keeps_what_the_transport_reads_at_its_end() -> None:
    """Specification: of a connected socket's environ, the same dict keeps the request method
    and the ASGI scope, receive and send (python-engineio reads them when the websocket ends),
    nothing else (the ``HTTP_*`` copies of the headers, the body reader)."""
    scope: dict[str, Any] = {"type": "websocket"}
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "asgi.scope": scope,
        "asgi.receive": print,
        "asgi.send": print,
        "wsgi.input": object(),
        "HTTP_HOST": "127.0.0.1:8100",
        "QUERY_STRING": "EIO=4&transport=websocket",
    }
    same = environ
    slim_environ(environ)
    assert same is environ
    assert environ == {
        "REQUEST_METHOD": "GET",
        "asgi.scope": scope,
        "asgi.receive": print,
        "asgi.send": print,
    }
