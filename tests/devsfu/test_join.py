"""The ``join_request`` of ``/rtc/v1``, decoded as livekit-server decodes it (no process, no I/O).

The specification, from livekit-server's ``validateInternal`` and both SDKs' encoders: the value
is URL-safe base64 (padded) of a ``WrappedJoinRequest`` whose ``join_request`` bytes are a
``JoinRequest``, plain (``NONE``) or gzip-compressed (``GZIP``), at most 1 MiB once
decompressed. Each way of being wrong is a 400 with livekit-server's message.
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Callable

import pytest
from livekit.protocol import models, rtc

from devsfu.join import MAX_JOIN_REQUEST_BYTES, JoinRefused, decode_join_request


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
