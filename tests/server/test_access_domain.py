"""Access taken away, the call operations on a fake clock: :func:`disable_user` (what the
tenant administration calls) closes the user's sockets and ends their calls at once, only in
their tenant; a socket whose token expires is closed by the sweep unless it renewed it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from server.calls import access, connections
from server.calls.deps import DeviceSocket
from server.calls.invite import invite
from server.db.models import CallRow, User
from tests.server.domain import ALICE_LAPTOP, BOB_PHONE, Domain, alice_and_bob_online, told
from voip_contract import InvitePayload, ServerEvent


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[Domain]:
    async with alice_and_bob_online(tmp_path) as made:
        yield made


async def test_disabling_closes_the_users_sockets_and_ends_their_calls(world: Domain) -> None:
    deps, alice, bob = world.nodes[0], world.people["alice"], world.people["bob"]
    call = await invite(
        deps, alice, ALICE_LAPTOP, InvitePayload(callee_id=bob.user_id, request_id="r1")
    )

    assert not await access.disable_user(deps, "another-tenant", bob.user_id)
    assert told(deps).closed == []
    assert await access.disable_user(deps, bob.tenant_id, bob.user_id)

    assert told(deps).closed == [BOB_PHONE.sid]
    ended = [
        data for data, to in told(deps).sent(ServerEvent.ENDED) if to == ("user", alice.user_id)
    ]
    assert [(e["call_id"], e["status"]) for e in ended] == [(call.id, "DECLINED")]
    async with world.sessions() as session:
        row = await session.get(CallRow, call.id)
        user = await session.get(User, bob.user_id)
        assert row is not None
        assert user is not None
        assert row.status == "DECLINED"
        assert user.disabled_at == world.clock.now()
    # The sweep finds the socket again only while its row is there (a node that did not get
    # the message): the same socket, nothing else.
    assert await access.close_sockets(deps, now=world.clock.now()) == 1
    assert told(deps).closed == [BOB_PHONE.sid, BOB_PHONE.sid]
    await connections.disconnected(deps, bob, BOB_PHONE.sid)
    assert await access.close_sockets(deps, now=world.clock.now()) == 0

    assert await access.enable_user(deps, bob.tenant_id, bob.user_id)
    async with world.sessions() as session:
        again = await session.get(User, bob.user_id)
        assert again is not None
        assert again.disabled_at is None


async def test_a_socket_is_closed_when_its_token_expires(world: Domain) -> None:
    deps, clock, bob = world.nodes[0], world.clock, world.people["bob"]
    expiring = replace(bob, expires_at=clock.now() + timedelta(seconds=60))
    tablet = DeviceSocket(sid="s-bob-tablet", device_id="bob-tablet")
    await connections.connected(deps, expiring, tablet)

    clock.advance(59)
    assert await access.close_sockets(deps, now=clock.now()) == 0
    clock.advance(1)
    assert await access.close_sockets(deps, now=clock.now()) == 1
    assert told(deps).closed == [tablet.sid]
