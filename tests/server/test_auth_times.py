"""The time windows of signing in, on a fake clock against a real SQLite database: a token's
lifetime (ours and the identity provider's), the session limit of renewals, and the sign-in
guard's counting window. The same paths end to end, on the real clock:
``test_session_renewal.py`` and ``test_signin_guard.py``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import jwt
import pytest

from server import signin_guard
from server.auth import authenticate, issue_token, renew_token
from server.calls.deps import CallDeps
from server.db import access as access_data
from server.db import users as user_data
from server.db.models import User
from server.errors import ServiceError
from tests.server.domain import Domain, domain
from voip_contract import ErrorCode

TTL_S, SESSION_MAX_S, WINDOW_S = 600, 3600, 900
IDP_SECRET = "idp-test-secret-0123456789-abcdefghijklmnop"


@dataclass
class Clocked:
    deps: CallDeps
    world: Domain
    alice: User

    def now_s(self) -> int:
        return int(self.world.clock.now().timestamp())

    async def identify(self, token: str) -> str:
        """The user id ``token`` stands for now, or the error code and message."""
        try:
            async with self.world.sessions() as session:
                ident = await authenticate(
                    session, self.deps.settings, token, now=self.world.clock.now()
                )
        except ServiceError as exc:
            return f"{exc.code.value}: {exc.message}"
        return ident.user_id


@pytest.fixture
async def clocked(tmp_path: Path) -> AsyncIterator[Clocked]:
    async with domain(tmp_path, "alice") as world:
        deps = world.node(
            jwt_secret="test-only-jwt-secret-not-for-production-000000",
            jwt_ttl_s=TTL_S,
            session_max_s=SESSION_MAX_S,
            idp_jwt_secret=IDP_SECRET,
            signin_window_s=WINDOW_S,
            signin_failures_per_account_address=3,
        )
        async with world.sessions() as session:
            alice = await user_data.user_by_id(session, user_id=world.people["alice"].user_id)
        assert alice is not None
        yield Clocked(deps, world, alice)


async def test_our_token_is_valid_from_its_issue_until_its_expiry(clocked: Clocked) -> None:
    clock = clocked.world.clock
    token, ttl = issue_token(clocked.deps.settings, clocked.alice, now=clock.now())
    assert ttl == TTL_S
    clock.advance(-1)
    assert "not yet valid" in await clocked.identify(token)
    clock.advance(1 + TTL_S - 1)
    assert await clocked.identify(token) == clocked.alice.id
    clock.advance(1)
    assert await clocked.identify(token) == "unauthorized: invalid token: Signature has expired"


async def test_an_identity_provider_token_expires_on_the_clock_too(clocked: Clocked) -> None:
    async with clocked.world.sessions() as session:
        clocked.alice.external_subject = "idp|alice"
        await session.merge(clocked.alice)
        await session.commit()
    claims = {"sub": "idp|alice", "aud": "authenticated", "exp": clocked.now_s() + 60}
    token = jwt.encode(claims, IDP_SECRET, algorithm="HS256")
    clocked.world.clock.advance(59)
    assert await clocked.identify(token) == clocked.alice.id
    clocked.world.clock.advance(1)
    assert await clocked.identify(token) == (
        "unauthorized: invalid identity-provider token: Signature has expired"
    )


async def test_renewals_keep_the_sign_in_time_and_end_with_the_session(clocked: Clocked) -> None:
    clock, settings = clocked.world.clock, clocked.deps.settings
    signed_in = clock.now()
    token, _ = issue_token(settings, clocked.alice, now=signed_in)
    while clock.now() + timedelta(seconds=TTL_S) < signed_in + timedelta(seconds=SESSION_MAX_S):
        clock.advance(TTL_S - 60)  # renew a minute before each token expires
        async with clocked.world.sessions() as session:
            _, token, ttl = await renew_token(session, settings, token, now=clock.now())
        assert jwt.decode(token, options={"verify_signature": False})["auth_time"] == int(
            signed_in.timestamp()
        )
    assert ttl < TTL_S  # the last one ends with the session, not a full lifetime later
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    assert expires <= int(signed_in.timestamp()) + SESSION_MAX_S
    clock.advance((signed_in + timedelta(seconds=SESSION_MAX_S) - clock.now()).total_seconds())
    with pytest.raises(ServiceError) as refused:
        async with clocked.world.sessions() as session:
            await renew_token(session, settings, token, now=clock.now())
    assert refused.value.code is ErrorCode.UNAUTHORIZED


async def test_failed_sign_ins_count_for_the_window_of_the_clock(clocked: Clocked) -> None:
    clock, settings, email = clocked.world.clock, clocked.deps.settings, clocked.alice.email

    async def check() -> str:
        async with clocked.world.sessions() as session:
            try:
                await signin_guard.check(session, settings, email, "10.0.0.1", now=clock.now())
            except ServiceError as exc:
                return exc.message
        return "ok"

    first = clock.now()
    async with clocked.world.sessions() as session:
        for _ in range(3):
            await signin_guard.failed(session, email, "10.0.0.1", now=clock.now())
        await session.commit()
    assert await check() == "too many failed sign-ins; try again in 15 minutes"
    clock.advance(WINDOW_S - 60)
    assert await check() == "too many failed sign-ins; try again in a minute"
    clock.advance(60)
    assert clock.now() == first + timedelta(seconds=WINDOW_S)
    assert await check() != "ok"  # a failure exactly one window old still counts
    clock.advance(0.001)
    assert await check() == "ok"
    async with clocked.world.sessions() as session:
        assert await signin_guard.forget_old(session, settings, now=clock.now()) == 3
        await session.commit()


async def test_a_session_is_forgotten_once_no_token_and_no_sign_in_count_needs_it(
    clocked: Clocked,
) -> None:
    # A revoked session's tokens live at most TTL_S after the revocation; an expired one's
    # none after its end; every sign-in counts for WINDOW_S (> TTL_S here) after it began.
    clock, settings, alice = clocked.world.clock, clocked.deps.settings, clocked.alice
    start, session_max = clock.now(), timedelta(seconds=SESSION_MAX_S)
    async with clocked.world.sessions() as session:
        kept, revoked = [
            await access_data.open_session(
                session, user_id=alice.id, device_id=None, now=start, until=start + session_max
            )
            for _ in range(2)
        ]
        await access_data.revoke(session, user_id=alice.id, at=start, session_id=revoked)
        await session.commit()
    signed_out = "unauthorized: this session was signed out"

    async def forget() -> int:
        async with clocked.world.sessions() as session:
            forgotten = await signin_guard.forget_old_sessions(session, settings, now=clock.now())
            await session.commit()
        return forgotten

    def token_of(session_id: str) -> str:
        return issue_token(settings, alice, now=clock.now(), session_id=session_id)[0]

    clock.advance(TTL_S + 0.001)  # the revoked one's tokens are over, its sign-in still counts
    assert await forget() == 0
    clock.advance(WINDOW_S - TTL_S)
    assert await forget() == 1
    assert await clocked.identify(token_of(revoked)) == signed_out  # as before: refused
    assert await clocked.identify(token_of(kept)) == alice.id
    clock.advance((start + session_max - clock.now()).total_seconds() + TTL_S)
    assert await forget() == 0  # it ended exactly TTL_S ago: not yet
    clock.advance(0.001)
    assert await forget() == 1
    assert await clocked.identify(token_of(kept)) == signed_out
