"""The sounddevice path once, for real: virtual PulseAudio devices on both ends.

A 440 Hz tone played into Alice's virtual microphone comes out of Bob's virtual speaker, through
two ``voip-softphone --devices`` processes (PortAudio -> ALSA -> PulseAudio, with the livekit
APM's echo cancellation in the capture path), the call server and devsfu.
"""

from __future__ import annotations

import asyncio
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.engine import pulse
from tests.engine.stack import PASSWORD, running_stack, tone_of

pytestmark = [pytest.mark.audio, pytest.mark.media]

CALL_S = 8
"""Long enough to hear the tone after the slow start of a new stream on PulseAudio's null sink
(about 2 s at a few per cent of real time; longer on a loaded machine: ci40 heard nothing
in 4 s)."""
STATS = {"VOIP_AUDIO_STATS_S": "1"}
"""Each softphone prints its devices' figures every second: a failure shows where audio stopped."""


def tone_file(path: Path, hz: float, seconds: float, dbfs: float = -12.0) -> Path:
    t = np.arange(int(seconds * pulse.RATE)) / pulse.RATE
    pcm = (32767 * 10 ** (dbfs / 20) * np.sin(2 * math.pi * hz * t)).astype("<i2")
    path.write_bytes(pcm.tobytes())
    return path


def softphone(url: str, email: str, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "voip_app.softphone",
        "--server",
        url,
        "--email",
        email,
        "--password",
        PASSWORD,
        "--devices",
        *args,
    ]


async def py_spy_dump(pid: int) -> str:
    """Where a hung process's threads are, when py-spy is installed beside this Python (it is
    not a project dependency: ``pip install py-spy`` to see it); else nothing."""
    py_spy = Path(sys.executable).with_name("py-spy")
    if not py_spy.exists():
        return ""
    dump = await asyncio.create_subprocess_exec(
        str(py_spy), "dump", "--native", "--pid", str(pid), stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(dump.communicate(), 30)
    return "\nits threads (py-spy dump):\n" + out.decode()


async def finished(proc: asyncio.subprocess.Process, within_s: float) -> str:
    """The events a softphone printed once it exits; if it has not within ``within_s``, it is
    asked to stop (then killed) and the test fails with the events it printed, which say where
    its call stood."""
    assert proc.stdout is not None
    lines: list[str] = []

    async def collect(stdout: asyncio.StreamReader) -> None:
        async for line in stdout:
            lines.append(line.decode())

    reader = asyncio.ensure_future(collect(proc.stdout))
    try:
        await asyncio.wait_for(proc.wait(), within_s)
    except TimeoutError:
        stacks = await py_spy_dump(proc.pid)
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
            how = "it stopped on SIGTERM"
        except TimeoutError:
            proc.kill()
            await proc.wait()
            how = "it did not stop on SIGTERM: killed"
        await reader
        said = "".join(lines)
        pytest.fail(f"the softphone had not exited after {within_s} s ({how}):\n{said}{stacks}")
    await reader
    return "".join(lines)


async def test_a_tone_into_alices_microphone_comes_out_of_bobs_speaker(tmp_path: Path) -> None:
    why_not = pulse.available()
    if why_not:
        pytest.skip(why_not)
    sinks = ["alice_mic", "alice_spk", "bob_mic", "bob_spk"]
    with pulse.running_pulse(sinks) as pa, running_stack(tmp_path) as stack:
        bob = await asyncio.create_subprocess_exec(
            *softphone(stack.url, "bob@acme.test", "--auto-answer", "--max-calls", "1"),
            env={**pa.env(source="bob_mic.monitor", sink="bob_spk"), **STATS},
            stdout=asyncio.subprocess.PIPE,
        )
        capture = tmp_path / "bob_speaker.raw"
        recorder = await asyncio.create_subprocess_exec(
            "parec",
            "--server",
            pa.server,
            "-d",
            "bob_spk.monitor",
            "--raw",
            f"--rate={pulse.RATE}",
            "--channels=1",
            "--format=s16le",
            str(capture),
        )
        player = await asyncio.create_subprocess_exec(
            "pacat",
            "--server",
            pa.server,
            "-p",
            "-d",
            "alice_mic",
            "--raw",
            f"--rate={pulse.RATE}",
            "--channels=1",
            "--format=s16le",
            str(tone_file(tmp_path / "tone.raw", 440, 30)),
        )
        try:
            assert bob.stdout is not None
            while b'"ready"' not in await asyncio.wait_for(bob.stdout.readline(), 30):
                pass
            alice = await asyncio.create_subprocess_exec(
                *softphone(stack.url, "alice@acme.test", "call", "bob@acme.test"),
                "--hangup-after",
                str(CALL_S),
                env={**pa.env(source="alice_mic.monitor", sink="alice_spk"), **STATS},
                stdout=asyncio.subprocess.PIPE,
            )
            events = "Alice:\n" + await finished(alice, 60)
            assert alice.returncode == 0, events
            events += "Bob:\n" + await finished(bob, 30)
        finally:
            for proc in (bob, recorder, player):
                if proc.returncode is None:
                    proc.terminate()
                    await proc.wait()
        heard = np.frombuffer(capture.read_bytes(), dtype="<i2")
        assert len(heard) > pulse.RATE, events  # more than a second went through the speaker
        loud = np.abs(heard) > 300
        assert loud.any(), f"nothing came out of Bob's speaker; the softphones said\n{events}"
        first, last = np.flatnonzero(loud)[[0, -1]]
        hz, level = tone_of(heard[first:last])
        seconds = (last - first) / pulse.RATE
        print(f"Bob's speaker: {seconds:.1f} s of {hz:.1f} Hz at {level:.1f} dBFS")
        assert hz == pytest.approx(440, abs=5), events
        assert level > -40, events
