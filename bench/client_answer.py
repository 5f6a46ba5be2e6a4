"""``bench.client``'s first part: answer -> first remote audio, two in-process engines each
sending a tone, optionally each with a real speaker (a private PulseAudio's null sink)."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from voip_app.call import Phase
    from voip_app.engine import CallEngine, EngineSnapshot, MediaPrefs
    from voip_app.media.base import MediaSession


class FirstSound:
    """An audio output noting when the first audible frame arrived (and passing every frame on
    to ``inner``, a real speaker, when there is one: opening it is part of the join)."""

    def __init__(self, inner: Any = None) -> None:
        self.first_at: float | None = None
        self.frames = 0
        self.inner = inner

    async def start(self) -> None:
        if self.inner is not None:
            await self.inner.start()

    def write(self, frame: Any) -> None:
        import numpy as np

        if self.inner is not None:
            self.inner.write(frame)
        self.frames += 1
        if self.first_at is None:
            rms = float(np.sqrt(np.mean((frame.astype(np.float64) / 32768) ** 2)))
            if rms > 0.01:  # -40 dBFS
                self.first_at = time.monotonic()

    async def stop(self) -> None:
        if self.inner is not None:
            await self.inner.stop()

    async def aclose(self) -> None:
        await self.stop()


def _media_factory(
    sinks: dict[str, FirstSound], name: str, hz: float, speakers: bool
) -> Callable[[MediaPrefs], MediaSession]:
    """A media session sending a ``hz`` tone and hearing through ``sinks[name]``."""
    from voip_app.audio.sources import ToneSource
    from voip_app.media.livekit_session import LiveKitMediaSession

    def make(prefs: MediaPrefs) -> MediaSession:
        from voip_app.audio.devices import DeviceOutput

        sinks[name] = FirstSound(DeviceOutput(None, None) if speakers else None)
        return LiveKitMediaSession(audio_input=ToneSource(hz), audio_output=sinks[name])

    return make


async def _until(engine: CallEngine, check: Callable[[EngineSnapshot], bool]) -> None:
    reached = asyncio.Event()
    off = engine.subscribe(lambda s: reached.set() if check(s) else None)
    try:
        if not check(engine.snapshot):
            await asyncio.wait_for(reached.wait(), 30)
    finally:
        off()


def _phase(p: Phase) -> Callable[[EngineSnapshot], bool]:
    return lambda s: s.call is not None and s.call.phase is p


async def _one_call(
    alice: CallEngine, bob: CallEngine, bob_id: Any, sinks: dict[str, FirstSound]
) -> tuple[float | None, float | None, float]:
    """One call: (callee hears caller, caller hears callee) in ms after the accept (None if not
    heard in 15 s), and the process's CPU share over 3 s of the call."""
    from voip_app.call import Phase

    await alice.call(bob_id)
    await _until(bob, _phase(Phase.INCOMING))
    answered = time.monotonic()
    await bob.accept()
    deadline = answered + 15
    while time.monotonic() < deadline:
        a, b = sinks.get("alice"), sinks.get("bob")
        if a and b and a.first_at and b.first_at:
            break
        await asyncio.sleep(0.005)
    a, b = sinks["alice"], sinks["bob"]
    callee = (b.first_at - answered) * 1000 if b.first_at else None
    caller = (a.first_at - answered) * 1000 if a.first_at else None
    cpu0, wall0 = time.process_time(), time.monotonic()
    await asyncio.sleep(3)
    cpu_share = (time.process_time() - cpu0) / (time.monotonic() - wall0)
    await alice.hang_up()
    await _until(bob, _phase(Phase.ENDED))
    alice.dismiss()
    bob.dismiss()
    sinks.clear()
    return callee, caller, cpu_share


async def answer_to_audio(
    url: str, calls: int, speakers: bool = False
) -> tuple[list[float], list[float], float]:
    """Callee hears caller, caller hears callee (ms after accept), and the CPU share; with
    ``speakers`` each side's output is also a real speaker (the sound server's default)."""
    from voip_app.engine import CallEngine

    sinks: dict[str, FirstSound] = {}
    alice = CallEngine(media_factory=_media_factory(sinks, "alice", 440, speakers))
    bob = CallEngine(media_factory=_media_factory(sinks, "bob", 660, speakers))
    await alice.sign_in(url, "alice@acme.test", "demo-password")
    await bob.sign_in(url, "bob@acme.test", "demo-password")
    bob_id = next(c.id for c in alice.snapshot.contacts if c.email == "bob@acme.test")
    callee_hears: list[float] = []
    caller_hears: list[float] = []
    cpu_shares: list[float] = []
    try:
        for _ in range(calls):
            callee, caller, cpu_share = await _one_call(alice, bob, bob_id, sinks)
            if callee is not None:
                callee_hears.append(callee)
            if caller is not None:
                caller_hears.append(caller)
            cpu_shares.append(cpu_share)
    finally:
        await alice.close()
        await bob.close()
    return callee_hears, caller_hears, statistics.median(cpu_shares) / 2


async def answer_with_speakers(url: str, calls: int) -> dict[str, tuple[list[float], list[float]]]:
    """:func:`answer_to_audio` with a real speaker on each side: a private PulseAudio's null
    sink through PortAudio, opened by the join as the app's is."""
    from tests.engine import pulse

    if pulse.available():
        return {}
    with pulse.running_pulse(["speakers"]) as pa:
        saved = dict(os.environ)
        os.environ.update(pa.env(sink="speakers"))
        try:
            callee, caller, _ = await answer_to_audio(url, calls, speakers=True)
        finally:
            os.environ.clear()
            os.environ.update(saved)
    return {", speaker a PulseAudio device": (callee, caller)}
