"""The engine keeps its session alive, and notices when the server ends it, against a real call
server (uvicorn, SQLite). Tokens are made with the server's key so that one is due for renewal,
or past the session limit, without waiting hours."""

from __future__ import annotations

import asyncio
import time

import jwt
import pytest

from server.auth import AUDIENCE, ISSUER
from tests.engine.stack import PASSWORD, no_media
from tests.engine.waits import until
from tests.support.servers import CallServer
from voip_app.api import ApiClient
from voip_app.engine import SESSION_EXPIRED, CallEngine, EngineEvent
from voip_app.errors import Unauthorized

SESSION_MAX_S = 3600


@pytest.fixture
def server_env() -> dict[str, str]:
    return {"VOIP_SESSION_MAX_S": str(SESSION_MAX_S)}


async def user_id(server: CallServer, email: str) -> str:
    async with ApiClient(server.url) as api:
        return (await api.login(email, PASSWORD)).user.id


def token(server: CallServer, sub: str, *, issued_ago: int, lasts: int, auth_ago: int) -> str:
    """A token of the server's own, issued ``issued_ago`` s ago, valid ``lasts`` s more, for a
    sign-in ``auth_ago`` s ago."""
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": sub,
        "iat": now - issued_ago,
        "exp": now + lasts,
        "auth_time": now - auth_ago,
    }
    return jwt.encode(claims, server.env["VOIP_JWT_SECRET"], algorithm="HS256")


def recorder(engine: CallEngine) -> list[EngineEvent]:
    events: list[EngineEvent] = []
    engine.add_event_listener(events.append)
    return events


async def test_a_token_near_its_end_is_renewed_and_the_renewal_works(server: CallServer) -> None:
    alice = await user_id(server, "alice@acme.test")
    # 90% of its lifetime gone: due for renewal at once
    old = token(server, alice, issued_ago=900, lasts=100, auth_ago=900)
    engine = CallEngine(media_factory=no_media, device_id="dev-renew")
    events = recorder(engine)
    try:
        await engine.resume(server.url, old)
        await until(engine, lambda s: s.access_token not in (None, old))
        renewed = engine.snapshot.access_token
        assert renewed is not None
        assert [e.name for e in events].count("session_renewed") == 1
        assert not engine.snapshot.session_expired
        # the new token is good for HTTP and keeps the sign-in time
        claims = jwt.decode(renewed, options={"verify_signature": False})
        assert (
            claims["auth_time"] == jwt.decode(old, options={"verify_signature": False})["auth_time"]
        )
        assert claims["exp"] == claims["auth_time"] + SESSION_MAX_S  # capped by the session
        async with ApiClient(server.url) as api:
            api.use_token(renewed)
            assert (await api.me()).id == alice
        # the engine's own requests now carry it
        await engine.refresh_history()
        assert engine.access_token == renewed
    finally:
        await engine.close()


async def test_a_session_past_its_limit_is_over_but_the_link_stays_up(server: CallServer) -> None:
    bob = await user_id(server, "bob@acme.test")
    # still valid for 10 minutes, but the sign-in was longer ago than VOIP_SESSION_MAX_S
    old = token(server, bob, issued_ago=3000, lasts=600, auth_ago=SESSION_MAX_S + 60)
    engine = CallEngine(media_factory=no_media, device_id="dev-limit")
    events = recorder(engine)
    try:
        await engine.resume(server.url, old)
        await until(engine, lambda s: s.session_expired)
        assert engine.snapshot.error == SESSION_EXPIRED
        assert engine.snapshot.connection == "online"  # signaling keeps its socket until it drops
        assert engine.snapshot.access_token == old
        assert "session_refused" in [e.name for e in events]
        assert "session_renewed" not in [e.name for e in events]
    finally:
        await engine.close()


async def test_sign_out_ends_the_session_on_the_server(server: CallServer) -> None:
    engine = CallEngine(media_factory=no_media, device_id="dev-out")
    try:
        await engine.sign_in(server.url, "alice@acme.test", PASSWORD)
        signed_in = engine.access_token
        assert signed_in is not None
        await engine.sign_out()
        async with ApiClient(server.url) as api:
            api.use_token(signed_in)
            with pytest.raises(Unauthorized):
                await api.me()
            with pytest.raises(Unauthorized):
                await api.refresh()
    finally:
        await engine.close()


async def test_the_link_keeps_going_past_the_first_tokens_end(server: CallServer) -> None:
    alice = await user_id(server, "alice@acme.test")
    # due for renewal at once, and over in 4 s: the link must hand the server the new one
    old = token(server, alice, issued_ago=900, lasts=4, auth_ago=900)
    engine = CallEngine(media_factory=no_media, device_id="dev-link")
    try:
        await engine.resume(server.url, old)
        await until(engine, lambda s: s.access_token not in (None, old))
        await asyncio.sleep(6)
        assert engine.snapshot.connection == "online"
        assert not engine.snapshot.session_expired
    finally:
        await engine.close()
