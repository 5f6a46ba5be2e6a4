"""The engine's recoveries through a real call server (uvicorn, SQLite):

- a token refused on a reconnect stops signaling until the next sign-in;
- the whole directory loads, page after page, search too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from tests.support.servers import CallServer
from voip_app.callstate import Phase
from voip_app.engine import CallEngine, EngineSnapshot, MediaPrefs
from voip_app.media.base import MediaSession
from voip_app.signaling import SignalingClient

PASSWORD = "demo-password"


def no_media(prefs: MediaPrefs) -> MediaSession:
    raise AssertionError("no call in these tests gets to media")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[CallServer]:
    with CallServer.start(tmp_path, env={"VOIP_RING_TIMEOUT_S": "30"}, seed_demo=True) as running:
        yield running


@pytest.fixture
async def engines() -> AsyncIterator[list[CallEngine]]:
    """Engines a test signs in; all closed at teardown."""
    made: list[CallEngine] = []
    yield made
    for engine in made:
        await engine.close()


async def until(
    engine: CallEngine, predicate: Callable[[EngineSnapshot], bool], within: float = 20
) -> EngineSnapshot:
    if predicate(engine.snapshot):
        return engine.snapshot
    reached = asyncio.Event()
    unsubscribe = engine.subscribe(lambda s: reached.set() if predicate(s) else None)
    try:
        await asyncio.wait_for(reached.wait(), within)
    finally:
        unsubscribe()
    return engine.snapshot


def in_phase(phase: Phase) -> Callable[[EngineSnapshot], bool]:
    return lambda s: s.call is not None and s.call.phase is phase


async def sign_in(
    engines: list[CallEngine],
    url: str,
    email: str,
    *,
    device_id: str | None = None,
    media: Callable[[MediaPrefs], MediaSession] = no_media,
) -> CallEngine:
    engine = CallEngine(media_factory=media, device_id=device_id or f"test-{email}")
    engines.append(engine)
    await engine.sign_in(url, email, PASSWORD)
    return engine


def contact_id(engine: CallEngine, email: str) -> str:
    return next(c.id for c in engine.snapshot.contacts if c.email == email)


async def test_a_token_refused_on_reconnect_stops_signaling_until_signing_in_again(
    server: CallServer, engines: list[CallEngine]
) -> None:
    alice = await sign_in(engines, server.url, "alice@acme.test")
    client = alice._signaling
    assert isinstance(client, SignalingClient)
    await asyncio.to_thread(server.stop)
    # every token issued so far is now refused
    server.env["VOIP_JWT_SECRET"] = "test-only-jwt-secret-rotated-in-this-test-0000"
    await asyncio.to_thread(server.launch)
    snap = await until(alice, lambda s: s.connection == "expired")
    assert snap.session_expired
    await asyncio.wait_for(client.stopped.wait(), 10)  # no more attempts with that token
    assert not client.connected

    await alice.sign_in(server.url, "alice@acme.test", PASSWORD)
    snap = alice.snapshot
    assert (snap.connection, snap.session_expired) == ("online", False)
    assert alice._signaling is not client


async def test_the_whole_directory_loads_page_by_page(
    server: CallServer, engines: list[CallEngine]
) -> None:
    await asyncio.to_thread(server.cli, "seed-load", "450")
    u0 = await sign_in(engines, server.url, "u0@load.test")
    contacts = u0.snapshot.contacts
    assert len(contacts) == 449  # everyone in the tenant but me: three pages of at most 200
    assert len({c.id for c in contacts}) == 449
    assert "u449@load.test" in {c.email for c in contacts}
    assert not u0.snapshot.contacts_truncated
    everyone = await u0.refresh_contacts("load user 00")
    assert len(everyone) == 449  # a search pages too
    ten = await u0.refresh_contacts("Load User 0001")
    assert sorted(c.display_name for c in ten) == [f"Load User {i:05d}" for i in range(10, 20)]
