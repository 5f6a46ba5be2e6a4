"""The two-person call scenarios, written once against :class:`tests.ui.driver.Screen`.

The browser tests (``tests/ui/test_calls_in_browser.py``) run them on two Chromium profiles, the
device tests (``tests/device/test_calls_on_devices.py``) on two phones or emulators; the servers
under the app are described by a :class:`Stack`. Alice places the calls, Bob receives them; both
use the seeded demo accounts. Screenshots are named ``<screen>-<look>``.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from tests.ui.driver import Screen

PASSWORD = "demo-password"
ALICE, BOB = "alice@acme.test", "bob@acme.test"
RUNNING_TIMER = r"^0:0[1-9]$|^0:[1-5]\d$"
"""The in-call timer once it has left 0:00 (and before a minute: these calls are short)."""


@dataclass(frozen=True)
class Stack:
    """The servers under the app, as the scenarios need them."""

    api_url: str
    """The call server as this test process reaches it (for the call ids of the history rows)."""
    app_server_url: str | None = None
    """What a person types into ``signin.server``; ``None``: the app starts with it filled in."""
    ring_timeout_s: float = 30.0


def latest_call_id(stack: Stack, email: str) -> str:
    """The newest call in ``email``'s history, straight from the server's API."""
    with httpx.Client(base_url=stack.api_url, timeout=10) as http:
        login = http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        login.raise_for_status()
        token = login.json()["access_token"]
        calls = http.get(
            "/api/calls", params={"limit": 1}, headers={"Authorization": f"Bearer {token}"}
        )
        calls.raise_for_status()
        items = calls.json()["items"]
    assert items, f"{email} has no calls"
    return str(items[0]["id"])


def shot(screen: Screen, name: str) -> None:
    screen.screenshot(f"{name}-{screen.look}")


def sign_in(
    screen: Screen, email: str, password: str = PASSWORD, server_url: str | None = None
) -> None:
    """Fill the sign-in form (the server too, when given) and submit it."""
    if server_url is not None:
        screen.type_into("signin.server", server_url)
    screen.type_into("signin.email", email)
    screen.type_into("signin.password", password)
    screen.click("signin.submit")


def signed_in(screen: Screen, email: str, stack: Stack) -> None:
    sign_in(screen, email, server_url=stack.app_server_url)
    screen.visible("contacts.search")


def go(screen: Screen, tab: str) -> None:
    """``contacts``, ``history`` or ``settings``."""
    screen.click(f"nav.{tab}")


def alice_rings_bob(alice: Screen, bob: Screen, stack: Stack) -> None:
    """Both signed in; Alice calls Bob once he shows online; his incoming view is up."""
    signed_in(alice, ALICE, stack)
    signed_in(bob, BOB, stack)
    alice.wait_text(f"contact.{BOB}.presence", "Online")
    alice.click(f"contact.{BOB}.call")
    bob.visible("incoming.view")


def both_see_in_history(
    alice: Screen, bob: Screen, stack: Stack, *, alice_sees: str, bob_sees: str
) -> str:
    """The last call shows in both histories with these statuses; returns its id."""
    call_id = latest_call_id(stack, ALICE)
    assert latest_call_id(stack, BOB) == call_id
    go(alice, "history")
    alice.wait_text(f"history.row.{call_id}.status", alice_sees)
    go(bob, "history")
    bob.wait_text(f"history.row.{call_id}.status", bob_sees)
    return call_id


def call_answer_mute_hang_up(alice: Screen, bob: Screen, stack: Stack) -> None:
    """Sign in, call, ring, accept, mute, hang up, and the call in both histories."""
    alice.visible("signin.email")
    shot(alice, "signin")
    signed_in(alice, ALICE, stack)
    # Bob is not signed in yet: offline; when he signs in, Alice's list turns him online live.
    alice.wait_text(f"contact.{BOB}.presence", "Offline")
    shot(bob, "signin")
    signed_in(bob, BOB, stack)
    alice.wait_text(f"contact.{BOB}.presence", "Online")
    bob.wait_text(f"contact.{ALICE}.presence", "Online")
    shot(alice, "contacts")
    shot(bob, "contacts")

    alice.click(f"contact.{BOB}.call")
    alice.visible("outgoing.view")
    alice.wait_text("outgoing.status", "Calling|Ringing")
    bob.visible("incoming.view")
    assert bob.wait_text("incoming.caller", "Alice Anders") == "Alice Anders"
    alice.wait_text("outgoing.status", "Ringing")
    shot(alice, "outgoing")
    shot(bob, "incoming")

    bob.click("incoming.accept")
    bob.visible("incall.view")
    alice.visible("incall.view")
    bob.gone("incoming.view")
    alice.wait_text("incall.timer", RUNNING_TIMER)  # the timer runs on both sides
    bob.wait_text("incall.timer", RUNNING_TIMER)
    alice.wait_text("incall.quality", "Connected|connection")

    alice.click("incall.mute")
    alice.wait_text("incall.mute", "Unmute")
    shot(alice, "incall")
    shot(bob, "incall")

    bob.click("incall.hangup")
    bob.gone("incall.view")
    alice.gone("incall.view")
    alice.visible("contacts.search")
    for person in (alice, bob):  # a call that took place offers its note at once
        person.visible("note.view")
        person.click("note.cancel")
        person.gone("note.view")

    call_id = both_see_in_history(alice, bob, stack, alice_sees="Outgoing", bob_sees="Incoming")
    assert alice.text(f"history.row.{call_id}.status") == "Outgoing"
    assert bob.text(f"history.row.{call_id}.status") == "Incoming"
    shot(alice, "history")
    shot(bob, "history")
    go(bob, "settings")
    bob.visible("settings.signout")
    shot(bob, "settings")
    go(alice, "settings")
    alice.visible("settings.input")
    shot(alice, "settings")


def bob_declines(alice: Screen, bob: Screen, stack: Stack) -> None:
    alice_rings_bob(alice, bob, stack)
    bob.click("incoming.decline")
    bob.gone("incoming.view")
    alice.gone("outgoing.view")
    alice.wait_text("banner.error", "declined")
    shot(alice, "declined-banner")
    both_see_in_history(alice, bob, stack, alice_sees="Declined", bob_sees="Declined")


def alice_cancels_before_bob_answers(alice: Screen, bob: Screen, stack: Stack) -> None:
    alice_rings_bob(alice, bob, stack)
    alice.wait_text("outgoing.status", "Ringing")
    alice.click("outgoing.cancel")
    alice.gone("outgoing.view")
    bob.gone("incoming.view")
    both_see_in_history(
        alice, bob, stack, alice_sees="Cancelled", bob_sees="Missed \\(cancelled\\)"
    )


def unanswered_call_is_missed(alice: Screen, bob: Screen, stack: Stack) -> None:
    """Nobody answers: the server's ring timeout ends the call as missed."""
    alice_rings_bob(alice, bob, stack)
    bob.gone("incoming.view", timeout_ms=int(stack.ring_timeout_s * 1000) + 27_000)
    alice.gone("outgoing.view")
    alice.wait_text("banner.error", "did not answer")
    bob.wait_text("contacts.missed-badge", "1 missed call")
    shot(bob, "missed-badge")
    call_id = latest_call_id(stack, ALICE)
    bob.click("contacts.missed-badge")
    bob.gone("contacts.missed-badge")
    bob.wait_text(f"history.row.{call_id}.status", "Missed")
    shot(bob, "history-missed")
