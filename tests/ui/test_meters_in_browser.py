"""Sound you can see: the in-call meters and Settings' microphone test, in Chromium.

In the call, each side's microphone is a test tone (``VOIP_APP_AUDIO=tone:…``, -12 dBFS peak):
both meters move; when Alice mutes, her own meter and Bob's meter of her go flat ("silent") and
stay flat, and move again when she unmutes. In Settings the app uses real devices on a private
PulseAudio whose microphone is the monitor of its speaker: "Test microphone" reads silence
until "Play test sound" plays into the speaker, then the meter moves, then it is flat again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine import pulse
from tests.support.servers import CallServer
from tests.ui.browser import PHONE, Browser, User, WebApp
from tests.ui.scenarios import ALICE, RUNNING_TIMER, Stack, alice_rings_bob, go, signed_in

pytestmark = [pytest.mark.ui, pytest.mark.media]

LOUD = r"(^|\s)-(\d|[1-3]\d) dB(\s|$)"
"""A meter reading a tone: between 0 and -39 dBFS (its text is label, reading and bar value)."""
SILENT = r"(^|\s)silent(\s|$)"


def stays(user: User, identifier: str, pattern: str, *, seconds: int) -> None:
    """``identifier`` matches ``pattern`` at every look while the call's timer advances
    ``seconds`` times (the timer is the clock here: no fixed sleeps)."""
    import re

    ticks, last = 0, user.text("incall.timer")
    while ticks < seconds:
        text = user.text(identifier)
        assert re.search(pattern, text), f"{identifier} read {text!r}"
        now = user.text("incall.timer")
        if now != last:
            ticks, last = ticks + 1, now


@pytest.fixture
def people(chromium: Browser, web_app: WebApp) -> Iterator[tuple[User, User]]:
    alice = chromium.user("alice-meters", web_app.url)
    bob = chromium.user("bob-meters", web_app.url, viewport=PHONE, dark=True)
    yield alice, bob
    alice.context.close()
    bob.context.close()


def test_call_meters_move_with_a_tone_and_stay_flat_when_muted(
    people: tuple[User, User], call_server: CallServer
) -> None:
    alice, bob = people
    alice_rings_bob(alice, bob, Stack(api_url=call_server.url))
    bob.click("incoming.accept")
    alice.wait_text("incall.timer", RUNNING_TIMER)
    for user in (alice, bob):
        user.wait_text("incall.level.local", LOUD)
        user.wait_text("incall.level.remote", LOUD)
    alice.screenshot("incall-meters-desktop-light")
    bob.screenshot("incall-meters-phone-dark")

    alice.click("incall.mute")
    alice.wait_text("incall.mute", "Unmute")
    alice.wait_text("incall.level.local", SILENT)
    bob.wait_text("incall.level.remote", SILENT)
    stays(alice, "incall.level.local", SILENT, seconds=2)
    stays(bob, "incall.level.remote", SILENT, seconds=1)
    alice.wait_text("incall.level.remote", LOUD)  # Bob still talks
    alice.screenshot("incall-meters-muted-desktop-light")

    alice.click("incall.mute")
    alice.wait_text("incall.level.local", LOUD)
    bob.wait_text("incall.level.remote", LOUD)
    alice.click("incall.hangup")
    alice.gone("incall.view")
    bob.gone("incall.view")


def heard_test_sound(alice: User, plays: int = 3) -> None:
    """Play the test sound until the microphone meter hears it. Once in three clean-clone runs
    on a loaded 2-core machine one 1.5 s play went unheard (the meter stayed at 0), so it may
    take a second play; three unheard plays fail."""
    for play in range(1, plays + 1):
        alice.wait_text("settings.test-sound", "Play test sound")
        alice.click("settings.test-sound")
        try:
            alice.wait_text("settings.mic-level", LOUD, timeout_ms=10_000)
            return
        except AssertionError:
            if play == plays:
                raise


def test_settings_microphone_test_hears_the_test_sound(
    chromium: Browser, call_server: CallServer, tmp_path: Path
) -> None:
    why_not = pulse.available()
    if why_not:
        pytest.skip(why_not)
    with pulse.running_pulse(["speaker"]) as pa:
        env = {
            "PULSE_SERVER": pa.server,
            "PULSE_RUNTIME_PATH": str(pa.runtime),
            "PULSE_SINK": "speaker",
            "PULSE_SOURCE": "speaker.monitor",  # the microphone hears the speaker
        }
        with WebApp.start(tmp_path, server_url=call_server.url, audio="devices", env=env) as app:
            alice = chromium.user("alice-settings-meter", app.url)
            signed_in(alice, ALICE, Stack(api_url=call_server.url))
            go(alice, "settings")
            alice.wait_text("settings.mic-level", "silent")
            alice.click("settings.mic-test")
            alice.wait_text("settings.mic-test", "Stop the test")
            alice.wait_text("settings.mic-level", SILENT)
            heard_test_sound(alice)
            alice.screenshot("settings-meters-desktop-light")
            alice.wait_text("settings.test-sound", "Play test sound")  # played out
            alice.wait_text("settings.mic-level", SILENT)
            alice.click("settings.mic-test")
            alice.wait_text("settings.mic-test", "Test microphone")
            alice.context.close()
