"""The Android platform module against a fake ``jnius``; the desktop platform as it is."""

from __future__ import annotations

import sys

import pytest

from tests.ui.fake_jnius import FakeActivity, FakeIntent, fake_jnius
from voip_app.platform import (
    DesktopPlatform,
    Permission,
    PermissionState,
    current_platform,
    is_android,
)
from voip_app.platform import android as android_module
from voip_app.platform.android import AndroidPlatform


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(android_module, "POLL_S", 0.0)


@pytest.fixture
def activity() -> FakeActivity:
    return FakeActivity()


@pytest.fixture
def on_android(monkeypatch: pytest.MonkeyPatch, activity: FakeActivity) -> AndroidPlatform:
    monkeypatch.setenv("MAIN_ACTIVITY_HOST_CLASS_NAME", "test.acme.crm.MainActivity")
    monkeypatch.setitem(sys.modules, "jnius", fake_jnius(activity))
    platform = current_platform()
    assert isinstance(platform, AndroidPlatform)
    return platform


def test_desktop_grants_everything_and_never_vibrates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAIN_ACTIVITY_HOST_CLASS_NAME", raising=False)
    platform = current_platform()
    assert isinstance(platform, DesktopPlatform)
    assert not is_android()
    assert platform.permission_state(Permission.MICROPHONE) is PermissionState.GRANTED
    platform.start_ring_vibration()
    platform.stop_vibration()
    platform.open_app_settings()


async def test_granted_after_the_dialog(
    on_android: AndroidPlatform, activity: FakeActivity
) -> None:
    assert on_android.permission_state(Permission.MICROPHONE) is PermissionState.DENIED
    state = await on_android.request_permission(Permission.MICROPHONE)
    assert state is PermissionState.GRANTED
    # The call's notification (Android 13+) is asked right after, through the same module.
    assert activity.requests == [
        ["android.permission.RECORD_AUDIO"],
        ["android.permission.POST_NOTIFICATIONS"],
    ]
    assert on_android.permission_state(Permission.NOTIFICATIONS) is PermissionState.GRANTED
    # Granted permissions are not asked again.
    assert await on_android.request_permission(Permission.MICROPHONE) is PermissionState.GRANTED
    assert len(activity.requests) == 2


async def test_denied_can_be_asked_again(
    on_android: AndroidPlatform, activity: FakeActivity
) -> None:
    activity.answer = "deny"
    assert await on_android.request_permission(Permission.MICROPHONE) is PermissionState.DENIED
    activity.answer = "grant"
    assert await on_android.request_permission(Permission.MICROPHONE) is PermissionState.GRANTED
    assert activity.requests[:2] == [["android.permission.RECORD_AUDIO"]] * 2


async def test_denied_forever_is_blocked_and_settings_open(
    on_android: AndroidPlatform, activity: FakeActivity
) -> None:
    activity.answer = "deny"  # Android offers "don't ask again" from the second dialog on
    assert await on_android.request_permission(Permission.MICROPHONE) is PermissionState.DENIED
    activity.answer = "deny_forever"
    assert await on_android.request_permission(Permission.MICROPHONE) is PermissionState.BLOCKED
    assert on_android.permission_state(Permission.MICROPHONE) is PermissionState.BLOCKED
    on_android.open_app_settings()
    (intent,) = activity.started
    assert isinstance(intent, FakeIntent)
    assert intent.action == "android.settings.APPLICATION_DETAILS_SETTINGS"
    assert intent.data == "package:test.acme.crm.crm_calls"
    assert intent.flags & FakeIntent.FLAG_ACTIVITY_NEW_TASK


async def test_bluetooth_needs_no_runtime_grant_before_android_12(
    monkeypatch: pytest.MonkeyPatch, activity: FakeActivity
) -> None:
    monkeypatch.setenv("MAIN_ACTIVITY_HOST_CLASS_NAME", "test.acme.crm.MainActivity")
    monkeypatch.setitem(sys.modules, "jnius", fake_jnius(activity, sdk_int=30))
    platform = AndroidPlatform.from_environment()
    assert await platform.request_permission(Permission.BLUETOOTH) is PermissionState.GRANTED
    assert activity.requests == []


def test_ring_vibration_repeats_until_stopped(
    on_android: AndroidPlatform, activity: FakeActivity
) -> None:
    on_android.stop_vibration()  # nothing started: nothing to cancel
    assert activity.vibrator.cancelled == 0
    on_android.start_ring_vibration()
    ((pattern, repeat),) = activity.vibrator.patterns
    assert pattern == android_module.RING_PATTERN_MS
    assert repeat == 0
    on_android.stop_vibration()
    assert activity.vibrator.cancelled == 1


def test_no_vibrator_is_fine(on_android: AndroidPlatform, activity: FakeActivity) -> None:
    activity.vibrator.present = False
    on_android.start_ring_vibration()
    assert activity.vibrator.patterns == []


def test_missing_host_class_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, activity: FakeActivity
) -> None:
    monkeypatch.delenv("MAIN_ACTIVITY_HOST_CLASS_NAME", raising=False)
    monkeypatch.setitem(sys.modules, "jnius", fake_jnius(activity))
    with pytest.raises(RuntimeError, match="MAIN_ACTIVITY_HOST_CLASS_NAME"):
        AndroidPlatform.from_environment()


async def test_a_dismissed_dialog_is_not_a_final_denial(
    on_android: AndroidPlatform, activity: FakeActivity
) -> None:
    activity.answer = "dismiss"  # back, or a tap outside: no answer at all
    assert await on_android.request_permission(Permission.MICROPHONE) is PermissionState.DENIED
    assert on_android.permission_state(Permission.MICROPHONE) is PermissionState.DENIED
    activity.answer = "grant"  # so Android shows the dialog again, and the person allows it
    assert await on_android.request_permission(Permission.MICROPHONE) is PermissionState.GRANTED


async def test_a_second_denial_is_final_as_android_11_makes_it(
    on_android: AndroidPlatform, activity: FakeActivity
) -> None:
    activity.answer = "deny"
    assert await on_android.request_permission(Permission.MICROPHONE) is PermissionState.DENIED
    assert await on_android.request_permission(Permission.MICROPHONE) is PermissionState.BLOCKED
    assert on_android.permission_state(Permission.MICROPHONE) is PermissionState.BLOCKED
    # Asking again shows nothing: Android answers at once, and it stays blocked.
    assert await on_android.request_permission(Permission.MICROPHONE) is PermissionState.BLOCKED


async def test_blocked_in_an_earlier_run_shows_as_blocked_once_asked(
    on_android: AndroidPlatform, activity: FakeActivity
) -> None:
    activity.blocked.add(Permission.MICROPHONE.value)
    assert on_android.permission_state(Permission.MICROPHONE) is PermissionState.DENIED  # unknown
    assert await on_android.request_permission(Permission.MICROPHONE) is PermissionState.BLOCKED
    assert activity.requests == [["android.permission.RECORD_AUDIO"]]  # no notification asked


async def test_granted_in_the_settings_after_a_block_is_granted(
    on_android: AndroidPlatform, activity: FakeActivity
) -> None:
    activity.answer = "deny"  # Android offers "don't ask again" from the second dialog on
    assert await on_android.request_permission(Permission.MICROPHONE) is PermissionState.DENIED
    activity.answer = "deny_forever"
    assert await on_android.request_permission(Permission.MICROPHONE) is PermissionState.BLOCKED
    activity.granted.add(Permission.MICROPHONE.value)
    assert on_android.permission_state(Permission.MICROPHONE) is PermissionState.GRANTED


async def test_a_notification_denial_does_not_fail_the_microphone(
    on_android: AndroidPlatform, activity: FakeActivity
) -> None:
    activity.blocked.add(Permission.NOTIFICATIONS.value)
    assert await on_android.request_permission(Permission.MICROPHONE) is PermissionState.GRANTED
    assert on_android.permission_state(Permission.NOTIFICATIONS) is PermissionState.BLOCKED


async def test_notifications_need_no_runtime_grant_before_android_13(
    monkeypatch: pytest.MonkeyPatch, activity: FakeActivity
) -> None:
    monkeypatch.setenv("MAIN_ACTIVITY_HOST_CLASS_NAME", "test.acme.crm.MainActivity")
    monkeypatch.setitem(sys.modules, "jnius", fake_jnius(activity, sdk_int=32))
    platform = AndroidPlatform.from_environment()
    assert await platform.request_permission(Permission.MICROPHONE) is PermissionState.GRANTED
    assert activity.requests == [["android.permission.RECORD_AUDIO"]]
    assert platform.permission_state(Permission.NOTIFICATIONS) is PermissionState.GRANTED
