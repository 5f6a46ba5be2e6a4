"""The app in Chromium against a real call server and devsfu: two people, real calls.

Alice uses the desktop layout in the light theme, Bob the phone layout in the dark theme (the
browser's colour scheme; the app follows the system). The app's media runs in the app's Python
process with the livekit SDK, inside this test's private network namespace (devsfu on
``netns.HOST_A``); its microphone is a test tone and its speaker a null sink
(``VOIP_APP_AUDIO=tone:…``), so no sound device is involved.

The two-person scenarios (call, decline, cancel, missed) are ``tests/ui/scenarios.py``, written
against the driver interface of ``tests/ui/driver.py`` and run here on the web driver
(``tests/ui/browser.py``); the same scenarios run on phones or emulators in ``tests/device``. What
only a browser can show (a second device of Bob's, a closed tab, a reload, servers going away)
stays here.

Screenshots of every screen go to ``test-artifacts/screenshots`` (or ``VOIP_SCREENSHOTS_DIR``;
``docs/screenshots`` is refreshed with ``VOIP_SCREENSHOTS_DIR=docs/screenshots``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import netns
from tests.support.devsfu import DevSfu, running_devsfu
from tests.support.servers import CallServer, free_port
from tests.ui import scenarios
from tests.ui.browser import (
    PHONE,
    SESSION_EVICTION_S,
    STEP_TIMEOUT_MS,
    WEB_SESSION_TIMEOUT_S,
    Browser,
    TabLink,
    User,
    WebApp,
)
from tests.ui.conftest import server_env
from tests.ui.scenarios import ALICE, BOB, PASSWORD, Stack, alice_rings_bob, signed_in

pytestmark = pytest.mark.ui

MISSED_RING_TIMEOUT_S = 3


@pytest.mark.media
def test_alice_calls_bob_who_answers_then_hangs_up(alice: User, bob: User, stack: Stack) -> None:
    scenarios.call_answer_mute_hang_up(alice, bob, stack)


def test_bob_declines(alice: User, bob: User, stack: Stack) -> None:
    scenarios.bob_declines(alice, bob, stack)


def test_alice_cancels_before_bob_answers(alice: User, bob: User, stack: Stack) -> None:
    scenarios.alice_cancels_before_bob_answers(alice, bob, stack)


def test_unanswered_call_is_missed(chromium: Browser, sfu: DevSfu, tmp_path: Path) -> None:
    """A server with a short ring timeout: nobody answers, the server ends the call as missed."""
    env = server_env(sfu, MISSED_RING_TIMEOUT_S)
    with (
        CallServer.start(tmp_path / "server", env=env, seed_demo=True) as server,
        WebApp.start(tmp_path, server_url=server.url) as app,
    ):
        alice = chromium.user("alice-missed", app.url)
        bob = chromium.user("bob-missed", app.url, viewport=PHONE, dark=True)
        stack = Stack(api_url=server.url, ring_timeout_s=MISSED_RING_TIMEOUT_S)
        scenarios.unanswered_call_is_missed(alice, bob, stack)
        alice.context.close()
        bob.context.close()


@pytest.mark.media
def test_answered_on_another_device_stops_the_ringing_here(
    chromium: Browser, web_app: WebApp, alice: User, bob: User, stack: Stack
) -> None:
    """Bob is signed in on his phone and his desktop; the desktop answers, the phone stops."""
    bob_desktop = chromium.user("bob-desktop", web_app.url)
    signed_in(alice, ALICE, stack)
    signed_in(bob, BOB, stack)
    signed_in(bob_desktop, BOB, stack)
    alice.wait_text(f"contact.{BOB}.presence", "Online")
    alice.click(f"contact.{BOB}.call")
    bob.visible("incoming.view")
    bob_desktop.visible("incoming.view")
    bob_desktop.click("incoming.accept")
    bob_desktop.visible("incall.view")
    bob.gone("incoming.view")
    bob.visible("contacts.search")
    alice.visible("incall.view")
    alice.click("incall.hangup")
    bob_desktop.gone("incall.view")
    bob_desktop.context.close()


def test_closing_the_tab_signs_that_device_out(
    chromium: Browser, web_app: WebApp, alice: User, stack: Stack
) -> None:
    """A closed browser tab is not a device that stays online and rings for nobody."""
    bob_tab = chromium.user("bob-tab", web_app.url)
    signed_in(alice, ALICE, stack)
    signed_in(bob_tab, BOB, stack)
    alice.wait_text(f"contact.{BOB}.presence", "Online")
    bob_tab.context.close()
    gone_ms = (WEB_SESSION_TIMEOUT_S + SESSION_EVICTION_S) * 1000 + STEP_TIMEOUT_MS
    alice.wait_text(f"contact.{BOB}.presence", "Offline", timeout_ms=gone_ms)


def test_session_is_remembered_until_sign_out(alice: User, stack: Stack) -> None:
    signed_in(alice, ALICE, stack)
    alice.reload()
    alice.visible("contacts.search")  # back without typing anything: the session was kept
    alice.go("settings")
    alice.click("settings.signout")
    alice.visible("signin.submit")
    alice.reload()
    # Signed out for good: the sign-in form, with the server and email still filled in.
    alice.visible("signin.submit")
    alice.wait_field_value("signin.email", ALICE)


def test_media_server_down(chromium: Browser, tmp_path: Path) -> None:
    """Nothing answers at the LiveKit address: the answer fails, and both sides are told why."""
    dead = free_port(netns.HOST_A)
    env = {
        "VOIP_LIVEKIT_URL": f"ws://{netns.HOST_A}:{dead}",
        "VOIP_LIVEKIT_API_URL": f"http://{netns.HOST_A}:{dead}",
        "VOIP_LIVEKIT_API_KEY": "devkey",
        "VOIP_LIVEKIT_API_SECRET": "devsecret-for-tests-only-0123456789",
    }
    with (
        CallServer.start(tmp_path / "server", env=env, seed_demo=True) as server,
        WebApp.start(tmp_path, server_url=server.url) as app,
    ):
        alice = chromium.user("alice-nosfu", app.url)
        bob = chromium.user("bob-nosfu", app.url, viewport=PHONE, dark=True)
        alice_rings_bob(alice, bob, Stack(api_url=server.url))
        bob.click("incoming.accept")
        bob.wait_text("banner.error", "unavailable|media")
        alice.wait_text("banner.error", "unavailable|media")
        alice.gone("outgoing.view")
        alice.gone("incall.view")
        bob.gone("incall.view")
        alice.screenshot("media-down-desktop-light")
        alice.context.close()
        bob.context.close()


def test_calling_someone_offline(alice: User, stack: Stack) -> None:
    signed_in(alice, ALICE, stack)
    alice.wait_text("contact.carol@acme.test.presence", "Offline")
    alice.click("contact.carol@acme.test.call")
    alice.wait_text("banner.error", "Carol Chen is offline")
    alice.wait_text("banner.error", "Call again")
    alice.visible("contacts.search")
    alice.screenshot("callee-offline-desktop-light")


def test_lost_connection_is_shown_until_it_is_back(
    alice: User, call_server: CallServer, stack: Stack
) -> None:
    signed_in(alice, ALICE, stack)
    call_server.stop()
    alice.wait_text("banner.error", "Lost the connection to the call server")
    alice.screenshot("reconnecting-desktop-light")
    call_server.launch()
    alice.gone("banner.error", timeout_ms=30_000)
    alice.visible("contacts.search")


def test_a_call_that_rings_while_the_tab_is_cut_off_shows_once_it_is_back(
    chromium: Browser, call_server: CallServer, stack: Stack, tmp_path: Path
) -> None:
    """The app runs on the web server: Bob's engine hears the call even while his tab's
    WebSocket to the app is down. When the tab reconnects (within the session's timeout),
    it shows the call ringing."""
    env = {"FLET_SESSION_TIMEOUT": "60"}
    with WebApp.start(tmp_path, server_url=call_server.url, env=env) as app:
        alice = chromium.user("alice-cut", app.url)
        bob = chromium.user("bob-cut", app.url, viewport=PHONE, dark=True)
        link = TabLink(bob)
        signed_in(alice, ALICE, stack)
        signed_in(bob, BOB, stack)
        alice.wait_text(f"contact.{BOB}.presence", "Online")
        mark = app.app_log_size()
        link.down()
        app.wait_app_log("browser tab disconnected", since=mark)
        alice.click(f"contact.{BOB}.call")
        app.wait_app_log("event incoming", since=mark)
        link.up()
        app.wait_app_log("browser tab reconnected", since=mark, timeout_s=30)
        bob.wait_text("incoming.caller", "Alice Anders")
        bob.click("incoming.decline")
        alice.visible("contacts.search")
        alice.context.close()
        bob.context.close()


def test_wrong_password(alice: User) -> None:
    alice.sign_in(ALICE, "not-the-password")
    alice.wait_text("banner.error", "Wrong email or password")
    alice.visible("signin.submit")
    alice.screenshot("signin-wrong-password-desktop-light")


def test_server_down_then_retry(
    chromium: Browser, web_app: WebApp, call_server: CallServer
) -> None:
    """Nothing listens at the address: the message says so and offers to try again."""
    alice = chromium.user("alice-down", web_app.url)
    dead = f"http://127.0.0.1:{free_port()}"
    alice.sign_in(ALICE, PASSWORD, server_url=dead)
    alice.wait_text("banner.error", "Cannot reach the call server")
    alice.wait_text("banner.error", "Try again")
    alice.screenshot("signin-server-down-desktop-light")
    # The way forward works: fix the address, try again.
    alice.type_into("signin.server", call_server.url)
    alice.click("signin.submit")
    alice.visible("contacts.search")
    alice.context.close()


def _recording_of_latest_call(stack: Stack, email: str, timeout_s: float = 20.0) -> dict[str, Any]:
    """The latest call's recording once it is complete (egress finishes after the hang-up)."""
    with httpx.Client(base_url=stack.api_url, timeout=10) as http:
        login = http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            call = http.get("/api/calls", params={"limit": 1}, headers=headers).json()["items"][0]
            if call["recording"] and call["recording"]["status"] == "complete":
                return dict(call)
            time.sleep(0.2)
    raise AssertionError(f"no complete recording: {call}")


@pytest.mark.media
def test_a_recorded_call_is_announced_shown_and_played(chromium: Browser, tmp_path: Path) -> None:
    """A tenant that records every call: Bob is told before he answers, both see the
    indicator during the call, and Alice plays the recording from her history."""
    port = free_port()
    recordings = tmp_path / "recordings"
    webhook = f"http://127.0.0.1:{port}/api/livekit/webhook"
    with running_devsfu(host=netns.HOST_A, webhook_url=webhook, egress_dir=recordings) as sfu:
        env = {
            **server_env(sfu, 30),
            "VOIP_RECORDING_DEFAULT": "all",
            "VOIP_RECORDING_DIR": str(recordings),
        }
        with (
            CallServer.start(tmp_path / "server", env=env, port=port, seed_demo=True) as server,
            WebApp.start(tmp_path, server_url=server.url) as app,
        ):
            alice = chromium.user("alice-recorded", app.url)
            bob = chromium.user("bob-recorded", app.url, viewport=PHONE, dark=True)
            stack = Stack(api_url=server.url)
            alice_rings_bob(alice, bob, stack)
            bob.wait_text("incoming.recording", "This call will be recorded")
            bob.wait_text("incoming.caller", "Alice Anders")
            alice.wait_text("outgoing.status", "Ringing")
            scenarios.shot(bob, "incoming-recorded")
            bob.click("incoming.accept")
            for screen in (alice, bob):
                screen.wait_text("incall.recording", "Recording")
            scenarios.shot(alice, "incall-recording")
            time.sleep(2.0)
            alice.click("incall.hangup")
            alice.gone("incall.view")
            call = _recording_of_latest_call(stack, ALICE)
            scenarios.go(alice, "history")
            with alice.page.expect_request(
                lambda r: f"/api/recordings/{call['recording']['id']}/play?" in r.url
            ) as fetched:
                alice.click(f"history.row.{call['id']}.play")
            assert f"user={call['caller']['id']}" in fetched.value.url
            scenarios.shot(alice, "history-recording")
            alice.context.close()
            bob.context.close()
