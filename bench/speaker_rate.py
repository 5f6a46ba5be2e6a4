"""How fast a PortAudio output stream on a private PulseAudio null sink takes frames, as a share
of real time (no call: the speaker alone), for PortAudio "low" and "high" and with
``PULSE_LATENCY_MSEC=15``. docs/benchmarks.md (*Client*, the speaker's dropped frames).

    .venv/bin/python -m bench.speaker_rate       # prints one line per setting; writes nothing
"""

from __future__ import annotations

import subprocess
import sys
import time

SETTINGS = [("low", "15", 480), ("low", "", 480), ("high", "", 960)]
"""(PortAudio latency, ``PULSE_LATENCY_MSEC`` or none, frames per callback)."""


def share_of_real_time(latency: str, block: int, seconds: float = 10.0) -> float:
    """In this process: frames the stream's callbacks took over ``seconds``, per real second."""
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
        time.sleep(1.0)  # past the start
        n0, t0 = taken, time.monotonic()
        time.sleep(seconds)
        n1, t1 = taken, time.monotonic()
    return (n1 - n0) / 48_000 / (t1 - t0)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "child":
        print(f"{share_of_real_time(sys.argv[2], int(sys.argv[3])):.3f}")
        return
    from tests.engine import pulse

    with pulse.running_pulse(["speaker"]) as pa:
        for latency, pulse_ms, block in SETTINGS:
            env = {k: v for k, v in pa.env(sink="speaker").items() if k != "PULSE_LATENCY_MSEC"}
            if pulse_ms:
                env["PULSE_LATENCY_MSEC"] = pulse_ms
            done = subprocess.run(
                [sys.executable, "-m", "bench.speaker_rate", "child", latency, str(block)],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            print(
                f"latency {latency}, PULSE_LATENCY_MSEC {pulse_ms or 'unset'}, {block} frames: "
                f"{done.stdout.strip() or done.stderr.strip()[-200:]} of real time"
            )


if __name__ == "__main__":
    main()
