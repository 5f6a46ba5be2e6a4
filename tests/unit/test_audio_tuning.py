"""The device path's buffering knobs (``VOIP_AUDIO_TUNING``), as specified here."""

from __future__ import annotations

import pytest

from voip_app.audio.devices import AudioTuning


def test_defaults_and_overrides() -> None:
    assert AudioTuning.from_env("") == AudioTuning()
    tuned = AudioTuning.from_env("block_frames=1, latency=low,start_frames=1,max_playout_frames=4")
    assert (tuned.block_frames, tuned.latency, tuned.start_frames, tuned.max_playout_frames) == (
        1,
        "low",
        1,
        4,
    )
    assert AudioTuning.from_env("latency=0.02").latency == pytest.approx(0.02)
    assert AudioTuning.from_env("block_frames=0").block_frames == 1  # never a zero block


def test_unknown_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown setting"):
        AudioTuning.from_env("blocks=1")


def test_the_queue_and_trim_settings() -> None:
    tuned = AudioTuning.from_env("source_queue_ms=25,trim_window_ms=500,playout_spare_frames=0")
    assert tuned.source_queue_ms == 20  # whole 10 ms frames: the SDK refuses others
    assert tuned.trim_window_ms == 500
    assert tuned.playout_spare_frames == 0  # zero is a setting here, not "at least one"
    assert AudioTuning.from_env("source_queue_ms=0").source_queue_ms == 0


def test_the_speaker_block() -> None:
    assert AudioTuning().speaker_block_samples(480) == 240  # 5 ms by default
    assert (
        AudioTuning.from_env("speaker_block_ms=0,block_frames=2").speaker_block_samples(480) == 960
    )  # 0: as the microphone's blocks
    assert AudioTuning.from_env("speaker_block_ms=20").speaker_block_samples(480) == 960
    assert AudioTuning().mic_block_samples(480) == 240
    assert AudioTuning.from_env("mic_block_ms=0").mic_block_samples(480) == 480
