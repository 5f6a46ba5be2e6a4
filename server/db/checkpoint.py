"""WAL checkpoints of the server's SQLite file on a thread of their own, not inside a COMMIT.

In WAL mode a COMMIT appends the pages it changed to the ``-wal`` file; a checkpoint copies
them back into the database file, with an fsync of the WAL before and of the database after
(``synchronous=NORMAL``). By default SQLite runs one inside whichever COMMIT takes the WAL past
1,000 pages; on the inline engine (:mod:`server.db.engine`) that COMMIT is on the event loop,
which then waits for the copy and both fsyncs: every 50 call set-ups or so, a stall of
milliseconds (docs/benchmarks.md, "sqlite3's own cost per set-up").

So the engine's connections checkpoint by themselves only past
:data:`server.db.engine.WAL_AUTOCHECKPOINT_PAGES` (a bound on the WAL for when no
:class:`Checkpointer` runs: the CLI, or this one stuck on a slow disk), and the server runs a
:class:`Checkpointer`: a PASSIVE checkpoint every :data:`PERIOD_S` of its clock, on one thread
with a connection of its own. A PASSIVE checkpoint takes no lock the writer needs, so neither
waits for the other: COMMITs append while it copies what was committed before it began. The
WAL starts again from its beginning only at a write that finds all of it copied, and under load
a COMMIT lands during nearly every checkpoint; so a checkpoint goes on for a few more rounds
while each finds frames appended since the last (each is shorter than the one before).

Durability does not change: a COMMIT returns once its pages are written to the WAL, so a
kill -9 of the process loses nothing committed; a checkpoint only moves committed pages.
"""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy.engine import make_url

PERIOD_S = 0.1
"""How often the server checkpoints (seconds of its clock). At 400 set-ups/s about 800 WAL
frames (3 MB) come in between; a checkpoint's work grows with the distinct pages, fewer."""
MORE_ROUNDS = 4
"""Checkpoints run again at most this many times in a row while COMMITs keep appending. At 400
set-ups/s with 4 the WAL started again about every 80 set-ups but still reached the 10,000-page
bound at times (with 16 at most 3,200 pages, but each round's fsyncs cost the process CPU: more
per set-up end to end than with 4; docs/benchmarks.md)."""
THREAD_NAME = "sqlite-checkpoint"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """What one ``PRAGMA wal_checkpoint(PASSIVE)`` reported."""

    busy: bool
    """Another checkpoint was running (nothing done)."""
    wal_frames: int
    """Frames in the WAL (-1: the database is not in WAL mode)."""
    copied: int
    """Of those, how many are in the database file now."""


class Checkpointer:
    """PASSIVE checkpoints of one SQLite file, each run on this object's own thread with its own
    connection (opened there at the first one); :meth:`aclose` closes both."""

    def __init__(self, database: str, *, more_rounds: int = MORE_ROUNDS) -> None:
        self.database = database
        self.more_rounds = more_rounds
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=THREAD_NAME)
        self._conn: sqlite3.Connection | None = None  # used on self._thread only
        self._closed = False

    @classmethod
    def for_url(cls, url: str) -> Checkpointer | None:
        """A checkpointer for the SQLite file of ``url``; ``None`` for another database or one
        in memory."""
        parsed = make_url(url)
        if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
            return None
        if parsed.query.get("uri") or parsed.database.startswith("file:"):
            return None  # a URI filename (in memory, shared cache...): its COMMITs checkpoint
        return cls(parsed.database)

    async def checkpoint(self) -> Checkpoint:
        """PASSIVE checkpoints on the thread until one finds nothing appended since the one
        before (at most ``1 + more_rounds``); the last one's report. The loop only waits for
        it."""
        if self._closed:
            raise RuntimeError("checkpointer closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._checkpoint)

    def _checkpoint(self) -> Checkpoint:
        if self._conn is None:
            # autocommit: a PRAGMA needs no transaction, and none must stay open to hold the
            # WAL back from starting again
            self._conn = sqlite3.connect(self.database, isolation_level=None)
        conn = self._conn
        # (the module's docstring: rounds, so that the WAL can start again under load)
        done = _round(conn)
        for _ in range(self.more_rounds):
            if done.busy or done.copied < done.wal_frames:
                break  # another checkpointer, or a reader holds frames back: next period
            again = _round(conn)
            if again.wal_frames == done.wal_frames:
                return again  # nothing appended meanwhile: all of it copied
            done = again
        return done

    async def aclose(self) -> None:
        """Close the connection on its thread (after a checkpoint in flight, if any) and end
        the thread. Idempotent."""
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._thread, self._close)
        finally:
            self._thread.shutdown(wait=True)  # idle by now: returns at once

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _round(conn: sqlite3.Connection) -> Checkpoint:
    # to its end (fetchall): a statement left on its row could hold a read lock
    ((busy, frames, copied),) = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    return Checkpoint(busy=bool(busy), wal_frames=int(frames), copied=int(copied))
