"""Two server processes behind one database and a real redis-server: caller on one node,
callee on the other. Nothing about a call may rest on one node's memory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.server.conftest import livekit_env
from tests.server.harness import PASSWORD, Person, Stack, call_events, race_invites
from tests.support.devsfu import running_devsfu
from tests.support.servers import HOST, CallServer, RedisServer, free_port

pytestmark = pytest.mark.redis


@dataclass
class Cluster:
    one: Stack
    two: Stack


@pytest.fixture(scope="module")
def cluster_processes(
    redis: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[CallServer, CallServer, str]]:
    workdir: Path = tmp_path_factory.mktemp("cluster")
    database = f"sqlite+aiosqlite:///{workdir / 'shared.db'}"
    port_one, port_two = free_port(), free_port()
    env = {
        "VOIP_REDIS_URL": redis.url,
        "VOIP_RING_TIMEOUT_S": "3",
        "VOIP_SWEEP_INTERVAL_S": "0.2",
        "VOIP_JWT_SECRET": "cluster-shared-test-secret-0000000000000000",
    }
    webhook = f"http://{HOST}:{port_one}/api/livekit/webhook"
    with running_devsfu(host=HOST, webhook_url=webhook) as sfu:
        full = {**env, **livekit_env(sfu)}
        with (
            CallServer.start(workdir, env=full, database_url=database, port=port_one) as one,
            CallServer.start(workdir, env=full, database_url=database, port=port_two) as two,
        ):
            yield one, two, sfu.url


@pytest.fixture
async def cluster(
    cluster_processes: tuple[CallServer, CallServer, str],
) -> AsyncIterator[Cluster]:
    one, two, _ = cluster_processes
    nodes = Cluster(Stack(one, None), Stack(two, None))
    yield nodes
    await nodes.one.aclose()
    await nodes.two.aclose()


async def test_call_across_nodes(cluster: Cluster) -> None:
    p = await cluster.one.tenant("alice", "bob")
    async with cluster.one.clients(p["alice"]) as (a,), cluster.two.clients(p["bob"]) as (b,):
        await a.next_matching("presence", user_id=p["bob"].id, presence="online")
        contacts = await cluster.one.http.get("/api/contacts", headers=p["alice"].auth)
        assert contacts.json()["items"][0]["presence"] == "online"
        call = await a.invite(p["bob"])
        assert call["status"] == "RINGING"
        assert (await b.next("incoming"))["call"]["id"] == call["id"]
        await a.next_matching("ringing", call_id=call["id"])
        ack = await b.call("accept", {"call_id": call["id"]})
        assert ack["ok"], ack
        accepted = await a.next_matching("accepted", call_id=call["id"])
        assert accepted["room_name"] == ack["room_name"]
        assert (await a.call("hangup", {"call_id": call["id"]}))["ok"]
        for r in (a, b):
            ended = await r.next_matching("ended", call_id=call["id"])
            assert (ended["status"], ended["reason"]) == ("COMPLETED", "hangup")


async def test_devices_on_two_nodes_first_answer_wins(cluster: Cluster) -> None:
    p = await cluster.one.tenant("alice", "bob")
    async with (
        cluster.one.clients(p["alice"], (p["bob"], "phone")) as (a, phone),
        cluster.two.clients((p["bob"], "desktop")) as (desktop,),
    ):
        call = await a.invite(p["bob"])
        await phone.next("incoming")
        await desktop.next("incoming")
        acks = await asyncio.gather(
            phone.call("accept", {"call_id": call["id"]}),
            desktop.call("accept", {"call_id": call["id"]}),
        )
        assert sorted(ack["ok"] for ack in acks) == [False, True]
        winner = phone if acks[0]["ok"] else desktop
        loser = desktop if winner is phone else phone
        assert (await loser.next("answered_elsewhere"))["call_id"] == call["id"]
        await a.next_matching("accepted", call_id=call["id"])
        assert (await winner.call("hangup", {"call_id": call["id"]}))["ok"]


async def test_ring_timeout_settled_once_with_two_sweepers(cluster: Cluster) -> None:
    p = await cluster.one.tenant("alice", "bob")
    async with cluster.one.clients(p["alice"]) as (a,), cluster.two.clients(p["bob"]) as (b,):
        call = await a.invite(p["bob"])
        await b.next("incoming")
        for r in (a, b):
            ended = await r.next_matching("ended", call_id=call["id"])
            assert (ended["status"], ended["reason"]) == ("MISSED", "ring_timeout")
    events = await call_events(cluster.one, call["id"])
    assert [e[0] for e in events] == ["invite", "ring_timeout"]


async def test_reconnect_to_the_other_node_rings_again(cluster: Cluster) -> None:
    p = await cluster.one.tenant("alice", "bob")
    async with cluster.one.clients(p["alice"]) as (a,):
        async with cluster.one.clients(p["bob"]) as (b,):
            call = await a.invite(p["bob"])
            await b.next("incoming")
        async with cluster.two.clients(p["bob"]) as (b2,):
            assert (await b2.next("incoming"))["call"]["id"] == call["id"]
            assert (await b2.call("decline", {"call_id": call["id"]}))["ok"]
            ended = await a.next_matching("ended", call_id=call["id"])
            assert ended["status"] == "DECLINED"


async def test_simultaneous_invites_on_two_nodes_ring_one_call_only(cluster: Cluster) -> None:
    p = await cluster.one.tenant("alice", "bob", "carol")
    async with (
        cluster.one.clients(p["alice"], p["carol"]) as (a, c),
        cluster.two.clients(p["bob"]) as (b,),
    ):
        await race_invites((a, c), (b, c))  # alice on node one and bob on node two call carol
        _, crossed = await race_invites((a, b), (b, a))
        assert sorted(crossed["outcomes"]) == ["RINGING", "invalid_state"]


async def test_accepted_reaches_the_callers_new_socket_on_the_other_node(cluster: Cluster) -> None:
    p = await cluster.one.tenant("alice", "bob")
    async with cluster.one.clients(p["bob"]) as (b,):
        async with cluster.one.clients((p["alice"], "laptop")) as (old,):
            call = await old.invite(p["bob"])
            await b.next("incoming")
        async with cluster.two.clients((p["alice"], "laptop"), (p["alice"], "phone")) as (
            new,
            other,
        ):
            ack = await b.call("accept", {"call_id": call["id"]})
            assert ack["ok"], ack
            accepted = await new.next_matching("accepted", call_id=call["id"])
            assert accepted["room_name"] == ack["room_name"]
            assert (await new.call("hangup", {"call_id": call["id"]}))["ok"]
            await other.next_matching("ended", call_id=call["id"])
    assert "accepted" not in other.names() + old.names()


async def test_access_taken_away_on_one_node_ends_on_the_other(cluster: Cluster) -> None:
    p = await cluster.one.tenant("alice", "bob", with_password=True)
    login = await cluster.one.http.post(
        "/api/auth/login", json={"email": p["bob"].email, "password": PASSWORD}
    )
    session_token = login.json()["access_token"]
    signed_in = Person(**{**p["bob"].__dict__, "token": session_token})
    async with (
        cluster.one.clients(p["alice"]) as (a,),
        cluster.two.clients(signed_in, p["bob"]) as (on_two, other_bob),
    ):
        # sign-out on node one closes that session's socket on node two, and only that one
        out = await cluster.one.http.post("/api/auth/logout", headers=signed_in.auth)
        assert out.status_code == 204, out.text
        await asyncio.wait_for(on_two.sio.wait(), 10)
        assert other_bob.sio.connected

        # (answered: the cluster's 3 s ring timeout would end a ringing call before the CLI)
        call = await a.invite(p["bob"])
        await other_bob.next("incoming")
        assert (await other_bob.call("accept", {"call_id": call["id"]}))["ok"]
        await asyncio.to_thread(cluster.one.server.cli, "disable-user", p["bob"].email)
        await asyncio.wait_for(other_bob.sio.wait(), 10)
        ended = await a.next_matching("ended", call_id=call["id"])
        assert (ended["status"], ended["reason"]) == ("COMPLETED", "hangup")
        for node in (cluster.one, cluster.two):
            me = await node.http.get("/api/me", headers=p["bob"].auth)
            assert me.status_code == 401
