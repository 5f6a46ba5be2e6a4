"""The device-less audio endpoints: tone, WAV in and out, echo loop, tee."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.engine.stack import tone_of
from voip_app.audio.base import FRAME_SAMPLES, SAMPLE_RATE, AudioInput, AudioOutput
from voip_app.audio.sources import (
    EchoLoop,
    NullSink,
    SilenceSource,
    TeeOutput,
    ToneSource,
    WavFileSink,
    WavFileSource,
    read_wav,
)


async def frames(source: AudioInput, count: int) -> np.ndarray:
    return np.concatenate([await source.read() for _ in range(count)])


async def test_a_tone_has_its_frequency_level_and_continuous_phase() -> None:
    tone = ToneSource(440, level_dbfs=-6)
    assert isinstance(tone, AudioInput)
    pcm = await frames(tone, 50)
    assert len(pcm) == 50 * FRAME_SAMPLES
    hz, level = tone_of(pcm)
    assert hz == pytest.approx(440, abs=3)
    assert level == pytest.approx(-9, abs=0.5)  # RMS of a sine: peak - 3 dB
    assert np.abs(np.diff(pcm.astype(np.int32))).max() < 2000  # no jump between frames


def test_a_tone_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="between"):
        ToneSource(30_000)


async def test_wav_sink_then_source_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "rec.wav"
    sink = WavFileSink(path, flush_frames=7)
    assert isinstance(sink, AudioOutput)
    await sink.start()
    tone = ToneSource(1000)
    sent = await frames(tone, 30)
    for i in range(30):
        sink.write(sent[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES])
    await sink.aclose()
    assert np.array_equal(read_wav(path), sent)
    source = WavFileSource(path)
    await source.start()
    replay = await frames(source, 31)
    assert np.array_equal(replay[: len(sent)], sent)
    assert not replay[len(sent) :].any()  # silence after the end


async def test_a_stereo_44k_file_is_mixed_down_and_resampled(tmp_path: Path) -> None:
    path = tmp_path / "in.wav"
    t = np.arange(44_100) / 44_100
    left = (8000 * np.sin(2 * np.pi * 500 * t)).astype("<i2")
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(2)
        writer.setsampwidth(2)
        writer.setframerate(44_100)
        writer.writeframes(np.column_stack([left, left]).tobytes())
    pcm = read_wav(path)
    assert len(pcm) == pytest.approx(SAMPLE_RATE, abs=2)
    assert tone_of(pcm)[0] == pytest.approx(500, abs=3)


async def test_an_echo_loop_gives_back_what_it_heard_in_order() -> None:
    loop = EchoLoop(max_frames=3)
    reader = asyncio.ensure_future(loop.read())
    await asyncio.sleep(0)
    assert not reader.done()  # waits for something to echo
    frames_in = [np.full(FRAME_SAMPLES, i, np.int16) for i in range(5)]
    for frame in frames_in:
        loop.write(frame)
    first = await asyncio.wait_for(reader, 1)
    rest = [int((await loop.read())[0]) for _ in range(2)]
    assert [int(first[0]), *rest] == [2, 3, 4]  # in order, bounded: the oldest were dropped


async def test_tee_writes_everywhere(tmp_path: Path) -> None:
    a, b = EchoLoop(), WavFileSink(tmp_path / "t.wav")
    tee = TeeOutput(a, b, NullSink())
    await tee.start()
    tee.write(await SilenceSource().read())
    assert len(await a.read()) == FRAME_SAMPLES
    await tee.aclose()
    assert len(read_wav(tmp_path / "t.wav")) == FRAME_SAMPLES
