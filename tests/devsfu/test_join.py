"""Joining, without a process: the ``join_request`` of ``/rtc/v1`` and the ``JoinResponse``.

The specification, from livekit-server's ``validateInternal`` and both SDKs' encoders: the value
is URL-safe base64 (padded) of a ``WrappedJoinRequest`` whose ``join_request`` bytes are a
``JoinRequest``, plain (``NONE``) or gzip-compressed (``GZIP``), at most 1 MiB once
decompressed. Each way of being wrong is a 400 with livekit-server's message.

The ``JoinResponse``, from livekit-server's ``createJoinResponseLocked``: protocol 17, the client's
publisher connection primary, ``fast_publish`` for whoever may publish (the Rust SDK negotiates at
once then, instead of after a 150 ms debounce: with ``/rtc/v1`` every forwarded track waits for
such a negotiation), ping every 5 s with a 15 s timeout, no ICE servers.
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Callable

import pytest
from livekit.protocol import models, rtc

from devsfu.join import MAX_JOIN_REQUEST_BYTES, JoinRefused, decode_join_request, join_response
from devsfu.model import Participant, Room


def _join_request() -> rtc.JoinRequest:
    return rtc.JoinRequest(
        client_info=models.ClientInfo(sdk=models.ClientInfo.JS, version="2.23.0", protocol=17),
        connection_settings=rtc.ConnectionSettings(auto_subscribe=True),
        publisher_offer=rtc.SessionDescription(type="offer", sdp="v=0\r\n", id=1),
        add_track_requests=[rtc.AddTrackRequest(cid="mic", type=models.AUDIO)],
    )


def _wrapped(payload: bytes, compression: int) -> str:
    wrapped = rtc.WrappedJoinRequest(join_request=payload, compression=compression)  # type: ignore[arg-type]
    return base64.urlsafe_b64encode(wrapped.SerializeToString()).decode()


@pytest.mark.parametrize(
    "encode",
    [
        lambda b: _wrapped(b, rtc.WrappedJoinRequest.NONE),
        lambda b: _wrapped(gzip.compress(b), rtc.WrappedJoinRequest.GZIP),
        lambda b: _wrapped(gzip.compress(b), rtc.WrappedJoinRequest.GZIP).rstrip("="),
    ],
    ids=["plain", "gzip", "gzip-unpadded"],
)
def test_a_join_request_decodes_plain_or_compressed(encode: Callable[[bytes], str]) -> None:
    original = _join_request()
    decoded = decode_join_request(encode(original.SerializeToString()))
    assert decoded == original
    assert decoded.publisher_offer.id == 1
    assert [t.cid for t in decoded.add_track_requests] == ["mic"]


def test_the_javascript_encoding_decodes() -> None:
    # livekit-client: btoa() of the bytes, then "+" -> "-" and "/" -> "_", padding kept.
    raw = rtc.WrappedJoinRequest(
        join_request=_join_request().SerializeToString()
    ).SerializeToString()
    value = base64.b64encode(raw).decode().replace("+", "-").replace("/", "_")
    assert decode_join_request(value).client_info.version == "2.23.0"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not*base64", "cannot base64 decode wrapped join request"),
        (base64.urlsafe_b64encode(b"\xff\xff\xff").decode(), "cannot unmarshal wrapped join"),
        (_wrapped(b"\xff\xff\xff", rtc.WrappedJoinRequest.NONE), "cannot unmarshal join request"),
        (_wrapped(b"not gzip", rtc.WrappedJoinRequest.GZIP), "cannot read decompressed"),
        (
            _wrapped(gzip.compress(b"\0" * (MAX_JOIN_REQUEST_BYTES + 1)), 1),
            "join request too large",
        ),
        (_wrapped(b"\0" * (MAX_JOIN_REQUEST_BYTES + 1), 0), "join request too large"),
    ],
    ids=["base64", "wrapper", "request", "gzip", "gzip-bomb", "too-large"],
)
def test_a_bad_join_request_is_400(value: str, message: str) -> None:
    with pytest.raises(JoinRefused) as refused:
        decode_join_request(value)
    assert refused.value.status == 400
    assert refused.value.message.startswith(message)


class _NoLink:
    async def send_participant_updates(self, infos: list[models.ParticipantInfo]) -> None: ...

    async def track_available(self, publisher: Participant, track: object) -> None: ...

    async def send_connection_quality(self, infos: list[rtc.ConnectionQualityInfo]) -> None: ...

    async def disconnect(self, reason: models.DisconnectReason) -> None: ...


@pytest.mark.parametrize("can_publish", [True, False])
def test_the_join_response_is_livekit_servers(can_publish: bool) -> None:
    room = Room("RM_1", "r", 300, 20, 2, "", 0)
    me, other = (
        Participant(sid, identity, "", "", 0, _NoLink(), can_publish=can_publish)
        for sid, identity in (("PA_me", "me"), ("PA_other", "other"))
    )
    join = join_response(room, me, [other]).join
    assert join.server_info.protocol == 17
    assert join.subscriber_primary is False
    assert join.fast_publish is can_publish
    assert (join.ping_interval, join.ping_timeout) == (5, 15)
    assert list(join.ice_servers) == []
    assert join.participant.sid == "PA_me"
    assert [p.identity for p in join.other_participants] == ["other"]
