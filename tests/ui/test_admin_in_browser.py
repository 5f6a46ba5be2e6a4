"""The Users and Webhooks screens (``admin.*``): their models against the fake engine, and in
Chromium against a real call server: alice (acme's admin) sees them, bob (a member) does not;
alice adds a member, makes bob admin and member again, disables him (his app signs out at once
and he can no longer sign in) and enables him; she adds a webhook endpoint (a real receiver on
loopback verifying signatures with ``standardwebhooks``), sees its delivery and re-sends it."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from tests.support.webhook_receiver import WebhookReceiver
from tests.ui.browser import User
from tests.ui.scenarios import ALICE, BOB, PASSWORD, Stack, go, shot, signed_in
from tests.ui.test_crm_in_browser import ThreadedCaller, user_id


def can_sign_in(stack: Stack, email: str) -> bool:
    response = httpx.post(
        f"{stack.api_url}/api/auth/login", json={"email": email, "password": PASSWORD}, timeout=10
    )
    return response.status_code == 200


@pytest.mark.ui
def test_admin_manages_users_and_members_do_not_see_it(
    alice: User, bob: User, stack: Stack
) -> None:
    signed_in(bob, BOB, stack)
    bob.visible("nav.history")
    assert bob.nodes_starting("nav.admin").count() == 0
    signed_in(alice, ALICE, stack)
    go(alice, "admin")
    alice.visible("admin.view")
    row = f"admin.user.{BOB}"
    assert alice.wait_text(f"{row}.status", "Member") == "Member"
    alice.type_into("admin.add.email", "erin@acme.test")
    alice.type_into("admin.add.name", "Erin Evans")
    alice.click("admin.add.submit")
    assert alice.wait_text("admin.user.erin@acme.test.status", "Member") == "Member"
    alice.click(f"{row}.role")
    assert alice.wait_text(f"{row}.status", "Admin") == "Admin"
    alice.click(f"{row}.role")
    assert alice.wait_text(f"{row}.status", "^Member$") == "Member"
    alice.click(f"{row}.disable")
    assert alice.wait_text(f"{row}.status", "Disabled") == "Member, Disabled"
    shot(alice, "admin-users")
    assert not can_sign_in(stack, BOB)
    bob.visible("signin.submit")  # his app signs out at once: the server closed his session
    bob.wait_text("banner.error", "sign in again")
    alice.click(f"{row}.disable")
    assert alice.wait_text(f"{row}.status", "^Member$") == "Member"
    assert can_sign_in(stack, BOB)


@pytest.mark.ui
def test_admin_sets_a_webhook_sees_deliveries_and_resends(alice: User, stack: Stack) -> None:
    with WebhookReceiver(wall_clock=True) as receiver:
        signed_in(alice, ALICE, stack)
        go(alice, "webhooks")
        alice.visible("admin.webhooks.view")
        alice.type_into("admin.webhook.url", receiver.url)
        alice.click("admin.webhook.add")
        receiver.secret = alice.wait_text("admin.webhook.secret", "^whsec_")
        carol = ThreadedCaller(stack.api_url, "carol@acme.test")
        try:  # bob is not signed in: the call ends MISSED at once, one call.ended
            ack = carol.call("invite", {"callee_id": user_id(stack, BOB), "request_id": "w1"})
            assert ack["ok"], ack
        finally:
            carol.close()
        deadline = time.monotonic() + 20
        while not receiver.delivered():
            assert time.monotonic() < deadline
            time.sleep(0.1)
        alice.click("admin.webhooks.refresh")
        delivery = alice.nodes_starting("admin.delivery.").first
        key = str(delivery.get_attribute("flt-semantics-identifier")).rsplit(".", 1)[0]
        assert alice.wait_text(f"{key}.status", "HTTP 200").startswith("delivered")
        shot(alice, "admin-webhooks")
        alice.click(f"{key}.resend")
        deadline = time.monotonic() + 20
        while len(receiver.delivered()) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    first, again = receiver.delivered()
    assert first.event_id == again.event_id
    assert first.signed
    assert again.signed
    assert first.event_type == "call.ended"


class AdminApi:
    """Alice's view of acme's webhook endpoints through the API, to check what the screen did."""

    def __init__(self, stack: Stack) -> None:
        response = httpx.post(
            f"{stack.api_url}/api/auth/login",
            json={"email": ALICE, "password": PASSWORD},
            timeout=10,
        )
        self.url, self.token = stack.api_url, response.json()["access_token"]

    def endpoint(self, url: str) -> dict[str, object] | None:
        response = httpx.get(
            f"{self.url}/api/admin/webhooks",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )
        found = [e for e in response.json() if e["url"] == url]
        return found[0] if found else None


@pytest.mark.ui
def test_admin_disables_enables_and_deletes_a_webhook_endpoint(alice: User, stack: Stack) -> None:
    url = f"http://127.0.0.1:9/hooks-{uuid.uuid4().hex[:8]}"  # no call is made: never sent to
    api = AdminApi(stack)
    signed_in(alice, ALICE, stack)
    go(alice, "webhooks")
    alice.type_into("admin.webhook.url", url)
    alice.click("admin.webhook.add")
    alice.wait_text("admin.webhook.secret", "^whsec_")
    made = api.endpoint(url)
    assert made is not None
    key = f"admin.webhook.{made['id']}"
    alice.click(f"{key}.switch")
    assert alice.wait_text(f"{key}.status", "^Disabled") == "Disabled: by an admin"
    assert (api.endpoint(url) or {})["enabled"] is False
    alice.click(f"{key}.switch")
    assert alice.wait_text(f"{key}.status", "^Enabled$") == "Enabled"
    assert (api.endpoint(url) or {})["enabled"] is True
    alice.click(f"{key}.delete")
    alice.click(f"{key}.keep")  # asked, then kept: nothing deleted
    alice.click(f"{key}.delete")
    alice.visible(f"{key}.confirm")
    assert api.endpoint(url) is not None
    alice.click(f"{key}.confirm")
    alice.gone(f"{key}.status")
    assert api.endpoint(url) is None
