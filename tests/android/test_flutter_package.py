"""The Flutter package cannot be compiled here, so its seams with Python are checked as text.

Each check is a drift that would only show on a device: a method Python calls that Dart does not
answer, an event Dart sends that Python has no handler for (or the other way round), a payload key
that does not match the Python event's field, a channel name that differs between Dart and Java,
a file the wheel would leave out, or a manifest that loses the microphone foreground service.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import flet as ft
import flet_livekit
import pytest
from flet_livekit import LiveKitRoom

PACKAGE = Path(__file__).resolve().parents[2] / "android" / "flet_livekit"
FLUTTER = PACKAGE / "src" / "flutter" / "flet_livekit"
DART_SERVICE = (FLUTTER / "lib" / "src" / "room_service.dart").read_text()
DART_PLATFORM = (FLUTTER / "lib" / "src" / "call_platform.dart").read_text()
JAVA = FLUTTER / "android" / "src" / "main" / "java" / "org" / "crmvoip" / "flet_livekit"
ANDROID_NS = "{http://schemas.android.com/apk/res/android}"


def pubspec() -> dict[str, object]:
    # A small YAML subset is enough to read our own pubspec's keys.
    text = (FLUTTER / "pubspec.yaml").read_text()
    return {
        "name": re.search(r"^name: (\S+)", text, re.M).group(1),  # type: ignore[union-attr]
        "livekit_client": re.search(r"^  livekit_client: (\S+)", text, re.M).group(1),  # type: ignore[union-attr]
        "package": re.search(r"^        package: (\S+)", text, re.M).group(1),  # type: ignore[union-attr]
        "pluginClass": re.search(r"pluginClass: (\S+)", text).group(1),  # type: ignore[union-attr]
    }


def python_methods() -> set[str]:
    source = Path(flet_livekit.room.__file__).read_text()
    return set(re.findall(r'self\._call\(\s*"(\w+)"', source))


def event_fields() -> dict[str, type]:
    room = LiveKitRoom()
    return {
        f.name.removeprefix("on_"): ft.controls.control_event.get_event_field_type(room, f.name)
        for f in dataclasses.fields(LiveKitRoom)
        if f.name.startswith("on_")
    }


def test_the_flutter_package_is_named_as_flet_build_expects() -> None:
    spec = pubspec()
    assert spec["name"] == FLUTTER.name == "flet_livekit"
    assert str(spec["livekit_client"]).startswith("^2.")
    extension = (FLUTTER / "lib" / "flet_livekit.dart").read_text()
    assert 'export "src/extension.dart" show Extension;' in extension
    assert 'case "LiveKitRoom":' in (FLUTTER / "lib" / "src" / "extension.dart").read_text()
    plugin = JAVA / f"{spec['pluginClass']}.java"
    assert plugin.exists()
    assert f"package {spec['package']};" in plugin.read_text()


def test_every_method_python_calls_is_answered_in_dart_and_only_those() -> None:
    dart_methods = set(re.findall(r'case "(\w+)":', DART_SERVICE))
    assert python_methods() == dart_methods
    assert "Unknown LiveKitRoom method" in DART_SERVICE


def test_every_event_dart_sends_has_a_python_handler_and_the_other_way() -> None:
    sent = set(re.findall(r'_emit\(\s*"(\w+)"', DART_SERVICE))
    assert sent == set(event_fields())


@pytest.mark.parametrize("event", sorted(event_fields()))
def test_payload_keys_match_the_python_event_fields(event: str) -> None:
    base = {f.name for f in dataclasses.fields(ft.Event)}
    fields = {f.name for f in dataclasses.fields(event_fields()[event])} - base
    for key in fields:
        assert f'"{key}"' in DART_SERVICE, f"{event}: Dart never sends {key!r}"
    assert not fields & {"name", "data", "control"}


def test_dart_and_java_agree_on_channels_and_methods() -> None:
    plugin = (JAVA / "FletLivekitPlugin.java").read_text()
    for channel in re.findall(r"(?:MethodChannel|EventChannel)\('([\w/]+)'\)", DART_PLATFORM):
        assert f'"{channel}"' in plugin
    called = set(re.findall(r"invoke\w*Method(?:<[^>]*>)?\(\s*'(\w+)'", DART_PLATFORM))
    handled = set(re.findall(r'case "(\w+)":', plugin))
    assert called
    assert called <= handled


def test_the_manifest_declares_the_call_foreground_service() -> None:
    root = ET.parse(FLUTTER / "android" / "src" / "main" / "AndroidManifest.xml").getroot()
    permissions = {e.get(f"{ANDROID_NS}name") for e in root.iter("uses-permission")}
    assert {
        "android.permission.RECORD_AUDIO",
        "android.permission.FOREGROUND_SERVICE",
        "android.permission.FOREGROUND_SERVICE_MICROPHONE",
        "android.permission.POST_NOTIFICATIONS",
        "android.permission.WAKE_LOCK",
        "android.permission.BLUETOOTH_CONNECT",
    } <= permissions
    services = list(root.iter("service"))
    assert len(services) == 1
    service = services[0]
    assert service.get(f"{ANDROID_NS}foregroundServiceType") == "microphone"
    assert service.get(f"{ANDROID_NS}exported") == "false"
    class_name = str(service.get(f"{ANDROID_NS}name")).rsplit(".", 1)[1]
    assert "FOREGROUND_SERVICE_TYPE_MICROPHONE" in (JAVA / f"{class_name}.java").read_text()


def test_the_wheel_carries_every_file_of_the_flutter_package() -> None:
    config = tomllib.loads((PACKAGE / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["flutter.flet_livekit"]
    files = [p.relative_to(FLUTTER) for p in FLUTTER.rglob("*") if p.is_file()]
    assert files
    for file in files:
        assert any(file.match(pattern) or _under(file, pattern) for pattern in patterns), file


def _under(file: Path, pattern: str) -> bool:
    return pattern.endswith("/**") and str(file).startswith(pattern[:-2])


def test_the_app_build_takes_the_extension_on_android_only() -> None:
    root = tomllib.loads((PACKAGE.parents[1] / "pyproject.toml").read_text())
    flet_config = root["tool"]["flet"]
    assert "flet-livekit" in flet_config["android"]["dependencies"]
    assert not any(d.startswith("flet-livekit") for d in root["project"]["dependencies"])
    dev_path = PACKAGE.parents[1] / flet_config["dev_packages"]["flet-livekit"]
    assert dev_path.resolve() == PACKAGE
    assert tomllib.loads((dev_path / "pyproject.toml").read_text())["project"]["name"] == (
        "flet-livekit"
    )


def test_the_library_hands_the_apk_the_keep_rules_pyjnius_needs() -> None:
    gradle = (FLUTTER / "android" / "build.gradle").read_text()
    declared = re.search(r'consumerProguardFiles\("([^"]+)"\)', gradle)
    assert declared, "build.gradle declares no consumer keep rules"
    rules = (FLUTTER / "android" / declared.group(1)).read_text().splitlines()
    assert "-keep class org.jnius.** { *; }" in rules
