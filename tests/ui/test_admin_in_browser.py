"""The Users screen (``admin.*``): its model against the fake engine, and in Chromium against a
real call server: alice (acme's admin) sees it, bob (a member) does not; alice adds a member,
makes bob admin and member again, disables him (he can no longer sign in) and enables him."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from tests.support.servers import CallServer
from tests.ui.browser import PHONE, Browser, User, WebApp
from tests.ui.fakes import FakeEngine, FakePlatform, FakeRinger, Loop, MemoryStore
from tests.ui.scenarios import ALICE, BOB, PASSWORD, Stack, go, shot, signed_in
from voip_app.ui.models import AppModel
from voip_contract.admin import AdminUser


@pytest.fixture
def stack(call_server: CallServer) -> Stack:
    return Stack(api_url=call_server.url)


@pytest.fixture
def alice(chromium: Browser, web_app: WebApp) -> Iterator[User]:
    user = chromium.user("alice", web_app.url)
    yield user
    user.context.close()


@pytest.fixture
def bob(chromium: Browser, web_app: WebApp) -> Iterator[User]:
    user = chromium.user("bob", web_app.url, viewport=PHONE, dark=True)
    yield user
    user.context.close()


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
    alice.click(f"{row}.disable")
    assert alice.wait_text(f"{row}.status", "^Member$") == "Member"
    assert can_sign_in(stack, BOB)


async def test_the_admin_model() -> None:
    """Spec: opening lists the users; disable/enable and admin/member toggle on the server and
    the row shows what the server answered; Add needs both fields and empties the form."""
    engine, loop = FakeEngine(), Loop()
    model = AppModel(
        engine=engine,
        ringer=FakeRinger(),
        store=MemoryStore(),
        platform=FakePlatform(),
        post=loop.post,
        spawn=loop.spawn,
    )
    at = datetime(2026, 11, 24, tzinfo=UTC)
    engine.admin_result = [
        AdminUser(
            id="b", email="b@x.test", display_name="B", role="member", disabled=False, created_at=at
        )
    ]
    admin = model.admin
    await admin.opened()
    assert [u.id for u in admin.users] == ["b"]
    await admin.toggle_disabled("b")
    await admin.toggle_role("b")
    assert (admin.users[0].disabled, admin.users[0].role) == (True, "admin")
    assert engine.called("admin_change") == [("b", "disable"), ("b", "admin")]
    admin.type_new("email", "a@x.test")
    await admin.add()
    assert engine.called("admin_add") == []
    admin.type_new("name", "A")
    await admin.add()
    assert [u.email for u in admin.users] == ["a@x.test", "b@x.test"]
    assert (admin.new_email, admin.new_name) == ("", "")
