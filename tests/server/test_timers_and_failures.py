"""Ring timeout, rejoin grace, restart with an overdue call, a room that closed without a
webhook, LiveKit unreachable at accept."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
from livekit.api import DeleteRoomRequest, LiveKitAPI

from tests.server.conftest import BACKENDS, database_url, livekit_env, start_stack
from tests.server.harness import Stack, call_events, grace_of, post_webhook
from tests.support.devsfu import running_devsfu
from tests.support.servers import HOST, CallServer, free_port


@pytest.fixture(scope="module", params=BACKENDS)
def timeout_process(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    env = {
        "VOIP_RING_TIMEOUT_S": "1",
        "VOIP_REJOIN_GRACE_S": "1",
        "VOIP_SWEEP_INTERVAL_S": "0.2",
    }
    workdir = tmp_path_factory.mktemp(f"timeout-{request.param}")
    yield from start_stack(workdir, database=database_url(request, request.param), env=env)


@pytest.fixture
async def short_ring(timeout_process: Stack) -> AsyncIterator[Stack]:
    stack = Stack(timeout_process.server, timeout_process.sfu)
    yield stack
    await stack.aclose()


async def test_ring_timeout_ends_missed_and_tells_both(short_ring: Stack) -> None:
    p = await short_ring.tenant("alice", "bob")
    async with short_ring.clients(p["alice"], p["bob"]) as (a, b):
        call = await a.invite(p["bob"])
        incoming = await b.next("incoming")
        expires = datetime.fromisoformat(incoming["ring_expires_at"])
        assert 0 < (expires - datetime.now(UTC)).total_seconds() <= 1.5
        for r in (a, b):
            ended = await r.next_matching("ended", call_id=call["id"])
            assert (ended["status"], ended["reason"]) == ("MISSED", "ring_timeout")
        late = await b.call("accept", {"call_id": call["id"]})
        assert late["error"]["code"] == "invalid_state"
    history = await short_ring.get_call(p["bob"], call["id"])
    assert (history["status"], history["reason"]) == ("MISSED", "ring_timeout")
    events = await call_events(short_ring, call["id"])
    assert events == [
        ("invite", None, "RINGING", p["alice"].id),
        ("ring_timeout", "RINGING", "MISSED", "system"),
    ]


async def test_left_and_not_back_ends_after_the_grace_rejoined_continues(
    short_ring: Stack,
) -> None:
    p = await short_ring.tenant("alice", "bob", "carol", "dave")
    async with short_ring.clients(p["alice"], p["bob"], p["carol"], p["dave"]) as (a, b, c, d):
        rooms = {}
        for caller, callee in ((a, b), (c, d)):
            call = await caller.invite(callee.person)
            await callee.next_matching("incoming")
            ack = await callee.call("accept", {"call_id": call["id"]})
            assert ack["ok"], ack
            rooms[call["id"]] = (ack["room_name"], caller, callee)
        (kept, (kept_room, _, _)), (lost, (lost_room, _, _)) = rooms.items()
        # bob's media drops and comes back; then dave's drops for good
        await post_webhook(short_ring, "participant_left", kept_room, f"{p['bob'].id}:b")
        await post_webhook(short_ring, "participant_joined", kept_room, f"{p['bob'].id}:b")
        await post_webhook(short_ring, "participant_left", lost_room, f"{p['dave'].id}:d")
        for r in (c, d):
            ended = await r.next_matching("ended", call_id=lost)
            assert (ended["status"], ended["reason"]) == ("COMPLETED", "participant_left")
        # bob's grace would have run out no later than dave's: the sweep that ended dave's
        # call would have ended bob's too had his rejoin not cleared it
        assert (await short_ring.get_call(p["alice"], kept))["status"] == "IN_PROGRESS"
        assert await grace_of(short_ring, kept) == (None, None)
        assert a.pending("ended") == b.pending("ended") == 0
        assert (await a.call("hangup", {"call_id": kept}))["ok"]
        for r in (a, b):
            ended = await r.next_matching("ended", call_id=kept)
            assert (ended["status"], ended["reason"]) == ("COMPLETED", "hangup")
    logged = await short_ring.get_call(p["dave"], lost)
    assert (logged["status"], logged["reason"]) == ("COMPLETED", "participant_left")
    events = await call_events(short_ring, lost)
    assert [(e[0], e[1], e[2], e[3]) for e in events[2:]] == [
        ("participant_left", "IN_PROGRESS", "IN_PROGRESS", "system"),
        ("participant_left", "IN_PROGRESS", "COMPLETED", "system"),
    ]
    for _ in range(100):  # both rooms are deleted in the background: poll, bounded
        listed = (await short_ring.http.get("/api/rooms/active", headers=p["dave"].auth)).json()
        if listed == []:
            break
        await asyncio.sleep(0.05)
    assert listed == []


@pytest.mark.parametrize("backend", BACKENDS)
async def test_restart_settles_a_call_that_rang_past_its_deadline_meanwhile(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # The periodic sweep is too slow to matter here: only the settlement at start can end it.
    env = {"VOIP_RING_TIMEOUT_S": "1", "VOIP_SWEEP_INTERVAL_S": "600"}
    workdir = tmp_path_factory.mktemp(f"restart-{backend}")
    stacks = start_stack(workdir, database=database_url(request, backend), env=env)
    stack = next(stacks)
    try:
        p = await stack.tenant("alice", "bob")
        async with stack.clients(p["alice"], p["bob"]) as (a, b):
            call = await a.invite(p["bob"])
            incoming = await b.next("incoming")
        stack.server.stop()
        expires = datetime.fromisoformat(incoming["ring_expires_at"])
        # the deadline passes while no server runs (waiting for the clock is the point here)
        await asyncio.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.1)
        stack.server.launch()
        settled = await stack.get_call(p["alice"], call["id"])
        assert (settled["status"], settled["reason"]) == ("MISSED", "ring_timeout")
        async with stack.clients(p["bob"]) as (b2,):
            assert (await b2.call("sync"))["calls"] == []
            assert "incoming" not in b2.names()
    finally:
        await stack.aclose()
        next(stacks, None)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_room_that_closed_unannounced_ends_its_call(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # LiveKit cannot reach the server's webhook (every node down past its retries, a firewall):
    # the room audit is the only way the server learns that the room is gone.
    env = {"VOIP_ROOM_AUDIT_S": "0.5", "VOIP_ROOM_AUDIT_MIN_AGE_S": "0"}
    workdir = tmp_path_factory.mktemp(f"audit-{backend}")
    database = database_url(request, backend)
    with (
        running_devsfu(host=HOST, webhook_url="") as sfu,
        CallServer.start(workdir, env={**livekit_env(sfu), **env}, database_url=database) as srv,
    ):
        stack = Stack(srv, sfu)
        try:
            p = await stack.tenant("alice", "bob")
            async with stack.clients(p["alice"], p["bob"]) as (a, b):
                call = await a.invite(p["bob"])
                await b.next("incoming")
                room = (await b.call("accept", {"call_id": call["id"]}))["room_name"]
                async with LiveKitAPI(sfu.http_url, sfu.api_key, sfu.api_secret) as lk:
                    await lk.room.delete_room(DeleteRoomRequest(room=room))
                for r in (a, b):
                    ended = await r.next_matching("ended", call_id=call["id"])
                    assert (ended["status"], ended["reason"]) == ("COMPLETED", "room_finished")
                # both lines are free again
                again = await a.invite(p["bob"])
                assert again["status"] == "RINGING"
            events = await call_events(stack, call["id"])
            assert events[-1] == ("room_finished", "IN_PROGRESS", "COMPLETED", "system")
        finally:
            await stack.aclose()


@pytest.fixture(scope="module")
def no_livekit_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    closed = free_port()  # nothing listens there
    env = {
        "VOIP_LIVEKIT_URL": f"ws://{HOST}:{closed}",
        "VOIP_LIVEKIT_API_KEY": "devkey",
        "VOIP_LIVEKIT_API_SECRET": "a-secret-for-a-livekit-that-is-not-there",
    }
    workdir = tmp_path_factory.mktemp("no-livekit")
    yield from start_stack(workdir, database=None, env=env, with_sfu=False)


async def test_livekit_unreachable_at_accept_fails_the_call(no_livekit_process: Stack) -> None:
    stack = Stack(no_livekit_process.server, None)
    try:
        p = await stack.tenant("alice", "bob")
        async with stack.clients(p["alice"], p["bob"]) as (a, b):
            call = await a.invite(p["bob"])
            await b.next("incoming")
            ack = await b.call("accept", {"call_id": call["id"]})
            assert ack["error"]["code"] == "unavailable"
            for r in (a, b):
                ended = await r.next_matching("ended", call_id=call["id"])
                assert (ended["status"], ended["reason"]) == ("FAILED", "media_unavailable")
            assert "accepted" not in a.names()
            assert (await a.call("sync"))["calls"] == []
        rooms = await stack.http.get("/api/rooms/active", headers=p["alice"].auth)
        assert (rooms.status_code, rooms.json()["error"]["code"]) == (503, "unavailable")
        events = await call_events(stack, call["id"])
        assert [e[2] for e in events] == ["RINGING", "IN_PROGRESS", "FAILED"]
    finally:
        await stack.aclose()
