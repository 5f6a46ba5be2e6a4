"""Fairness per socket: events beyond a socket's budget are answered ``rate_limited`` before
any work, a socket that keeps flooding is disconnected, and one user holds a bounded number of
sockets (the budget's arithmetic on a fake clock: :func:`test_the_budget_refills_with_time`)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import socketio

from server.sio.ratelimit import EventBudget, Verdict
from tests.server.conftest import BACKENDS, database_url, start_stack
from tests.server.fakes import FakeClock
from tests.server.harness import Person, Recorder, Stack

BURST, FLOOD, MAX_SOCKETS = 5, 12, 3


def test_the_budget_refills_with_time() -> None:
    clock = FakeClock()
    budget = EventBudget(rate_per_s=2.0, burst=3, flood_limit=4)
    spent = [budget.spend("s1", clock.now()) for _ in range(5)]
    assert spent == [Verdict.ALLOW] * 3 + [Verdict.REFUSE] * 2
    assert budget.spend("s2", clock.now()) is Verdict.ALLOW  # each socket has its own
    clock.advance(0.5)  # one event's worth at 2 per second
    assert budget.spend("s1", clock.now()) is Verdict.ALLOW
    assert budget.spend("s1", clock.now()) is Verdict.REFUSE
    clock.advance(10)  # never more than the burst
    assert [budget.spend("s1", clock.now()) for _ in range(4)] == [Verdict.ALLOW] * 3 + [
        Verdict.REFUSE
    ]
    assert [budget.spend("s1", clock.now()) for _ in range(3)] == [Verdict.REFUSE] * 2 + [
        Verdict.DISCONNECT
    ]
    budget.forget("s1")
    assert budget.spend("s1", clock.now()) is Verdict.ALLOW


@pytest.fixture(scope="module", params=BACKENDS)
def stack_process(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """This module's server (in place of conftest's, under the ``stack`` fixture)."""
    env = {
        "VOIP_SOCKET_EVENT_BURST": str(BURST),
        "VOIP_SOCKET_EVENTS_PER_S": "0.01",
        "VOIP_SOCKET_FLOOD_LIMIT": str(FLOOD),
        "VOIP_MAX_SOCKETS_PER_USER": str(MAX_SOCKETS),
    }
    workdir = Path(tmp_path_factory.mktemp(f"fair-{request.param}"))
    database = database_url(request, request.param)
    yield from start_stack(workdir, database=database, env=env, with_sfu=False)


async def test_events_past_the_budget_are_refused_and_a_flooder_is_closed(stack: Stack) -> None:
    people = await stack.tenant("alice", "bob")
    async with stack.clients(people["alice"], people["bob"]) as (flooder, other):
        acks = await asyncio.gather(*(flooder.call("sync", {}) for _ in range(BURST + 3)))
        codes = [a["ok"] or a["error"]["code"] for a in acks]
        assert codes.count(True) == BURST
        assert codes.count("rate_limited") == 3
        assert (await other.call("sync", {}))["ok"]  # another socket has its own budget

        for _ in range(FLOOD):
            if not flooder.sio.connected:
                break
            await flooder.sio.emit("sync", {}, namespace="/call")
        await asyncio.wait_for(flooder.sio.wait(), 10)
        assert not flooder.sio.connected
        assert other.sio.connected
        assert (await other.call("sync", {}))["ok"]


async def test_a_socket_flooding_presence_watches_is_closed_and_its_user_goes_offline(
    stack: Stack,
) -> None:
    # The flood's last watch is refused inside the socket's watch lock, and its disconnect runs
    # there: the socket's end must not wait for that lock, or the user stays online for good.
    people = await stack.tenant("alice", "bob")
    async with stack.clients(people["alice"], people["bob"]) as (flooder, bob):
        assert (await bob.call("presence_watch", {"user_ids": [people["alice"].id]}))["ok"]
        for _ in range(FLOOD + BURST):
            if not flooder.sio.connected:
                break
            await flooder.sio.emit("presence_watch", {"user_ids": [people["bob"].id]}, "/call")
        await asyncio.wait_for(flooder.sio.wait(), 10)
        await bob.next_matching("presence", user_id=people["alice"].id, presence="offline")


async def _connect_once_freed(stack: Stack, user: Person) -> Recorder:
    """A new socket of ``user``, once the server has handled the one just closed: the
    client's ``disconnect`` returns when its close is sent, and the server frees the socket's
    place when it handles it, a moment later (on a busy machine, later still)."""
    for _ in range(49):
        try:
            return await Recorder(stack.url, user).connect()
        except socketio.exceptions.ConnectionError:
            await asyncio.sleep(0.1)
    return await Recorder(stack.url, user).connect()


async def test_one_user_holds_a_bounded_number_of_sockets(stack: Stack) -> None:
    alice = (await stack.tenant("alice"))["alice"]
    held = [await Recorder(stack.url, alice).connect() for _ in range(MAX_SOCKETS)]
    try:
        with pytest.raises(socketio.exceptions.ConnectionError):
            await Recorder(stack.url, alice).connect()
        await held.pop().disconnect()
        held.append(await _connect_once_freed(stack, alice))
    finally:
        for r in held:
            await r.disconnect()


async def test_parallel_connects_never_pass_the_socket_cap(stack: Stack) -> None:
    # All at once (PostgreSQL too, where two connects that count and then insert in parallel
    # transactions would both pass the count).
    alice = (await stack.tenant("alice"))["alice"]
    tries = [Recorder(stack.url, alice) for _ in range(4 * MAX_SOCKETS)]
    outcomes = await asyncio.gather(*(r.connect() for r in tries), return_exceptions=True)
    held = [r for r in outcomes if isinstance(r, Recorder)]
    try:
        assert len(held) == MAX_SOCKETS, outcomes
        refused = [r for r in outcomes if isinstance(r, socketio.exceptions.ConnectionError)]
        assert len(refused) == 3 * MAX_SOCKETS, outcomes
    finally:
        for r in held:
            await r.disconnect()
