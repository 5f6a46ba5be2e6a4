"""Password guessing is slowed down (``server.signin_guard``), against a real server on SQLite and
PostgreSQL. Clients sign in from different loopback addresses (127.0.x.y) to be different
machines as the server sees them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from itertools import count

import httpx
import pytest
from sqlalchemy import func, select

from server import signin_guard
from server.db.engine import make_engine, make_sessionmaker
from server.db.models import AuthSession, SignInFailure, utcnow
from tests.server.conftest import BACKENDS, database_url, start_stack
from tests.server.harness import EVENT_TIMEOUT, PASSWORD, Stack

PER_ACCOUNT_ADDRESS = 3
PER_ADDRESS = 5
PER_ACCOUNT = 4
_addresses = (f"127.0.{n // 250}.{n % 250 + 2}" for n in count())


@pytest.fixture(scope="module", params=BACKENDS)
def stack_process(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """This module's server (in place of conftest's, under the ``stack`` fixture)."""
    env = {
        "VOIP_SIGNIN_FAILURES_PER_ACCOUNT_ADDRESS": str(PER_ACCOUNT_ADDRESS),
        "VOIP_SIGNIN_FAILURES_PER_ADDRESS": str(PER_ADDRESS),
        "VOIP_SIGNIN_FAILURES_PER_ACCOUNT": str(PER_ACCOUNT),
    }
    workdir = tmp_path_factory.mktemp(f"guarded-{request.param}")
    database = database_url(request, request.param)
    yield from start_stack(workdir, database=database, env=env, with_sfu=False)


class Machine:
    """A client with its own source address."""

    def __init__(self, stack: Stack) -> None:
        self.address = next(_addresses)
        transport = httpx.AsyncHTTPTransport(local_address=self.address)
        self.http = httpx.AsyncClient(
            base_url=stack.url, transport=transport, timeout=EVENT_TIMEOUT
        )

    async def sign_in(self, email: str, password: str) -> tuple[int, str]:
        """``(status, error code or "")``."""
        response = await self.http.post(
            "/api/auth/login", json={"email": email, "password": password}
        )
        body = response.json()
        return response.status_code, body.get("error", {}).get("code", "")

    async def aclose(self) -> None:
        await self.http.aclose()


@pytest.fixture
async def machines(stack: Stack) -> AsyncIterator[list[Machine]]:
    made = [Machine(stack) for _ in range(PER_ACCOUNT + 2)]
    yield made
    for machine in made:
        await machine.aclose()


async def failures(stack: Stack, email: str) -> int:
    engine = make_engine(stack.settings().db_url)
    try:
        async with make_sessionmaker(engine)() as session:
            counted = await session.scalar(select(func.count()).where(SignInFailure.email == email))
            return int(counted or 0)
    finally:
        await engine.dispose()


async def test_wrong_passwords_hold_up_that_account_from_that_machine_only(
    stack: Stack, machines: list[Machine]
) -> None:
    people = await stack.tenant("alice", "bob", with_password=True)
    alice, bob = people["alice"].email, people["bob"].email
    phone, laptop = machines[0], machines[1]
    for _ in range(PER_ACCOUNT_ADDRESS):
        assert await phone.sign_in(alice, "wrong") == (401, "unauthorized")

    # the right password too waits now, and the refused attempt is not counted
    assert await phone.sign_in(alice, PASSWORD) == (429, "rate_limited")
    assert await failures(stack, alice) == PER_ACCOUNT_ADDRESS
    # another account from the same machine, and the same account from another machine, go on
    assert await phone.sign_in(bob, PASSWORD) == (200, "")
    assert await laptop.sign_in(alice, PASSWORD) == (200, "")


async def test_the_message_says_when_to_try_again(stack: Stack, machines: list[Machine]) -> None:
    alice = (await stack.tenant("alice", with_password=True))["alice"].email
    for _ in range(PER_ACCOUNT_ADDRESS):
        await machines[0].sign_in(alice, "wrong")
    response = await machines[0].http.post(
        "/api/auth/login", json={"email": alice, "password": PASSWORD}
    )
    assert response.status_code == 429
    assert "try again in 15 minutes" in response.json()["error"]["message"]


async def test_the_right_password_clears_the_failures_from_that_machine(
    stack: Stack, machines: list[Machine]
) -> None:
    alice = (await stack.tenant("alice", with_password=True))["alice"].email
    phone = machines[0]
    for _ in range(PER_ACCOUNT_ADDRESS - 1):
        assert await phone.sign_in(alice, "wrong") == (401, "unauthorized")
    assert await phone.sign_in(alice, PASSWORD) == (200, "")
    assert await failures(stack, alice) == 0
    for _ in range(PER_ACCOUNT_ADDRESS - 1):
        assert await phone.sign_in(alice, "wrong") == (401, "unauthorized")
    assert await phone.sign_in(alice, PASSWORD) == (200, "")


async def test_one_machine_trying_many_accounts_is_held_up(
    stack: Stack, machines: list[Machine]
) -> None:
    people = await stack.tenant("alice", "bob", with_password=True)
    guesser, other = machines[0], machines[1]
    emails = [f"nobody{i}@{people['alice'].email.split('@')[1]}" for i in range(PER_ADDRESS)]
    for email in emails:  # unknown accounts count too: no telling them from known ones
        assert await guesser.sign_in(email, "guess") == (401, "unauthorized")
    assert await guesser.sign_in(people["bob"].email, PASSWORD) == (429, "rate_limited")
    assert await other.sign_in(people["bob"].email, PASSWORD) == (200, "")


async def test_many_machines_trying_one_account_are_held_up(
    stack: Stack, machines: list[Machine]
) -> None:
    alice = (await stack.tenant("alice", with_password=True))["alice"].email
    for machine in machines[:PER_ACCOUNT]:
        assert await machine.sign_in(alice, "guess") == (401, "unauthorized")
    assert await machines[PER_ACCOUNT].sign_in(alice, PASSWORD) == (429, "rate_limited")


async def test_failures_older_than_the_window_no_longer_count(
    stack: Stack, machines: list[Machine]
) -> None:
    alice = (await stack.tenant("alice", with_password=True))["alice"].email
    phone = machines[0]
    settings = stack.settings()
    long_ago = utcnow() - timedelta(seconds=settings.signin_window_s + 5)
    engine = make_engine(settings.db_url)
    try:
        async with make_sessionmaker(engine)() as session:
            session.add_all(
                SignInFailure(email=alice, address=phone.address, at=long_ago)
                for _ in range(PER_ACCOUNT_ADDRESS)
            )
            await session.commit()
        assert await phone.sign_in(alice, "wrong") == (401, "unauthorized")
        async with make_sessionmaker(engine)() as session:
            now = utcnow()
            assert await signin_guard.forget_old(session, settings, now=now) >= PER_ACCOUNT_ADDRESS
            await session.commit()
    finally:
        await engine.dispose()
    assert await failures(stack, alice) == 1


async def test_parallel_wrong_passwords_are_checked_no_more_than_the_limit(
    stack: Stack, machines: list[Machine]
) -> None:
    # Every attempt is in flight at once: the limit holds exactly (PostgreSQL too, where a
    # count and an insert in two parallel transactions would both pass the check).
    alice = (await stack.tenant("alice", with_password=True))["alice"]
    machine = machines[0]
    outcomes = await asyncio.gather(*(machine.sign_in(alice.email, "wrong") for _ in range(20)))
    assert sorted(outcomes).count((401, "unauthorized")) == PER_ACCOUNT_ADDRESS, outcomes
    assert sorted(outcomes).count((429, "rate_limited")) == 20 - PER_ACCOUNT_ADDRESS
    assert await failures(stack, alice.email) == PER_ACCOUNT_ADDRESS


async def test_sessions_long_signed_out_are_deleted_and_live_ones_kept(
    stack: Stack, machines: list[Machine]
) -> None:
    alice = (await stack.tenant("alice", with_password=True))["alice"]
    tokens = []
    for machine in machines[:2]:
        response = await machine.http.post(
            "/api/auth/login", json={"email": alice.email, "password": PASSWORD}
        )
        tokens.append(response.json()["access_token"])
    signed_out = await machines[0].http.post(
        "/api/auth/logout", headers={"Authorization": f"Bearer {tokens[0]}"}
    )
    assert signed_out.status_code == 204
    settings = stack.settings()
    # A day on: the sign-out is older than a token's lifetime and a sign-in window.
    later = utcnow() + timedelta(days=1)
    assert later - timedelta(seconds=settings.jwt_ttl_s + settings.signin_window_s) > utcnow()
    engine = make_engine(settings.db_url)
    try:
        async with make_sessionmaker(engine)() as session:
            assert await signin_guard.forget_old_sessions(session, settings, now=later) >= 1
            await session.commit()
            left = await session.scalars(
                select(AuthSession.revoked_at).where(AuthSession.user_id == alice.id)
            )
            assert list(left) == [None]  # the live session, not the one signed out
    finally:
        await engine.dispose()
    for token, status in zip(tokens, (401, 200), strict=True):
        me = await machines[1].http.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == status
