"""The device path's buffering variants ``bench.client`` measures mouth-to-ear with: each an
environment for the two softphones (``VOIP_AUDIO_TUNING``, see ``voip_app.audio.tuning``, or the
platform audio's flag)."""

from __future__ import annotations

B5 = "source_trim_window_ms=0,playout_spare_ms=0"
"""The default before the SDK queue's trim and the speaker's spare of 5 ms."""
BEFORE = (
    "block_frames=2,latency=high,pulse_latency_ms=0,source_queue_ms=60,trim_window_ms=0,"
    f"speaker_block_ms=0,mic_block_ms=0,{B5}"
)
N = f"speaker_block_ms=0,mic_block_ms=0,{B5}"
"""The default before the 5 ms blocks (both callbacks 10 ms)."""
VARIANTS: dict[str, dict[str, str]] = {
    "A4: 20 ms blocks, latency high, SDK source queue 60 ms, no trim (first)": {
        "VOIP_AUDIO_TUNING": BEFORE
    },
    "N: 10 ms blocks, latency low, SDK source queue 10 ms, trim (before)": {"VOIP_AUDIO_TUNING": N},
    "B5: N, the speaker's and the microphone's blocks 5 ms (before)": {"VOIP_AUDIO_TUNING": B5},
    "T: B5, the SDK queue's standing frame left out, the speaker's spare 5 ms (now)": {
        "VOIP_AUDIO_TUNING": ""
    },
    "P: the SDK's platform audio (WebRTC ADM, its AEC)": {"AUDIO_FLAG": "--platform-audio"},
}
MORE_VARIANTS: dict[str, dict[str, str]] = {
    "N15: N, PulseAudio 15 ms (`PULSE_LATENCY_MSEC`)": {
        "VOIP_AUDIO_TUNING": f"{N},pulse_latency_ms=15"
    },
    "S5: N, the speaker's blocks 5 ms": {"VOIP_AUDIO_TUNING": f"{B5},mic_block_ms=0"},
    "N60: N15, SDK source queue 60 ms": {
        "VOIP_AUDIO_TUNING": f"{N},pulse_latency_ms=15,source_queue_ms=60"
    },
    "Ns0: N15, no spare frame": {
        "VOIP_AUDIO_TUNING": f"{N},pulse_latency_ms=15,playout_spare_frames=0"
    },
    "B5s0: B5, no spare frame": {"VOIP_AUDIO_TUNING": f"{B5},playout_spare_frames=0"},
    "B5q0: B5, SDK source queue 0": {"VOIP_AUDIO_TUNING": f"{B5},source_queue_ms=0"},
    "B5t: B5, the SDK queue's standing frame left out": {
        "VOIP_AUDIO_TUNING": "source_trim_window_ms=500,playout_spare_ms=0"
    },
    "B5th: B5t, the speaker's spare 5 ms (to the sample)": {
        "VOIP_AUDIO_TUNING": "source_trim_window_ms=500,playout_spare_ms=5"
    },
    "B3: B5, the blocks 3 ms": {"VOIP_AUDIO_TUNING": f"{B5},speaker_block_ms=3,mic_block_ms=3"},
    "S3: B5, the speaker's block 3 ms": {"VOIP_AUDIO_TUNING": f"{B5},speaker_block_ms=3"},
    "B5p10: B5, PulseAudio 10 ms (`PULSE_LATENCY_MSEC`)": {
        "VOIP_AUDIO_TUNING": f"{B5},pulse_latency_ms=10"
    },
    "N0: N, SDK source queue 0": {"VOIP_AUDIO_TUNING": f"{N},source_queue_ms=0"},
    "Nnt: N, speaker backlog not trimmed": {"VOIP_AUDIO_TUNING": f"{N},trim_window_ms=0"},
    "Nh: N, 20 ms blocks and latency high": {
        "VOIP_AUDIO_TUNING": f"{N},block_frames=2,latency=high"
    },
}
"""The device path's buffering, varied (``voip_app.audio.devices.AudioTuning``); each run of
the mouth-to-ear measurement uses one, in turns, so the machine's load falls on all alike."""
