"""The call server's py-spy samples by part: the floor's transport groups, then ours.

A sample goes to the innermost frame of a known part above the loop's runner, as in
:mod:`bench.floor_profile`, with four rules for what that frame alone would misname:

- **sqlite3**: SQLite's own C shows as the Python line that called it: the inline engine's
  ``InlineConnection._execute`` (every statement, fetch, commit and rollback SQLAlchemy sends)
  and the lines of :func:`server.db.direct.execute` that call ``sqlite3``, and a direct
  transaction's ``commit`` and ``rollback`` (:mod:`server.db.transaction`).
- **SQLAlchemy** (with greenlet and aiosqlite's adapter): *session lifecycle* when the outermost
  SQLAlchemy call our code made opens, begins, commits, rolls back or closes a session or takes
  its connection (``AsyncSession.connection``: the checkout and the ``BEGIN``); *statement
  execution* otherwise (``execute``, ``scalar``, ``flush``, the type processors); *ORM objects*
  when our code builds or reads a mapped row (``CallRow(**values)``, ``row.status``). SQLAlchemy
  called by :mod:`server.db.direct`'s plans (bind and result processors) is ``direct.py``'s.
  The pool's checkout and return of a direct transaction's connection are its lifecycle too.
  A sample with no Python frame at all (none in the floor) is counted apart: by elimination,
  the greenlet switches of SQLAlchemy's async layer.
- other threads (aiosqlite's worker, :mod:`bench.gc_clock`'s) are their own rows.
- **json / logging** (the standard library) belong to the transport package that called them
  (Socket.IO encodes every packet with ``json``); called by our code they are their own group.
- our modules: ``server/calls/*`` and ``server/sio/*`` by module, ``server/db/direct.py``, the
  other statement modules of ``server/db`` together, the webhook and push outboxes together.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNNER = ("asyncio/runners.py", "uvicorn/server.py", "uvicorn/_compat.py")
LOOP_C, STDLIB = "event loop (uvloop's C: I/O, callbacks)", "asyncio / stdlib Python"
SQLITE = "sqlite3 (C: statements, commits)"
SA_LIFE = "SQLAlchemy: session lifecycle (begin/commit/close, checkout, greenlet)"
SA_EXEC = "SQLAlchemy: statement execution"
SA_ORM = "SQLAlchemy: ORM objects (CallRow built, its attributes)"
NO_FRAME = "no Python frame (greenlet switches: none in the floor)"
THREADS = (
    ("aiosqlite/", "other thread: aiosqlite's worker (waits on its queue)"),
    ("bench/gc_clock.py", "other thread: the profile's gc clock"),
)
JSON, LOGGING = "json (ours: payload size check)", "logging (ours)"
DIRECT = "server/db/direct.py"
TRANSACTION = "server/db/transaction.py"
TRANSPORT = (
    ("JWT (PyJWT, hmac)", ("jwt/",)),
    ("python-socketio", ("socketio/",)),
    ("python-engineio", ("engineio/",)),
    ("websockets / wsproto / h11", ("websockets/", "wsproto/", "h11/")),
    ("uvicorn", ("uvicorn/",)),
    ("the floor's handlers", ("bench/floor_server.py",)),
)
OURS = (
    ("pydantic (validation, model_dump)", ("pydantic/", "pydantic_core/", "voip_contract/")),
    ("webhooks / push outbox", ("server/webhooks/", "server/push/", "server/db/webhooks.py")),
    ("webhooks / push outbox", ("server/db/push.py", "server/db/push_statements.py")),
    (DIRECT, (DIRECT,)),
    ("server/db: other statement modules", ("server/db/",)),
    ("server/calls/", ("server/calls/",)),  # by module: see group_of
    ("server/sio/", ("server/sio/",)),
    ("server: other (auth, callstate, clock, ...)", ("server/",)),
)
SQLALCHEMY = ("sqlalchemy/", "greenlet/", "aiosqlite/")
LIFECYCLE = re.compile(
    r"(?:^|\.)(commit|close|rollback|connection|begin|__aenter__|__aexit__|__call__|"
    r"_connection_for_bind|get_transaction|_close_impl|invalidate)$"
)
"""The session's calls that are its lifecycle, not a statement."""
ORM_OBJECT = re.compile(
    r"^(InstanceState|InstrumentedAttribute|ClassManager|set_committed_value|_declarative_)"
)
"""Our code making or reading a mapped object (``CallRow(**values)``, ``row.status``)."""


def _sqlite_lines() -> frozenset[int]:
    """The lines of ``server/db/direct.py`` that call ``sqlite3`` itself."""
    text = (ROOT / DIRECT).read_text().splitlines()
    return frozenset(
        i + 1
        for i, line in enumerate(text)
        if "cursor = conn.execute(plan.sql" in line or "fetchall()" in line
    )


SQLITE_LINES = _sqlite_lines()


def where(frame: str) -> tuple[str, str, int]:
    """``(function, path, line)`` of py-spy's ``function (file:line)``; the path under
    ``site-packages`` or the standard library's folder when it is there."""
    function, _, rest = frame.rpartition(" (")
    file, _, line = rest.rstrip(")").rpartition(":")
    for cut in ("site-packages/", "/lib/python3"):
        if cut in file:
            file = file.split(cut, 1)[1]
            file = file.split("/", 1)[1] if cut.startswith("/lib") else file
    return function, file, int(line) if line.isdigit() else 0


def _part(frame: str) -> str | None:
    """The part one frame belongs to by its file (``None``: none known)."""
    function, file, line = where(frame)
    if file.endswith("server/db/engine.py") and function.endswith("_execute"):
        return SQLITE
    if file.endswith(DIRECT) and line in SQLITE_LINES:
        return SQLITE
    if file.endswith(TRANSACTION) and function.endswith(("Transaction.commit", ".rollback")):
        return SQLITE
    if file.startswith(SQLALCHEMY):
        return "sqlalchemy"
    if file.startswith(("json/", "logging/")):
        return file.split("/", 1)[0]
    for name, marks in (*TRANSPORT, *OURS):
        if any(file.startswith(m) or file.endswith(m) for m in marks):
            if name.endswith("/"):  # by module
                return file[file.index(name) :].removesuffix(".py")
            return name
    return None


def _sqlalchemy(above: list[str], first: int, outer: str | None) -> str:
    """SQLAlchemy's sample (its frames from ``first`` in): direct.py's, a session's lifecycle
    or a statement's execution, by the call our code made into it (``outer``: its part)."""
    if outer == DIRECT and not where(above[first - 1])[0].endswith(("driver", "execute")):
        return DIRECT
    if where(above[first - 1])[1].endswith(TRANSACTION):  # the pool, for a direct transaction
        return SA_LIFE
    for frame in above[first:]:
        if _part(frame) != "sqlalchemy":
            break
        function = where(frame)[0]
        if frame is above[first] and ORM_OBJECT.search(function):
            return SA_ORM
        if LIFECYCLE.search(function):
            return SA_LIFE
        if function.rpartition(".")[2] in ("execute", "scalar", "scalars", "flush", "get"):
            return SA_EXEC
    return SA_LIFE if "greenlet" in where(above[first])[1] else SA_EXEC


def group_of(stack: list[str]) -> str:
    """The part of one sample's stack (root first, ``function (file:line)`` frames)."""
    if not stack:
        return NO_FRAME
    if where(stack[0])[1].startswith("threading.py"):
        files = [where(f)[1] for f in stack]
        return next((n for m, n in THREADS if any(f.startswith(m) for f in files)), STDLIB)
    start = max((i + 1 for i, f in enumerate(stack) if where(f)[1].startswith(RUNNER)), default=0)
    above = stack[start:]
    parts = [_part(f) for f in above]
    known = [i for i, p in enumerate(parts) if p is not None]
    if not known:
        return STDLIB if above else LOOP_C
    inner = known[-1]
    part = parts[inner]
    if part in ("json", "logging"):
        outer = next(
            (parts[i] for i in reversed(known) if parts[i] not in ("json", "logging")), None
        )
        if outer is not None and outer in dict(TRANSPORT):
            return outer
        return JSON if part == "json" else LOGGING
    if part == "sqlalchemy":
        first = inner
        while first > 0 and parts[first - 1] in ("sqlalchemy", None):
            first -= 1
        while parts[first] != "sqlalchemy":
            first += 1
        outer = parts[first - 1] if first > 0 else None
        return _sqlalchemy(above, first, outer)
    assert part is not None
    return part
