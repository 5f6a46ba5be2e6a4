"""RoomService over Twirp, webhooks and token checks, against a real devsfu process."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
from livekit import api
from livekit.protocol import room as room_pb

from tests.devsfu.conftest import WebhookSink
from tests.support import netns
from tests.support.devsfu import DevSfu, running_devsfu


def _name() -> str:
    return f"room-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def lkapi(sfu: DevSfu) -> AsyncIterator[api.LiveKitAPI]:
    client = api.LiveKitAPI(sfu.http_url, sfu.api_key, sfu.api_secret)
    yield client
    await client.aclose()


def _token(sfu: DevSfu, grants: api.VideoGrants, *, secret: str | None = None) -> str:
    return (
        api.AccessToken(sfu.api_key, secret or sfu.api_secret)
        .with_identity("admin")
        .with_grants(grants)
        .to_jwt()
    )


async def _post(
    sfu: DevSfu, method: str, body: bytes, token: str, content_type: str = "application/json"
) -> tuple[int, bytes]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{sfu.http_url}/twirp/livekit.RoomService/{method}",
            data=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
        ) as resp,
    ):
        return resp.status, await resp.read()


async def test_create_list_delete_room(lkapi: api.LiveKitAPI, webhooks: WebhookSink) -> None:
    name = _name()
    room = await lkapi.room.create_room(
        room_pb.CreateRoomRequest(name=name, max_participants=2, empty_timeout=60)
    )
    assert room.name == name
    assert room.sid.startswith("RM_")
    assert (room.max_participants, room.empty_timeout) == (2, 60)

    again = await lkapi.room.create_room(room_pb.CreateRoomRequest(name=name))
    assert again.sid == room.sid

    listed = await lkapi.room.list_rooms(room_pb.ListRoomsRequest(names=[name]))
    assert [r.sid for r in listed.rooms] == [room.sid]
    participants = await lkapi.room.list_participants(room_pb.ListParticipantsRequest(room=name))
    assert list(participants.participants) == []

    await lkapi.room.delete_room(room_pb.DeleteRoomRequest(room=name))
    listed = await lkapi.room.list_rooms(room_pb.ListRoomsRequest(names=[name]))
    assert list(listed.rooms) == []

    started = webhooks.wait_for(lambda e: e.event == "room_started" and e.room.name == name)
    finished = webhooks.wait_for(lambda e: e.event == "room_finished" and e.room.name == name)
    assert started.room.sid == finished.room.sid == room.sid
    assert started.id != finished.id


async def test_unknown_room_and_participant_are_not_found(lkapi: api.LiveKitAPI) -> None:
    with pytest.raises(api.TwirpError) as deleted:
        await lkapi.room.delete_room(room_pb.DeleteRoomRequest(room=_name()))
    assert (deleted.value.status, deleted.value.code) == (404, "not_found")

    with pytest.raises(api.TwirpError) as listed:
        await lkapi.room.list_participants(room_pb.ListParticipantsRequest(room=_name()))
    assert listed.value.code == "not_found"

    name = _name()
    await lkapi.room.create_room(room_pb.CreateRoomRequest(name=name))
    with pytest.raises(api.TwirpError) as removed:
        await lkapi.room.remove_participant(
            room_pb.RoomParticipantIdentity(room=name, identity="nobody")
        )
    assert removed.value.code == "not_found"
    await lkapi.room.delete_room(room_pb.DeleteRoomRequest(room=name))


async def test_empty_timeout_closes_an_unused_room(
    lkapi: api.LiveKitAPI, webhooks: WebhookSink
) -> None:
    name = _name()
    await lkapi.room.create_room(room_pb.CreateRoomRequest(name=name, empty_timeout=1))
    webhooks.wait_for(lambda e: e.event == "room_finished" and e.room.name == name, timeout=10)
    listed = await lkapi.room.list_rooms(room_pb.ListRoomsRequest(names=[name]))
    assert list(listed.rooms) == []


async def test_wrong_secret_is_unauthenticated(sfu: DevSfu) -> None:
    client = api.LiveKitAPI(sfu.http_url, sfu.api_key, "not-the-secret-0123456789abcdefghijkl")
    try:
        with pytest.raises(api.TwirpError) as refused:
            await client.room.list_rooms(room_pb.ListRoomsRequest())
    finally:
        await client.aclose()
    assert (refused.value.status, refused.value.code) == (401, "unauthenticated")


@pytest.mark.parametrize(
    ("method", "body", "grants"),
    [
        ("CreateRoom", {"name": "x"}, api.VideoGrants(room_list=True)),
        ("DeleteRoom", {"room": "x"}, api.VideoGrants(room_admin=True, room="x")),
        ("ListRooms", {}, api.VideoGrants(room_create=True)),
        ("ListParticipants", {"room": "x"}, api.VideoGrants(room_admin=True, room="y")),
        (
            "RemoveParticipant",
            {"room": "x", "identity": "a"},
            api.VideoGrants(room_join=True, room="x"),
        ),
    ],
)
async def test_each_method_requires_its_grant(
    sfu: DevSfu, method: str, body: dict[str, str], grants: api.VideoGrants
) -> None:
    status, raw = await _post(sfu, method, json.dumps(body).encode(), _token(sfu, grants))
    assert status == 401
    assert json.loads(raw)["code"] == "unauthenticated"


async def test_json_bodies_and_twirp_errors(sfu: DevSfu) -> None:
    name = _name()
    token = _token(sfu, api.VideoGrants(room_create=True, room_list=True))
    status, raw = await _post(
        sfu, "CreateRoom", json.dumps({"name": name, "max_participants": 3}).encode(), token
    )
    assert status == 200
    created = json.loads(raw)
    assert created["name"] == name
    assert created["max_participants"] == 3

    status, raw = await _post(sfu, "ListRooms", b"{}", token)
    assert status == 200
    assert name in [r["name"] for r in json.loads(raw)["rooms"]]

    status, raw = await _post(sfu, "CreateRoom", b"{not json", token)
    assert (status, json.loads(raw)["code"]) == (400, "malformed")
    status, raw = await _post(sfu, "CreateRoom", b"\xff\xff", token, "application/protobuf")
    assert (status, json.loads(raw)["code"]) == (400, "malformed")
    status, raw = await _post(sfu, "CreateRoom", b"{}", token, "text/plain")
    assert (status, json.loads(raw)["code"]) == (404, "bad_route")
    status, raw = await _post(sfu, "UpdateRoomMetadata", b"{}", token)
    assert (status, json.loads(raw)["code"]) == (404, "bad_route")
    status, raw = await _post(sfu, "CreateRoom", b"{}", token)
    assert (status, json.loads(raw)["code"]) == (400, "invalid_argument")

    status, _ = await _post(sfu, "DeleteRoom", json.dumps({"room": name}).encode(), token)
    assert status == 200


async def test_expired_and_foreign_tokens_are_refused(sfu: DevSfu) -> None:
    expired = (
        api.AccessToken(sfu.api_key, sfu.api_secret)
        .with_grants(api.VideoGrants(room_list=True))
        .with_ttl(datetime.timedelta(minutes=-5))
        .to_jwt()
    )
    foreign = (
        api.AccessToken("another-key", sfu.api_secret)
        .with_grants(api.VideoGrants(room_list=True))
        .to_jwt()
    )
    for token in (expired, foreign, "not-a-jwt"):
        status, raw = await _post(sfu, "ListRooms", b"{}", token)
        assert (status, json.loads(raw)["code"]) == (401, "unauthenticated")


def test_the_command_says_it_is_for_development_only(sfu: DevSfu) -> None:
    log = sfu.log_text()
    assert "development and CI media server only" in log
    assert f"devsfu listening on http://{sfu.host}:{sfu.port}" in log


def test_the_command_refuses_to_start_without_a_secret() -> None:
    env = {k: v for k, v in os.environ.items() if k != "VOIP_LIVEKIT_API_SECRET"}
    done = subprocess.run(
        [sys.executable, "-m", "devsfu.cli", "--host", "127.0.0.1", "--port", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "--api-secret" in done.stderr


async def test_a_secret_that_begins_with_a_dash_is_taken_from_the_environment() -> None:
    # secrets.token_urlsafe() begins with "-" one time in 64; `make demo` once failed on that.
    secret = "-" + "k" * 40
    host = netns.HOST_A if netns.in_private_netns() else "127.0.0.1"
    with running_devsfu(host=host, api_secret=secret) as sfu:
        async with api.LiveKitAPI(sfu.http_url, sfu.api_key, secret) as lk:
            rooms = await lk.room.list_rooms(room_pb.ListRoomsRequest())
    assert list(rooms.rooms) == []
