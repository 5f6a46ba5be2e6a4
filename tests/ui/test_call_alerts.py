"""A phone rings with the app closed only through its notification: the platform reads Android
14's full-screen-notification permission and opens its settings page (against the fake
``jnius``), and the app, after sign-in, asks for notifications and explains, with a way to the
setting, when a call cannot fill the locked screen (against the fake platform)."""

from __future__ import annotations

import sys

import pytest

from tests.ui.fake_jnius import FakeActivity, FakeIntent, fake_jnius
from tests.ui.fakes import FakeEngine, FakePlatform, FakeRinger, Loop, MemoryStore
from tests.ui.test_models import signed_in
from voip_app.platform import DesktopPlatform, Permission, PermissionState, current_platform
from voip_app.platform.android import AndroidPlatform
from voip_app.ui.models import AppModel
from voip_app.ui.models.banner import FULL_SCREEN_HINT, BannerAction


def android(monkeypatch: pytest.MonkeyPatch, activity: FakeActivity, sdk: int) -> AndroidPlatform:
    monkeypatch.setenv("MAIN_ACTIVITY_HOST_CLASS_NAME", "test.acme.crm.MainActivity")
    monkeypatch.setitem(sys.modules, "jnius", fake_jnius(activity, sdk_int=sdk))
    platform = current_platform()
    assert isinstance(platform, AndroidPlatform)
    return platform


@pytest.mark.parametrize(
    ("sdk", "allowed", "expected"), [(34, False, False), (34, True, True), (33, False, True)]
)
def test_full_screen_is_asked_of_android_14_only(
    monkeypatch: pytest.MonkeyPatch, sdk: int, allowed: bool, expected: bool
) -> None:
    activity = FakeActivity()
    activity.notifications.full_screen = allowed
    assert android(monkeypatch, activity, sdk).can_ring_full_screen() is expected


def test_the_full_screen_setting_opens_on_this_apps_page(monkeypatch: pytest.MonkeyPatch) -> None:
    activity = FakeActivity()
    android(monkeypatch, activity, 34).open_full_screen_settings()
    (intent,) = activity.started
    assert isinstance(intent, FakeIntent)
    assert intent.action == "android.settings.MANAGE_APP_USE_FULL_SCREEN_INTENT"
    assert intent.data == "package:test.acme.crm.crm_calls"
    assert intent.flags & FakeIntent.FLAG_ACTIVITY_NEW_TASK


def test_desktop_always_rings_full_screen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAIN_ACTIVITY_HOST_CLASS_NAME", raising=False)
    platform = current_platform()
    assert isinstance(platform, DesktopPlatform)
    assert platform.can_ring_full_screen()
    platform.open_full_screen_settings()


def app(platform: FakePlatform) -> AppModel:
    loop = Loop()
    return AppModel(
        engine=FakeEngine(),
        ringer=FakeRinger(),
        store=MemoryStore(),
        platform=platform,
        post=loop.post,
        spawn=loop.spawn,
    )


async def test_without_full_screen_the_app_explains_and_opens_the_setting() -> None:
    platform = FakePlatform(full_screen=False)
    model = app(platform)
    await signed_in(model)
    assert (model.banner.message, model.banner.action) == (
        FULL_SCREEN_HINT,
        BannerAction.ALLOW_FULL_SCREEN,
    )
    assert model.banner.action_label == "Allow full screen"
    await model.banner_action()
    assert platform.full_screen_settings_opened == 1
    assert not model.banner.visible


async def test_notifications_are_asked_at_sign_in_and_nothing_shows_when_all_is_allowed() -> None:
    platform = FakePlatform(states={Permission.NOTIFICATIONS: PermissionState.DENIED})
    model = app(platform)
    await signed_in(model)
    assert platform.requests == [Permission.NOTIFICATIONS]
    assert not model.banner.visible
