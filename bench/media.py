"""devsfu media benchmark: one-way audio latency and how many two-party rooms one process carries.

    .venv/bin/python -m bench.media            # prints the table and writes docs/benchmarks.md
    .venv/bin/python -m bench.media --no-write --bursts 20 --max-rooms 8

Runs in a private network namespace (needs root, like the media tests): a real ``voip-devsfu``
process on ``10.200.0.1`` and real ``livekit`` SDK clients in this process.

Latency: alice publishes 100 ms bursts of a 1 kHz tone every 400 ms; the send time of a burst is
when its first sample leaves alice's ``AudioSource`` queue (capture time plus what was queued),
the receive time is when that sample comes out of bob's ``AudioStream``. So the figure is
application to application: both SDKs' WebRTC stacks and jitter buffers plus devsfu's hop
(Opus packets forwarded as they arrive, see ``devsfu/forward.py``).

Capacity: 1, 2, 4, … two-party rooms, both parties publishing a tone; per step, the devsfu
process's CPU (user+system, of one core) over a window, and whether a listener in the newest
room still hears 440 Hz. It stops when devsfu uses more than ``--cpu-limit`` of a core (aiortc
runs media in one Python thread: one core is its ceiling), the tone is lost, or the whole
machine is more than ``--machine-limit`` busy (the SDK clients share the machine with devsfu
and, on a small machine, fill it first: past that point the steps measure the clients).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

from livekit import api, rtc

from bench.media_report import DOC, CapacityStep, LatencyResult, table, write_section
from tests.devsfu.tones import (
    SAMPLE_RATE,
    TONE_HZ,
    ToneSource,
    dominant_hz,
    frames_of,
    record,
    rms_dbfs,
)
from tests.support import netns
from tests.support.devsfu import DevSfu, running_devsfu

BURST_HZ = 1000.0
BURST_FRAMES = 10  # 100 ms
PERIOD_FRAMES = 40  # 400 ms
ONSET_LEVEL = 0.05 * 32768


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _machine_busy_and_total() -> tuple[float, float]:
    """Busy and total CPU time of the whole machine so far (all cores, in ticks)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


async def _connect(url: str, token: str) -> rtc.Room:
    room = rtc.Room()
    await room.connect(url, token)
    return room


def _token(sfu: DevSfu, identity: str, room: str) -> str:
    return (
        api.AccessToken(sfu.api_key, sfu.api_secret)
        .with_identity(identity)
        .with_grants(api.VideoGrants(room_join=True, room=room))
        .to_jwt()
    )


class _Bursts(ToneSource):
    """Silence until armed, then ``bursts`` tone bursts, noting in ``sent`` when each one
    starts."""

    armed_at: int | None = None

    def __init__(self, bursts: int, sent: list[float]) -> None:
        super().__init__(hz=BURST_HZ, amplitude=0.5)
        self.bursts = bursts
        self.sent = sent
        self.set_gate(self.on)

    def on(self, index: int) -> bool:
        if self.armed_at is None or index < self.armed_at:
            return False
        k = index - self.armed_at
        return k % PERIOD_FRAMES < BURST_FRAMES and k < self.bursts * PERIOD_FRAMES

    def before_frame(self, index: int) -> None:
        if self.armed_at is None:
            return
        k = index - self.armed_at
        if k >= 0 and k % PERIOD_FRAMES == 0 and len(self.sent) < self.bursts:
            self.sent.append(time.monotonic() + self.source.queued_duration)


async def measure_latency(sfu: DevSfu, bursts: int) -> LatencyResult:
    """Alice publishes ``bursts`` tone bursts, Bob hears them: the one-way latency."""
    room = f"bench-{uuid.uuid4().hex[:6]}"
    alice = rtc.Room()
    bob = rtc.Room()
    subscribed: asyncio.Queue[rtc.RemoteAudioTrack] = asyncio.Queue()
    bob.on(
        "track_subscribed",
        lambda track, pub, p: (
            subscribed.put_nowait(track) if isinstance(track, rtc.RemoteAudioTrack) else None
        ),
    )
    url = sfu.url
    await alice.connect(url, _token(sfu, "alice", room))
    await bob.connect(url, _token(sfu, "bob", room))

    sent: list[float] = []
    tone = _Bursts(bursts, sent)
    received: list[float] = []
    try:
        await tone.publish(alice)
        track = await asyncio.wait_for(subscribed.get(), 15)
        stream = rtc.AudioStream(track, sample_rate=SAMPLE_RATE, num_channels=1)
        tone.armed_at = tone.frames_sent + 50  # start once the stream surely runs
        await _note_onsets(stream, bursts, received)
        await stream.aclose()
    finally:
        await tone.aclose()
        await alice.disconnect()
        await bob.disconnect()

    return _matched(sent, received)


async def _note_onsets(stream: rtc.AudioStream, bursts: int, received: list[float]) -> None:
    """Append to ``received`` when each burst's first loud sample came out of ``stream``, until
    ``bursts`` arrived or the time for them is up."""
    quiet_frames = 0
    active = False
    deadline = time.monotonic() + bursts * PERIOD_FRAMES / 100 + 5
    async for samples in frames_of(stream):
        now = time.monotonic()
        loud = abs(samples.astype("int32")) > ONSET_LEVEL
        if not active and loud.any():
            first = int(loud.argmax())
            received.append(now - (samples.size - first) / SAMPLE_RATE)
            active, quiet_frames = True, 0
        elif active and not loud.any():
            quiet_frames += 1
            active = quiet_frames < 5
        if now > deadline or len(received) >= bursts:
            break


def _matched(sent: list[float], received: list[float]) -> LatencyResult:
    """Each burst sent matched with the first onset heard within its period."""
    latencies: list[float] = []
    period = PERIOD_FRAMES / 100
    for s in sent:
        match = next((r for r in received if s <= r < s + period), None)
        if match is not None:
            latencies.append((match - s) * 1000)
    if not latencies:
        raise RuntimeError("no burst arrived at bob")
    return LatencyResult(
        sent=len(sent),
        matched=len(latencies),
        p50_ms=_percentile(latencies, 0.5),
        p99_ms=_percentile(latencies, 0.99),
        mean_ms=statistics.fmean(latencies),
        max_ms=max(latencies),
    )


async def _hears_tone(room: rtc.Room) -> bool:
    tracks = [
        pub.track
        for p in room.remote_participants.values()
        for pub in p.track_publications.values()
        if isinstance(pub.track, rtc.RemoteAudioTrack)
    ]
    if not tracks:
        return False
    stream = rtc.AudioStream(tracks[0], sample_rate=48_000, num_channels=1)
    try:
        samples = await asyncio.wait_for(record(stream, 0.5), 5)
    except TimeoutError:
        return False
    finally:
        await stream.aclose()
    return abs(dominant_hz(samples) - TONE_HZ) < 5 and rms_dbfs(samples) > -30


async def _open_room(sfu: DevSfu, tones: list[ToneSource]) -> tuple[rtc.Room, rtc.Room]:
    """A two-party room, both parties publishing a tone (added to ``tones``)."""
    name = f"cap-{uuid.uuid4().hex[:6]}"
    a = await _connect(sfu.url, _token(sfu, "a", name))
    b = await _connect(sfu.url, _token(sfu, "b", name))
    for who in (a, b):
        tone = ToneSource(frame_ms=50)  # light on the client side
        await tone.publish(who)
        tones.append(tone)
    return a, b


async def measure_capacity(
    sfu: DevSfu, max_rooms: int, cpu_limit: float, window_s: float, machine_limit: float
) -> list[CapacityStep]:
    """Two-party rooms added in steps, devsfu's and the machine's CPU over each step's window,
    until a limit is passed or the newest room's listener no longer hears its tone."""
    pid = sfu.process.pid
    rooms: list[tuple[rtc.Room, rtc.Room]] = []
    tones: list[ToneSource] = []
    steps: list[CapacityStep] = []
    targets = [n for n in (1, 2, 4, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48) if n <= max_rooms]
    try:
        for target in targets:
            while len(rooms) < target:
                rooms.append(await _open_room(sfu, tones))
            await asyncio.sleep(2.0)  # let the new calls settle before measuring
            start_cpu, start = _cpu_seconds(pid), time.monotonic()
            busy0, total0 = _machine_busy_and_total()
            await asyncio.sleep(window_s)
            cpu = (_cpu_seconds(pid) - start_cpu) / (time.monotonic() - start)
            busy1, total1 = _machine_busy_and_total()
            machine = (busy1 - busy0) / max(total1 - total0, 1)
            heard = await _hears_tone(rooms[-1][1])
            steps.append(CapacityStep(target, cpu, machine, heard))
            print(
                f"  {target:3d} rooms: devsfu {cpu * 100:5.1f}% of a core, "
                f"machine {machine * 100:5.1f}% busy, tone heard: {heard}"
            )
            if cpu > cpu_limit or not heard or machine > machine_limit:
                break
    finally:
        for tone in tones:
            await tone.aclose()
        for a, b in rooms:
            await a.disconnect()
            await b.disconnect()
    return steps


async def _main(args: argparse.Namespace, load: str) -> str:
    with running_devsfu(host=netns.HOST_A, log_level="WARNING") as sfu:
        print(f"latency: {args.bursts} bursts …")
        latency = await measure_latency(sfu, args.bursts)
        print(f"  p50 {latency.p50_ms:.0f} ms, p99 {latency.p99_ms:.0f} ms")
        print("capacity:")
        steps = await measure_capacity(
            sfu, args.max_rooms, args.cpu_limit, args.window, args.machine_limit
        )
    return table(latency, steps, args.cpu_limit, args.machine_limit, load)


def main(argv: list[str] | None = None) -> None:
    why_not = netns.enter_private_netns()  # first: before any thread exists
    if why_not is not None:
        sys.exit(f"bench.media needs a private network namespace: {why_not}")
    parser = argparse.ArgumentParser(prog="python -m bench.media", description=__doc__)
    parser.add_argument("--bursts", type=int, default=50)
    parser.add_argument("--max-rooms", type=int, default=48)
    parser.add_argument("--cpu-limit", type=float, default=0.9)
    parser.add_argument("--machine-limit", type=float, default=0.95)
    parser.add_argument("--window", type=float, default=5.0, help="CPU sampling window (s)")
    parser.add_argument("--no-write", dest="write", action="store_false")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("livekit").setLevel(logging.ERROR)  # the v1 -> v0 fallback notes
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    table = asyncio.run(_main(args, load))
    print()
    print(table)
    if args.write:
        command = "python -m bench.media " + " ".join(argv if argv is not None else sys.argv[1:])
        write_section(table, command.strip())
        print(f"\nwritten to {DOC}")


if __name__ == "__main__":
    main()
