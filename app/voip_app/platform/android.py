"""Android through pyjnius: runtime permissions, app settings, ring vibration.

The only module of the app that touches ``jnius``. Everything Java is reached through the
``autoclass`` callable and the activity handed to :class:`AndroidPlatform`, so the unit tests drive
it with a fake ``jnius`` (``tests/ui/fake_jnius.py``) and no device.

Permission requests use ``Activity.requestPermissions`` directly (no androidx, no Java callback
class that R8 could strip): the system dialog takes the window focus while it is shown, so the
outcome is read with ``checkSelfPermission`` once the activity has its focus back.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from typing import Any

from voip_app.platform import Permission, PermissionState

log = logging.getLogger(__name__)

PERMISSION_GRANTED = 0
REQUEST_CODE = 4711
BLUETOOTH_RUNTIME_SDK = 31
"""BLUETOOTH_CONNECT is a runtime permission from Android 12 (API 31) on; granted before."""
RING_PATTERN_MS = [0, 800, 400, 800, 2000]
"""Vibrate, pause, vibrate, long pause; repeated from index 0 until cancelled."""
POLL_S = 0.2
DIALOG_APPEAR_POLLS = 15
"""How long (in polls) the system dialog may take to take the focus."""
DIALOG_ANSWER_POLLS = 900
"""How long (in polls) a person may take to answer it: three minutes."""

Autoclass = Callable[[str], Any]


class AndroidPlatform:
    """:class:`voip_app.platform.Platform` on Android."""

    name = "android"

    def __init__(self, *, autoclass: Autoclass, activity: Any, sdk_int: int) -> None:
        self._autoclass = autoclass
        self._activity = activity
        self._sdk_int = sdk_int
        self._asked: set[Permission] = set()
        self._vibrator: Any | None = None

    @classmethod
    def from_environment(cls) -> AndroidPlatform:
        """The running app's activity, found the way Flet's Android runtime publishes it."""
        from jnius import autoclass  # the app's one jnius import

        host_class = os.environ.get("MAIN_ACTIVITY_HOST_CLASS_NAME")
        if not host_class:
            raise RuntimeError("MAIN_ACTIVITY_HOST_CLASS_NAME is not set: not a Flet Android app")
        activity = autoclass(host_class).mActivity
        sdk_int = int(autoclass("android.os.Build$VERSION").SDK_INT)
        return cls(autoclass=autoclass, activity=activity, sdk_int=sdk_int)

    # --- permissions ---------------------------------------------------------------------------

    def _needs_runtime_grant(self, permission: Permission) -> bool:
        return not (permission is Permission.BLUETOOTH and self._sdk_int < BLUETOOTH_RUNTIME_SDK)

    def permission_state(self, permission: Permission) -> PermissionState:
        if not self._needs_runtime_grant(permission):
            return PermissionState.GRANTED
        if int(self._activity.checkSelfPermission(permission.value)) == PERMISSION_GRANTED:
            return PermissionState.GRANTED
        if permission in self._asked and not bool(
            self._activity.shouldShowRequestPermissionRationale(permission.value)
        ):
            return PermissionState.BLOCKED
        return PermissionState.DENIED

    async def request_permission(self, permission: Permission) -> PermissionState:
        state = self.permission_state(permission)
        if state is not PermissionState.DENIED:
            return state
        self._asked.add(permission)
        self._activity.requestPermissions([permission.value], REQUEST_CODE)
        await self._wait_for_dialog()
        return self.permission_state(permission)

    async def _wait_for_dialog(self) -> None:
        """Wait until the system dialog has come (focus lost) and gone (focus back)."""
        for _ in range(DIALOG_APPEAR_POLLS):
            if not bool(self._activity.hasWindowFocus()):
                break
            await asyncio.sleep(POLL_S)
        else:
            return  # the system answered without a dialog (e.g. blocked): state is final
        for _ in range(DIALOG_ANSWER_POLLS):
            if bool(self._activity.hasWindowFocus()):
                return
            await asyncio.sleep(POLL_S)

    def open_app_settings(self) -> None:
        intent_class = self._autoclass("android.content.Intent")
        settings = self._autoclass("android.provider.Settings")
        uri = self._autoclass("android.net.Uri")
        intent = intent_class(settings.ACTION_APPLICATION_DETAILS_SETTINGS)
        intent.setData(uri.fromParts("package", self._activity.getPackageName(), None))
        intent.addFlags(intent_class.FLAG_ACTIVITY_NEW_TASK)
        self._activity.startActivity(intent)

    # --- vibration -----------------------------------------------------------------------------

    def _get_vibrator(self) -> Any:
        if self._vibrator is None:
            context = self._autoclass("android.content.Context")
            self._vibrator = self._activity.getSystemService(context.VIBRATOR_SERVICE)
        return self._vibrator

    def start_ring_vibration(self) -> None:
        try:
            vibrator = self._get_vibrator()
            if vibrator is None or not bool(vibrator.hasVibrator()):
                return
            effect = self._autoclass("android.os.VibrationEffect")
            vibrator.vibrate(effect.createWaveform(RING_PATTERN_MS, 0))
        except Exception:  # a phone that cannot vibrate still rings
            log.exception("could not start the ring vibration")

    def stop_vibration(self) -> None:
        if self._vibrator is None:
            return
        try:
            self._vibrator.cancel()
        except Exception:
            log.exception("could not stop the vibration")
