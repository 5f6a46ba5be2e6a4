"""The Flutter package cannot be compiled here, so its seams with Python are read from its sources.

Every Dart and Java file must parse (tree-sitter). Then each check is a drift that would only show
on a device: a method Python calls that Dart does not answer, an event Dart sends that Python has
no handler for (or the other way round), a payload key that does not match the Python event's
field, a platform method or channel Dart uses that Java does not declare, a join step that is not
followed by its cancellation check, a file the wheel would leave out, a manifest that loses the
microphone foreground service. The fake Dart side (``fake_dart.py``) is held to the same names.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import flet as ft
import flet_livekit.room
import pytest
from flet_livekit import LiveKitRoom

from tests.android import fake_dart
from tests.android.fake_phone import JOIN_STEPS
from tests.android.sources import (
    ANDROID,
    DART_LIB,
    FLUTTER,
    JAVA_PACKAGE_DIR,
    PACKAGE,
    REPO,
    RES,
    dart_call_arguments,
    dart_channels,
    dart_emitted_events,
    dart_files,
    dart_invoked_platform_methods,
    dart_method_body,
    dart_switch_cases,
    java_channels,
    java_files,
    java_switch_cases,
    parse,
    python_service_methods,
    syntax_errors,
    walk,
)

ANDROID_NS = "{http://schemas.android.com/apk/res/android}"
ROOM_SERVICE = DART_LIB / "src" / "room_service.dart"
CALL_PLATFORM = DART_LIB / "src" / "call_platform.dart"
PLUGIN = JAVA_PACKAGE_DIR / "FletLivekitPlugin.java"
LIVEKIT_CLIENT_CHECKED = "2.11.0"
"""The livekit_client release whose sources (tag v2.11.0) the Dart was checked against."""


@pytest.mark.parametrize("path", dart_files() + java_files(), ids=lambda p: p.name)
def test_every_dart_and_java_file_parses(path: Path) -> None:
    assert syntax_errors(parse(path)) == []


def test_the_parser_does_catch_a_syntax_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.dart"
    broken.write_text(ROOM_SERVICE.read_text().replace("_check(join);", "_check(join;", 1))
    assert syntax_errors(parse(broken))


def pubspec() -> dict[str, str]:
    # A small YAML subset is enough to read our own pubspec's keys.
    text = (FLUTTER / "pubspec.yaml").read_text()
    keys = {
        "name": r"^name: (\S+)",
        "livekit_client": r"^  livekit_client: (\S+)",
        "package": r"^        package: (\S+)",
        "pluginClass": r"pluginClass: (\S+)",
    }
    found = {key: re.search(pattern, text, re.M) for key, pattern in keys.items()}
    assert all(found.values()), found
    return {key: match.group(1) for key, match in found.items() if match}


def test_the_flutter_package_is_named_as_flet_build_expects() -> None:
    spec = pubspec()
    assert spec["name"] == FLUTTER.name == "flet_livekit"
    extension = parse(DART_LIB / "flet_livekit.dart").root_node.text or b""
    assert b'export "src/extension.dart" show Extension;' in extension
    create = dart_method_body(parse(DART_LIB / "src" / "extension.dart"), "createService")
    assert dart_switch_cases(create) == ["LiveKitRoom", "CallPush"]
    plugin = JAVA_PACKAGE_DIR / f"{spec['pluginClass']}.java"
    assert plugin.exists()
    assert f"package {spec['package']};" in plugin.read_text()


def test_livekit_client_is_pinned_to_the_version_the_code_was_checked_against() -> None:
    assert pubspec()["livekit_client"] == LIVEKIT_CLIENT_CHECKED


def python_methods() -> list[str]:
    """Every ``self._call("name", ...)`` in ``flet_livekit/room.py``."""
    return python_service_methods(Path(flet_livekit.room.__file__))


def dart_methods() -> list[str]:
    return dart_switch_cases(dart_method_body(parse(ROOM_SERVICE), "_invokeMethod"))


def fake_methods() -> list[str]:
    """The ``case "name":`` patterns of ``FakeLiveKitDart.invoke``."""
    tree = ast.parse(Path(fake_dart.__file__).read_text())
    invoke = next(
        n for n in ast.walk(tree) if isinstance(n, ast.AsyncFunctionDef) and n.name == "invoke"
    )
    return [
        case.pattern.value.value
        for match in ast.walk(invoke)
        if isinstance(match, ast.Match)
        for case in match.cases
        if isinstance(case.pattern, ast.MatchValue) and isinstance(case.pattern.value, ast.Constant)
    ]


def test_every_method_python_calls_is_answered_in_dart_and_only_those() -> None:
    assert python_methods()
    assert set(python_methods()) == set(dart_methods())
    assert len(dart_methods()) == len(set(dart_methods()))


def test_the_fake_dart_side_answers_the_same_methods() -> None:
    assert fake_methods() == dart_methods()


def event_fields() -> dict[str, set[str]]:
    """Each ``on_*`` handler of ``LiveKitRoom``: its event name and its payload's fields."""
    room = LiveKitRoom()
    base = {f.name for f in dataclasses.fields(ft.Event)}
    fields = {}
    for handler in dataclasses.fields(LiveKitRoom):
        if handler.name.startswith("on_"):
            event_type = ft.controls.control_event.get_event_field_type(room, handler.name)
            assert event_type is not None, handler.name
            fields[handler.name.removeprefix("on_")] = {
                f.name for f in dataclasses.fields(event_type)
            } - base
    return fields


def test_every_event_dart_sends_has_a_python_handler_and_the_other_way() -> None:
    assert set(dart_emitted_events(parse(ROOM_SERVICE))) == set(event_fields())


@pytest.mark.parametrize("event", sorted(event_fields()))
def test_payload_keys_match_the_python_event_fields(event: str) -> None:
    sent = dart_emitted_events(parse(ROOM_SERVICE))[event]
    assert sent == event_fields()[event]
    assert not sent & {"name", "data", "control"}  # fields of flet.Event itself


def test_the_fake_dart_side_sends_only_events_dart_sends() -> None:
    tree = ast.parse(Path(fake_dart.__file__).read_text())
    fake_events = {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "_emit"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }
    assert fake_events == set(dart_emitted_events(parse(ROOM_SERVICE)))


def test_dart_and_java_agree_on_channels_and_platform_methods() -> None:
    platform, plugin = parse(CALL_PLATFORM), parse(PLUGIN)
    assert (
        dart_channels(platform)
        == java_channels(plugin)
        == {
            "flet_livekit/call",
            "flet_livekit/audio_route",
        }
    )
    assert dart_invoked_platform_methods(platform) == java_switch_cases(plugin, "onMethodCall")


def test_a_join_checks_for_a_leave_after_every_step() -> None:
    """Defect 2's invariant, read from ``_connect``: every awaited step of the join is followed
    by ``_check(join)``, and the steps are the ones the fake plays (``JOIN_STEPS``)."""
    body = dart_method_body(parse(ROOM_SERVICE), "_connect")
    attempt = next(n for n in walk(body) if n.type == "try_statement")
    block = next(n for n in attempt.named_children if n.type == "block")
    statements = block.named_children
    awaited = [
        i for i, s in enumerate(statements) if any(n.type == "await_expression" for n in walk(s))
    ]
    assert len(awaited) == len(JOIN_STEPS)
    for i in awaited:
        step = (statements[i].text or b"").decode()
        assert i + 1 < len(statements), f"the join ends on {step!r}"
        assert dart_call_arguments(statements[i + 1], "_check"), f"no _check(join) after {step!r}"


def test_the_manifest_declares_the_call_foreground_service() -> None:
    root = ET.parse(ANDROID / "src" / "main" / "AndroidManifest.xml").getroot()
    permissions = {e.get(f"{ANDROID_NS}name") for e in root.iter("uses-permission")}
    assert {
        "android.permission.RECORD_AUDIO",
        "android.permission.FOREGROUND_SERVICE",
        "android.permission.FOREGROUND_SERVICE_MICROPHONE",
        "android.permission.POST_NOTIFICATIONS",
        "android.permission.WAKE_LOCK",
        "android.permission.BLUETOOTH_CONNECT",
    } <= permissions
    services = [
        s for s in root.iter("service") if s.get(f"{ANDROID_NS}foregroundServiceType") is not None
    ]
    assert len(services) == 1  # (the other is push's, test_push_package.py)
    service = services[0]
    assert service.get(f"{ANDROID_NS}foregroundServiceType") == "microphone"
    assert service.get(f"{ANDROID_NS}exported") == "false"
    class_name = str(service.get(f"{ANDROID_NS}name")).rsplit(".", 1)[1]
    assert (
        "FOREGROUND_SERVICE_TYPE_MICROPHONE"
        in (JAVA_PACKAGE_DIR / f"{class_name}.java").read_text()
    )


def test_the_notification_icon_is_a_monochrome_drawable_of_the_plugin() -> None:
    service = (JAVA_PACKAGE_DIR / "CallForegroundService.java").read_text()
    icon = re.search(r"setSmallIcon\(R\.drawable\.(\w+)\)", service)
    assert icon, "the small icon is not one of the plugin's drawables"
    root = ET.parse(RES / "drawable" / f"{icon.group(1)}.xml").getroot()
    assert root.tag == "vector"
    colours = {p.get(f"{ANDROID_NS}fillColor") for p in root.iter("path")}
    assert colours == {"#FFFFFFFF"}  # status-bar icons are drawn from their alpha only
    assert "getApplicationInfo().icon" not in service


def test_the_wheel_carries_every_file_of_the_flutter_package() -> None:
    config = tomllib.loads((PACKAGE / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["flutter.flet_livekit"]
    files = [p.relative_to(FLUTTER) for p in FLUTTER.rglob("*") if p.is_file()]
    assert any(f.parts[:4] == ("android", "src", "main", "res") for f in files)
    for file in files:
        assert any(file.match(pattern) or _under(file, pattern) for pattern in patterns), file


def _under(file: Path, pattern: str) -> bool:
    return pattern.endswith("/**") and str(file).startswith(pattern[:-2])


def test_the_app_build_takes_the_extension_on_android_only() -> None:
    root = tomllib.loads((REPO / "pyproject.toml").read_text())
    flet_config = root["tool"]["flet"]
    assert "flet-livekit" in flet_config["android"]["dependencies"]
    assert not any(d.startswith("flet-livekit") for d in root["project"]["dependencies"])
    dev_path = REPO / flet_config["dev_packages"]["flet-livekit"]
    assert dev_path.resolve() == PACKAGE
    assert tomllib.loads((dev_path / "pyproject.toml").read_text())["project"]["name"] == (
        "flet-livekit"
    )


def test_no_keep_rule_for_classes_flets_build_does_not_have() -> None:
    # flet-cli 1.0.5 reads [tool.flet.android].proguard_rules; the app needs none, and a rule for
    # org.jnius matches nothing in Flet's build (pyjnius only reaches Android's own classes).
    android = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["flet"]["android"]
    assert not any("org.jnius" in rule for rule in android.get("proguard_rules", []))
    assert "consumerProguardFiles" not in (ANDROID / "build.gradle").read_text()
    assert not list(ANDROID.glob("*.pro"))
