"""Provisioning from the CRM's identity provider against a real server: a token whose ``sub``
is unknown but which names a known tenant in ``VOIP_IDP_TENANT_CLAIM`` creates the member on
first use (name and email from its claims); any other stays 401, saying why."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest

from tests.server.conftest import IDP_AUDIENCE, IDP_ISSUER, IDP_SECRET
from tests.support.servers import CallServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CallServer]:
    env = {
        "VOIP_IDP_JWT_SECRET": IDP_SECRET,
        "VOIP_IDP_ISSUER": IDP_ISSUER,
        "VOIP_IDP_AUDIENCE": IDP_AUDIENCE,
        "VOIP_IDP_AUTO_PROVISION": "true",
        "VOIP_IDP_TENANT_CLAIM": "app_metadata.tenant_id",
    }
    with CallServer.start(tmp_path_factory.mktemp("idp"), env=env, seed_demo=True) as running:
        yield running


def idp_token(**claims: Any) -> str:
    now = int(time.time())
    base = {"iss": IDP_ISSUER, "aud": IDP_AUDIENCE, "iat": now, "exp": now + 600}
    return jwt.encode({**base, **claims}, IDP_SECRET, algorithm="HS256")


def me(server: CallServer, token: str) -> httpx.Response:
    return httpx.get(
        f"{server.url}/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


def test_a_new_subject_of_a_known_tenant_becomes_a_member(server: CallServer) -> None:
    sub = f"idp-{uuid.uuid4().hex}"
    token = idp_token(
        sub=sub,
        email=f"{sub}@acme.test",
        user_metadata={"full_name": "Nina New"},
        app_metadata={"tenant_id": "acme"},
    )
    first = me(server, token)
    assert first.status_code == 200, first.text
    assert (first.json()["display_name"], first.json()["email"]) == ("Nina New", f"{sub}@acme.test")
    again = me(server, token)
    assert again.json()["id"] == first.json()["id"]
    alice = httpx.post(
        f"{server.url}/api/auth/login",
        json={"email": "alice@acme.test", "password": "demo-password"},
        timeout=10,
    ).json()
    listed = httpx.get(
        f"{server.url}/api/admin/users",
        headers={"Authorization": f"Bearer {alice['access_token']}"},
        params={"q": "nina"},
        timeout=10,
    ).json()["items"]
    assert [(u["id"], u["role"], u["external_subject"]) for u in listed] == [
        (first.json()["id"], "member", sub)
    ]


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"app_metadata": {"tenant_id": "nowhere"}, "email": "x@y.test"}, "tenant is unknown"),
        ({"email": "x@y.test"}, "no app_metadata.tenant_id"),
        ({"app_metadata": {"tenant_id": "acme"}}, "no email"),
        ({"app_metadata": {"tenant_id": "acme"}, "email": "bob@acme.test"}, "exists already"),
    ],
)
def test_otherwise_it_stays_401_saying_why(
    server: CallServer, claims: dict[str, Any], why: str
) -> None:
    response = me(server, idp_token(sub=f"idp-{uuid.uuid4().hex}", **claims))
    assert response.status_code == 401
    assert why in response.json()["error"]["message"]
