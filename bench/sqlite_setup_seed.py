"""The statements of a call set-up as :mod:`bench.sqlite_setup` runs them on ``sqlite3``
(the SQL and parameters :mod:`server.db.direct` binds), and its seeded database."""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.dialects.sqlite.aiosqlite import dialect as aiosqlite_dialect

from server.db import direct
from server.db import statements as st

ROOT = Path(__file__).resolve().parents[1]

DIALECT = aiosqlite_dialect()


def _status_update() -> direct.Prepared:
    """The decline's conditional UPDATE, as :mod:`server.db.calls` builds it."""
    calls = st.CALLS.c
    columns = ("ended_at", "reason", "status")
    return direct.Prepared(
        update(st.CALLS)
        .where(calls.id == bindparam("call"), calls.status == bindparam("from_status"))
        .values({n: bindparam(f"new_{n}", type_=calls[n].type) for n in columns})
    )


PREPARED = {
    "invite_facts": direct.Prepared(st.INVITE_LOOKUP, lists=("ids",)),
    "insert call": direct.Prepared(st.INSERT_CALL),
    "claim lines": direct.Prepared(st.CLAIM_LINES, lists=("ids",)),
    "insert event": direct.Prepared(st.INSERT_EVENT),
    "call with parties": direct.Prepared(st.CALL_WITH_NAMES),
    "update status": _status_update(),
    "release lines": direct.Prepared(st.RELEASE_LINES, lists=("ids",)),
}


def call_values(
    tenant: str, caller: str, callee: str, now: datetime, status: str
) -> dict[str, Any]:
    """A call's columns as an invite writes them (``RINGING``), or of one declined."""
    ringing = status == "RINGING"
    return {
        "id": uuid.uuid4().hex,
        "tenant_id": tenant,
        "caller_id": caller,
        "callee_id": callee,
        "request_id": uuid.uuid4().hex,
        "status": status,
        "reason": None if ringing else "declined",
        "created_at": now,
        "ring_deadline": now + timedelta(seconds=30) if ringing else None,
        "ended_at": None if ringing else now,
        "caller_device": "bench-device",
        "caller_sid": uuid.uuid4().hex,
        "context_type": None,
        "context_id": None,
        "context_label": None,
    }


def event_values(
    call_id: str, actor: str, now: datetime, event: str, source: str | None
) -> dict[str, Any]:
    """The ``call_events`` row of an ``invite`` or a ``decline``."""
    target = "RINGING" if event == "invite" else "DECLINED"
    reason = None if event == "invite" else "declined"
    return {
        "call_id": call_id,
        "at": now,
        "event": event,
        "from_status": source,
        "to_status": target,
        "reason": reason,
        "actor": actor,
        "device": "bench-device",
    }


def run_statement(conn: sqlite3.Connection, name: str, params: dict[str, Any]) -> sqlite3.Cursor:
    """The statement ``name`` of :data:`PREPARED`, bound as :mod:`server.db.direct` binds it."""
    plan = PREPARED[name].plan(DIALECT, params)
    return conn.execute(plan.sql, plan.bind(params))


def seed(out: Path, users: int, history: int) -> Path:
    """Migrate and seed ``seed.db``: users with live sockets, ``history`` ended calls."""
    db = out / "seed.db"
    env = {**os.environ, "VOIP_DATABASE_URL": f"sqlite+aiosqlite:///{db}"}
    env["VOIP_JWT_SECRET"] = "bench-secret-sqlite-setup-" + "x" * 32
    cli = str(ROOT / ".venv" / "bin" / "voip-server")
    subprocess.run([cli, "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([cli, "seed-load", str(users)], env=env, check=True, capture_output=True)
    conn = sqlite3.connect(db)
    ids = [r[0] for r in conn.execute("SELECT id FROM users ORDER BY id")]
    tenant = conn.execute("SELECT tenant_id FROM users LIMIT 1").fetchone()[0]
    far = "2100-01-01 00:00:00.000000"  # alive for the whole run
    conn.execute("INSERT INTO nodes (id, last_seen) VALUES ('bench', ?)", (far,))
    conn.executemany(
        "INSERT INTO connections (sid, user_id, tenant_id, device_id, node_id, connected_at)"
        " VALUES (?, ?, ?, 'bench-device', 'bench', ?)",
        [(uuid.uuid4().hex, u, tenant, far) for u in ids],
    )
    rng, start = random.Random(16), datetime.now(UTC) - timedelta(days=30)
    for k in range(history):
        caller, callee = rng.sample(ids, 2)
        at = start + timedelta(seconds=k * 30 * 86400 / max(1, history))
        call = call_values(tenant, caller, callee, at, "DECLINED")
        run_statement(conn, "insert call", call)
        run_statement(conn, "insert event", event_values(call["id"], caller, at, "invite", None))
        run_statement(
            conn, "insert event", event_values(call["id"], callee, at, "decline", "RINGING")
        )
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return db
