"""WAL checkpoints off the event loop (:mod:`server.db.checkpoint`). Real SQLite files, a real
process killed with SIGKILL, and a real server.

Specification:
- The engine's connections do not checkpoint inside a COMMIT until the WAL holds
  ``WAL_AUTOCHECKPOINT_PAGES`` pages: after 1,500 pages of commits the WAL holds them all
  (SQLite's default would have copied them back at 1,000 and started the WAL again).
- ``Checkpointer.checkpoint()`` copies every committed page into the database file, on a thread
  named ``sqlite-checkpoint`` with its own connection, while the engine goes on committing;
  the engine's next write then starts the WAL from its beginning. ``aclose()`` closes that
  connection and ends the thread; a checkpoint after it is an error; a second ``aclose()``
  does nothing. Only SQLite files get one.
- Durability is unchanged: every row whose COMMIT returned is there after a SIGKILL of the
  process that wrote it, with no checkpoint run.
- The server checkpoints while it serves: what another connection committed is copied into
  the database file by the server's own checkpoints, none of which fails; stopped (SIGTERM),
  it shuts down with its connections closed (the last one removes the WAL).
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from server.db.checkpoint import THREAD_NAME, Checkpointer
from server.db.engine import make_engine
from tests.support.servers import CallServer, stop_process

FRAME = 4096 + 24
"""A WAL frame: a page and its header (the default page size)."""
BLOB = 3 * 4096
"""A row that fills about three pages."""


def _wal_bytes(db: Path) -> int:
    return Path(f"{db}-wal").stat().st_size


def _checkpoint_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(THREAD_NAME)]


async def _write(url: str, commits: int) -> None:
    """``commits`` transactions of one big row each, through the inline engine."""
    engine = make_engine(url, sqlite_inline=True)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("CREATE TABLE IF NOT EXISTS t (b BLOB)"))
            await conn.commit()
            for _ in range(commits):
                await conn.execute(text("INSERT INTO t VALUES (randomblob(:n))"), {"n": BLOB})
                await conn.commit()
    finally:
        await engine.dispose()


async def test_commits_leave_the_wal_to_the_checkpointer(tmp_path: Path) -> None:
    db = tmp_path / "ckpt.db"
    url = f"sqlite+aiosqlite:///{db}"
    engine = make_engine(url, sqlite_inline=True)
    checkpointer = Checkpointer.for_url(url)
    assert checkpointer is not None
    try:
        async with engine.connect() as conn:
            await conn.execute(text("CREATE TABLE t (b BLOB)"))
            await conn.commit()
            for _ in range(500):  # about 1,500 pages
                await conn.execute(text("INSERT INTO t VALUES (randomblob(:n))"), {"n": BLOB})
                await conn.commit()
            assert _wal_bytes(db) > 1400 * FRAME  # no checkpoint inside a COMMIT started it again

            done = await checkpointer.checkpoint()
            assert done.wal_frames > 1400
            assert (done.busy, done.copied) == (False, done.wal_frames)
            assert len(_checkpoint_threads()) == 1

            # the engine commits while the thread checkpoints; the WAL starts again after
            running = asyncio.ensure_future(checkpointer.checkpoint())
            await conn.execute(text("INSERT INTO t VALUES (1)"))
            await conn.commit()
            await running
            await conn.execute(text("INSERT INTO t VALUES (2)"))
            await conn.commit()
            after = await checkpointer.checkpoint()
            assert 0 < after.wal_frames < 10
            assert after.copied == after.wal_frames
    finally:
        await checkpointer.aclose()
        await engine.dispose()
    assert _checkpoint_threads() == []
    with pytest.raises(RuntimeError):
        await checkpointer.checkpoint()
    await checkpointer.aclose()
    with sqlite3.connect(db) as other:
        assert other.execute("SELECT count(*) FROM t").fetchone() == (502,)


def test_only_sqlite_files_get_a_checkpointer() -> None:
    assert Checkpointer.for_url("sqlite+aiosqlite:///:memory:") is None
    assert Checkpointer.for_url("postgresql+asyncpg://u:p@127.0.0.1/db") is None
    found = Checkpointer.for_url("sqlite+aiosqlite:////tmp/some/voip.db")
    assert found is not None
    assert found.database == "/tmp/some/voip.db"


_WRITER = """
import asyncio, sys
from sqlalchemy import text
from server.db.engine import make_engine

async def main() -> None:
    engine = make_engine(sys.argv[1], sqlite_inline=True)
    async with engine.connect() as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER, b BLOB)"))
        await conn.commit()
        for n in range(1, 601):
            await conn.execute(text("INSERT INTO t VALUES (:n, randomblob(4000))"), {"n": n})
            await conn.commit()
        print("committed", flush=True)
        await asyncio.sleep(3600)

asyncio.run(main())
"""


def test_a_kill_9_loses_nothing_committed(tmp_path: Path) -> None:
    db = tmp_path / "killed.db"
    argv = [sys.executable, "-c", _WRITER, f"sqlite+aiosqlite:///{db}"]
    with subprocess.Popen(argv, stdout=subprocess.PIPE) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline() == b"committed\n"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
    assert Path(f"{db}-wal").stat().st_size > 600 * FRAME  # all of it still in the WAL only
    with sqlite3.connect(db) as other:
        assert other.execute("SELECT count(*), max(n) FROM t").fetchone() == (600, 600)


def _wal_index(db: Path) -> tuple[int, int]:
    """``(mxFrame, nBackfill)`` from the WAL index (``-shm``): frames in the WAL, and how many
    of them a checkpoint copied (https://sqlite.org/walformat.html)."""
    head = Path(f"{db}-shm").read_bytes()[:136]
    return struct.unpack_from("=I", head, 16)[0], struct.unpack_from("=I", head, 96)[0]


def test_the_server_checkpoints_while_serving_and_closes_at_stop(tmp_path: Path) -> None:
    db = tmp_path / "voip.db"
    with CallServer.start(tmp_path) as server:
        asyncio.run(_write(f"sqlite+aiosqlite:///{db}", 20))  # another connection's commits
        frames, copied = _wal_index(db)
        deadline = time.monotonic() + 10
        while copied < frames and time.monotonic() < deadline:
            time.sleep(0.05)
            frames, copied = _wal_index(db)
        assert frames > 0
        assert copied == frames  # below the engine's own threshold: the server's checkpoints
        assert server.proc is not None
        stop_process(server.proc)
        log = server.log()
    assert "Application shutdown complete." in log
    assert "wal checkpoint" not in log  # no checkpoint failed
    assert not Path(f"{db}-wal").exists()
