"""Recording rules on a fake clock against a real SQLite database (no server process): the
default policy for tenants without their own, signed URLs expiring and refusing alterations,
the retention sweep on two nodes at once, and egress reports arriving before the egress id was
written. The same recording end to end with real media: ``test_recording.py``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from server.auth import Identity
from server.calls import answer, connections, recording, recording_files, settle
from server.calls.deps import CallDeps, DeviceSocket
from server.calls.invite import invite
from server.callstate import StatusEvent
from server.db.models import RecordingRow
from server.errors import ServiceError
from server.media import EgressResult
from tests.server.domain import Domain, domain, rooms_of, told
from tests.support.loopback_http import LoopbackHTTPServer, QuietHandler
from voip_contract import ErrorCode, InvitePayload, ServerEvent

TTL_S = 60
RETENTION_DAYS = 30
BOB_PHONE = DeviceSocket("sid-b", "phone")


@dataclass
class World:
    domain: Domain
    nodes: tuple[CallDeps, CallDeps]

    def who(self, name: str) -> Identity:
        return self.domain.people[name]

    async def recorded_call(self, request_id: str) -> RecordingRow:
        """alice calls bob, bob answers (policy ``all`` by default), egress completes."""
        deps = self.nodes[0]
        await connections.heartbeat(deps, now=self.domain.clock.now())  # bob's phone is live
        payload = InvitePayload(callee_id=self.who("bob").user_id, request_id=request_id)
        call = await invite(deps, self.who("alice"), DeviceSocket("sid-a", "laptop"), payload)
        incoming = told(deps).sent(ServerEvent.INCOMING)[-1][0]
        assert incoming["recording"] is True
        await answer.accept(deps, self.who("bob"), BOB_PHONE, call.id)
        await deps.background.drain()
        (filepath, started), *_ = rooms_of(deps).egress.items()
        rooms_of(deps).egress.clear()
        path = deps.settings.recordings_path / filepath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"OggS" + bytes(100))
        done = EgressResult(
            started.egress_id, started.room_name, "complete", filepath, str(path), 12.5, 104
        )
        await recording.on_egress(deps, "egress_ended", done)
        async with self.domain.sessions() as session:
            row = await session.get(RecordingRow, filepath.removesuffix(".ogg"))
        assert row is not None
        assert row.status == "complete"
        # the call ends (its room finished), so the next one can ring
        await settle.settle(deps, settle.by_id(call.id), StatusEvent.ROOM_FINISHED)
        return row


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with domain(tmp_path, "alice", "bob", "carol") as made:
        settings = {
            "recording_default": "all",
            "recording_url_ttl_s": TTL_S,
            "recording_retention_days": RETENTION_DAYS,
        }
        nodes = (made.node("node-a", **settings), made.node("node-b", **settings))
        await connections.heartbeat(nodes[0], now=made.clock.now())
        await connections.connected(nodes[0], made.people["bob"], BOB_PHONE)
        yield World(made, nodes)


async def test_signed_urls_expire_and_name_one_recording_and_user(world: World) -> None:
    row = await world.recorded_call("r1")
    deps, alice = world.nodes[0], world.who("alice")
    signed = await recording_files.sign(deps, alice, row.id)
    query = {k: v[0] for k, v in parse_qs(urlparse(signed.path).query).items()}
    user, expires, sig = query["user"], int(query["expires"]), query["sig"]
    assert user == alice.user_id
    assert (await recording_files.verify(deps, row.id, user, expires, sig)).is_file()
    # any other node verifies it too (same secret)
    assert await recording_files.verify(world.nodes[1], row.id, user, expires, sig)

    for args in (
        (row.id, world.who("carol").user_id, expires, sig),  # someone else's name on it
        (row.id, user, expires + 3600, sig),  # a longer life
        (row.id, user, expires, sig[:-1] + ("0" if sig[-1] != "0" else "1")),
    ):
        with pytest.raises(ServiceError) as caught:
            await recording_files.verify(deps, *args)  # type: ignore[arg-type]
        assert caught.value.code is ErrorCode.FORBIDDEN
    world.domain.clock.advance(TTL_S - 1)
    assert await recording_files.verify(deps, row.id, user, expires, sig)
    world.domain.clock.advance(1)
    with pytest.raises(ServiceError) as expired:
        await recording_files.verify(deps, row.id, user, expires, sig)
    assert expired.value.code is ErrorCode.FORBIDDEN
    with pytest.raises(ServiceError) as stranger:
        await recording_files.sign(deps, world.who("carol"), row.id)
    assert stranger.value.code is ErrorCode.NOT_FOUND


async def test_retention_deletes_each_old_recording_once_across_nodes(world: World) -> None:
    old = [await world.recorded_call(f"old{i}") for i in range(3)]
    world.domain.clock.advance(RETENTION_DAYS * 86400 - 10)
    young = await world.recorded_call("young")
    world.domain.clock.advance(10)  # the old ones are exactly RETENTION_DAYS old: kept
    assert await recording_files.sweep_retention(world.nodes[0], now=world.domain.clock.now()) == 0
    now = world.domain.clock.advance(0.001)
    counts = await asyncio.gather(
        *(recording_files.sweep_retention(n, now=now) for n in world.nodes)
    )
    assert sum(counts) == 3
    base = world.nodes[0].settings.recordings_path
    assert [r.id for r in old if (base / r.filename).exists()] == []
    assert (base / young.filename).exists()
    async with world.domain.sessions() as session:
        assert [await session.get(RecordingRow, r.id) for r in old] == [None] * 3
        assert await session.get(RecordingRow, young.id) is not None


async def test_a_tenant_policy_overrides_the_default(world: World) -> None:
    from server.db import recordings as rec_data

    deps = world.nodes[0]
    tenant = world.who("alice").tenant_id
    assert await recording.consent(deps, tenant) is True  # VOIP_RECORDING_DEFAULT=all
    async with world.domain.sessions() as session:
        assert await rec_data.set_tenant_policy(session, slug="acme", policy="off")
        await session.commit()
    assert await recording.consent(deps, tenant) is False


class FakeS3:
    """An S3-compatible endpoint on loopback that keeps the requests it gets (answers 204)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        fake = self

        class Handler(QuietHandler):
            def do_DELETE(self) -> None:
                fake.requests.append(("DELETE", self.path))
                self.send_response(204)
                self.end_headers()

        self._http = LoopbackHTTPServer(Handler)

    @property
    def url(self) -> str:
        return self._http.origin

    def close(self) -> None:
        self._http.close()


async def test_with_s3_storage_recordings_redirect_and_are_deleted_there(tmp_path: Path) -> None:
    s3 = FakeS3()
    try:
        async with domain(tmp_path, "alice", "bob") as made:
            settings = {
                "recording_default": "all",
                "recording_url_ttl_s": TTL_S,
                "recording_retention_days": RETENTION_DAYS,
                "recording_s3_endpoint": s3.url,
                "recording_s3_bucket": "calls",
                "recording_s3_access_key": "test-access-key",
                "recording_s3_secret_key": "test-secret-key",
            }
            nodes = (made.node("node-a", **settings), made.node("node-b", **settings))
            await connections.heartbeat(nodes[0], now=made.clock.now())
            await connections.connected(nodes[0], made.people["bob"], BOB_PHONE)
            world = World(made, nodes)
            row = await world.recorded_call("s3")
            signed = await recording_files.sign(nodes[0], world.who("bob"), row.id)
            query = {k: v[0] for k, v in parse_qs(urlparse(signed.path).query).items()}
            target = await recording_files.verify(
                nodes[0], row.id, query["user"], int(query["expires"]), query["sig"]
            )
            assert isinstance(target, str)
            where = urlparse(target)
            assert f"{where.scheme}://{where.netloc}" == s3.url
            assert where.path == f"/calls/{row.id}.ogg"
            amz = parse_qs(where.query)
            assert amz["X-Amz-Expires"] == [str(TTL_S)]
            assert amz["X-Amz-Credential"][0].startswith("test-access-key/")
            made.clock.advance(RETENTION_DAYS * 86400 + 1)
            now = made.clock.now()
            counts = await asyncio.gather(
                *(recording_files.sweep_retention(n, now=now) for n in nodes)
            )
            assert sum(counts) == 1
            assert [(m, urlparse(p).path) for m, p in s3.requests] == [
                ("DELETE", f"/calls/{row.id}.ogg")
            ]
            assert "X-Amz-Signature=" in s3.requests[0][1]
    finally:
        s3.close()


async def _answered(world: World, request_id: str) -> str:
    deps = world.nodes[0]
    await connections.heartbeat(deps, now=world.domain.clock.now())
    payload = InvitePayload(callee_id=world.who("bob").user_id, request_id=request_id)
    call = await invite(deps, world.who("alice"), DeviceSocket("sid-a", "laptop"), payload)
    await answer.accept(deps, world.who("bob"), BOB_PHONE, call.id)
    await deps.background.drain()
    return call.id


async def _recordings(world: World, call_id: str) -> list[tuple[str, str | None]]:
    from sqlalchemy import select

    async with world.domain.sessions() as session:
        rows = await session.scalars(select(RecordingRow).where(RecordingRow.call_id == call_id))
        return sorted((r.status, r.error) for r in rows)


async def test_both_parties_starting_at_once_on_two_nodes_make_one_recording(
    world: World,
) -> None:
    from server.db import recordings as rec_data

    async with world.domain.sessions() as session:
        await rec_data.set_tenant_policy(session, slug="acme", policy="on_demand")
        await session.commit()
    call_id = await _answered(world, "both")
    results = await asyncio.gather(
        recording.request(world.nodes[0], world.who("alice"), call_id, start=True),
        recording.request(world.nodes[1], world.who("bob"), call_id, start=True),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, ServiceError)]
    assert len(refused) == 1
    assert refused[0].code is ErrorCode.INVALID_STATE
    assert [status for status, _ in await _recordings(world, call_id)] == ["starting"]


async def test_reconcile_settles_what_a_crash_left_running(world: World) -> None:
    """Three calls recording when every node died: egress finished one, another still runs
    (its call ended meanwhile: stopped), LiveKit never heard of the third."""
    deps = world.nodes[0]
    rooms = rooms_of(deps)
    ids = []
    for name in ("done", "running", "lost"):
        call_id = await _answered(world, name)
        ids.append(call_id)
        await settle.settle(deps, settle.by_id(call_id), StatusEvent.ROOM_FINISHED)
    await deps.background.drain()
    filepaths = {e.filepath: e for e in rooms.egress.values()}
    assert len(filepaths) == 3
    done, running, lost = [await _rows_of(world, call_id) for call_id in ids]
    rooms.egress[done.filename] = EgressResult(
        done.egress_id or "", done.room_name, "complete", done.filename, "s3://x", 3.0, 99
    )
    del rooms.egress[lost.filename]
    rooms_of(world.nodes[1]).egress = rooms.egress  # one LiveKit for both nodes
    assert await recording.reconcile(world.nodes[1]) == 2
    assert await _recordings(world, ids[0]) == [("complete", None)]
    assert await _recordings(world, ids[2]) == [("failed", "egress lost")]
    assert await _recordings(world, ids[1]) == [("active", None)]
    assert rooms_of(world.nodes[1]).stopped == [running.egress_id]


async def _rows_of(world: World, call_id: str) -> RecordingRow:
    from sqlalchemy import select

    async with world.domain.sessions() as session:
        row = await session.scalar(select(RecordingRow).where(RecordingRow.call_id == call_id))
        assert row is not None
        return row
