"""``make demo`` end to end (web mode) on a machine with no sound server: everything starts, with
a private PulseAudio for the app's sound devices; Alice calls the echo bot with both devices
working; Ctrl-C stops everything, the private PulseAudio too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support import netns
from tests.support.servers import free_port
from tests.ui.browser import REPO, Browser

pytestmark = [pytest.mark.ui, pytest.mark.media]

DEMO_START_S = 90.0


def read_app_url(proc: subprocess.Popen[str]) -> tuple[str, list[str]]:
    """Read the demo's output until it prints the app's address (bounded)."""
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + DEMO_START_S
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if "open the app:" in line:
            return line.split("open the app:")[1].split()[0], lines
    raise AssertionError("the demo printed no app address:\n" + "\n".join(lines))


def test_demo_starts_everything_and_the_echo_bot_answers(chromium: Browser, tmp_path: Path) -> None:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("VOIP_", "FLET_"))},
        "VOIP_VAR_DIR": str(tmp_path / "var"),
        "VOIP_PORT": str(port),
        "VOIP_DEMO_MEDIA_HOST": netns.HOST_A,
        "VOIP_DEMO_WEB": "1",
        "VOIP_APP_AUDIO": "devices",
        "PULSE_SERVER": f"unix:{tmp_path / 'no-sound-server' / 'native'}",
    }
    demo = subprocess.Popen(
        [sys.executable, str(REPO / "scripts" / "demo.py")],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        app_url, lines = read_app_url(demo)
        sound = [line for line in lines if "sound:" in line]
        assert len(sound) == 1, lines
        assert "private PulseAudio" in sound[0]
        server = sound[0].split("(unix:")[1].split(")")[0]
        assert Path(server).exists()
        assert app_url.startswith("http://127.0.0.1:")
        alice = chromium.user("alice-demo", app_url)
        alice.sign_in("alice@acme.test", "demo-password", server_url=f"http://127.0.0.1:{port}")
        alice.wait_text("contact.echo@acme.test.presence", "Online")
        alice.click("contact.echo@acme.test.call")
        alice.visible("incall.view", timeout_ms=30_000)
        alice.wait_text("incall.timer", r"^0:0[1-9]$|^0:[1-5]\d$")
        alice.gone("incall.devices")  # the private microphone and speaker work
        alice.click("incall.hangup")
        alice.gone("incall.view")
        alice.context.close()
    finally:
        demo.send_signal(signal.SIGINT)
        output, _ = demo.communicate(timeout=60)
    assert demo.returncode == 0, output
    assert "stopped server" in output
    assert "stopped devsfu" in output
    assert "stopped echo-bot" in output
    assert "stopped the private PulseAudio" in output
    assert not Path(server).exists()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
