"""devsfu's pure parts, without a process: token rules, room rules, ICE candidate translation."""

from __future__ import annotations

import asyncio
import datetime
import json

import jwt
import pytest
from livekit import api
from livekit.protocol import models, rtc, webhook
from livekit.protocol import room as room_pb

from devsfu.auth import TokenAuthority, TokenError, require_join
from devsfu.media import local_candidates, parse_candidate_init
from devsfu.model import Participant, PublishedTrack, RoomError
from devsfu.quality import Counters, judge
from devsfu.rooms import RoomRegistry

KEY = "unit-key"
SECRET = "unit-secret-0123456789-0123456789-abcdef"


def _token(grants: api.VideoGrants, *, identity: str = "alice", **kw: object) -> str:
    tok = api.AccessToken(KEY, SECRET).with_identity(identity).with_grants(grants)
    if "ttl" in kw:
        tok = tok.with_ttl(kw["ttl"])  # type: ignore[arg-type]
    return tok.to_jwt()


# -- tokens --------------------------------------------------------------------------------


def test_a_join_token_names_its_room() -> None:
    claims = TokenAuthority(KEY, SECRET).verify(
        _token(api.VideoGrants(room_join=True, room="r1", can_publish=False))
    )
    assert claims.identity == "alice"
    assert require_join(claims) == "r1"
    assert not claims.video.can_publish
    assert claims.video.can_subscribe


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        _token(api.VideoGrants(room_join=True, room="r"), ttl=datetime.timedelta(minutes=-2)),
        api.AccessToken("other-key", SECRET)
        .with_identity("a")
        .with_grants(api.VideoGrants(room_join=True, room="r"))
        .to_jwt(),
        api.AccessToken(KEY, "wrong-secret-0123456789-0123456789-abcdef")
        .with_identity("a")
        .with_grants(api.VideoGrants(room_join=True, room="r"))
        .to_jwt(),
        jwt.encode({"iss": KEY, "sub": "a", "video": {"roomJoin": True}}, SECRET),  # no exp
    ],
)
def test_bad_tokens_are_401(token: str) -> None:
    with pytest.raises(TokenError) as refused:
        TokenAuthority(KEY, SECRET).verify(token)
    assert refused.value.status == 401


def test_a_token_within_the_clock_skew_leeway_is_accepted() -> None:
    token = _token(api.VideoGrants(room_list=True), ttl=datetime.timedelta(seconds=-30))
    assert TokenAuthority(KEY, SECRET).verify(token).video.room_list


def test_join_needs_the_room_join_grant() -> None:
    claims = TokenAuthority(KEY, SECRET).verify(_token(api.VideoGrants(room_admin=True, room="r")))
    with pytest.raises(TokenError) as refused:
        require_join(claims)
    assert refused.value.status == 401


def test_signed_bodies_pass_livekits_webhook_receiver() -> None:
    body = b'{"event":"room_started"}'
    authority = TokenAuthority(KEY, SECRET)
    receiver = api.WebhookReceiver(api.TokenVerifier(KEY, SECRET))
    assert receiver.receive(body.decode(), authority.sign_body(body)).event == "room_started"
    with pytest.raises(Exception, match="hash mismatch"):
        receiver.receive('{"event":"room_finished"}', authority.sign_body(body))


# -- rooms ---------------------------------------------------------------------------------


class FakeLink:
    """Records what the registry tells one participant's client."""

    def __init__(self) -> None:
        self.updates: list[models.ParticipantInfo] = []
        self.available: list[str] = []
        self.disconnected: list[int] = []
        self.qualities: list[rtc.ConnectionQualityInfo] = []

    async def send_participant_updates(self, infos: list[models.ParticipantInfo]) -> None:
        self.updates += infos

    async def track_available(self, publisher: Participant, track: PublishedTrack) -> None:
        self.available.append(track.sid)

    async def disconnect(self, reason: models.DisconnectReason) -> None:
        self.disconnected.append(reason)

    async def send_connection_quality(self, infos: list[rtc.ConnectionQualityInfo]) -> None:
        self.qualities += infos


class Events:
    def __init__(self) -> None:
        self.events: list[webhook.WebhookEvent] = []
        self.finished = asyncio.Event()

    def emit(self, event: webhook.WebhookEvent) -> None:
        self.events.append(event)
        if event.event == "room_finished":
            self.finished.set()

    def names(self) -> list[str]:
        return [e.event for e in self.events]


async def _join(registry: RoomRegistry, room: str, identity: str) -> tuple[Participant, FakeLink]:
    link = FakeLink()
    _, participant = await registry.join(
        room,
        identity=identity,
        name=identity,
        metadata="",
        attributes={},
        can_publish=True,
        can_subscribe=True,
        hidden=False,
        link=link,
    )
    return participant, link


async def test_max_participants_refuses_the_extra_join_and_changes_nothing() -> None:
    events = Events()
    registry = RoomRegistry(events)
    registry.create(room_pb.CreateRoomRequest(name="r", max_participants=2))
    await _join(registry, "r", "alice")
    await _join(registry, "r", "bob")
    with pytest.raises(RoomError) as full:
        await _join(registry, "r", "carol")
    assert full.value.status == 500
    assert sorted(registry.get("r").participants) == ["alice", "bob"]
    assert events.names() == ["room_started", "participant_joined", "participant_joined"]
    await registry.close_all()


async def test_same_identity_replaces_the_previous_session() -> None:
    registry = RoomRegistry(Events())
    first, first_link = await _join(registry, "r", "alice")
    second, _ = await _join(registry, "r", "alice")
    assert first_link.disconnected == [models.DUPLICATE_IDENTITY]
    assert registry.get("r").participants["alice"] is second
    assert first.sid != second.sid
    await registry.close_all()


async def test_without_auto_create_a_missing_room_is_not_found() -> None:
    registry = RoomRegistry(Events(), auto_create=False)
    with pytest.raises(RoomError) as missing:
        await _join(registry, "nowhere", "alice")
    assert missing.value.status == 404
    assert registry.find() == []


async def test_updates_mutes_and_departure() -> None:
    events = Events()
    registry = RoomRegistry(events)
    registry.create(room_pb.CreateRoomRequest(name="r", departure_timeout=1))
    room = registry.get("r")
    alice, _ = await _join(registry, "r", "alice")
    bob, bob_link = await _join(registry, "r", "bob")

    track = await registry.publish(
        room, alice, rtc.AddTrackRequest(cid="mic-1", type=models.AUDIO, name="mic")
    )
    assert track.sid.startswith("TR_")
    assert await registry.publish(room, alice, rtc.AddTrackRequest(cid="mic-1")) is track
    await registry.track_ready(room, alice, "mic-1")
    assert bob_link.available == [track.sid]

    await registry.set_muted(room, alice, track.sid, True)
    assert bob_link.updates[-1].tracks[0].muted

    with pytest.raises(RoomError):
        await registry.publish(room, alice, rtc.AddTrackRequest(cid="cam", type=models.VIDEO))

    await registry.leave(room, bob)
    await registry.leave(room, bob)  # idempotent
    await registry.leave(room, alice)
    assert events.names().count("participant_left") == 2
    assert "room_finished" not in events.names()
    await asyncio.wait_for(events.finished.wait(), timeout=5)  # departure_timeout is 1 s
    assert registry.find() == []


# -- ICE candidates ------------------------------------------------------------------------


def test_trickled_candidates_are_parsed_and_tcp_is_skipped() -> None:
    udp = parse_candidate_init(
        json.dumps(
            {
                "candidate": "candidate:1 1 udp 2122260223 10.200.0.2 5000 typ host generation 0",
                "sdpMid": "0",
                "sdpMLineIndex": 0,
            }
        )
    )
    assert udp is not None
    assert (udp.ip, udp.port, udp.sdpMid) == ("10.200.0.2", 5000, "0")
    tcp = json.dumps(
        {"candidate": "candidate:2 1 tcp 1518280447 10.200.0.2 9 typ host tcptype active"}
    )
    assert parse_candidate_init(tcp) is None
    assert parse_candidate_init(json.dumps({"candidate": ""})) is None
    assert parse_candidate_init("{not json") is None


def test_local_candidates_come_from_the_first_section() -> None:
    sdp = "\r\n".join(
        [
            "v=0",
            "m=audio 9 UDP/TLS/RTP/SAVPF 96",
            "a=candidate:a 1 udp 1 10.200.0.1 4000 typ host",
            "a=mid:0",
            "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
            "a=candidate:a 1 udp 1 10.200.0.1 4000 typ host",
            "a=mid:1",
        ]
    )
    found = local_candidates(sdp)
    assert [(c.candidate, c.sdp_mid, c.sdp_mline_index) for c in found] == [
        ("candidate:a 1 udp 1 10.200.0.1 4000 typ host", "0", 0)
    ]


# -- connection quality --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "expect_media", "remote", "verdict"),
    [
        (Counters(100, 0), Counters(200, 0), True, None, models.EXCELLENT),
        (Counters(100, 0), Counters(197, 3), True, None, models.GOOD),
        (Counters(100, 0), Counters(180, 20), True, None, models.POOR),
        (Counters(100, 0), Counters(100, 0), True, None, models.LOST),
        (Counters(100, 0), Counters(100, 0), False, None, None),  # muted: silence is fine
        (Counters(100, 0), Counters(200, 0), True, 0.2, models.POOR),  # listener loses 20 %
        (None, None, False, 0.0, models.EXCELLENT),  # listening only
        (None, Counters(50, 0), True, None, None),  # first sample: nothing to compare yet
        (None, None, False, None, None),
    ],
)
def test_quality_verdicts(
    before: Counters | None,
    after: Counters | None,
    expect_media: bool,
    remote: float | None,
    verdict: models.ConnectionQuality | None,
) -> None:
    assert judge(before, after, expect_media=expect_media, remote_fraction_lost=remote) == verdict


async def test_quality_goes_to_everyone_in_the_room() -> None:
    registry = RoomRegistry(Events())
    alice, alice_link = await _join(registry, "r", "alice")
    _, bob_link = await _join(registry, "r", "bob")
    await registry.quality_changed(registry.get("r"), alice, models.GOOD)
    for link in (alice_link, bob_link):
        assert [(q.participant_sid, q.quality) for q in link.qualities] == [
            (alice.sid, models.GOOD)
        ]
    await registry.close_all()
