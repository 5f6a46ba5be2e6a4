"""A private PulseAudio daemon with virtual devices, for the sounddevice path.

Each null sink is a virtual speaker; its ``.monitor`` source hears what is played into it, so a
null sink is also a virtual microphone (play into ``x``, capture from ``x.monitor``). Clients
reach the daemon through ``env`` (``PULSE_SERVER``; ``PULSE_SOURCE``/``PULSE_SINK`` pick the
default devices, which is what PortAudio's ALSA ``default`` device plays through).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.servers import stop_process

RATE = 48_000


@dataclass
class Pulse:
    runtime: Path
    process: subprocess.Popen[bytes]

    @property
    def server(self) -> str:
        return f"unix:{self.runtime / 'native'}"

    def env(self, *, source: str, sink: str) -> dict[str, str]:
        return {
            **os.environ,
            "PULSE_SERVER": self.server,
            "PULSE_RUNTIME_PATH": str(self.runtime),
            "PULSE_SOURCE": source,
            "PULSE_SINK": sink,
            "HOME": str(self.runtime),
        }

    def pactl(self, *args: str) -> str:
        return subprocess.run(
            ["pactl", "--server", self.server, *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout


def available() -> str | None:
    """``None`` when a PulseAudio daemon can be started here, otherwise why not."""
    for tool in ("pulseaudio", "pactl", "pacat"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian pulseaudio, pulseaudio-utils)"
    return None


@contextlib.contextmanager
def running_pulse(sinks: list[str]) -> Iterator[Pulse]:
    """A daemon with one mono 48 kHz null sink per name; stopped (and its files removed) after."""
    runtime = Path(tempfile.mkdtemp(prefix="pulse-"))
    socket = runtime / "native"
    cmd = [
        "pulseaudio",
        "-n",
        "--daemonize=no",
        "--system=false",
        "--exit-idle-time=-1",
        "--disallow-exit",
        "--disable-shm",
        f"--log-target=file:{runtime / 'log'}",
        "-L",
        f"module-native-protocol-unix auth-anonymous=1 socket={socket}",
    ]
    for name in sinks:
        cmd += ["-L", f"module-null-sink sink_name={name} rate={RATE} channels=1"]
    env = {**os.environ, "PULSE_RUNTIME_PATH": str(runtime), "HOME": str(runtime)}
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pulse = Pulse(runtime, process)
    try:
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"pulseaudio exited: {_log(runtime)}")
            if socket.exists():
                with contextlib.suppress(subprocess.CalledProcessError):
                    if all(name in pulse.pactl("list", "short", "sinks") for name in sinks):
                        break
            if time.monotonic() > deadline:
                raise TimeoutError(f"pulseaudio did not come up: {_log(runtime)}")
            time.sleep(0.05)
        yield pulse
    finally:
        stop_process(process)
        shutil.rmtree(runtime, ignore_errors=True)


def _log(runtime: Path) -> str:
    try:
        return (runtime / "log").read_text(errors="replace")[-2000:]
    except OSError:
        return "(no log)"
