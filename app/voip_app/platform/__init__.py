"""What the app needs from the operating system, behind one small interface.

:class:`Platform` is everything the UI asks of the device: runtime permissions (microphone,
Bluetooth, notifications), opening the app's system settings after a permanent denial, and
vibrating while a call rings. :func:`current_platform` picks the implementation: on Android the
pyjnius one (:mod:`voip_app.platform.android`, the only module that imports ``jnius``), everywhere
else :class:`DesktopPlatform`, where permissions are granted by the OS at device level and
nothing vibrates.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from typing import Protocol


class Permission(StrEnum):
    """Runtime permissions the app requests (their Android manifest names)."""

    MICROPHONE = "android.permission.RECORD_AUDIO"
    BLUETOOTH = "android.permission.BLUETOOTH_CONNECT"
    NOTIFICATIONS = "android.permission.POST_NOTIFICATIONS"
    """The ongoing-call notification, the way back into a call (Android 13+ asks for it)."""


class PermissionState(StrEnum):
    GRANTED = "granted"
    DENIED = "denied"
    """Denied, but the system dialog can be shown again."""
    BLOCKED = "blocked"
    """Denied with "don't ask again": only the app's system settings can grant it now."""


class Platform(Protocol):
    """Device services the UI uses; every method is safe to call on any platform."""

    name: str

    def permission_state(self, permission: Permission) -> PermissionState: ...

    async def request_permission(self, permission: Permission) -> PermissionState:
        """Show the system dialog (if it still can) and return the outcome."""
        ...

    def open_app_settings(self) -> None:
        """Open this app's page in the system settings (the way out of ``BLOCKED``)."""

    def start_ring_vibration(self) -> None:
        """Vibrate in a repeating ring pattern until :meth:`stop_vibration`."""

    def stop_vibration(self) -> None: ...

    def can_ring_full_screen(self) -> bool:
        """An incoming call's notification may take the whole (locked) screen: Android 14+ asks
        the person for it ("full-screen notifications"); elsewhere, always."""
        ...

    def open_full_screen_settings(self) -> None:
        """Open the system page where the person allows full-screen notifications."""


class DesktopPlatform:
    """Desktop and web: the OS grants devices itself; there is nothing to vibrate."""

    name = "desktop"

    def permission_state(self, permission: Permission) -> PermissionState:
        return PermissionState.GRANTED

    async def request_permission(self, permission: Permission) -> PermissionState:
        return PermissionState.GRANTED

    def open_app_settings(self) -> None:
        return None

    def start_ring_vibration(self) -> None:
        return None

    def stop_vibration(self) -> None:
        return None

    def can_ring_full_screen(self) -> bool:
        return True

    def open_full_screen_settings(self) -> None:
        return None


def is_android() -> bool:
    """True inside the APK (Flet's Android runtime sets the activity host class name)."""
    return sys.platform == "android" or bool(os.environ.get("MAIN_ACTIVITY_HOST_CLASS_NAME"))


def current_platform() -> Platform:
    if is_android():
        from voip_app.platform.android import AndroidPlatform

        return AndroidPlatform.from_environment()
    return DesktopPlatform()


__all__ = [
    "DesktopPlatform",
    "Permission",
    "PermissionState",
    "Platform",
    "current_platform",
    "is_android",
]
