"""The HTTP side of devsfu's signal endpoints and CORS, against a real devsfu process.

The specification is livekit-server's (``pkg/service/server.go``, ``auth.go``, ``rtcservice.go``
and the ``rs/cors`` options it sets):

- every response, errors included, has ``Vary: Origin``; with an ``Origin`` in the request it
  has ``Access-Control-Allow-Origin: <that origin>`` and ``Access-Control-Expose-Headers: *``;
  ``/rtc/validate`` and ``/rtc/v1/validate`` answer ``Access-Control-Allow-Origin: *`` always;
  credentials are never allowed;
- a preflight (``OPTIONS`` + ``Access-Control-Request-Method``) is 204 before any route, with
  the origin, the requested method and headers echoed and ``Access-Control-Max-Age: 86400``,
  and no ``Allow-Origin`` for a method outside OPTIONS HEAD GET POST PATCH DELETE;
- the validate paths answer 200 ``success`` or the join's refusal (status, plain-text reason);
  ``/rtc/v1/validate`` needs ``join_request`` (400); the join paths answer 404 to anything that
  is not a WebSocket upgrade, before looking at the token.
"""

from __future__ import annotations

import base64
import datetime

import aiohttp
import pytest
from livekit import api
from livekit.protocol import models, rtc
from multidict import CIMultiDictProxy

from tests.support.devsfu import DevSfu

ORIGIN = "http://app.example.test:8080"


def _token(sfu: DevSfu, grants: api.VideoGrants | None = None, *, secret: str = "") -> str:
    return (
        api.AccessToken(sfu.api_key, secret or sfu.api_secret)
        .with_identity("caller")
        .with_grants(grants or api.VideoGrants(room_join=True, room="validate-room"))
        .with_ttl(datetime.timedelta(minutes=5))
        .to_jwt()
    )


def _join_request(**fields: object) -> str:
    request = rtc.JoinRequest(
        client_info=models.ClientInfo(sdk=models.ClientInfo.JS, protocol=17),
        **fields,  # type: ignore[arg-type]
    )
    wrapped = rtc.WrappedJoinRequest(join_request=request.SerializeToString())
    return base64.urlsafe_b64encode(wrapped.SerializeToString()).decode()


async def _request(
    sfu: DevSfu, method: str, path: str, headers: dict[str, str] | None = None, **params: str
) -> tuple[int, str, CIMultiDictProxy[str]]:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, f"{sfu.http_url}{path}", params=params, headers=headers) as resp,
    ):
        return resp.status, await resp.text(), resp.headers


# -- CORS ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/rtc/validate", {"access_token": "good"}, 200),
        ("/rtc/v1/validate", {"access_token": "bad", "join_request": "x"}, 401),
        ("/rtc/v1/validate", {"access_token": "good"}, 400),
    ],
)
async def test_validate_answers_any_origin(
    sfu: DevSfu, path: str, params: dict[str, str], status: int
) -> None:
    token = _token(sfu) if params["access_token"] == "good" else _token(sfu, secret="x" * 40)
    for headers in ({"Origin": ORIGIN}, {}):
        got, _, answer = await _request(
            sfu, "GET", path, headers, **{**params, "access_token": token}
        )
        assert got == status
        assert answer["Access-Control-Allow-Origin"] == "*"
        assert "Origin" in answer.getall("Vary")
        assert "Access-Control-Allow-Credentials" not in answer


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/twirp/livekit.RoomService/ListRooms", 401),  # no token
        ("GET", "/rtc", 404),  # not a WebSocket upgrade
        ("GET", "/no/such/path", 404),
        ("GET", "/", 200),
    ],
)
async def test_every_answer_carries_cors_for_the_origin(
    sfu: DevSfu, method: str, path: str, status: int
) -> None:
    json_body = {"Content-Type": "application/json"}
    got, _, answer = await _request(sfu, method, path, {"Origin": ORIGIN, **json_body})
    assert got == status
    assert answer["Access-Control-Allow-Origin"] == ORIGIN
    assert answer["Access-Control-Expose-Headers"] == "*"
    assert "Origin" in answer.getall("Vary")
    assert "Access-Control-Allow-Credentials" not in answer

    got, _, answer = await _request(sfu, method, path, json_body)
    assert got == status
    assert "Access-Control-Allow-Origin" not in answer
    assert "Origin" in answer.getall("Vary")


async def test_a_preflight_is_answered_before_any_route(sfu: DevSfu) -> None:
    asked = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    status, body, answer = await _request(
        sfu, "OPTIONS", "/twirp/livekit.RoomService/ListRooms", asked
    )
    assert (status, body) == (204, "")
    assert answer["Access-Control-Allow-Origin"] == ORIGIN
    assert answer["Access-Control-Allow-Methods"] == "POST"
    assert answer["Access-Control-Allow-Headers"] == "authorization,content-type"
    assert answer["Access-Control-Max-Age"] == "86400"
    assert answer["Vary"] == (
        "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
    )
    assert "Access-Control-Allow-Credentials" not in answer

    status, _, answer = await _request(
        sfu, "OPTIONS", "/rtc", {"Origin": ORIGIN, "Access-Control-Request-Method": "PUT"}
    )
    assert status == 204
    assert "Access-Control-Allow-Origin" not in answer


# -- validate ------------------------------------------------------------------------------


async def test_validate_says_what_a_join_would(sfu: DevSfu) -> None:
    good, join_request = _token(sfu), _join_request()
    assert (await _request(sfu, "GET", "/rtc/validate", access_token=good))[:2] == (
        200,
        "success",
    )
    status, text, _ = await _request(
        sfu, "GET", "/rtc/v1/validate", access_token=good, join_request=join_request
    )
    assert (status, text) == (200, "success")
    bearer = {"Authorization": f"Bearer {good}"}
    assert (await _request(sfu, "GET", "/rtc/v1/validate", bearer, join_request=join_request))[
        0
    ] == 200

    wrong = _token(sfu, secret="y" * 40)
    for path in ("/rtc/validate", "/rtc/v1/validate"):
        status, text, _ = await _request(
            sfu, "GET", path, access_token=wrong, join_request=join_request
        )
        assert status == 401
        assert text.startswith("invalid authorization token")
    no_join = _token(sfu, api.VideoGrants(room_list=True))
    status, text, _ = await _request(
        sfu, "GET", "/rtc/v1/validate", access_token=no_join, join_request=join_request
    )
    assert (status, text) == (401, "no permissions to access the room")


async def test_v1_needs_a_decodable_join_request(sfu: DevSfu) -> None:
    token = _token(sfu)
    status, text, _ = await _request(sfu, "GET", "/rtc/v1/validate", access_token=token)
    assert (status, text) == (400, "join_request is required")
    status, text, _ = await _request(
        sfu, "GET", "/rtc/v1/validate", access_token=token, join_request="%%%"
    )
    assert (status, text) == (400, "cannot base64 decode wrapped join request")


async def test_join_metadata_needs_the_grant(sfu: DevSfu) -> None:
    with_metadata = _join_request(metadata="hello", participant_attributes={"k": "v"})
    status, text, _ = await _request(
        sfu, "GET", "/rtc/v1/validate", access_token=_token(sfu), join_request=with_metadata
    )
    assert (status, text) == (401, "permissions denied")
    allowed = _token(
        sfu, api.VideoGrants(room_join=True, room="validate-room", can_update_own_metadata=True)
    )
    status, _, _ = await _request(
        sfu, "GET", "/rtc/v1/validate", access_token=allowed, join_request=with_metadata
    )
    assert status == 200


@pytest.mark.parametrize("path", ["/rtc", "/rtc/v1"])
async def test_join_paths_want_a_websocket_upgrade(sfu: DevSfu, path: str) -> None:
    for token in (_token(sfu), "not-a-token"):
        status, _, _ = await _request(
            sfu, "GET", path, access_token=token, join_request=_join_request()
        )
        assert status == 404


async def test_an_uncompressed_offer_fits_in_the_url(sfu: DevSfu) -> None:
    # A client without gzip sends its whole first offer in the URL: far more than 8 KiB.
    offer = rtc.SessionDescription(type="offer", sdp="a=x-padding\r\n" * 2000, id=1)
    join_request = _join_request(publisher_offer=offer)
    assert len(join_request) > 20_000
    status, text, _ = await _request(
        sfu, "GET", "/rtc/v1/validate", access_token=_token(sfu), join_request=join_request
    )
    assert (status, text) == (200, "success")
