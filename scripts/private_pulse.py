"""A private PulseAudio daemon with null devices: the tests' recipe, shared with ``make demo``.

:func:`running_pulse` starts ``pulseaudio`` as this user with no configuration file (``-n``),
only the native protocol on a socket in a fresh directory and one mono 48 kHz null sink per name
(a null sink's ``.monitor`` is also a virtual microphone; ``sources`` adds null sources). Clients
reach it through :meth:`Pulse.env` (``PULSE_SERVER``); PortAudio's ALSA ``default`` device plays
through it. :func:`sound_server_running` says whether this session already has a sound server.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

RATE = 48_000
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0


@dataclass
class Pulse:
    runtime: Path
    process: subprocess.Popen[bytes]

    @property
    def server(self) -> str:
        return f"unix:{self.runtime / 'native'}"

    def env(self, *, source: str | None = None, sink: str | None = None) -> dict[str, str]:
        """The variables that send a client to this daemon (and its default devices)."""
        env = {"PULSE_SERVER": self.server, "PULSE_RUNTIME_PATH": str(self.runtime)}
        if source:
            env["PULSE_SOURCE"] = source
        if sink:
            env["PULSE_SINK"] = sink
        return env

    def unload_sink(self, name: str) -> None:
        """Remove the null sink ``name``, as if its device were unplugged."""
        module = next(
            line.split()[0]
            for line in self.pactl("list", "short", "modules").splitlines()
            if f"sink_name={name}" in line
        )
        self.pactl("unload-module", module)

    def pactl(self, *args: str) -> str:
        return subprocess.run(
            ["pactl", "--server", self.server, *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout


def missing_tools() -> str | None:
    """``None`` when a PulseAudio daemon can be started here, otherwise why not."""
    for tool in ("pulseaudio", "pactl", "pacat"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian pulseaudio, pulseaudio-utils)"
    return None


def sound_server_running(env: dict[str, str] | None = None) -> bool:
    """A sound server answers this session (``pactl info`` succeeds: PulseAudio or PipeWire)."""
    if shutil.which("pactl") is None:
        return False
    try:
        done = subprocess.run(
            ["pactl", "info"], env=env, capture_output=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@contextlib.contextmanager
def running_pulse(sinks: list[str], sources: list[str] | None = None) -> Iterator[Pulse]:
    """A daemon with one null sink per name in ``sinks`` (and a null source per name in
    ``sources``); stopped, and its files removed, afterwards."""
    runtime = Path(tempfile.mkdtemp(prefix="pulse-"))
    env = {**os.environ, "PULSE_RUNTIME_PATH": str(runtime), "HOME": str(runtime)}
    process = subprocess.Popen(
        _daemon_command(runtime, sinks, sources or []),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C meant for its owner does not stop it first
    )
    pulse = Pulse(runtime, process)
    try:
        _wait_until_up(pulse, sinks)
        yield pulse
    finally:
        _stop(process)
        shutil.rmtree(runtime, ignore_errors=True)


def _daemon_command(runtime: Path, sinks: list[str], sources: list[str]) -> list[str]:
    """``pulseaudio`` without configuration, its socket and log in ``runtime``, and the null
    devices."""
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
        f"module-native-protocol-unix auth-anonymous=1 socket={runtime / 'native'}",
    ]
    for name in sinks:
        cmd += ["-L", f"module-null-sink sink_name={name} rate={RATE} channels=1"]
    for name in sources:
        cmd += ["-L", f"module-null-source source_name={name} rate={RATE} channels=1"]
    return cmd


def _wait_until_up(pulse: Pulse, sinks: list[str]) -> None:
    """Until the daemon answers on its socket with every sink; raises if it exits or is late."""
    socket = pulse.runtime / "native"
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if pulse.process.poll() is not None:
            raise RuntimeError(f"pulseaudio exited: {_log(pulse.runtime)}")
        if socket.exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                if all(name in pulse.pactl("list", "short", "sinks") for name in sinks):
                    return
        if time.monotonic() > deadline:
            raise TimeoutError(f"pulseaudio did not come up: {_log(pulse.runtime)}")
        time.sleep(0.05)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_S)


def _log(runtime: Path) -> str:
    try:
        return (runtime / "log").read_text(errors="replace")[-2000:]
    except OSError:
        return "(no log)"
