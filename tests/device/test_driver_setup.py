"""What the device tests decide before any device is touched: which devices, which app."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.device.android_driver import adb_devices, visible_text
from tests.device.conftest import default_app_id, why_not_runnable
from tests.support import netns

ADB_LISTING = """List of devices attached
emulator-5554\tdevice
R58M123ABC\tunauthorized
emulator-5556\tdevice
0123456789\toffline

"""


def fake_adb(tmp_path: Path, listing: str) -> str:
    """An ``adb`` that prints ``listing`` for ``adb devices`` (what the real one prints)."""
    script = tmp_path / "adb"
    script.write_text(f"#!/bin/sh\ncat <<'LISTING'\n{listing}LISTING\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_only_ready_devices_count(tmp_path: Path) -> None:
    assert adb_devices(fake_adb(tmp_path, ADB_LISTING)) == ["emulator-5554", "emulator-5556"]


def test_the_app_id_is_the_one_flet_build_gives_the_apk() -> None:
    # [tool.flet].org + the project name with '-' as '_' (flet-cli's project_name)
    assert default_app_id() == "test.acme.crm.crm_voip"


def test_inside_the_tests_namespace_the_reason_says_so() -> None:
    if not netns.in_private_netns():
        pytest.skip("this run is not in the tests' network namespace")
    reason = why_not_runnable()
    assert reason is not None
    assert "private network namespace" in reason


def test_without_a_device_host_the_reason_says_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(netns, "in_private_netns", lambda: False)
    monkeypatch.setenv("ADB", fake_adb(tmp_path, ADB_LISTING))
    monkeypatch.delenv("VOIP_DEVICE_HOST", raising=False)
    assert why_not_runnable() == (
        "set VOIP_DEVICE_HOST to this machine's address on the devices' network"
    )
    monkeypatch.setenv(
        "ADB", fake_adb(tmp_path, "List of devices attached\nemulator-5554\tdevice\n")
    )
    assert why_not_runnable() == "needs two devices or emulators in `adb devices`, found 1"


DUMP = """<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>
<hierarchy rotation="0">
  <node index="0" text="" resource-id="" class="android.widget.FrameLayout" content-desc="">
    <node index="0" text="" resource-id="incall.mute" class="android.view.View"
          content-desc="Unmute">
      <node index="0" text="" resource-id="" class="android.widget.Button" content-desc="Unmute"/>
    </node>
    <node index="1" text="" resource-id="incall.timer" class="android.view.View" content-desc="">
      <node index="0" text="" resource-id="" class="android.view.View" content-desc="0:07"/>
    </node>
    <node index="2" text="alice@acme.test" resource-id="signin.email"
          class="android.widget.EditText" content-desc="Email"/>
  </node>
</hierarchy>"""


@pytest.mark.parametrize(
    ("identifier", "text"),
    [
        ("incall.mute", "Unmute"),
        ("incall.timer", "0:07"),
        ("signin.email", "Email alice@acme.test"),
        ("no.such.control", ""),
    ],
)
def test_visible_text_is_label_then_text_of_the_node_and_its_children(
    identifier: str, text: str
) -> None:
    assert visible_text(DUMP, identifier) == text
