"""``POST /api/auth/refresh``: a signed-in device stays reachable past one token's lifetime,
within ``VOIP_SESSION_MAX_S`` of the password sign-in, and nothing else gets a token from it."""

from __future__ import annotations

import time
from typing import Any

import jwt
import socketio

from server.auth import AUDIENCE, ISSUER
from tests.server.conftest import IDP_AUDIENCE, IDP_ISSUER, IDP_SECRET
from tests.server.harness import PASSWORD, Person, Stack

DAY = 24 * 3600
SESSION_MAX_S = 30 * DAY  # the server's default


def _ours(stack: Stack, person: Person, **claims: Any) -> str:
    """A token signed with the server's own key, with these claims over the usual ones."""
    now = int(time.time())
    base = {"iss": ISSUER, "aud": AUDIENCE, "sub": person.id, "iat": now, "exp": now + 600}
    return jwt.encode({**base, **claims}, stack.settings().jwt_key(), algorithm="HS256")


async def _refresh(stack: Stack, token: str | None) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    response = await stack.http.post("/api/auth/refresh", headers=headers)
    return response.status_code, response.json()


def _claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


async def test_a_fresh_token_for_a_valid_one_keeps_the_sign_in_time(stack: Stack) -> None:
    alice = (await stack.tenant("alice", with_password=True))["alice"]
    login = await stack.http.post(
        "/api/auth/login", json={"email": alice.email, "password": PASSWORD}
    )
    first = login.json()["access_token"]

    status, body = await _refresh(stack, first)

    assert status == 200, body
    renewed = body["access_token"]
    assert body["token_type"] == "bearer"
    assert body["user"]["id"] == alice.id
    assert body["expires_in"] == login.json()["expires_in"]
    assert _claims(renewed)["auth_time"] == _claims(first)["auth_time"]
    assert _claims(renewed)["exp"] >= _claims(first)["exp"]
    me = await stack.http.get("/api/me", headers={"Authorization": f"Bearer {renewed}"})
    assert me.json()["email"] == alice.email
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(
        stack.url, auth={"token": renewed}, namespaces=["/call"], transports=["websocket"]
    )
    await client.disconnect()


async def test_no_renewal_outlives_the_session_limit(stack: Stack) -> None:
    alice = (await stack.tenant("alice"))["alice"]
    now = int(time.time())
    nearly_over = _ours(stack, alice, auth_time=now - SESSION_MAX_S + 120)

    status, body = await _refresh(stack, nearly_over)

    assert status == 200, body
    assert 0 < body["expires_in"] <= 120
    assert _claims(body["access_token"])["exp"] <= now + 120 + 1

    too_old = _ours(stack, alice, auth_time=now - SESSION_MAX_S - 1)
    status, body = await _refresh(stack, too_old)
    assert (status, body["error"]["code"]) == (401, "unauthorized")
    assert "sign in again" in body["error"]["message"]


async def test_a_token_from_before_auth_time_counts_from_its_issue(stack: Stack) -> None:
    alice = (await stack.tenant("alice"))["alice"]
    now = int(time.time())
    old = _ours(stack, alice, iat=now - SESSION_MAX_S - 10)
    status, body = await _refresh(stack, old)
    assert (status, body["error"]["code"]) == (401, "unauthorized")


async def test_invalid_expired_or_missing_tokens_get_nothing(stack: Stack) -> None:
    alice = (await stack.tenant("alice"))["alice"]
    now = int(time.time())
    forged = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "sub": alice.id, "iat": now, "exp": now + 600},
        "not-the-secret-but-long-enough-for-hs256-0000",
        algorithm="HS256",
    )
    expired = _ours(stack, alice, exp=now - 5)
    unknown_user = _ours(stack, alice, sub="no-such-user")
    for token in (None, "garbage", forged, expired, unknown_user):
        status, body = await _refresh(stack, token)
        assert (status, body["error"]["code"]) == (401, "unauthorized"), token
        assert "access_token" not in body


async def test_identity_provider_tokens_are_renewed_by_the_identity_provider(
    stack: Stack,
) -> None:
    alice = (await stack.tenant("alice"))["alice"]
    subject = "idp|" + alice.email.split("@")[1].removesuffix(".test") + "|alice"
    claims = {"sub": subject, "iss": IDP_ISSUER, "aud": IDP_AUDIENCE, "exp": time.time() + 300}
    idp_token = jwt.encode(claims, IDP_SECRET, algorithm="HS256")

    status, body = await _refresh(stack, idp_token)
    assert (status, body["error"]["code"]) == (403, "forbidden")
    assert "identity provider" in body["error"]["message"]

    expired = jwt.encode({**claims, "exp": time.time() - 5}, IDP_SECRET, algorithm="HS256")
    status, body = await _refresh(stack, expired)
    assert (status, body["error"]["code"]) == (401, "unauthorized")
