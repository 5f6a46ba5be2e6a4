"""The app on real sound devices, or none: a call never fails for want of a device.

The app's process uses its sound devices (``VOIP_APP_AUDIO=devices``, what a person gets):
- with no sound server at all (``PULSE_SERVER`` points at nothing; PortAudio finds no default
  device), the whole call still runs, and the in-call view says what is missing;
- on a private PulseAudio with one null sink, the sink is unloaded mid-call (the speaker
  unplugged): the call goes on, says "No speaker", and takes the new sink when one is loaded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.engine import pulse
from tests.support.servers import CallServer
from tests.ui import scenarios
from tests.ui.browser import PHONE, Browser, User, WebApp
from tests.ui.scenarios import ALICE, BOB, PASSWORD, RUNNING_TIMER, Stack, alice_rings_bob

pytestmark = [pytest.mark.ui, pytest.mark.media]

DEVICE_TIMEOUT_MS = 20_000
"""The app tries a missing device again about once a second; a loaded machine gets slack."""


def statuses(stack: Stack, email: str) -> str:
    """The status of ``email``'s newest call, from the server's call log."""
    with httpx.Client(base_url=stack.api_url, timeout=10) as http:
        login = http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        calls = http.get("/api/calls", params={"limit": 1}, headers=headers)
        calls.raise_for_status()
    return str(calls.json()["items"][0]["status"])


@pytest.fixture
def pair(chromium: Browser) -> Iterator[list[User]]:
    users: list[User] = []
    yield users
    for user in users:
        user.context.close()


def two_people(chromium: Browser, app: WebApp, users: list[User], tag: str) -> tuple[User, User]:
    alice = chromium.user(f"alice-{tag}", app.url)
    bob = chromium.user(f"bob-{tag}", app.url, viewport=PHONE, dark=True)
    users += [alice, bob]
    return alice, bob


def test_a_whole_call_without_any_sound_server(
    chromium: Browser, call_server: CallServer, tmp_path: Path, pair: list[User]
) -> None:
    nothing = {"PULSE_SERVER": f"unix:{tmp_path / 'no-pulse' / 'native'}"}
    with WebApp.start(tmp_path, server_url=call_server.url, audio="devices", env=nothing) as app:
        alice, bob = two_people(chromium, app, pair, "nosound")
        stack = Stack(api_url=call_server.url)
        alice_rings_bob(alice, bob, stack)
        bob.click("incoming.accept")
        alice.visible("incall.view")
        bob.visible("incall.view")
        alice.wait_text("incall.timer", RUNNING_TIMER)
        bob.wait_text("incall.timer", RUNNING_TIMER)
        alice.wait_text("incall.devices", "No microphone and no speaker.*Settings")
        bob.wait_text("incall.devices", "No microphone and no speaker")
        alice.screenshot("incall-no-devices-desktop-light")
        alice.click("incall.mute")
        alice.wait_text("incall.mute", "Unmute")
        alice.wait_text("incall.timer", r"^0:0[3-9]$|^0:[1-5]\d$")  # still on, seconds later
        alice.click("incall.hangup")
        alice.gone("incall.view")
        bob.gone("incall.view")
        assert statuses(stack, ALICE) == "COMPLETED"
        assert statuses(stack, BOB) == "COMPLETED"
        scenarios.both_see_in_history(alice, bob, stack, alice_sees="Outgoing", bob_sees="Incoming")
        # var/app.log tells what happened: the devices, the call's events; no token in it
        app_log = (tmp_path / "var" / "app.log").read_text(encoding="utf-8")
        assert "microphone missing, speaker missing" in app_log
        assert "event accepting" in app_log
        assert "event ended" in app_log
        assert "Error querying device" in app_log
        assert "eyJ" not in app_log


def test_the_speaker_is_unplugged_mid_call(
    chromium: Browser, call_server: CallServer, tmp_path: Path, pair: list[User]
) -> None:
    why_not = pulse.available()
    if why_not:
        pytest.skip(why_not)
    with pulse.running_pulse(["speaker"]) as pa:
        pa.pactl("load-module", "module-null-source", "source_name=mic", "rate=48000")
        env = {
            "PULSE_SERVER": pa.server,
            "PULSE_RUNTIME_PATH": str(pa.runtime),
            "PULSE_SOURCE": "mic",
        }
        with WebApp.start(tmp_path, server_url=call_server.url, audio="devices", env=env) as app:
            alice, bob = two_people(chromium, app, pair, "unplug")
            stack = Stack(api_url=call_server.url)
            alice_rings_bob(alice, bob, stack)
            bob.click("incoming.accept")
            alice.wait_text("incall.timer", RUNNING_TIMER)
            bob.wait_text("incall.timer", RUNNING_TIMER)
            alice.gone("incall.devices")  # both devices work
            _plays_on(pa)
            pa.unload_sink("speaker")
            alice.wait_text("incall.devices", "No speaker", timeout_ms=DEVICE_TIMEOUT_MS)
            bob.wait_text("incall.devices", "No speaker", timeout_ms=DEVICE_TIMEOUT_MS)
            alice.screenshot("incall-no-speaker-desktop-light")
            alice.visible("incall.view")  # the call goes on
            pa.pactl("load-module", "module-null-sink", "sink_name=headset", "rate=48000")
            alice.gone("incall.devices", timeout_ms=DEVICE_TIMEOUT_MS)  # picked up again
            bob.gone("incall.devices", timeout_ms=DEVICE_TIMEOUT_MS)
            _plays_on(pa)  # into the new sink: it is the only one
            alice.click("incall.hangup")
            alice.gone("incall.view")
            bob.gone("incall.view")
            assert statuses(stack, ALICE) == "COMPLETED"
            assert statuses(stack, BOB) == "COMPLETED"


def _plays_on(pa: pulse.Pulse, timeout_s: float = DEVICE_TIMEOUT_MS / 1000) -> None:
    """Some stream plays into the sink (the only sink there is), soon: a loaded machine can
    starve a stream's first callbacks for a while, and PulseAudio lists it once it runs."""
    deadline = time.monotonic() + timeout_s
    while not pa.pactl("list", "short", "sink-inputs").strip():
        assert time.monotonic() < deadline, "no stream plays into the sink"
        time.sleep(0.2)
