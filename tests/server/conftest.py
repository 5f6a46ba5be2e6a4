"""Fixtures of the server tests: real call server processes on SQLite or PostgreSQL, with a
real ``voip-devsfu`` as their LiveKit endpoint and a real ``redis-server`` for multi-node."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from server.webhooks.signing import new_secret
from tests.server.domain import domain
from tests.server.harness import Stack
from tests.server.webhook_bench import Hooks
from tests.support.devsfu import DevSfu, running_devsfu
from tests.support.fake_fcm import FakeFcm
from tests.support.servers import HOST, CallServer, PostgresServer, RedisServer, free_port
from tests.support.webhook_receiver import WebhookReceiver

IDP_SECRET = "idp-test-secret-0123456789-abcdefghijklmnop"
IDP_ISSUER = "https://idp.crm.test/auth/v1"
IDP_AUDIENCE = "authenticated"

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def livekit_env(sfu: DevSfu) -> dict[str, str]:
    return {
        "VOIP_LIVEKIT_URL": sfu.url,
        "VOIP_LIVEKIT_API_KEY": sfu.api_key,
        "VOIP_LIVEKIT_API_SECRET": sfu.api_secret,
    }


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    why = PostgresServer.available()
    if why:
        pytest.skip(why)
    with PostgresServer.start() as server:
        yield server


@pytest.fixture(scope="session")
def redis() -> Iterator[RedisServer]:
    why = RedisServer.available()
    if why:
        pytest.skip(why)
    with RedisServer.start() as server:
        yield server


@pytest.fixture(scope="session")
def fake_fcm() -> Iterator[FakeFcm]:
    """FCM HTTP v1 and its OAuth token endpoint, faked on loopback for the whole session."""
    fake = FakeFcm.start()
    yield fake
    fake.stop()


def database_url(request: pytest.FixtureRequest, backend: str) -> str | None:
    """``None`` (SQLite in the server's workdir) or a fresh PostgreSQL database."""
    if backend == "sqlite":
        return None
    pg: PostgresServer = request.getfixturevalue("postgres")
    return pg.create_database(f"voip_{uuid.uuid4().hex[:12]}")


def start_stack(
    workdir: Path, *, database: str | None, env: dict[str, str], with_sfu: bool = True
) -> Iterator[Stack]:
    """A call server with its own devsfu (whose webhooks point back at that server)."""
    port = free_port()
    webhook = f"http://{HOST}:{port}/api/livekit/webhook"
    if not with_sfu:
        with CallServer.start(workdir, env=env, database_url=database, port=port) as server:
            yield Stack(server, None)
        return
    with (
        running_devsfu(host=HOST, webhook_url=webhook) as sfu,
        CallServer.start(
            workdir, env={**livekit_env(sfu), **env}, database_url=database, port=port
        ) as server,
    ):
        yield Stack(server, sfu)


@pytest.fixture(scope="module", params=BACKENDS)
def stack_process(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """One server per test module and backend, shared by its tests (each makes its tenant)."""
    env = {
        "VOIP_INVITE_LIMIT_PER_MIN": "8",
        "VOIP_IDP_JWT_SECRET": IDP_SECRET,
        "VOIP_IDP_ISSUER": IDP_ISSUER,
        "VOIP_IDP_AUDIENCE": IDP_AUDIENCE,
    }
    workdir = tmp_path_factory.mktemp(f"server-{request.param}")
    yield from start_stack(workdir, database=database_url(request, request.param), env=env)


@pytest.fixture
async def stack(stack_process: Stack) -> AsyncIterator[Stack]:
    """The module's server, with an HTTP client bound to this test's event loop."""
    fresh = Stack(stack_process.server, stack_process.sfu)
    yield fresh
    await fresh.aclose()


@pytest.fixture
async def hooks(tmp_path: Path) -> AsyncIterator[Hooks]:
    """The webhook outbox's bench (:mod:`tests.server.webhook_bench`) with an http receiver."""
    with WebhookReceiver(wall_clock=False) as receiver:
        receiver.secret = new_secret()
        async with domain(tmp_path, "alice", "bob") as made:
            bench = Hooks(made, receiver, made.people["alice"], made.people["bob"])
            yield bench
            for sender in bench.senders:
                await sender.aclose()
