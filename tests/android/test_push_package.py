"""The push half's seams, read from the sources (nothing here can build Dart or Android): the
methods Python calls are the ones ``push_service.dart`` answers and the fake plays; the events it
sends have Python handlers with matching payload fields; the platform methods and channels of
``push_platform.dart`` are ``CallPushChannel.java``'s; the manifest declares the FCM service,
the Decline receiver and the full-screen-intent permission; the data keys the Java reads are the
ones the server's push messages carry; Firebase's configuration comes from outside the
repository."""

from __future__ import annotations

import ast
import dataclasses
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import flet as ft
import flet_livekit.push
from flet_livekit import CallPush

from tests.android import fake_push
from tests.android.sources import (
    ANDROID,
    DART_LIB,
    JAVA_PACKAGE_DIR,
    REPO,
    dart_channels,
    dart_emitted_events,
    dart_invoked_platform_methods,
    dart_method_body,
    dart_switch_cases,
    java_channels,
    java_switch_cases,
    parse,
    python_service_methods,
)
from voip_contract import CancelPush, IncomingPush

ANDROID_NS = "{http://schemas.android.com/apk/res/android}"
PUSH_SERVICE = DART_LIB / "src" / "push_service.dart"
PUSH_PLATFORM = DART_LIB / "src" / "push_platform.dart"
CHANNEL = JAVA_PACKAGE_DIR / "CallPushChannel.java"


def python_methods() -> list[str]:
    """Every ``self._call("name", ...)`` in ``flet_livekit/push.py``."""
    return python_service_methods(Path(flet_livekit.push.__file__))


def fake_tree() -> ast.Module:
    return ast.parse(Path(fake_push.__file__).read_text())


def test_python_dart_and_the_fake_agree_on_the_methods() -> None:
    dart = dart_switch_cases(dart_method_body(parse(PUSH_SERVICE), "_invokeMethod"))
    invoke = next(
        n
        for n in ast.walk(fake_tree())
        if isinstance(n, ast.AsyncFunctionDef) and n.name == "invoke"
    )
    fake = [
        case.pattern.value.value
        for match in ast.walk(invoke)
        if isinstance(match, ast.Match)
        for case in match.cases
        if isinstance(case.pattern, ast.MatchValue) and isinstance(case.pattern.value, ast.Constant)
    ]
    assert set(python_methods()) == set(dart) == {"start", "stop", "take_accepted_call"}
    assert fake == dart


def test_every_event_dart_sends_has_a_python_handler_with_its_fields() -> None:
    push = CallPush()
    base = {f.name for f in dataclasses.fields(ft.Event)}
    handlers = {}
    for handler in dataclasses.fields(CallPush):
        if handler.name.startswith("on_"):
            event_type = ft.controls.control_event.get_event_field_type(push, handler.name)
            assert event_type is not None, handler.name
            fields = {f.name for f in dataclasses.fields(event_type)} - base
            handlers[handler.name.removeprefix("on_")] = fields
    assert dart_emitted_events(parse(PUSH_SERVICE)) == handlers
    fake_events = {
        node.args[0].value
        for node in ast.walk(fake_tree())
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "_emit"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }
    assert fake_events == set(handlers)


def test_dart_and_java_agree_on_the_push_channels_and_methods() -> None:
    platform, channel = parse(PUSH_PLATFORM), parse(CHANNEL)
    assert dart_channels(platform) == java_channels(channel)
    assert dart_channels(platform) == {"flet_livekit/push", "flet_livekit/push_events"}
    assert dart_invoked_platform_methods(platform) == java_switch_cases(channel, "onMethodCall")
    # the event names Java sends are the ones Dart switches on
    java_events = set(re.findall(r'event\("(\w+)"', CHANNEL.read_text()))
    dart_events = set(re.findall(r'case "(\w+)":', _dart_method_text("_onPlatformEvent")))
    assert java_events == dart_events == {"token", "accepted"}


def _dart_method_text(name: str) -> str:
    return (dart_method_body(parse(PUSH_SERVICE), name).text or b"").decode()


def test_the_java_reads_the_keys_the_server_sends() -> None:
    sources = "".join(p.read_text() for p in JAVA_PACKAGE_DIR.glob("*.java"))
    read = set(re.findall(r'data\.(?:get|getOrDefault)\("(\w+)"', sources))
    sent = set(IncomingPush.model_fields) | set(CancelPush.model_fields)
    assert read <= sent
    assert {"type", "call_id", "caller_name", "ring_expires_at", "decline_capability"} <= read
    types = set(re.findall(r'static final String (?:INCOMING|CANCEL) = "(\w+)"', sources))
    assert types == {
        IncomingPush.model_fields["type"].default,
        CancelPush.model_fields["type"].default,
    }
    decline = (JAVA_PACKAGE_DIR / "CallActionReceiver.java").read_text()
    assert '"/api/calls/" + callId + "/push-decline"' in decline
    assert '"{\\"capability\\":\\""' in decline


def test_the_manifest_declares_the_fcm_service_the_decline_receiver_and_full_screen() -> None:
    root = ET.parse(ANDROID / "src" / "main" / "AndroidManifest.xml").getroot()
    permissions = {e.get(f"{ANDROID_NS}name") for e in root.iter("uses-permission")}
    assert "android.permission.USE_FULL_SCREEN_INTENT" in permissions
    by_name = {
        str(e.get(f"{ANDROID_NS}name")).rsplit(".", 1)[1]: e
        for e in [*root.iter("service"), *root.iter("receiver")]
    }
    push = by_name["CallPushService"]
    assert push.get(f"{ANDROID_NS}exported") == "false"
    actions = {a.get(f"{ANDROID_NS}name") for a in push.iter("action")}
    assert actions == {"com.google.firebase.MESSAGING_EVENT"}
    assert by_name["CallActionReceiver"].get(f"{ANDROID_NS}exported") == "false"
    for name in by_name:
        assert (JAVA_PACKAGE_DIR / f"{name}.java").exists()


def test_the_incoming_notification_is_a_call_style_with_both_actions() -> None:
    notifier = (JAVA_PACKAGE_DIR / "IncomingCallNotifier.java").read_text()
    assert "Notification.CallStyle.forIncomingCall(person, decline, accept)" in notifier
    assert "setFullScreenIntent(open, true)" in notifier
    assert "FLAG_INSISTENT" in notifier
    assert "TYPE_RINGTONE" in notifier
    assert '"Decline", decline' in notifier
    assert '"Accept", accept' in notifier


def test_firebase_is_a_dependency_and_its_configuration_is_not_in_the_repository() -> None:
    gradle = (ANDROID / "build.gradle").read_text()
    assert 'implementation("com.google.firebase:firebase-messaging")' in gradle
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    assert not [p for p in tracked if p.endswith("google-services.json")]
    assert not [p for p in tracked if p.endswith("google_services.xml")]
    ignored = (REPO / ".gitignore").read_text()
    assert "google-services.json" in ignored
    assert "google_services.xml" in ignored
