"""The HTTP API client against an ``httpx.MockTransport`` server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from tests.engine.fakes import FakeServer, call_json, fake_server_transport
from voip_app.api import ApiClient
from voip_app.errors import (
    BadResponse,
    RequestRefused,
    ServerUnreachable,
    SignInThrottled,
    Unauthorized,
)
from voip_contract import CallStatus, ErrorCode


@pytest.fixture
def server() -> FakeServer:
    return FakeServer(calls=[call_json("c1", status="COMPLETED", reason="hangup")])


def client(server: FakeServer) -> ApiClient:
    return ApiClient("http://voip.test/", transport=fake_server_transport(server))


async def test_login_keeps_the_token_for_later_requests(server: FakeServer) -> None:
    async with client(server) as api:
        login = await api.login(" alice@acme.test ", "demo-password")
        assert login.user.email == "alice@acme.test"
        assert api.access_token == "tok-1"
        me = await api.me()
        assert me.id == "u-alice"
        assert server.requests[-1].headers["authorization"] == "Bearer tok-1"
        assert server.requests[0].url == "http://voip.test/api/auth/login"


async def test_contacts_history_call_and_room_token_are_typed(server: FakeServer) -> None:
    async with client(server) as api:
        await api.login("alice@acme.test", "demo-password")
        contacts = await api.contacts(query="bob", limit=10)
        assert [c.email for c in contacts.items] == ["bob@acme.test"]
        assert server.requests[-1].url.params["q"] == "bob"
        assert server.requests[-1].url.params["limit"] == "10"
        history = await api.calls()
        assert history.items[0].status is CallStatus.COMPLETED
        assert (await api.call("c1")).id == "c1"
        token = await api.room_token("c1")
        assert token.token == "fresh"
        assert server.requests[-1].content == b""
        server.token_devices = {"dev-1"}  # the server asks which device wants to rejoin
        assert (await api.room_token("c1", device_id="dev-1")).token == "fresh"
        assert json.loads(server.requests[-1].content) == {"device_id": "dev-1"}
        with pytest.raises(RequestRefused) as other:
            await api.room_token("c1", device_id="dev-2")
        assert other.value.code is ErrorCode.FORBIDDEN


async def test_wrong_password_is_unauthorized_with_a_readable_message(server: FakeServer) -> None:
    async with client(server) as api:
        with pytest.raises(Unauthorized) as info:
            await api.login("alice@acme.test", "nope")
        assert "password" in str(info.value)
        assert api.access_token is None


async def test_a_contract_error_becomes_request_refused(server: FakeServer) -> None:
    async with client(server) as api:
        await api.login("alice@acme.test", "demo-password")
        with pytest.raises(RequestRefused) as info:
            await api.call("nope")
        assert info.value.code is ErrorCode.NOT_FOUND
        assert info.value.server_message == "no such call"
        server.room_token_status = 409
        with pytest.raises(RequestRefused) as refused:
            await api.room_token("c1")
        assert refused.value.code is ErrorCode.INVALID_STATE


async def test_requests_without_a_session_are_unauthorized(server: FakeServer) -> None:
    async with client(server) as api:
        with pytest.raises(Unauthorized):
            await api.me()


async def test_nothing_listening_is_server_unreachable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with ApiClient("http://voip.test", transport=httpx.MockTransport(refuse)) as api:
        with pytest.raises(ServerUnreachable, match="Cannot reach the call server"):
            await api.login("a@b.c", "x")


async def test_a_timeout_is_server_unreachable() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async with ApiClient("http://voip.test", transport=httpx.MockTransport(slow)) as api:
        with pytest.raises(ServerUnreachable, match="timed out"):
            await api.login("a@b.c", "x")


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>proxy</html>"),
        httpx.Response(200, json={"access_token": 5}),
        httpx.Response(502, text="bad gateway"),
    ],
)
async def test_answers_outside_the_contract_are_bad_responses(response: httpx.Response) -> None:
    async with ApiClient(
        "http://voip.test", transport=httpx.MockTransport(lambda request: response)
    ) as api:
        with pytest.raises(BadResponse):
            await api.login("a@b.c", "x")


async def test_an_unknown_error_code_reads_as_unavailable() -> None:
    reply = httpx.Response(503, json={"error": {"code": "meltdown", "message": "oops"}})
    async with ApiClient(
        "http://voip.test", transport=httpx.MockTransport(lambda request: reply)
    ) as api:
        with pytest.raises(RequestRefused) as info:
            await api.login("a@b.c", "x")
        assert info.value.code is ErrorCode.UNAVAILABLE


async def test_refresh_keeps_the_renewed_token(server: FakeServer) -> None:
    async with client(server) as api:
        await api.login("alice@acme.test", "demo-password")
        renewed = await api.refresh()
        assert renewed.access_token == api.access_token == "tok-2"
        await api.me()
        assert server.requests[-1].headers["authorization"] == "Bearer tok-2"


async def test_the_token_lifetime_is_read_from_its_claims() -> None:
    issued, expires = 1_800_000_000, 1_800_003_600
    token = jwt.encode({"iat": issued, "exp": expires}, "k" * 32, algorithm="HS256")
    async with ApiClient("http://voip.test") as api:
        assert api.token_lifetime is None
        api.use_token(token)
        assert api.token_lifetime == (
            datetime.fromtimestamp(issued, UTC),
            datetime.fromtimestamp(expires, UTC),
        )
        for opaque in ("tok-1", "a.b.c", "a.e30.c"):  # e30 = {}
            api.use_token(opaque)
            assert api.token_lifetime is None


async def test_a_refused_token_is_reported_but_a_wrong_password_is_not(
    server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    refused: list[Unauthorized] = []
    async with client(server) as api:
        api.on_session_refused(refused.append)
        with pytest.raises(Unauthorized):
            await api.login("alice@acme.test", "nope")
        assert refused == []
        await api.login("alice@acme.test", "demo-password")
        server.token = "revoked"
        with pytest.raises(Unauthorized) as info:
            await api.calls()
        assert refused == [info.value]

        def broken(error: Unauthorized) -> None:
            raise RuntimeError("listener bug")

        api.on_session_refused(broken)
        with pytest.raises(Unauthorized):  # the caller still gets the error
            await api.me()
        assert "listener bug" in caplog.text


async def test_too_many_failed_sign_ins_say_how_long_to_wait() -> None:
    def throttled(request: httpx.Request) -> httpx.Response:
        message = "too many failed sign-ins; try again in 12 minutes"
        return httpx.Response(429, json={"error": {"code": "rate_limited", "message": message}})

    async with ApiClient("http://voip.test", transport=httpx.MockTransport(throttled)) as api:
        with pytest.raises(SignInThrottled) as info:
            await api.login("alice@acme.test", "demo-password")
    assert str(info.value) == "Too many failed sign-ins; try again in 12 minutes."
    assert info.value.code is ErrorCode.RATE_LIMITED


async def test_a_new_token_is_timed_by_expires_in_on_this_clock(server: FakeServer) -> None:
    # the token's own claims say it expired long ago (a device clock far ahead would see that)
    server.token = jwt.encode({"iat": 1_000, "exp": 2_000}, "k" * 32, algorithm="HS256")
    async with client(server) as api:
        before = datetime.now(UTC)
        await api.login("alice@acme.test", "demo-password")
        lifetime = api.token_lifetime
        assert lifetime is not None
        start, end = lifetime
        assert before <= start <= datetime.now(UTC)
        assert end - start == timedelta(seconds=3600)  # the fake server's expires_in
        api.use_token(server.token)  # a kept token has only its claims
        assert api.token_lifetime == (
            datetime.fromtimestamp(1_000, UTC),
            datetime.fromtimestamp(2_000, UTC),
        )
