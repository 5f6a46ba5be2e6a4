"""The engine's recoveries through a real call server (uvicorn, SQLite):

- an invite whose answer the link lost is sent again after the reconnect and rings once;
- a token refused on a reconnect stops signaling until the next sign-in;
- the whole directory loads, page after page, search too;
- a call in progress is rejoined by the caller's and the answering device after a restart;
- a caller whose link was replaced while ringing out still learns of the answer
  (these two with devsfu making the rooms; media is the unit fake, no WebRTC).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.engine.fakes import MediaFactory
from tests.engine.stack import PASSWORD, RelayLink, no_media, running_stack
from tests.engine.waits import in_phase, until
from tests.support.servers import HOST, CallServer
from voip_app.call import Phase
from voip_app.engine import CallEngine, EngineEvent, MediaPrefs
from voip_app.media.base import MediaSession
from voip_app.signaling import Signaling, SignalingClient
from voip_contract import CallStatus, Reason


@pytest.fixture
def server_env() -> dict[str, str]:
    return {"VOIP_RING_TIMEOUT_S": "30"}


@pytest.fixture
async def engines() -> AsyncIterator[list[CallEngine]]:
    """Engines a test signs in; all closed at teardown."""
    made: list[CallEngine] = []
    yield made
    for engine in made:
        await engine.close()


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


async def alice_and_bob(engines: list[CallEngine], url: str) -> tuple[CallEngine, CallEngine]:
    """Alice on her desktop and Bob on his phone, each with fake media and a stable device id."""
    alice = await sign_in(
        engines, url, "alice@acme.test", device_id="alice-desk", media=MediaFactory()
    )
    bob = await sign_in(engines, url, "bob@acme.test", device_id="bob-phone", media=MediaFactory())
    return alice, bob


def contact_id(engine: CallEngine, email: str) -> str:
    return next(c.id for c in engine.snapshot.contacts if c.email == email)


async def test_an_invite_whose_answer_was_lost_is_sent_again_and_rings_once(
    server: CallServer, engines: list[CallEngine]
) -> None:
    relay = RelayLink(HOST, server.port)
    await relay.start(HOST)
    try:
        alice = await sign_in(engines, relay.url, "alice@acme.test")
        bob = await sign_in(engines, server.url, "bob@acme.test")
        alice_log: list[EngineEvent] = []
        bob_log: list[EngineEvent] = []
        alice.add_event_listener(alice_log.append)
        bob.add_event_listener(bob_log.append)

        try:
            relay.swallow_replies()  # the invite reaches the server, its answer never comes back
            dialing = asyncio.create_task(alice.call(contact_id(alice, "bob@acme.test")))
            ringing = await until(bob, in_phase(Phase.INCOMING))
            assert alice.snapshot.call is not None
            assert alice.snapshot.call.phase is Phase.DIALING
            relay.reset()  # ... and then the link drops

            await asyncio.wait_for(dialing, 30)
            snap = await until(alice, in_phase(Phase.RINGING_OUT))
            assert snap.call is not None
            assert ringing.call is not None
            assert snap.call.id == ringing.call.id  # the server's same call, not a second one
            assert "invite_retry" in [e.name for e in alice_log]
            assert [e.name for e in bob_log].count("incoming") == 1

            await alice.cancel()
            ended = await until(bob, in_phase(Phase.ENDED))
            assert ended.call is not None
            assert (ended.call.status, ended.call.reason) == (CallStatus.CANCELED, Reason.CANCELED)
        except TimeoutError:
            names = ([e.name for e in alice_log], [e.name for e in bob_log])
            pytest.fail(f"stuck; alice saw {names[0]}, bob saw {names[1]}")
    finally:
        await relay.aclose()


async def test_a_token_refused_on_reconnect_stops_signaling_until_signing_in_again(
    server: CallServer, engines: list[CallEngine]
) -> None:
    clients: list[SignalingClient] = []

    def signaling(url: str, token: Callable[[], str | None], device: str | None) -> Signaling:
        clients.append(SignalingClient(url, token, device_id=device))
        return clients[-1]

    alice = CallEngine(media_factory=no_media, signaling_factory=signaling, device_id="alice-1")
    engines.append(alice)
    await alice.sign_in(server.url, "alice@acme.test", PASSWORD)
    (client,) = clients
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
    assert len(clients) == 2  # a new client; the refused one stays stopped
    assert not client.connected


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


@pytest.mark.media
async def test_a_call_in_progress_is_rejoined_by_its_devices_after_a_restart(
    tmp_path: Path, engines: list[CallEngine]
) -> None:
    # No webhooks: devsfu never sees these fake-media participants, only makes the room.
    with running_stack(tmp_path, webhooks=False) as stack:
        alice, bob = await alice_and_bob(engines, stack.url)
        await alice.call(contact_id(alice, "bob@acme.test"))
        await until(bob, in_phase(Phase.INCOMING))
        await bob.accept()
        await until(bob, in_phase(Phase.ACTIVE))
        before = await until(alice, in_phase(Phase.ACTIVE))
        assert before.call is not None

        # Both apps start again on the same devices, knowing nothing of the call.
        rejoined: dict[str, MediaFactory] = {}
        for email, device in (("alice@acme.test", "alice-desk"), ("bob@acme.test", "bob-phone")):
            rejoined[email] = MediaFactory()
            again = await sign_in(
                engines, stack.url, email, device_id=device, media=rejoined[email]
            )
            snap = await until(again, in_phase(Phase.ACTIVE))
            assert snap.call is not None
            assert snap.call.id == before.call.id
            assert snap.call.direction == ("outgoing" if email.startswith("alice") else "incoming")
            assert snap.call.connected_at is not None  # from the server's answer time
            joined = rejoined[email].sessions[0].joined
            assert joined is not None
            assert joined[0] == stack.sfu.url
        alice_again, bob_again = engines[2], engines[3]

        await alice_again.hang_up()
        ended = await until(bob_again, in_phase(Phase.ENDED))
        assert ended.call is not None
        assert (ended.call.status, ended.call.reason) == (CallStatus.COMPLETED, Reason.HANGUP)
        # (the first two engines, as if their apps had died, still believe in the call; closing
        # them sends a hang-up the server refuses: the call is already over)
        for engine in engines:  # while the server still runs
            await engine.close()


@pytest.mark.media
async def test_an_answer_after_the_callers_reconnect_still_connects_the_caller(
    tmp_path: Path, engines: list[CallEngine]
) -> None:
    with running_stack(tmp_path, webhooks=False) as stack:
        alice, bob = await alice_and_bob(engines, stack.url)
        await alice.call(contact_id(alice, "bob@acme.test"))
        await until(bob, in_phase(Phase.INCOMING))
        await until(alice, in_phase(Phase.RINGING_OUT))
        await asyncio.to_thread(stack.server.restart)  # every connection is a new one now
        await until(alice, lambda s: s.connection == "online")
        await until(bob, lambda s: s.connection == "online")
        await bob.accept()
        await until(bob, in_phase(Phase.ACTIVE))
        snap = await until(alice, in_phase(Phase.ACTIVE))
        assert snap.call is not None
        await alice.hang_up()
        ended = await until(bob, in_phase(Phase.ENDED))
        assert ended.call is not None
        assert ended.call.status is CallStatus.COMPLETED
        for engine in engines:
            await engine.close()
