"""The device watcher's rule for a stream that is open but not keeping up, on a fake clock.

Specification: a stream is opened again when it has had no callback for 3 s (stopped), or when
its callbacks have covered less than a quarter of real time over the last 5 s (crawling); a
stream that keeps pace, that stalls for a moment on a loaded machine and then catches up, or
that a sound server starts slowly (a few per cent of real time for its first 2 s, as
PulseAudio's null sink does), is left alone. PortAudio is replaced by a stream that is called
back only when the test says so (the watcher's outside library); the watcher runs as in the app,
a round a second of its clock, here a :class:`~voip_app.clock.FakeClock` moved a second at a
time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from voip_app.audio import stream_endpoint
from voip_app.audio.devices import DeviceOutput
from voip_app.clock import FakeClock

RATE = 48_000
BLOCK = 240  # the speaker's 5 ms callback


class FakePortAudio:
    """Streams that are called back only by :meth:`play`."""

    def __init__(self) -> None:
        self.opened: list[Any] = []
        self.closed = 0

    def open_stream(self, kind: str, device_id: str | None, callback: Any, **_: Any) -> Any:
        stream = SimpleNamespace(active=True, latency=0.01, callback=callback)
        self.opened.append(stream)
        return stream

    def close_stream(self, stream: Any) -> None:
        stream.active = False
        self.closed += 1

    def play(self, seconds: float) -> None:
        """The open stream is called back for ``seconds`` of audio, at once."""
        stream = self.opened[-1]
        times = SimpleNamespace(outputBufferDacTime=0.01, currentTime=0.0)
        for _ in range(round(seconds * RATE / BLOCK)):
            stream.callback(np.zeros((BLOCK, 1), dtype=np.int16), BLOCK, times, None)


class Watched:
    """A speaker and its watcher on a fake clock and a fake PortAudio."""

    def __init__(self, portaudio: FakePortAudio) -> None:
        self.portaudio = portaudio
        self.clock = FakeClock()
        self.states: list[bool] = []
        """What the speaker's listener heard: ``True`` ready, ``False`` missing."""
        self.speaker = DeviceOutput(None, None, clock=self.clock)
        self.speaker.set_state_listener(self.states.append)

    async def rounds(self, shares: list[float]) -> None:
        """A second of the clock per share, in which the stream covers that share of it, and
        the watcher's round at its end."""
        for share in shares:
            self.portaudio.play(share)
            self.clock.advance(1.0)
            await self.clock.until_sleeping()

    def kept(self) -> bool:
        """The first stream is still the one open, and the speaker was never reported gone."""
        return (len(self.portaudio.opened), self.portaudio.closed, self.states) == (1, 0, [True])

    def opened(self) -> int:
        return len(self.portaudio.opened)


@pytest.fixture
async def watched(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Watched]:
    fake = FakePortAudio()
    monkeypatch.setattr(stream_endpoint, "open_stream", fake.open_stream)
    monkeypatch.setattr(stream_endpoint, "close_stream", fake.close_stream)
    under_watch = Watched(fake)
    await under_watch.speaker.start()
    await under_watch.clock.until_sleeping()
    assert under_watch.kept()
    yield under_watch
    await under_watch.speaker.stop()


async def test_a_speaker_that_keeps_pace_is_left_alone(watched: Watched) -> None:
    await watched.rounds([1.0] * 10)
    assert watched.kept()


async def test_a_loaded_machines_hiccup_then_catching_up_is_left_alone(watched: Watched) -> None:
    # two seconds without a callback, then the late blocks at once; seconds at 30 %
    await watched.rounds([1.0, 0.0, 0.0, 3.0, 1.0, 0.3, 0.3, 0.3, 0.3, 1.0])
    assert watched.kept()


async def test_a_slow_start_is_left_alone(watched: Watched) -> None:
    await watched.rounds([0.02, 0.05, 1.0, 1.0, 1.0, 1.0, 1.0])
    assert watched.kept()


async def test_a_speaker_that_crawls_is_opened_again_within_six_rounds(watched: Watched) -> None:
    await watched.rounds([1.0] * 5)
    await watched.rounds([0.02] * 3)  # a callback now and then: not stopped
    assert watched.opened() == 1  # the last 5 s still hold more than 1.25 s of audio
    await watched.rounds([0.02] * 3)
    assert (watched.opened(), watched.portaudio.closed) == (2, 1)
    assert watched.states == [True, False, True]  # "No speaker" while it was opened again
    await watched.rounds([1.0] * 8)  # the new stream keeps pace: kept
    assert watched.opened() == 2


async def test_a_speaker_never_called_back_is_opened_again_after_3_s(watched: Watched) -> None:
    # before the crawl's 5 s window is full: this is the stop rule alone
    await watched.rounds([0.0] * 3)
    assert watched.opened() == 1
    await watched.rounds([0.0])
    assert watched.opened() == 2


async def test_a_stream_that_is_no_longer_active_is_opened_again_at_once(
    watched: Watched,
) -> None:
    watched.portaudio.opened[-1].active = False  # its callback raised, or PortAudio ended it
    await watched.rounds([0.0])
    assert watched.opened() == 2
