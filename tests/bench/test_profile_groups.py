"""``bench.profile_groups``: our server's py-spy samples by part, against its specification:
SQLite's C is the line that called it; SQLAlchemy is a session's lifecycle or a statement's
execution by the call our code made into it (its processors under ``server/db/direct.py``'s
plans are direct.py's); json and logging belong to the transport package that called them, or
else are their own; our modules go by module."""

from __future__ import annotations

from bench import profile_groups as g

ROOT = [
    "main (server/cli.py:111)",
    "run (uvicorn/server.py:67)",
    "run (/root/.pyenv/versions/3.11.7/lib/python3.11/asyncio/runners.py:118)",
]
SIO = "trigger_event (socketio/async_namespace.py:40)"
HANDLE = "CallNamespace._handle (server/sio/namespace.py:160)"


def direct(function: str, line: int) -> str:
    return f"{function} (server/db/direct.py:{line})"


def test_sqlite_is_the_line_that_called_it() -> None:
    line = min(g.SQLITE_LINES)
    assert g.group_of([*ROOT, SIO, HANDLE, direct("execute", line)]) == g.SQLITE
    commit = [
        "AsyncSession.commit (sqlalchemy/ext/asyncio/session.py:1000)",
        "greenlet_spawn (sqlalchemy/util/_concurrency_py3k.py:190)",
        "Session.commit (sqlalchemy/orm/session.py:2000)",
        "InlineConnection._execute (server/db/engine.py:37)",
    ]
    assert g.group_of([*ROOT, SIO, HANDLE, *commit]) == g.SQLITE
    assert g.group_of([*ROOT, SIO, HANDLE, *commit[:-1]]) == g.SA_LIFE


def test_sqlalchemy_by_the_call_our_code_made() -> None:
    select = [
        "AsyncSession.execute (sqlalchemy/ext/asyncio/session.py:400)",
        "Session.execute (sqlalchemy/orm/session.py:2300)",
        "DefaultExecutionContext._init_compiled (sqlalchemy/engine/default.py:1300)",
    ]
    assert g.group_of([*ROOT, HANDLE, "load (server/db/calls.py:50)", *select]) == g.SA_EXEC
    checkout = ["AsyncSession.connection (sqlalchemy/ext/asyncio/session.py:900)"]
    checkout += ["_ConnectionFairy._checkout (sqlalchemy/pool/base.py:1200)"]
    assert (
        g.group_of([*ROOT, direct("execute", 200), direct("driver", 180), *checkout]) == g.SA_LIFE
    )
    process = "process (sqlalchemy/sql/sqltypes.py:900)"
    assert g.group_of([*ROOT, direct("_Plan.bind", 90), direct("_processed", 150), process]) == (
        g.DIRECT
    )


def test_json_and_logging_belong_to_who_called_them() -> None:
    dumps = "dumps (/usr/lib/python3.11/json/__init__.py:231)"
    encode = "Packet.encode (socketio/packet.py:60)"
    assert g.group_of([*ROOT, encode, dumps]) == "python-socketio"
    parse = "parse (server/sio/payloads.py:27)"
    assert g.group_of([*ROOT, SIO, HANDLE, parse, dumps]) == g.JSON
    info = "Logger.info (/usr/lib/python3.11/logging/__init__.py:1477)"
    assert g.group_of([*ROOT, HANDLE, info]) == g.LOGGING


def test_our_modules_by_module_and_the_rest() -> None:
    place = "place (server/calls/invite.py:60)"
    assert g.group_of([*ROOT, SIO, HANDLE, place]) == "server/calls/invite"
    assert g.group_of([*ROOT, SIO, HANDLE]) == "server/sio/namespace"
    dump = "BaseModel.model_dump (pydantic/main.py:300)"
    assert g.group_of([*ROOT, SIO, HANDLE, place, dump]) == g.OURS[0][0]
    assert g.group_of([*ROOT, SIO]) == "python-socketio"
    assert g.group_of(ROOT) == g.LOOP_C


def test_orm_objects_threads_and_frameless_samples() -> None:
    init = "InstanceState._initialize_instance (sqlalchemy/orm/state.py:560)"
    insert = "_insert_call (server/calls/invite.py:195)"
    assert g.group_of([*ROOT, HANDLE, insert, init]) == g.SA_ORM
    assert g.group_of([]) == g.NO_FRAME
    worker = ["Thread.run (threading.py:982)", "_connection_worker_thread (aiosqlite/core.py:59)"]
    assert g.group_of(worker) == g.THREADS[0][1]
