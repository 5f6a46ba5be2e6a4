"""LiveKit's JS SDK (``livekit-client``, the pinned versions) in headless Chromium, through devsfu.

The current SDK joins by ``/rtc/v1`` (one peer connection for both directions), 2.16.1 (the last
before 2.17) by ``/rtc`` (two); each must join at the first try, hear the other side's tone,
hear silence while it is muted, have a refused token reported as refused, and leave cleanly.
Tones are WebAudio oscillators; what a page hears is measured from a WebAudio ``AnalyserNode``.
"""

from __future__ import annotations

import re
import uuid

import pytest

from tests.devsfu.tones import expected_tone_dbfs
from tests.jssdk.pages import SDKS, Caller, Chromium, Join, PageServer, join_token
from tests.support.devsfu import DevSfu

pytestmark = [pytest.mark.media, pytest.mark.jssdk]

CURRENT, BEFORE_V1 = sorted(SDKS, key=lambda v: tuple(int(p) for p in v.split(".")), reverse=True)
PATH_OF = {CURRENT: "/rtc/v1", BEFORE_V1: "/rtc"}
AMPLITUDE = 0.3
LEVEL_TOLERANCE_DB = 3.0
HZ_TOLERANCE = 5.0
SILENCE_DBFS = -50.0
SOUNDING_DBFS = -30.0


def _joins_in_log(sfu: DevSfu, identity: str) -> list[str]:
    return re.findall(rf"{re.escape(identity)} joined by (\S+)", sfu.log_text())


@pytest.mark.parametrize("version", [CURRENT, BEFORE_V1])
def test_joins_at_the_first_try(join: Join, sfu: DevSfu, version: str) -> None:
    name = f"alice-{uuid.uuid4().hex[:6]}"
    alice = join(name, version)
    assert alice.call("sdkVersion") == version
    assert alice.call("connectionState") == "connected"
    # One join, by the path this SDK version prefers: no failed attempt, no fallback.
    assert _joins_in_log(sfu, name) == [PATH_OF[version]]
    assert not [line for line in alice.console if "Retrying" in line]
    assert alice.blocked == []


@pytest.mark.parametrize(
    ("alice_version", "bob_version"),
    [(CURRENT, CURRENT), (BEFORE_V1, BEFORE_V1), (CURRENT, BEFORE_V1)],
)
def test_two_way_audio(join: Join, alice_version: str, bob_version: str) -> None:
    alice = join("alice", alice_version)
    alice.call("publishTone", 440.0, AMPLITUDE)
    bob = join("bob", bob_version)  # alice's track is already there when bob joins
    bob.call("publishTone", 660.0, AMPLITUDE)
    alice.wait_for_event("subscribed", "bob")
    bob.wait_for_event("subscribed", "alice")

    heard_by_bob, heard_by_alice = bob.steady_tone("alice"), alice.steady_tone("bob")
    assert abs(heard_by_bob[0] - 440.0) < HZ_TOLERANCE
    assert abs(heard_by_alice[0] - 660.0) < HZ_TOLERANCE
    for _, level in (heard_by_bob, heard_by_alice):
        assert abs(level - expected_tone_dbfs(AMPLITUDE)) < LEVEL_TOLERANCE_DB


@pytest.mark.parametrize("version", [CURRENT, BEFORE_V1])
def test_mute_is_seen_and_silences_the_track(join: Join, version: str) -> None:
    alice, bob = join("alice", version), join("bob", version)
    alice.call("publishTone", 440.0, AMPLITUDE)
    bob.wait_for_event("subscribed", "alice")
    bob.wait_for_level("alice", SOUNDING_DBFS, below=False)

    alice.call("setMuted", True)
    bob.wait_for_event("muted", "alice")
    bob.wait_for_level("alice", SILENCE_DBFS, below=True)

    alice.call("setMuted", False)
    bob.wait_for_event("unmuted", "alice")
    hz, _ = bob.wait_for_level("alice", SOUNDING_DBFS, below=False)
    assert abs(hz - 440.0) < HZ_TOLERANCE


@pytest.mark.parametrize("version", [CURRENT, BEFORE_V1])
def test_a_refused_token_is_reported_as_refused(
    sfu: DevSfu, pages: PageServer, browser: Chromium, callers: list[Caller], version: str
) -> None:
    mallory = browser.caller("mallory", pages.url(version))
    callers.append(mallory)
    result = mallory.connect(sfu.url, join_token(sfu, "mallory", "any-room", secret="x" * 40))
    # The browser could read devsfu's answer to the SDK's validate request (CORS): the
    # refusal and its reason, not "server unreachable".
    assert result["ok"] is False
    assert result["reason"] == "NotAllowed", result
    assert result["status"] == 401
    assert "invalid authorization token" in result["message"]
    assert _joins_in_log(sfu, "mallory") == []


@pytest.mark.parametrize("version", [CURRENT, BEFORE_V1])
def test_leaving_is_seen_by_the_other(join: Join, sfu: DevSfu, room: str, version: str) -> None:
    alice, bob = join("alice", version), join("bob", version)
    alice.wait_for_event("participant_connected", "bob")
    assert bob.call("leave") == "disconnected"
    alice.wait_for_event("participant_disconnected", "bob")
    assert alice.call("remoteIdentities") == []
    assert alice.call("connectionState") == "connected"
    assert re.search(rf"bob \(PA_\w+\) left room {room}\b", sfu.log_text())
