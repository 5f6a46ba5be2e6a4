"""How :mod:`bench.loadgen_side_by_side` runs a variant of the call server.

A variant's ``VAR=VALUE`` pairs are its server's environment, and two of them say how it is
deployed rather than how it is configured:

- ``DB=postgres``: a private PostgreSQL 15 (fsync on, as in production), seeded once into a
  template database; every run starts from a fresh copy of it (``createdb -T``).
- ``NODES=N``: N server processes on the one port (``VOIP_REUSE_PORT``, each its own
  ``VOIP_NODE_ID``) over a private redis-server; the kernel spreads the generator's sockets.
  The generator measures the CPU of the first process it finds on the port, so that column is
  one node's; the other nodes' logs go to ``LABEL.nodeK.log``.
- ``FROM=CHECKOUT``: the server of another checkout of this repository (its own ``.venv``), so
  a change is measured against the code before it in the same run, on any database.
- ``SYNC_COMMIT=off`` (with ``DB=postgres``): that variant's database commits without waiting
  for its WAL to reach the disk (``synchronous_commit``), which production never does: it
  measures what the wait costs, in the same run as the durable variant.

Otherwise one process on a fresh copy of the seeded SQLite file, as before.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import jwt

from tests.support.servers import PostgresServer, RedisServer

ROOT = Path(__file__).resolve().parents[1]
DEPLOYMENT_KEYS = ("DB", "NODES", "FROM", "SYNC_COMMIT")


@dataclass
class Variant:
    """One server of the run: its label, its environment, where its data lives, how many
    processes."""

    label: str
    env: dict[str, str]
    postgres: bool = False
    nodes: int = 1
    root: Path = ROOT
    """The checkout whose server it runs."""
    sync_commit: bool = True
    """PostgreSQL waits for each commit's WAL flush (``SYNC_COMMIT=off``: it does not)."""

    @property
    def tokens(self) -> str:
        """Which seeded database's tokens its users present."""
        return "tokens-pg.json" if self.postgres else "tokens-py.json"


def parse_variants(raw: list[str]) -> list[Variant]:
    """``LABEL[:VAR=VALUE,...]`` -> variants (default: one, ``py``)."""
    out = []
    for item in raw or ["py"]:
        label, _, pairs = item.partition(":")
        env = dict(p.split("=", 1) for p in pairs.split(",") if p)
        db, nodes = env.pop("DB", "sqlite"), int(env.pop("NODES", "1"))
        root = Path(env.pop("FROM", str(ROOT))).resolve()
        sync = env.pop("SYNC_COMMIT", "on")
        if db not in ("sqlite", "postgres"):
            raise SystemExit(f"{label}: DB is sqlite or postgres, not {db!r}")
        if sync not in ("on", "off") or (sync == "off" and db != "postgres"):
            raise SystemExit(f"{label}: SYNC_COMMIT is on or off, and off only with DB=postgres")
        if not (root / ".venv" / "bin" / "voip-server").exists():
            raise SystemExit(f"{label}: no .venv/bin/voip-server in {root}")
        postgres, sync_commit = db == "postgres", sync == "on"
        out.append(Variant(label, env, postgres, nodes, root, sync_commit))
    return out


@dataclass
class Backends:
    """The PostgreSQL and redis-server the variants need, started once for the whole run."""

    postgres: PostgresServer | None = None
    redis: RedisServer | None = None
    stops: list[PostgresServer | RedisServer] = field(default_factory=list)


@contextlib.contextmanager
def backends(variants: list[Variant]) -> Iterator[Backends]:
    found = Backends()
    try:
        if any(v.postgres for v in variants):
            found.postgres = PostgresServer.start(durable=True)
            found.stops.append(found.postgres)
        if any(v.nodes > 1 for v in variants):
            found.redis = RedisServer.start()
            found.stops.append(found.redis)
        yield found
    finally:
        for server in found.stops:
            server.stop()


def seed_postgres(pg: PostgresServer, env: dict[str, str], users: int, out: Path, url: str) -> None:
    """Migrate and seed the template database ``seed``; mint its users' tokens (as the shared
    ``py_tokens.py`` does for SQLite: the claims ``server/auth.py`` issues)."""
    subprocess.run(pg.command("createdb", "seed"), check=True, capture_output=True)
    full = {**env, "VOIP_DATABASE_URL": pg.url("seed")}
    cli = str(ROOT / ".venv" / "bin" / "voip-server")
    subprocess.run([cli, "migrate"], env=full, check=True, capture_output=True)
    subprocess.run([cli, "seed-load", str(users)], env=full, check=True, capture_output=True)
    sql = "select id, tenant_id, email from users where email like 'u%@load.test'"
    rows = subprocess.run(
        pg.command("psql", "-d", "seed", "-At", "-F", "|", "-c", sql),
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    by_email = {e: (uid, tid) for uid, tid, e in (r.split("|") for r in rows)}
    now, ttl = int(time.time()), 3600
    cache = {}
    for i in range(users):
        uid, tid = by_email[f"u{i}@load.test"]
        claims = {"iss": "voip-server", "aud": "voip", "sub": uid, "tid": tid, "iat": now}
        claims.update(auth_time=now, exp=now + ttl)
        token = jwt.encode(claims, env["VOIP_JWT_SECRET"], algorithm="HS256")
        cache[str(i)] = {"id": uid, "token": token, "exp": (now + ttl) * 1000, "url": url}
    (out / "tokens-pg.json").write_text(json.dumps(cache))


def server_command(
    out: Path, env: dict[str, str], variant: Variant, found: Backends, port: int
) -> str:
    """The shell command ``bench.sh`` runs for ``variant``: a fresh copy of its database, then
    its process(es) in the foreground (the others in the background of the same group, which
    ``bench.sh`` stops as a whole)."""
    q = shlex.quote
    label = variant.label
    base = {
        **env,
        "VOIP_INVITE_LIMIT_PER_MIN": "100000",
        "VOIP_HOST": "127.0.0.1",
        "VOIP_PORT": str(port),
        "VOIP_VAR_DIR": str(out / "var"),
        "VOIP_LOOP_WATCH_REPORT_S": "1",  # the calls' stalls apart from the connect's
    }
    if variant.postgres:
        assert found.postgres is not None
        db = f"run_{label.replace('-', '_')}"
        fresh = " ".join(q(a) for a in found.postgres.command("dropdb", "--if-exists", db))
        fresh += "; " + " ".join(q(a) for a in found.postgres.command("createdb", "-T", "seed", db))
        if not variant.sync_commit:
            unsafe = f"alter database {db} set synchronous_commit = off"
            fresh += "; " + " ".join(q(a) for a in found.postgres.command("psql", "-c", unsafe))
        base["VOIP_DATABASE_URL"] = found.postgres.url(db)
    else:
        run_db = out / f"run-{label}.db"
        fresh = f"rm -f {q(str(run_db))}*; cp {q(str(out / 'seed.db'))} {q(str(run_db))}"
        base["VOIP_DATABASE_URL"] = f"sqlite+aiosqlite:///{run_db}"
    if variant.nodes > 1:
        assert found.redis is not None
        base.update(VOIP_REUSE_PORT="true", VOIP_REDIS_URL=found.redis.url)
    base.update(variant.env)

    def process(k: int) -> str:
        node = {"VOIP_NODE_ID": f"{label}-{k}"} if variant.nodes > 1 else {}
        assign = " ".join(f"{n}={q(v)}" for n, v in {**base, **node}.items())
        return f"{assign} .venv/bin/voip-server serve"

    others = "".join(
        f"{process(k)} >> {q(str(out / f'{label}.node{k}.log'))} 2>&1 & "
        for k in range(2, variant.nodes + 1)
    )
    return f"{fresh}; cd {q(str(variant.root))} || exit 1; {others}exec env {process(1)}"
