"""devsfu egress benchmark: the CPU a room composite recording costs devsfu, per second of audio.

    .venv/bin/python -m bench.egress_mix   # prints the table, writes docs/benchmarks.md
    .venv/bin/python -m bench.egress_mix --no-write --seconds 10

In process, no network: N tones are encoded to 20 ms Opus packets first (not measured), then
fed through the recording's real path (``OpusFanout`` legs -> ``RoomMix``: decode, place on the
timeline, mix, encode Ogg/Opus, write) on a fake clock, as fast as it goes. The figure is the
process CPU time (user+system) per second of recorded audio: the share of one core a recording
takes from devsfu's event loop, which also forwards every room's media.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from bench.docblock import replace_block
from devsfu.forward import OpusFanout
from devsfu.mixer import RoomMix

RATE, FRAME = 48_000, 960
SECTION = "egress"
DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def opus_packets(hz: float, seconds: float) -> list[bytes]:
    """A sine as the 20 ms Opus packets a publisher would send."""
    codec: Any = av.CodecContext.create("libopus", "w")
    codec.sample_rate, codec.layout, codec.format = RATE, "mono", "s16"
    codec.time_base = Fraction(1, RATE)
    codec.open()
    out: list[bytes] = []
    for i in range(int(seconds * RATE / FRAME)):
        t = (np.arange(FRAME) + i * FRAME) / RATE
        pcm = (np.sin(2 * np.pi * hz * t) * 0.3 * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm[None, :], format="s16", layout="mono")
        frame.sample_rate, frame.pts = RATE, i * FRAME
        out += [bytes(p) for p in codec.encode(frame)]
    return out


class FakeTime:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


async def cpu_per_audio_second(tracks: int, seconds: float) -> float:
    streams = [opus_packets(300.0 + 110 * i, seconds) for i in range(tracks)]
    clock = FakeTime()
    with tempfile.TemporaryDirectory() as tmp:
        mix = RoomMix(Path(tmp) / "bench.ogg", clock=clock)
        legs = [OpusFanout(clock=clock).subscribe() for _ in range(tracks)]
        for leg in legs:
            mix.add(leg)
        await asyncio.sleep(0)
        started = time.process_time()
        for i in range(min(len(s) for s in streams)):
            clock.t += FRAME / RATE
            for leg, stream in zip(legs, streams, strict=True):
                packet = av.Packet(stream[i])
                packet.pts, packet.time_base = i * FRAME, Fraction(1, RATE)
                leg.push(clock.t, packet)
            await asyncio.sleep(0)  # the readers decode
            if i % 5 == 4:
                mix.flush()  # devsfu flushes every 100 ms
        await mix.finish()
        return (time.process_time() - started) / seconds


def write_section(body: str, command: str) -> None:
    """Replace (or add) this benchmark's marked section of ``docs/benchmarks.md``."""
    text = f"## Recording in devsfu (room composite egress)\n\nCommand: `{command}`\n\n{body}\n"
    replace_block(f"<!-- bench:{SECTION} -->", f"<!-- /bench:{SECTION} -->", text, DOC)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.egress_mix", description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    rows = ["| tracks mixed | CPU per second of audio | share of one core |", "|---|---|---|"]
    for tracks in (1, 2, 4, 8):
        cpu = asyncio.run(cpu_per_audio_second(tracks, args.seconds))
        rows.append(f"| {tracks} | {cpu * 1000:.1f} ms | {cpu * 100:.1f} % |")
        print(rows[-1], flush=True)
    body = "\n".join(rows) + (
        f"\n\n{args.seconds:.0f} s of audio per row; a call is 2 tracks. Measured on a machine"
        " shared with other work (load varies): read the order of magnitude."
    )
    if not args.no_write:
        write_section(body, "python -m bench.egress_mix")


if __name__ == "__main__":
    main()
