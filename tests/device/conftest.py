"""The stack and the two devices for the device tests (``make test-device``).

Needs, and skips with the reason without: ``adb`` (Android SDK platform-tools, or ``$ADB``), the
``device`` extra (uiautomator2), two devices or emulators that ``adb devices`` lists as ready
(``VOIP_DEVICE_SERIALS=serial1,serial2`` picks two of more), the APK installed on both (package
``VOIP_DEVICE_APP_ID``, default ``[tool.flet].org`` + the project name, as ``flet build`` names
it), and ``VOIP_DEVICE_HOST``: this machine's address on the devices' network, where devsfu
listens (WebRTC media is UDP straight to it; an emulator reaches the LAN through its NAT).

The call server stays on 127.0.0.1: each device reaches it at its own 127.0.0.1 through
``adb reverse``. Nothing here runs in ``make test``: that run lives in a private network
namespace, where no device can be reached, and these tests skip there.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.device.android_driver import REPO, AndroidScreen, adb_devices
from tests.support import netns
from tests.support.devsfu import DevSfu, running_devsfu
from tests.support.servers import CallServer, free_port
from tests.ui.scenarios import Stack

RING_TIMEOUT_S = 25


def default_app_id() -> str:
    """The APK's package name as ``flet build`` makes it: ``<org>.<project name, slugged>``."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    project = re.sub(r"[^a-z0-9]+", "_", config["project"]["name"].lower()).strip("_")
    return f"{config['tool']['flet']['org']}.{project}"


def why_not_runnable() -> str | None:
    """Why the device tests cannot run here, or None."""
    if netns.in_private_netns():
        return "this run is in the tests' private network namespace (make test): no device there"
    adb = os.environ.get("ADB") or shutil.which("adb")
    if adb is None:
        return "no adb on PATH (Android SDK platform-tools; or set ADB)"
    try:
        serials = adb_devices(adb)
    except (OSError, subprocess.SubprocessError) as e:
        return f"adb devices failed: {e}"
    if len(serials) < 2:
        return f"needs two devices or emulators in `adb devices`, found {len(serials)}"
    if not os.environ.get("VOIP_DEVICE_HOST"):
        return "set VOIP_DEVICE_HOST to this machine's address on the devices' network"
    if importlib.util.find_spec("uiautomator2") is None:
        return "uiautomator2 is not installed: pip install -e '.[device]' (make test-device does)"
    return None


@pytest.fixture(scope="module")
def phones() -> Iterator[tuple[AndroidScreen, AndroidScreen]]:
    reason = why_not_runnable()
    if reason is not None:
        pytest.skip(reason)
    adb = os.environ.get("ADB") or shutil.which("adb")
    assert adb is not None
    chosen = os.environ.get("VOIP_DEVICE_SERIALS", "")
    serials = chosen.split(",") if chosen else adb_devices(adb)[:2]
    app_id = os.environ.get("VOIP_DEVICE_APP_ID") or default_app_id()
    alice = AndroidScreen("alice", serials[0], app_id, adb)
    bob = AndroidScreen("bob", serials[1], app_id, adb)
    for screen in (alice, bob):
        if f"package:{app_id}" not in screen.shell("pm", "list", "packages", app_id):
            pytest.skip(f"{app_id} is not installed on {screen.serial} (android/README.md)")
    yield alice, bob
    alice.close()
    bob.close()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("device")


@pytest.fixture(scope="module")
def sfu(phones: tuple[AndroidScreen, AndroidScreen], workdir: Path) -> Iterator[DevSfu]:
    host = os.environ["VOIP_DEVICE_HOST"]
    with running_devsfu(host=host, log_path=workdir / "devsfu.log") as server:
        yield server


@contextmanager
def served(
    phones: tuple[AndroidScreen, AndroidScreen], sfu: DevSfu, workdir: Path, ring_timeout_s: float
) -> Iterator[Stack]:
    """A call server on 127.0.0.1, reached by both devices through ``adb reverse``."""
    env = {
        "VOIP_LIVEKIT_URL": sfu.url,
        "VOIP_LIVEKIT_API_URL": sfu.http_url,
        "VOIP_LIVEKIT_API_KEY": sfu.api_key,
        "VOIP_LIVEKIT_API_SECRET": sfu.api_secret,
        "VOIP_RING_TIMEOUT_S": str(ring_timeout_s),
    }
    port = free_port()
    with CallServer.start(workdir / f"server-{port}", env=env, port=port, seed_demo=True) as server:
        for phone in phones:
            phone.reverse(port)
        try:
            yield Stack(
                api_url=server.url,
                app_server_url=f"http://127.0.0.1:{port}",
                ring_timeout_s=ring_timeout_s,
            )
        finally:
            for phone in phones:
                phone.unreverse(port)


@pytest.fixture(scope="module")
def stack(
    phones: tuple[AndroidScreen, AndroidScreen], sfu: DevSfu, workdir: Path
) -> Iterator[Stack]:
    with served(phones, sfu, workdir, RING_TIMEOUT_S) as running:
        yield running
