"""FCM unreachable changes nothing else: the callee's sockets ring at once, the call log is
right, the server stays responsive, and the outage is logged once, not once per call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.server.conftest import start_stack
from tests.server.harness import Stack
from tests.server.test_push import register
from tests.support.fake_fcm import FakeFcm
from tests.support.servers import HOST, free_port


@pytest.fixture(scope="module")
def unreachable_process(
    tmp_path_factory: pytest.TempPathFactory, fake_fcm: FakeFcm
) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("push-unreachable")
    credentials = fake_fcm.write_service_account(workdir / "service-account.json")
    nowhere = f"http://{HOST}:{free_port()}"  # nothing listens there
    env = {**fake_fcm.env(credentials, endpoint=nowhere), "VOIP_PUSH_POLL_S": "0.2"}
    yield from start_stack(workdir, database=None, env=env, with_sfu=False)


@pytest.fixture
async def stack(unreachable_process: Stack) -> AsyncIterator[Stack]:
    fresh = Stack(unreachable_process.server, None)
    yield fresh
    await fresh.aclose()


async def test_fcm_unreachable_changes_nothing_else(stack: Stack) -> None:
    p = await stack.tenant("alice", "bob")
    await register(stack, p["bob"], "phone", f"{p['bob'].id}-phone")
    async with stack.clients(p["alice"], (p["bob"], "laptop")) as (a, laptop):
        for _ in range(3):
            call = await a.invite(p["bob"])
            assert call["status"] == "RINGING"
            assert (await laptop.next("incoming"))["call"]["id"] == call["id"]
            assert (await a.call("cancel", {"call_id": call["id"]}))["ok"]
            await laptop.next_matching("ended", call_id=call["id"])
            history = await stack.get_call(p["alice"], call["id"])
            assert (history["status"], history["reason"]) == ("CANCELED", "canceled")
    # The pushes go out after the commits, on the sender's own time: wait for the outage's
    # line, then for several more of the sender's polls (0.2 s), each of which retries the
    # calls' pushes and would log the outage again if it were logged per attempt.
    for _ in range(100):
        if "FCM unavailable" in stack.server.log():
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)
    log = stack.server.log()
    assert log.count("FCM unavailable") == 1, log
    assert "FCM reachable again" not in log
