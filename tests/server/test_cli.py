"""``voip-server seed-demo`` / ``seed-load N`` (idempotent) and the dev JWT secret."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.servers import CallServer


def login(server: CallServer, email: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/auth/login",
        json={"email": email, "password": "demo-password"},
        timeout=10,
    )


def test_seed_demo_and_load_are_idempotent(tmp_path: Path) -> None:
    # No VOIP_JWT_SECRET: the server generates a dev-only one under VOIP_VAR_DIR.
    with CallServer.start(tmp_path, env={"VOIP_JWT_SECRET": ""}, seed_demo=True) as server:
        server.cli("seed-demo")
        server.cli("seed-load", "12")
        server.cli("seed-load", "12")
        alice = login(server, "alice@acme.test")
        assert alice.status_code == 200, alice.text
        token = alice.json()["access_token"]
        contacts = httpx.get(
            f"{server.url}/api/contacts",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        ).json()
        assert [c["email"] for c in contacts["items"]] == ["bob@acme.test", "carol@acme.test"]
        dave = login(server, "dave@globex.test").json()
        assert dave["user"]["tenant_id"] != alice.json()["user"]["tenant_id"]
        assert login(server, "u11@load.test").status_code == 200
        assert login(server, "u12@load.test").status_code == 401
        assert (tmp_path / "var" / "dev-jwt-secret").stat().st_mode & 0o777 == 0o600
        assert "dev-only JWT secret" in server.log()
