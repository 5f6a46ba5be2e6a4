"""The device watcher's rule for a stream that is open but not keeping up, on a fake clock.

Specification: a stream is opened again when it has had no callback for 3 s (stopped), or when
its callbacks have covered less than a quarter of real time over the last 5 s (crawling); a
stream that keeps pace, that stalls for a moment on a loaded machine and then catches up, or
that a sound server starts slowly (a few per cent of real time for its first 2 s, as
PulseAudio's null sink does), is left alone. PortAudio is replaced by a
stream that is called back only when the test says so (the watcher's outside library); the
watcher's rounds are driven one by one, as its loop does once a second.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from voip_app.audio import stream_endpoint
from voip_app.audio.devices import DeviceOutput

RATE = 48_000
BLOCK = 240  # the speaker's 5 ms callback


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


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


@pytest.fixture
def portaudio(monkeypatch: pytest.MonkeyPatch) -> FakePortAudio:
    fake = FakePortAudio()
    monkeypatch.setattr(stream_endpoint, "open_stream", fake.open_stream)
    monkeypatch.setattr(stream_endpoint, "close_stream", fake.close_stream)
    return fake


async def rounds(
    speaker: DeviceOutput, clock: Clock, portaudio: FakePortAudio, shares: list[float]
) -> None:
    """One watcher round per second; in each second the stream covers ``share`` of it."""
    for share in shares:
        portaudio.play(share)
        clock.now += 1.0
        await speaker.check()


async def opened_speaker(portaudio: FakePortAudio, clock: Clock) -> tuple[DeviceOutput, list[bool]]:
    states: list[bool] = []
    speaker = DeviceOutput(None, None, clock=clock)
    speaker.set_state_listener(states.append)
    await speaker.check()  # the first round opens the missing device
    assert (len(portaudio.opened), states) == (1, [True])
    return speaker, states


async def test_a_speaker_that_keeps_pace_is_left_alone(portaudio: FakePortAudio) -> None:
    clock = Clock()
    speaker, states = await opened_speaker(portaudio, clock)
    await rounds(speaker, clock, portaudio, [1.0] * 10)
    assert (len(portaudio.opened), portaudio.closed, states) == (1, 0, [True])


async def test_a_loaded_machines_hiccup_then_catching_up_is_left_alone(
    portaudio: FakePortAudio,
) -> None:
    clock = Clock()
    speaker, states = await opened_speaker(portaudio, clock)
    # two seconds without a callback, then the late blocks at once; seconds at 30 %
    await rounds(speaker, clock, portaudio, [1.0, 0.0, 0.0, 3.0, 1.0, 0.3, 0.3, 0.3, 0.3, 1.0])
    assert (len(portaudio.opened), portaudio.closed, states) == (1, 0, [True])


async def test_a_slow_start_is_left_alone(portaudio: FakePortAudio) -> None:
    clock = Clock()
    speaker, states = await opened_speaker(portaudio, clock)
    await rounds(speaker, clock, portaudio, [0.02, 0.05, 1.0, 1.0, 1.0, 1.0, 1.0])
    assert (len(portaudio.opened), portaudio.closed, states) == (1, 0, [True])


async def test_a_speaker_that_crawls_is_opened_again_within_six_rounds(
    portaudio: FakePortAudio,
) -> None:
    clock = Clock()
    speaker, states = await opened_speaker(portaudio, clock)
    await rounds(speaker, clock, portaudio, [1.0] * 5)
    await rounds(speaker, clock, portaudio, [0.02] * 3)  # a callback now and then: not stopped
    assert len(portaudio.opened) == 1  # the last 5 s still hold more than 1.25 s of audio
    await rounds(speaker, clock, portaudio, [0.02] * 3)
    assert (len(portaudio.opened), portaudio.closed) == (2, 1)
    assert states == [True, False, True]  # "No speaker" while it was opened again
    await rounds(speaker, clock, portaudio, [1.0] * 8)  # the new stream keeps pace: kept
    assert len(portaudio.opened) == 2


async def test_a_speaker_whose_callbacks_stop_is_opened_again_after_3_s(
    portaudio: FakePortAudio,
) -> None:
    clock = Clock()
    speaker, _ = await opened_speaker(portaudio, clock)
    await rounds(speaker, clock, portaudio, [1.0, 1.0, 1.0, 0.0, 0.0])
    assert len(portaudio.opened) == 1
    await rounds(speaker, clock, portaudio, [0.0, 0.0])
    assert len(portaudio.opened) == 2


async def test_a_stream_that_is_no_longer_active_is_opened_again_at_once(
    portaudio: FakePortAudio,
) -> None:
    clock = Clock()
    speaker, _ = await opened_speaker(portaudio, clock)
    portaudio.opened[-1].active = False  # its callback raised, or PortAudio ended it
    await rounds(speaker, clock, portaudio, [0.0])
    assert len(portaudio.opened) == 2
