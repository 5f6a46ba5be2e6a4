"""Does the SDK's platform audio (WebRTC's device module) survive a speaker unplugged mid-call?

    .venv/bin/python -m bench.platform_hotplug            # the plain softphone
    .venv/bin/python -m bench.platform_hotplug --watch    # + a device watcher, as the app needs

The question behind it (issue 14): the platform audio is faster than the sounddevice path
(``bench.client``), and may become the app's default only if it holds device choice and hot-plug.
A private PulseAudio with one null sink and a 660 Hz sine source; Bob is ``voip-softphone
--platform-audio`` answering, Alice calls with a 440 Hz tone. Mid-call the only sink is unloaded
(the headset unplugged), a new one loaded (plugged in again) and the platform audio is asked to
play on each device it lists (``set_playout_device``), then to start over (its handle closed,
a new ``PlatformAudio`` and source made). Each step prints whether a stream plays
into PulseAudio and whether the tone reaches the sink's monitor; at the end, what Alice heard of
Bob's microphone, per 2 s. With ``--watch`` Bob also polls
``PlatformAudio.playout_devices()`` every 0.5 s, which is what a hot-plug watcher would do.
The steps are printed, not written to ``docs/benchmarks.md``: the findings are there, in prose.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from tests.engine import pulse
from tests.support import netns

PROBE = Path(__file__).with_name("platform_probe.py")
HANGUP_AFTER_S = 28


def _softphone(url: str, email: str, *args: str, probe: bool = False) -> list[str]:
    head = [sys.executable, str(PROBE)] if probe else [sys.executable, "-m", "voip_app.softphone"]
    return [*head, "--server", url, "--email", email, "--password", "demo-password", *args]


async def _heard(pa: pulse.Pulse, source: str, path: Path) -> str:
    """What 1.5 s of ``source`` holds: silence, or the tone's frequency and level."""
    import numpy as np

    from tests.engine.stack import tone_of

    rec = await asyncio.create_subprocess_exec(
        *("parec", "--server", pa.server, "-d", source, "--raw", f"--rate={pulse.RATE}"),
        *("--channels=1", "--format=s16le", str(path)),
    )
    await asyncio.sleep(1.5)
    rec.terminate()
    await rec.wait()
    pcm = np.frombuffer(await asyncio.to_thread(path.read_bytes), dtype="<i2")
    loud = np.abs(pcm) > 300
    if not loud.any():
        return f"{source}: silent"
    hz, level = tone_of(pcm[int(loud.argmax()) :])
    return f"{source}: {hz:.0f} Hz at {level:.1f} dBFS"


def _step(t0: float, what: str) -> None:
    print(f"{time.monotonic() - t0:5.1f} s  {what}", flush=True)


async def _unplug_and_replug(pa: pulse.Pulse, tmp: Path, ask: Path, t0: float) -> None:
    """The mid-call steps, each printed."""
    pactl = pa.pactl

    def streams() -> int:
        return len(pactl("list", "short", "sink-inputs").splitlines())

    _step(t0, "in call: " + await _heard(pa, "speaker.monitor", tmp / "a.raw"))
    modules = pactl("list", "short", "modules").splitlines()
    pactl("unload-module", next(m.split()[0] for m in modules if "sink_name=speaker" in m))
    await asyncio.sleep(2)
    _step(t0, f"sink unloaded; streams playing: {streams()}")
    pactl("load-module", "module-null-sink", "sink_name=headset", "rate=48000", "channels=1")
    await asyncio.sleep(2.5)
    _step(t0, f"new sink loaded; streams playing: {streams()}")
    _step(t0, await _heard(pa, "headset.monitor", tmp / "b.raw"))
    for ask_for in ("play=index:0", "play=index:1", "reset"):
        (ask / ask_for).touch()
        await asyncio.sleep(2)
        _step(t0, f"asked {ask_for}; streams playing: {streams()}")
        _step(t0, await _heard(pa, "headset.monitor", tmp / f"{ask_for}.raw"))


async def run(watch: bool) -> None:
    from tests.engine.stack import running_stack

    with tempfile.TemporaryDirectory() as name:
        tmp, t0 = Path(name), time.monotonic()
        ask = tmp / "ask"
        ask.mkdir()
        with pulse.running_pulse(["speaker"]) as pa, running_stack(tmp) as stack:
            # Bob's microphone plays 660 Hz, so Alice's recording tells when his capture flows.
            pa.pactl("load-module", "module-sine-source", "source_name=mic", "frequency=660")
            env = {**pa.env(source="mic"), "PLATFORM_PROBE_ASK": str(ask)}
            env["PLATFORM_PROBE_WATCH"] = "1" if watch else ""
            bob = await asyncio.create_subprocess_exec(
                *_softphone(
                    stack.url, "bob@acme.test", "--auto-answer", "--max-calls", "1", probe=True
                ),
                "--platform-audio",
                env=env,
                stdout=asyncio.subprocess.PIPE,
            )
            assert bob.stdout is not None
            while b'"ready"' not in await asyncio.wait_for(bob.stdout.readline(), 30):
                pass
            alice = await asyncio.create_subprocess_exec(
                *_softphone(stack.url, "alice@acme.test", "call", "bob@acme.test"),
                *("--tone", "440", "--hangup-after", str(HANGUP_AFTER_S)),
                *("--record", str(tmp / "alice_heard.wav")),
                stdout=asyncio.subprocess.DEVNULL,
            )
            await asyncio.sleep(4)
            await _unplug_and_replug(pa, tmp, ask, t0)
            await asyncio.wait_for(alice.wait(), 60)
            out, _ = await asyncio.wait_for(bob.communicate(), 30)
            ended = [line for line in out.decode().splitlines() if '"ended"' in line]
            _step(t0, f"caller exit {alice.returncode}; callee exit {bob.returncode}")
            _step(t0, "callee's ended event: " + (ended[0] if ended else "none"))
            _step(t0, "Bob's microphone as Alice heard it, per 2 s: " + _per_2s(tmp))


def _per_2s(tmp: Path) -> str:
    """Alice's recording in 2 s slices: the dominant frequency and level of each."""
    import wave

    import numpy as np

    from tests.engine.stack import tone_of

    with wave.open(str(tmp / "alice_heard.wav")) as wav:
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    step = 2 * pulse.RATE
    slices = (tone_of(pcm[i : i + step]) for i in range(0, len(pcm) - step + 1, step))
    return ", ".join(f"{hz:.0f} Hz {db:.0f} dB" for hz, db in slices)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watch", action="store_true", help="poll the device lists in Bob")
    args = parser.parse_args()
    why = netns.enter_private_netns()
    if why is not None:
        sys.exit(f"bench.platform_hotplug needs a private network namespace: {why}")
    asyncio.run(run(args.watch))


if __name__ == "__main__":
    main()
