"""The device driver of :class:`tests.ui.driver.Screen`: the APK on a phone or emulator.

Driven with uiautomator2 (the ``device`` extra; its on-device server ships inside the package and
is pushed with adb, nothing is downloaded). Flutter exposes ``ft.Semantics(identifier=...)`` as
the Android view's ``resource-id``, so a control is ``d(resourceId=identifier)``; its visible text
is the content description (Flutter's semantics label) and text of the node and its descendants,
label first, as the web driver reads it. A text field's editable node is the ``EditText`` inside
the identified container.

Every wait is for a condition, bounded; polling the accessibility tree is the only way to watch
a text change on a device.
"""

from __future__ import annotations

import re
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from tests.ui.driver import STEP_TIMEOUT_MS

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots" / "device"
POLL_S = 0.25
TYPE_ATTEMPTS = 3
EDIT_TEXT = "android.widget.EditText"
RUNTIME_PERMISSIONS = (
    "android.permission.RECORD_AUDIO",
    "android.permission.BLUETOOTH_CONNECT",  # a runtime permission from Android 12
    "android.permission.POST_NOTIFICATIONS",  # from Android 13
)
"""Granted before a scenario: the system dialogs are not part of the scenarios (the Python side
of asking is tested with a fake jnius; the dialogs themselves only by hand, README)."""


def adb_devices(adb: str) -> list[str]:
    """Serials of the devices and emulators ``adb devices`` lists as ready."""
    listing = subprocess.run(
        [adb, "devices"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    return [
        line.split("\t")[0]
        for line in listing.splitlines()[1:]
        if line.strip().endswith("\tdevice")
    ]


def visible_text(hierarchy_xml: str, identifier: str) -> str:
    """What a person reads in the node with this resource-id, from a uiautomator dump."""
    root = ET.fromstring(hierarchy_xml)
    node = next((n for n in root.iter("node") if n.get("resource-id") == identifier), None)
    parts: list[str] = []
    for descendant in node.iter("node") if node is not None else ():
        for key in ("content-desc", "text"):
            value = (descendant.get(key) or "").strip()
            if value and value not in parts:
                parts.append(value)
    return " ".join(parts)


class AndroidScreen:
    """One person's app on one device (``serial``); ``app_id`` is the APK's package name."""

    def __init__(self, name: str, serial: str, app_id: str, adb: str) -> None:
        import uiautomator2  # the `device` extra: only `make test-device` installs it

        self.name = name
        self.look = f"{name}-android"
        self.serial = serial
        self.app_id = app_id
        self.adb = adb
        self.device: Any = uiautomator2.connect(serial)

    # --- the app ---------------------------------------------------------------------------------

    def shell(self, *args: str) -> str:
        done = subprocess.run(
            [self.adb, "-s", self.serial, "shell", *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return done.stdout + done.stderr

    def start_fresh(self) -> None:
        """The app as after a fresh install: data cleared, permissions granted, started."""
        self.device.app_stop(self.app_id)
        self.shell("pm", "clear", self.app_id)
        for permission in RUNTIME_PERMISSIONS:
            self.shell("pm", "grant", self.app_id, permission)  # refused below its API: fine
        self.device.app_start(self.app_id, wait=True)
        self.visible("signin.email", timeout_ms=60_000)

    def reverse(self, port: int) -> None:
        """The device's 127.0.0.1:``port`` reaches this machine's (``adb reverse``)."""
        subprocess.run(
            [self.adb, "-s", self.serial, "reverse", f"tcp:{port}", f"tcp:{port}"],
            capture_output=True,
            timeout=30,
            check=True,
        )

    def unreverse(self, port: int) -> None:
        subprocess.run(
            [self.adb, "-s", self.serial, "reverse", "--remove", f"tcp:{port}"],
            capture_output=True,
            timeout=30,
            check=False,
        )

    def close(self) -> None:
        self.device.app_stop(self.app_id)

    # --- Screen ----------------------------------------------------------------------------------

    def _node(self, identifier: str) -> Any:
        return self.device(resourceId=identifier)

    def visible(self, identifier: str, timeout_ms: int = STEP_TIMEOUT_MS) -> Any:
        node = self._node(identifier)
        if not node.wait(timeout=timeout_ms / 1000):
            raise AssertionError(f"{self.name}: {identifier!r} never appeared")
        return node

    def gone(self, identifier: str, timeout_ms: int = STEP_TIMEOUT_MS) -> None:
        if not self._node(identifier).wait_gone(timeout=timeout_ms / 1000):
            raise AssertionError(f"{self.name}: {identifier!r} is still there")

    def click(self, identifier: str) -> None:
        self.visible(identifier).click()

    def type_into(self, identifier: str, text: str) -> None:
        container = self.visible(identifier)
        info = container.info
        field = (
            container
            if info.get("className") == EDIT_TEXT
            else container.child(className=EDIT_TEXT)
        )
        for _ in range(TYPE_ATTEMPTS):
            field.click()
            field.set_text(text)
            if field.get_text() == text:
                return
        raise AssertionError(
            f"{self.name}: {identifier!r} reads {field.get_text()!r}, not {text!r}"
        )

    def text(self, identifier: str) -> str:
        """The identified node's words and its descendants' (a container's text sits in child
        nodes), content description before text, as the web driver reads label then text."""
        self.visible(identifier)
        return visible_text(self.device.dump_hierarchy(), identifier)

    def wait_text(self, identifier: str, pattern: str, timeout_ms: int = STEP_TIMEOUT_MS) -> str:
        deadline = time.monotonic() + timeout_ms / 1000
        text = ""
        while time.monotonic() < deadline:
            text = self.text(identifier)
            if re.search(pattern, text):
                return text
            time.sleep(POLL_S)
        raise AssertionError(
            f"{self.name}: {identifier!r} never matched {pattern!r}; it reads {text!r}"
        )

    def screenshot(self, name: str) -> Path | None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.device.screenshot(str(path))
        return path
