"""How fast a PortAudio output stream on a private PulseAudio null sink takes frames, as a share
of real time (no call: the speaker alone), in its first seconds and after them, for PortAudio
"low" with 5 and 10 ms callbacks, "high", and ``PULSE_LATENCY_MSEC=15``; also the ALSA
plugin's buffer as PulseAudio reports it. docs/benchmarks.md (*Client*, the speaker's frames).

    .venv/bin/python -m bench.speaker_rate       # prints one line per setting; writes nothing

The first seconds are the null sink's, not the stream's: an idle null sink has rendered up to
2 s of silence ahead, and a stream that connects waits for most of it (the sink's rewind is cut
to the new stream's latency); after that every setting here ran at 1.00 (the sink's monitor
recorded every sample, in order, with no gap).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time

SETTINGS = [("low", "", 240), ("low", "", 480), ("low", "15", 480), ("high", "", 960)]
"""(PortAudio latency, ``PULSE_LATENCY_MSEC`` or none, frames per callback)."""
START_S = 3.0
"""The first seconds, measured apart (the null sink's start, above)."""


def shares_of_real_time(latency: str, block: int, seconds: float = 10.0) -> tuple[float, float]:
    """In this process: frames the stream's callbacks took per real second, in the first
    :data:`START_S` and in the ``seconds`` after them."""
    import sounddevice as sd

    taken = 0

    def callback(outdata: object, frames: int, time_info: object, status: object) -> None:
        nonlocal taken
        taken += frames
        outdata[:] = 0  # type: ignore[index]

    with sd.OutputStream(
        samplerate=48_000,
        channels=1,
        dtype="int16",
        blocksize=block,
        latency=latency,
        callback=callback,
    ):
        t0 = time.monotonic()
        time.sleep(START_S)
        n1, t1 = taken, time.monotonic()
        time.sleep(seconds)
        n2, t2 = taken, time.monotonic()
    return n1 / 48_000 / (t1 - t0), (n2 - n1) / 48_000 / (t2 - t1)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "child":
        start, after = shares_of_real_time(sys.argv[2], int(sys.argv[3]))
        print(f"{start:.2f} in the first {START_S:g} s, {after:.3f} after")
        return
    from tests.engine import pulse

    with pulse.running_pulse(["speaker"]) as pa:
        for latency, pulse_ms, block in SETTINGS:
            env = {k: v for k, v in pa.env(sink="speaker").items() if k != "PULSE_LATENCY_MSEC"}
            if pulse_ms:
                env["PULSE_LATENCY_MSEC"] = pulse_ms
            child = subprocess.Popen(
                [sys.executable, "-m", "bench.speaker_rate", "child", latency, str(block)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            time.sleep(START_S + 2)
            listing = pa.pactl("list", "sink-inputs")
            out, err = child.communicate(timeout=60)
            buffer = re.findall(r"Buffer Latency: (\d+) usec", listing)
            underruns = err.count("underrun")
            print(
                f"latency {latency}, PULSE_LATENCY_MSEC {pulse_ms or 'unset'}, {block} frames: "
                f"{out.strip() or err.strip()[-200:]} of real time; PulseAudio's buffer "
                f"{int(buffer[0]) / 1000 if buffer else '?'} ms; ALSA underruns {underruns}"
            )


if __name__ == "__main__":
    main()
