"""Signaling and the engine through a real call server (uvicorn, SQLite), no media.

The server stopped mid-ring: both clients notice, reconnect on their own, ``sync`` and settle.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.engine.stack import PASSWORD, no_media
from tests.engine.waits import in_phase, until
from tests.support.servers import CallServer
from voip_app.call import Phase
from voip_app.engine import CallEngine, EngineEvent
from voip_app.engine.events import SignalingUpEvent
from voip_app.errors import ServerUnreachable, Unauthorized
from voip_app.signaling import Signaling, SignalingClient
from voip_contract import CallStatus, Incoming, Reason


@pytest.fixture
def server_env() -> dict[str, str]:
    return {"VOIP_RING_TIMEOUT_S": "30"}


async def signed_in(
    server: CallServer, email: str, clients: list[SignalingClient] | None = None
) -> CallEngine:
    """``email``'s engine, signed in; the signaling clients it makes go to ``clients``."""
    made = clients if clients is not None else []

    def signaling(url: str, token: Callable[[], str | None], device: str | None) -> Signaling:
        made.append(SignalingClient(url, token, device_id=device))
        return made[-1]

    engine = CallEngine(media_factory=no_media, signaling_factory=signaling, device_id=email)
    await engine.sign_in(server.url, email, PASSWORD)
    return engine


async def test_a_bad_token_is_refused_at_connect(server: CallServer) -> None:
    client = SignalingClient(server.url, lambda: "not-a-token")
    with pytest.raises(Unauthorized):
        await client.connect()
    await client.disconnect()


async def test_nothing_listening_is_unreachable(server: CallServer) -> None:
    client = SignalingClient("http://127.0.0.1:9", lambda: "x")
    with pytest.raises(ServerUnreachable):
        await client.connect()
    await client.disconnect()


async def test_events_are_typed_and_sync_lists_the_ringing_call(server: CallServer) -> None:
    alice = await signed_in(server, "alice@acme.test")
    incomings: asyncio.Queue[Incoming] = asyncio.Queue()
    clients: list[SignalingClient] = []
    bob = await signed_in(server, "bob@acme.test", clients)
    (bob_signaling,) = clients
    # listen on the raw signaling stream
    bob_signaling.set_listener(
        lambda e: incomings.put_nowait(e) if isinstance(e, Incoming) else None
    )
    try:
        bob_id = next(c.id for c in alice.snapshot.contacts if c.email == "bob@acme.test")
        await alice.call(bob_id)
        await until(alice, in_phase(Phase.RINGING_OUT))
        incoming = await asyncio.wait_for(incomings.get(), 10)
        assert incoming.call.caller.display_name
        assert incoming.call.direction == "incoming"
        calls = await bob_signaling.sync()
        assert [c.id for c in calls] == [incoming.call.id]
    finally:
        await alice.close()
        await bob.close()


async def test_the_server_stopped_mid_ring_and_both_clients_settle(
    server: CallServer,
) -> None:
    alice = await signed_in(server, "alice@acme.test")
    bob = await signed_in(server, "bob@acme.test")
    bob_log: list[EngineEvent] = []
    bob.add_event_listener(bob_log.append)
    try:
        bob_id = next(c.id for c in alice.snapshot.contacts if c.email == "bob@acme.test")
        await alice.call(bob_id)
        await until(bob, in_phase(Phase.INCOMING))
        await until(alice, in_phase(Phase.RINGING_OUT))

        await asyncio.to_thread(server.stop)
        await until(alice, lambda s: s.connection == "reconnecting")
        await until(bob, lambda s: s.connection == "reconnecting")
        await asyncio.to_thread(server.launch)
        await until(alice, lambda s: s.connection == "online")
        await until(bob, lambda s: s.connection == "online")

        # still ringing on both sides after the restart (the call lives in the database)
        assert alice.snapshot.call is not None
        assert alice.snapshot.call.phase is Phase.RINGING_OUT
        assert bob.snapshot.call is not None
        assert bob.snapshot.call.phase is Phase.INCOMING
        assert bob.snapshot.call.id == alice.snapshot.call.id
        # the server rang Bob's new connection again, and `sync` listed the call: one ring
        assert [e.name for e in bob_log].count("incoming") == 1

        await alice.cancel()
        snap = await until(bob, in_phase(Phase.ENDED))
        assert snap.call is not None
        assert (snap.call.status, snap.call.reason) == (CallStatus.CANCELED, Reason.CANCELED)
    finally:
        await alice.close()
        await bob.close()


async def test_a_call_that_timed_out_while_the_server_was_down_is_settled_by_sync(
    tmp_path: Path,
) -> None:
    with CallServer.start(tmp_path, env={"VOIP_RING_TIMEOUT_S": "2"}, seed_demo=True) as server:
        alice = await signed_in(server, "alice@acme.test")
        bob = await signed_in(server, "bob@acme.test")
        try:
            bob_id = next(c.id for c in alice.snapshot.contacts if c.email == "bob@acme.test")
            await alice.call(bob_id)
            snap = await until(bob, in_phase(Phase.INCOMING))
            assert snap.call is not None
            assert snap.call.ring_expires_at is not None
            await asyncio.to_thread(server.stop)
            # stay down until the ring deadline (kept in the database) has passed
            left = (snap.call.ring_expires_at - datetime.now(UTC)).total_seconds()
            await asyncio.sleep(max(left, 0) + 0.2)
            await asyncio.to_thread(server.launch)
            for engine in (alice, bob):
                ended = await until(engine, in_phase(Phase.ENDED))
                assert ended.call is not None
                assert (ended.call.status, ended.call.reason) == (
                    CallStatus.MISSED,
                    Reason.RING_TIMEOUT,
                )
        finally:
            await alice.close()
            await bob.close()


async def test_link_up_reports_reconnects(server: CallServer) -> None:
    alice = await signed_in(server, "alice@acme.test")
    reconnected = asyncio.Event()

    def spy(event: EngineEvent) -> None:  # the engine logs every LinkUp it hears
        if isinstance(event, SignalingUpEvent) and event.reconnected:
            reconnected.set()

    alice.add_event_listener(spy)
    try:
        await asyncio.to_thread(server.restart)
        await asyncio.wait_for(reconnected.wait(), 20)
        assert alice.snapshot.connection == "online"
    finally:
        await alice.close()


async def test_a_user_disabled_by_an_admin_is_signed_out(server: CallServer) -> None:
    """The server closes a disabled user's sockets (python-socketio then leaves them closed):
    his engine connects again, hears the refusal and says the session is over."""
    bob = await signed_in(server, "bob@acme.test")
    try:
        await until(bob, lambda s: s.connection == "online")
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            login = await http.post(
                "/api/auth/login", json={"email": "alice@acme.test", "password": PASSWORD}
            )
            admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
            assert bob.snapshot.user is not None
            disabled = await http.post(
                f"/api/admin/users/{bob.snapshot.user.id}/disable", headers=admin
            )
            assert disabled.status_code == 200, disabled.text
        snapshot = await until(bob, lambda s: s.session_expired)
        assert snapshot.connection == "expired"
    finally:
        await bob.close()
