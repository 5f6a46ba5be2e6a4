"""The measuring signal of ``bench.client``'s mouth-to-ear: 1 kHz bursts played into Alice's
virtual microphone, and Bob's virtual speaker recorded by the same duplex stream (one clock)."""

from __future__ import annotations

import math
import time
from typing import Any

from bench import m2e_parts

RATE = 48_000
BURST_EVERY_S = 1.0  # one burst a second: delays up to 950 ms are told apart


def bursts(
    seconds: float, every_s: float = BURST_EVERY_S, length_s: float = 0.06
) -> tuple[Any, list[int]]:
    """``seconds`` of signal with a Hann-windowed 1 kHz burst every ``every_s``, and the
    bursts' first samples."""
    import numpy as np

    signal = np.zeros(int(seconds * RATE), dtype=np.float32)
    onsets = []
    t = np.arange(int(length_s * RATE)) / RATE
    burst = (0.25 * np.sin(2 * math.pi * 1000 * t) * np.hanning(len(t))).astype(np.float32)
    start = int(0.5 * RATE)
    while start + len(burst) < len(signal):
        signal[start : start + len(burst)] = burst
        onsets.append(start)
        start += int(every_s * RATE)
    return signal, onsets


def delays_ms(recorded: Any, onsets: list[int]) -> list[float]:
    """For each burst played at ``onset``, when its envelope crossed half its peak, heard."""
    return [delay for _, delay in heard_bursts(recorded, onsets)]


def heard_bursts(recorded: Any, onsets: list[int]) -> list[tuple[int, float]]:
    """``(onset, delay ms)`` of each burst heard."""
    import numpy as np

    x = np.abs(recorded.astype(np.float64))
    env = np.convolve(x, np.ones(48) / 48, mode="same")
    found = []
    for onset in onsets:
        # a burst heard later than the next one was played would be taken for the next one
        window = env[onset : onset + int((BURST_EVERY_S - 0.05) * RATE)]
        if len(window) == 0 or window.max() < 0.01:
            continue
        # the played envelope crosses half its peak 1/4 of the way in (Hann window)
        crossing = int(np.argmax(window > window.max() / 2))
        found.append((onset, (crossing - int(0.06 * RATE / 4)) / RATE * 1000))
    return found


def playrec(sd: Any, signal: Any, clock: m2e_parts.StreamClock) -> tuple[Any, float]:
    """Play ``signal`` and record, one duplex stream noting its callbacks in ``clock``: the
    recording and the stream's own latency in ms (-1 if it stopped before the end)."""
    import numpy as np

    recorded = np.zeros_like(signal)
    position = 0

    def callback(indata: Any, outdata: Any, frames: int, time_info: Any, status: Any) -> None:
        nonlocal position
        clock.note(position, time.monotonic(), time_info)
        chunk = signal[position : position + frames]
        outdata[: len(chunk), 0] = chunk
        outdata[len(chunk) :, 0] = 0
        recorded[position : position + len(indata[: len(chunk), 0])] = indata[: len(chunk), 0]
        position += frames

    with sd.Stream(samplerate=RATE, channels=1, dtype="float32", callback=callback) as stream:
        latency = (stream.latency[0] + stream.latency[1]) * 1000
        deadline = time.monotonic() + len(signal) / RATE + 10
        while position < len(signal) and time.monotonic() < deadline:
            time.sleep(0.05)
    return recorded, latency if position >= len(signal) else -1.0
