"""Mouth-to-ear part by part (``bench.m2e_parts``), against this specification: a burst played at
sample ``n`` left the measuring stream at its callback's time plus its reported output offset
plus ``n``'s place in the block (heard likewise with the input offset); each stage's time is
its first onset mark within 0.9 s of the play (from 50 ms before it); each part is the median of
the time between consecutive stages over the bursts that have both."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bench.m2e_parts import StreamClock, burst_paths, part_medians


def info(out_s: float, in_s: float) -> SimpleNamespace:
    return SimpleNamespace(
        currentTime=100.0, outputBufferDacTime=100.0 + out_s, inputBufferAdcTime=100.0 - in_s
    )


def test_a_burst_is_lined_up_stage_by_stage() -> None:
    clock = StreamClock()
    for k in range(200):  # 10 ms blocks from t=50 s; output 30 ms ahead, input 20 ms behind
        clock.note(k * 480, 50.0 + k * 0.01, info(0.03, 0.02))
    # a burst at sample 24_000 (0.5 s in) plays at 50.53; heard 150 ms of samples later
    played = 50.53
    marks = {
        "alice": [("mic_adc", played + 0.004), ("mic_callback", played + 0.02), ("mic_adc", 49.0)],
        "bob": [("received", played + 0.09), ("speaker_dac", played + 0.12)],
    }
    (path,) = burst_paths(clock, [(24_000, 150.0)], marks)
    assert path["play"] == pytest.approx(played)
    # the recorded sample 150 ms on was converted 20 ms before its callback
    assert path["heard"] == pytest.approx(50.0 + (24_000 + 7_200) / 48_000 - 0.02)
    assert path["mic_adc"] == pytest.approx(played + 0.004)  # not the mark a second earlier
    medians = part_medians([path])
    assert medians["mic_callback"] == pytest.approx(16.0)
    assert "received" not in medians  # its stage before (source_out) was not seen
    assert medians["total"] == pytest.approx((path["heard"] - played) * 1000)
