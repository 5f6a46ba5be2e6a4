"""The engine's session upkeep against fakes and a fake clock: the access token is renewed when
most of its lifetime has passed (timed on this device's clock), renewal survives an unreachable
server, and a refused token ends the session (sign in again) without cutting a live signaling
link. Hours of renewal checks pass in milliseconds: the clock only moves when told."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import jwt
import pytest

from tests.engine.fakes import FakeServer, FakeSignaling, MediaFactory, fake_server_transport
from tests.engine.waits import until
from voip_app.api import ApiClient
from voip_app.clock import FakeClock
from voip_app.engine import SESSION_EXPIRED, CallEngine, EngineEvent, EngineSnapshot
from voip_app.engine.session import SESSION_CHECK_S
from voip_app.errors import Unauthorized

CLOCK_START = FakeClock().now()


def jwt_token(*, issued_ago: float, lasts: float, name: str = "t") -> str:
    """A JWT-shaped token: the client reads ``iat``/``exp`` and never checks the signature."""
    now = CLOCK_START.timestamp()
    claims = {"sub": name, "iat": int(now - issued_ago), "exp": int(now + lasts)}
    return jwt.encode(claims, "fake-server-key-not-a-secret-0000", algorithm="HS256")


@dataclass
class Rig:
    engine: CallEngine
    server: FakeServer
    signaling: FakeSignaling
    events: list[EngineEvent]
    clock: FakeClock

    def names(self) -> list[str]:
        return [e.name for e in self.events]

    def refreshes(self) -> int:
        return sum(1 for r in self.server.requests if r.url.path == "/api/auth/refresh")

    async def until(self, predicate: Callable[[EngineSnapshot], bool]) -> EngineSnapshot:
        return await until(self.engine, predicate, within=5)

    async def until_logged(self, name: str, times: int = 1) -> None:
        """Wait (bounded) until the engine has logged event ``name`` ``times`` times."""
        if self.names().count(name) >= times:
            return
        reached = asyncio.Event()

        def check(_: EngineEvent) -> None:
            if self.names().count(name) >= times:
                reached.set()

        remove = self.engine.add_event_listener(check)
        try:
            await asyncio.wait_for(reached.wait(), 5)
        finally:
            remove()

    async def checks(self, count: int) -> None:
        """Let the renewal look at the clock ``count`` more times (a minute apart)."""
        for _ in range(count):
            await self.clock.until_sleeping(1)
            self.clock.advance(SESSION_CHECK_S)
        await self.clock.until_sleeping(1)

    async def renewal_stopped(self) -> None:
        """Wait (bounded) until the renewal has given up for this session."""
        await asyncio.wait_for(self.engine.tasks.upkeep.idle(), 5)


def start(server: FakeServer) -> Rig:
    signaling = FakeSignaling()
    clock = FakeClock(CLOCK_START)
    engine = CallEngine(
        media_factory=MediaFactory(),
        api_factory=lambda url: ApiClient(
            url, transport=fake_server_transport(server), clock=clock
        ),
        signaling_factory=lambda url, token, device: signaling,
        device_id="dev-1",
        clock=clock,
    )
    events: list[EngineEvent] = []
    engine.add_event_listener(events.append)
    return Rig(engine, server, signaling, events, clock)


async def resumed(server: FakeServer) -> Rig:
    """Resumed with the server's current token (a kept one: its claims say when it is due)."""
    rig = start(server)
    await rig.engine.resume("http://voip.test", server.token)
    return rig


@pytest.fixture
async def due() -> AsyncIterator[Rig]:
    """Resumed with a token 90% through its life; the server renews to a fresh one."""
    server = FakeServer(
        token=jwt_token(issued_ago=900, lasts=100, name="old"),
        renewed_token=jwt_token(issued_ago=0, lasts=3600, name="new"),
    )
    rig = await resumed(server)
    yield rig
    await rig.engine.close()


async def test_a_token_due_for_renewal_is_renewed_once(due: Rig) -> None:
    await due.until(lambda s: s.access_token == due.server.renewed_token)
    assert due.engine.access_token == due.server.renewed_token
    assert due.names().count("session_renewed") == 1
    # the live link goes on with it (the server closes a socket whose token expired)
    assert due.signaling.renewed_tokens == [due.server.renewed_token]
    # the fresh token is not due: twenty minutes of checks later there was still one renewal
    await due.checks(20)
    assert due.refreshes() == 1
    # and it is what the engine's requests carry now
    await due.engine.refresh_history()
    assert due.server.requests[-1].headers["authorization"] == f"Bearer {due.server.token}"


async def test_renewal_is_tried_again_while_the_server_cannot_answer() -> None:
    server = FakeServer(
        token=jwt_token(issued_ago=900, lasts=100),
        renewed_token=jwt_token(issued_ago=0, lasts=3600),
        refresh_status=503,
    )
    rig = await resumed(server)
    try:
        await rig.until_logged("session_renewal_failed")
        await rig.checks(2)  # tried again each minute
        await rig.until_logged("session_renewal_failed", times=3)
        assert rig.refreshes() == 3
        assert not rig.engine.snapshot.session_expired
        server.refresh_status = 200
        await rig.checks(1)
        await rig.until(lambda s: s.access_token == server.renewed_token)
    finally:
        await rig.engine.close()


async def test_an_identity_provider_token_is_left_to_the_identity_provider() -> None:
    server = FakeServer(token=jwt_token(issued_ago=900, lasts=100), refresh_status=403)
    rig = await resumed(server)
    try:
        await rig.until_logged("session_not_renewable")
        await rig.renewal_stopped()
        assert rig.clock.sleepers == 0  # nothing will ask again
        assert rig.refreshes() == 1
        assert not rig.engine.snapshot.session_expired
    finally:
        await rig.engine.close()


async def test_a_refused_renewal_ends_the_session_but_not_the_link() -> None:
    server = FakeServer(token=jwt_token(issued_ago=900, lasts=100), refresh_status=401)
    rig = await resumed(server)
    try:
        snapshot = await rig.until(lambda s: s.session_expired)
        assert snapshot.error == SESSION_EXPIRED
        assert snapshot.connection == "online"
        assert rig.signaling.connected
        assert "session_refused" in rig.names()
    finally:
        await rig.engine.close()


async def test_a_device_clock_hours_ahead_renews_once_not_in_a_loop() -> None:
    # By this device's clock the server's tokens look 13 hours old: every kept token is due.
    # A renewed one is timed by its expires_in on this clock instead, so it is not due again.
    skew = 13 * 3600
    server = FakeServer(
        token=jwt_token(issued_ago=skew, lasts=12 * 3600 - skew),
        renewed_token=jwt_token(issued_ago=skew, lasts=12 * 3600 - skew, name="renewed"),
    )
    rig = await resumed(server)
    try:
        await rig.until(lambda s: s.access_token == server.renewed_token)
        await rig.checks(20)
        assert rig.refreshes() == 1
    finally:
        await rig.engine.close()


async def test_any_request_refused_for_its_token_ends_the_session() -> None:
    server = FakeServer()  # an opaque token: nothing to schedule, never renewed
    rig = start(server)
    await rig.engine.sign_in("http://voip.test", "alice@acme.test", "demo-password")
    try:
        server.token = "revoked-meanwhile"
        with pytest.raises(Unauthorized):
            await rig.engine.refresh_history()
        assert rig.engine.snapshot.session_expired
        assert rig.engine.snapshot.error == SESSION_EXPIRED
        assert rig.names().count("session_refused") == 1
        with pytest.raises(Unauthorized):
            await rig.engine.refresh_contacts()
        assert rig.names().count("session_refused") == 1  # told once
        assert rig.refreshes() == 0
        # a new sign-in starts afresh
        server.token = "tok-1"
        await rig.engine.sign_in("http://voip.test", "alice@acme.test", "demo-password")
        assert not rig.engine.snapshot.session_expired
    finally:
        await rig.engine.close()
