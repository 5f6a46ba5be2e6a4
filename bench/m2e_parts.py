"""Mouth-to-ear, part by part: the softphones' onset marks (``VOIP_AUDIO_TRACE``,
:mod:`voip_app.audio.trace`) lined up with the bursts ``bench.client`` plays and hears.

Every time is ``time.monotonic()`` (one clock for all processes of the machine). The measuring
stream notes, per callback, where its output reaches its converter and where its input left it
(PortAudio's own figures), so a burst's play and hear times are on that clock too; each
softphone stage's first onset in the second after a burst is that burst passing the stage.
"""

from __future__ import annotations

import itertools
import re
import statistics
from typing import Any

RATE = 48_000

STAGES = [
    ("play", "bench"),
    ("mic_adc", "alice"),
    ("mic_callback", "alice"),
    ("mic_processed", "alice"),
    ("mic_read", "alice"),
    ("source_in", "alice"),
    ("source_out", "alice"),
    ("received", "bob"),
    ("speaker_callback", "bob"),
    ("speaker_dac", "bob"),
    ("heard", "bench"),
]
"""The path in order, and whose marks each stage is."""

PARTS = {
    "mic_adc": "microphone: PulseAudio's capture, to PortAudio's converter time (unreported)",
    "mic_callback": "microphone: PortAudio's reported input latency + the block",
    "mic_processed": "echo canceller (the APM's own delay: AEC 9, noise suppression 6)",
    "mic_read": "capture queue (event loop)",
    "source_in": "SDK `capture_frame` returns",
    "source_out": "SDK source queue (its `queued_duration`)",
    "received": "encode, devsfu, jitter buffer, decode, `AudioStream`",
    "speaker_callback": "speaker backlog (playout buffer)",
    "speaker_dac": "speaker: PortAudio's reported output latency",
    "heard": "speaker: PulseAudio's playback, to the measuring stream (unreported)",
}
"""Each part is named by the stage it ends at."""


class StreamClock:
    """The measuring stream's callbacks: sample position -> monotonic converter times."""

    def __init__(self) -> None:
        self.blocks: list[tuple[int, float, float, float]] = []

    def note(self, position: int, now: float, time_info: Any) -> None:
        """From the stream's callback: its block at ``position`` (samples), ``now`` monotonic."""
        out_off = float(time_info.outputBufferDacTime - time_info.currentTime)
        in_off = float(time_info.inputBufferAdcTime - time_info.currentTime)
        self.blocks.append((position, now, out_off, in_off))

    def _block(self, sample: int) -> tuple[int, float, float, float] | None:
        found = None
        for block in self.blocks:
            if block[0] > sample:
                break
            found = block
        return found

    def played_at(self, sample: int) -> float | None:
        """When output ``sample`` reached the converter."""
        block = self._block(sample)
        return None if block is None else block[1] + block[2] + (sample - block[0]) / RATE

    def heard_at(self, sample: int) -> float | None:
        """When input ``sample`` was converted."""
        block = self._block(sample)
        return None if block is None else block[1] + block[3] + (sample - block[0]) / RATE


def burst_paths(
    clock: StreamClock,
    heard: list[tuple[int, float]],
    marks: dict[str, list[tuple[str, float]]],
) -> list[dict[str, float]]:
    """Per burst heard (``(onset sample, delay ms)``), each stage's time (where it was seen)."""
    paths = []
    for onset, delay_ms in heard:
        play = clock.played_at(onset)
        end = clock.heard_at(onset + round(delay_ms / 1000 * RATE))
        if play is None or end is None:
            continue
        path = {"play": play, "heard": end}
        for stage, who in STAGES[1:-1]:
            times = [t for name, t in marks.get(who, []) if name == stage]
            first = min((t for t in times if play - 0.05 <= t < play + 0.9), default=None)
            if first is not None:
                path[stage] = first
        paths.append(path)
    return paths


def part_medians(paths: list[dict[str, float]]) -> dict[str, float]:
    """Each part's median (ms) over the bursts where both its ends were seen."""
    medians = {}
    names = [stage for stage, _ in STAGES]
    for before, after in itertools.pairwise(names):
        spans = [(p[after] - p[before]) * 1000 for p in paths if before in p and after in p]
        if spans:
            medians[after] = statistics.median(spans)
    whole = [(p["heard"] - p["play"]) * 1000 for p in paths]
    if whole:
        medians["total"] = statistics.median(whole)
    return medians


def pulse_latencies(pactl: Any, pids: dict[int, str]) -> dict[str, float]:
    """PulseAudio's own figures for each softphone's streams (ms): ``<who>_<kind>_buffer`` and
    ``<who>_<kind>_device`` (``kind``: ``sink_input`` or ``source_output``)."""
    found: dict[str, float] = {}
    for kind, listing in (("sink_input", "sink-inputs"), ("source_output", "source-outputs")):
        text = pactl("list", listing)
        for block in re.split(r"\n(?=\S)", text):
            pid = re.search(r'application\.process\.id = "(\d+)"', block)
            if pid is None or int(pid.group(1)) not in pids:
                continue
            who = pids[int(pid.group(1))]
            buffer = re.search(r"Buffer Latency: (\d+) usec", block)
            device = re.search(r"(?:Sink|Source) Latency: (\d+) usec", block)
            if buffer:
                found[f"{who}_{kind}_buffer"] = int(buffer.group(1)) / 1000
            if device:
                found[f"{who}_{kind}_device"] = int(device.group(1)) / 1000
    return found


def parts_table(m2e: dict[str, Any]) -> list[str]:
    """Markdown: each variant's parts (medians over all its bursts), and PulseAudio's figures."""
    names = [name.split(":")[0] for name in m2e]
    lines = [
        "| part (median over the bursts, ms) | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    medians = [part_medians(entry.get("paths", [])) for entry in m2e.values()]
    for stage, label in [*PARTS.items(), ("total", "total (the measuring stream's excluded)")]:
        cells = [f"{m[stage]:.0f}" if stage in m else "" for m in medians]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    pulse_rows = [
        ("alice_source_output", "PulseAudio: the microphone's record stream, buffer + source"),
        ("bob_sink_input", "PulseAudio: the speaker's playback stream, buffer + sink"),
    ]
    for key, label in pulse_rows:
        cells = []
        for entry in m2e.values():
            figures = entry.get("pulse", [])
            buffers = [f[f"{key}_buffer"] for f in figures if f"{key}_buffer" in f]
            devices = [f[f"{key}_device"] for f in figures if f"{key}_device" in f]
            if buffers:
                device = statistics.median(devices) if devices else 0.0
                cells.append(f"{statistics.median(buffers):.0f} + {device:.0f}")
            else:
                cells.append("")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines
