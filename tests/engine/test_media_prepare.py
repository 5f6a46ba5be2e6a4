"""A call that starts ringing lets the media factory get ready, so that an answer only joins.

Specification: the factory's ``prepare()`` is asked once per call, when the call appears (an
incoming call rings here; a dial starts), before any join; a factory without ``prepare`` is
just used. The desktop factory's ``prepare()`` loads the livekit SDK in the background (checked
in a fresh interpreter, where nothing has loaded it yet) and opens no device.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from tests.engine.fakes import (
    FakeServer,
    FakeSignaling,
    MediaFactory,
    fake_server_transport,
    make_call,
)
from voip_app.api import ApiClient
from voip_app.call import Phase
from voip_app.engine import CallEngine
from voip_contract import Incoming


class PreparingMedia(MediaFactory):
    """The unit fake, plus ``prepare()``: what it was asked, in order, with the joins."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def prepare(self) -> None:
        self.asked.append("prepare")

    def __call__(self, prefs: Any) -> Any:
        self.asked.append("join")
        return super().__call__(prefs)


async def signed_in(media: MediaFactory) -> tuple[CallEngine, FakeSignaling]:
    server, signaling = FakeServer(), FakeSignaling()
    engine = CallEngine(
        media_factory=media,
        api_factory=lambda url: ApiClient(url, transport=fake_server_transport(server)),
        signaling_factory=lambda url, token, device: signaling,
    )
    await engine.sign_in("http://voip.test", "alice@acme.test", "demo-password")
    return engine, signaling


async def test_an_incoming_call_prepares_the_media_before_it_is_answered() -> None:
    media = PreparingMedia()
    engine, signaling = await signed_in(media)
    incoming = make_call(call_id="c9", direction="incoming")
    signaling.push(Incoming(call=incoming, ring_expires_at=incoming.created_at))
    assert engine.snapshot.call is not None
    assert engine.snapshot.call.phase is Phase.INCOMING
    assert media.asked == ["prepare"]  # while it rings, before any answer
    signaling.push(Incoming(call=incoming, ring_expires_at=incoming.created_at))  # again
    assert media.asked == ["prepare"]
    await engine.accept()
    await engine.tasks.call.idle()
    assert media.asked == ["prepare", "join"]
    await engine.close()


async def test_a_dial_prepares_the_media_and_a_plain_factory_is_just_used() -> None:
    media = PreparingMedia()
    engine, _ = await signed_in(media)
    await engine.call("u-bob")
    assert media.asked == ["prepare"]
    await engine.close()
    plain = MediaFactory()
    engine, signaling = await signed_in(plain)
    incoming = make_call(call_id="c9", direction="incoming")
    signaling.push(Incoming(call=incoming, ring_expires_at=incoming.created_at))
    await engine.accept()
    await engine.tasks.call.idle()
    assert len(plain.sessions) == 1
    await engine.close()


PROBE = """
import sys
from voip_app.engine import default_media_factory
before = "livekit.rtc" in sys.modules
default_media_factory.prepare()
default_media_factory.join_loading(60)
print(before, "livekit.rtc" in sys.modules, "sounddevice" in sys.modules)
"""


def test_the_desktop_factory_loads_the_sdk_in_the_background_and_opens_nothing() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True
    )
    # before: not loaded; after: the SDK loaded; sounddevice (PortAudio) still untouched
    assert done.stdout.split() == ["False", "True", "False"], done.stdout + done.stderr
