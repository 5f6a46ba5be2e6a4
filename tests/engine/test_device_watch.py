"""The speaker's watcher against a real PulseAudio: a sink removed, then another plugged in.

The endpoint plays through PortAudio -> ALSA -> PulseAudio in this process. The fault injected
here is PortAudio's (an unexpected error while a device opens), the outside library the watcher
wraps; the watcher is what brings a device back, so it must outlive such a fault.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from tests.engine import pulse
from voip_app.audio import portaudio, stream_endpoint
from voip_app.audio.devices import DeviceOutput

pytestmark = pytest.mark.audio

WAIT_S = 15.0
"""Bound on each wait below: the watcher tries once a second."""


@pytest.fixture
def speaker_sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[pulse.Pulse]:
    why_not = pulse.available()
    if why_not:
        pytest.skip(why_not)
    with pulse.running_pulse(["speaker"]) as pa:
        for name, value in pa.env().items():  # no PULSE_SINK: the default sink, whichever
            monkeypatch.setenv(name, value)
        yield pa


async def until(what: str, check: Any) -> None:
    """Wait (bounded) until ``check()`` holds; fail saying ``what`` did not happen."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not check():
        if loop.time() > deadline:
            pytest.fail(f"{what} within {WAIT_S} s")
        await asyncio.sleep(0.1)


async def test_the_speaker_comes_back_after_a_fault_while_it_was_missing(
    speaker_sink: pulse.Pulse, monkeypatch: pytest.MonkeyPatch
) -> None:
    pa = speaker_sink
    states: list[bool] = []
    speaker = DeviceOutput(None, None)
    speaker.set_state_listener(states.append)
    await speaker.start()
    try:
        await until("the speaker opened", lambda: speaker.available)
        faults = 0

        def open_once_failing(*args: Any, **kwargs: Any) -> Any:
            nonlocal faults
            if faults == 0:
                faults += 1
                raise RuntimeError("PortAudio broke in an unexpected way")
            return portaudio.open_stream(*args, **kwargs)

        monkeypatch.setattr(stream_endpoint, "open_stream", open_once_failing)
        pa.unload_sink("speaker")
        await until("the lost speaker was noticed", lambda: False in states)
        await until("the fault happened", lambda: faults == 1)
        pa.pactl("load-module", "module-null-sink", "sink_name=headset", "rate=48000")
        await until("the new speaker was picked up", lambda: speaker.available)
        assert states[-1] is True
        await until(
            "the speaker played into the new sink",
            lambda: bool(pa.pactl("list", "short", "sink-inputs").strip()),
        )
    finally:
        await speaker.stop()
