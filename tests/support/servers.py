"""Real server processes for tests: the call server (uvicorn), PostgreSQL and redis-server.

Every process is started on 127.0.0.1 on a free port, inside the test process's private network
namespace (see :mod:`tests.support.netns`), writes its log to a file, and is stopped by
``stop()`` (or by leaving its ``with`` block). Typical use::

    with CallServer.start(tmp_path, env={"VOIP_RING_TIMEOUT_S": "2"}) as server:
        server.cli("seed-demo")
        httpx.get(f"{server.url}/healthz")

    with PostgresServer.start() as pg:
        url = pg.create_database("voip")           # postgresql+asyncpg://...
        with CallServer.start(tmp_path, database_url=url) as server: ...

    with RedisServer.start() as redis:
        env = {"VOIP_REDIS_URL": redis.url}

Nothing here sleeps for a fixed time: readiness is polled (bounded) on a port or ``/readyz``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

HOST = "127.0.0.1"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
REPO = Path(__file__).resolve().parents[2]


def free_port(host: str = HOST) -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    host: str, port: int, *, timeout: float = 20.0, proc: subprocess.Popen[bytes] | None = None
) -> None:
    """Return once ``host:port`` accepts TCP connections; raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop_process(proc: subprocess.Popen[Any], *, timeout: float = 10.0) -> int:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout``; its exit status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
    return proc.returncode


class Managed:
    """Something a test starts and must stop: ``with X.start(...) as x`` calls ``x.stop()``."""

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if exc is not None:
            self.report_failure()

    def report_failure(self) -> None:
        """Print what helps read a failed test (pytest shows a failed test's output)."""


@dataclass
class CallServer(Managed):
    """A ``voip-server serve`` process (uvicorn) on 127.0.0.1.

    ``env`` holds the ``VOIP_*`` settings (see ``docs/server.md``); the database defaults to a
    fresh SQLite file in ``workdir`` and ``VOIP_JWT_SECRET`` to a test-only value.
    """

    workdir: Path
    env: dict[str, str]
    port: int
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.workdir / f"server-{self.port}.log"

    @classmethod
    def start(
        cls,
        workdir: Path,
        *,
        env: Mapping[str, str] | None = None,
        database_url: str | None = None,
        port: int | None = None,
        seed_demo: bool = False,
    ) -> CallServer:
        """Start a server and wait until ``/readyz`` answers 200.

        PostgreSQL databases are migrated first (``voip-server migrate``); SQLite migrates at
        start. ``seed_demo`` runs ``voip-server seed-demo`` before serving.
        """
        workdir.mkdir(parents=True, exist_ok=True)
        port = port or free_port()
        full = {
            "VOIP_VAR_DIR": str(workdir / "var"),
            "VOIP_DATABASE_URL": database_url or f"sqlite+aiosqlite:///{workdir / 'voip.db'}",
            "VOIP_JWT_SECRET": "test-only-jwt-secret-not-for-production-000000",
            "VOIP_HOST": HOST,
            "VOIP_PORT": str(port),
            "VOIP_NODE_ID": f"test-{port}",
            "VOIP_LOG_LEVEL": "INFO",
            **(env or {}),
        }
        server = cls(workdir=workdir, env=full, port=port)
        if not full["VOIP_DATABASE_URL"].startswith("sqlite"):
            server.cli("migrate")
        if seed_demo:
            server.cli("seed-demo")
        server.launch()
        return server

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def _environ(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("VOIP_")}
        base.pop("LIVEKIT_URL", None)
        return {**base, **self.env, "VOIP_TEST_NETNS": os.environ.get("VOIP_TEST_NETNS", "")}

    def cli(self, *args: str, timeout: float = 120.0) -> str:
        """Run ``voip-server ARGS`` against this server's settings; return its output."""
        result = subprocess.run(
            [sys.executable, "-m", "server.cli", *args],
            env=self._environ(),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"voip-server {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result.stdout + result.stderr

    def launch(self, *, timeout: float = 30.0) -> None:
        """Start (or start again, after :meth:`stop`) the serving process."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve"],
            env=self._environ(),
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited early:\n{_tail(self.log_path)}")
                with contextlib.suppress(httpx.TransportError):
                    if client.get(f"{self.url}/readyz").status_code == 200:
                        return
                time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"server not ready after {timeout}s:\n{_tail(self.log_path)}")

    def stop(self) -> None:
        """SIGTERM (graceful), SIGKILL after 10 s."""
        if self.proc is not None:
            stop_process(self.proc)

    def kill(self) -> None:
        """Stop abruptly (SIGKILL), as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.launch()

    def log(self) -> str:
        return _tail(self.log_path, 200)


@dataclass
class PostgresServer(Managed):
    """A throwaway PostgreSQL 15 cluster (Debian's binaries) run as the ``postgres`` user.

    PostgreSQL refuses to run as root, so the cluster lives in a temp dir owned by ``postgres``
    and every command goes through ``runuser -u postgres --``. Trust auth, 127.0.0.1 only.
    """

    datadir: Path
    port: int
    running: bool = False

    @staticmethod
    def available() -> str | None:
        """``None`` when PostgreSQL can be started here, otherwise why not."""
        if not (PG_BIN / "initdb").exists():
            return f"{PG_BIN}/initdb missing (Debian package postgresql)"
        if shutil.which("runuser") is None:
            return "runuser missing"
        if os.geteuid() != 0:
            return "needs root to run PostgreSQL as the postgres user"
        return None

    @classmethod
    def start(cls, *, durable: bool = False) -> PostgresServer:
        """Start a cluster; ``durable`` keeps PostgreSQL's fsync at commit (benchmarks), else
        it is off (tests: nothing survives them)."""
        root = Path(tempfile.mkdtemp(prefix="voip-pg-"))
        shutil.chown(root, "postgres", "postgres")
        server = cls(datadir=root / "data", port=free_port())
        server._pg(
            "initdb",
            "-D",
            str(server.datadir),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        )
        options = f"-h {HOST} -p {server.port} -k {root}"
        if not durable:
            options += " -F -c fsync=off -c full_page_writes=off"
        server._pg(
            "pg_ctl",
            "-D",
            str(server.datadir),
            "-o",
            options,
            "-l",
            str(root / "pg.log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        server.running = True
        return server

    def _pg(self, tool: str, *args: str) -> str:
        result = subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / tool), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed: {result.stdout}\n{result.stderr}")
        return result.stdout

    def create_database(self, name: str) -> str:
        """Create database ``name``; return its SQLAlchemy asyncpg URL."""
        self._pg("createdb", "-h", HOST, "-p", str(self.port), "-U", "postgres", name)
        return self.url(name)

    def url(self, name: str) -> str:
        return f"postgresql+asyncpg://postgres@{HOST}:{self.port}/{name}"

    def command(self, tool: str, *args: str) -> list[str]:
        """The argv that runs PostgreSQL's ``tool`` (createdb, psql, ...) against this cluster."""
        where = ["-h", HOST, "-p", str(self.port), "-U", "postgres"]
        return ["runuser", "-u", "postgres", "--", str(PG_BIN / tool), *where, *args]

    def stop(self) -> None:
        if self.running:
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self._pg("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop")
            self.running = False
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


@dataclass
class RedisServer(Managed):
    """A ``redis-server`` on 127.0.0.1 with no persistence."""

    port: int
    workdir: Path
    proc: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> str | None:
        return None if shutil.which("redis-server") else "redis-server missing (Debian package)"

    @classmethod
    def start(cls) -> RedisServer:
        workdir = Path(tempfile.mkdtemp(prefix="voip-redis-"))
        server = cls(port=free_port(), workdir=workdir)
        server.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(server.port),
                "--bind",
                HOST,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir),
                "--protected-mode",
                "yes",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(HOST, server.port, proc=server.proc)
        return server

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
        shutil.rmtree(self.workdir, ignore_errors=True)
