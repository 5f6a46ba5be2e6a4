"""Android through pyjnius: runtime permissions, app settings, ring vibration.

The only module of the app that touches ``jnius``. Everything Java is reached through the
``autoclass`` callable and the activity handed to :class:`AndroidPlatform`, so the unit tests drive
it with a fake ``jnius`` (``tests/ui/fake_jnius.py``) and no device.

Permission requests use ``Activity.requestPermissions`` directly (no androidx, no Java callback
class that R8 could strip): the system dialog takes the window focus while it is shown, so the
outcome is read with ``checkSelfPermission`` once the activity has its focus back.

Whether a denial is final ("don't ask again", or a second denial from Android 11 on) is read from
``shouldShowRequestPermissionRationale`` before and after the request, the way Android defines it:
the rationale is offered after a first denial and withdrawn with a final one, and a request
Android answers without showing a dialog is final too. A dialog dismissed without an answer
(back, a tap outside) changes nothing, so it is not a denial: the next request shows it again.

Asking for the microphone asks for notifications too (Android 13+), right after: the ongoing-call
notification is the way back into a call, and Android hides it without the permission.
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
RUNTIME_SINCE_SDK = {Permission.BLUETOOTH: 31, Permission.NOTIFICATIONS: 33}
"""Android versions (API levels) from which a permission must be asked at run time; before
that it is granted at install. RECORD_AUDIO is a runtime permission on every API the app runs
on (23+)."""
ASKED_WITH: dict[Permission, tuple[Permission, ...]] = {
    Permission.MICROPHONE: (Permission.NOTIFICATIONS,),
}
"""Asked right after a permission is granted: a call's microphone comes with its notification."""
FULL_SCREEN_PERMISSION_SINCE_SDK = 34
"""From Android 14, ``USE_FULL_SCREEN_INTENT`` is granted only to calling and alarm apps, or by
the person (``NotificationManager.canUseFullScreenIntent``)."""
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
        self._blocked: set[Permission] = set()
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
        return self._sdk_int >= RUNTIME_SINCE_SDK.get(permission, 0)

    def _granted(self, permission: Permission) -> bool:
        return int(self._activity.checkSelfPermission(permission.value)) == PERMISSION_GRANTED

    def _rationale(self, permission: Permission) -> bool:
        return bool(self._activity.shouldShowRequestPermissionRationale(permission.value))

    def permission_state(self, permission: Permission) -> PermissionState:
        if not self._needs_runtime_grant(permission) or self._granted(permission):
            self._blocked.discard(permission)  # granted since (e.g. in the system settings)
            return PermissionState.GRANTED
        if permission in self._blocked:
            return PermissionState.BLOCKED
        return PermissionState.DENIED

    async def request_permission(self, permission: Permission) -> PermissionState:
        state = await self._request(permission)
        if state is PermissionState.GRANTED:
            for companion in ASKED_WITH.get(permission, ()):
                await self._request(companion)  # its outcome does not change this one
        return state

    async def _request(self, permission: Permission) -> PermissionState:
        state = self.permission_state(permission)
        if state is not PermissionState.DENIED:
            return state
        rationale_before = self._rationale(permission)
        self._activity.requestPermissions([permission.value], REQUEST_CODE)
        dialog_shown = await self._wait_for_dialog()
        # No rationale after a denial: final if Android showed no dialog, or if the rationale
        # was there before (a second denial, or "don't ask again"). Otherwise the dialog was
        # dismissed unanswered, and Android will show it again.
        denied_without_rationale = not self._granted(permission) and not self._rationale(permission)
        if denied_without_rationale and (not dialog_shown or rationale_before):
            self._blocked.add(permission)
        return self.permission_state(permission)

    async def _wait_for_dialog(self) -> bool:
        """Wait until the system dialog has come (focus lost) and gone (focus back); False
        when none came (Android answered by itself)."""
        for _ in range(DIALOG_APPEAR_POLLS):
            if not bool(self._activity.hasWindowFocus()):
                break
            await asyncio.sleep(POLL_S)
        else:
            return False
        for _ in range(DIALOG_ANSWER_POLLS):
            if bool(self._activity.hasWindowFocus()):
                break
            await asyncio.sleep(POLL_S)
        return True

    def open_app_settings(self) -> None:
        settings = self._autoclass("android.provider.Settings")
        self._open_settings(settings.ACTION_APPLICATION_DETAILS_SETTINGS)

    def _open_settings(self, action: str) -> None:
        """This app's page of the system settings named by ``action``."""
        intent_class = self._autoclass("android.content.Intent")
        uri = self._autoclass("android.net.Uri")
        intent = intent_class(action)
        intent.setData(uri.fromParts("package", self._activity.getPackageName(), None))
        intent.addFlags(intent_class.FLAG_ACTIVITY_NEW_TASK)
        self._activity.startActivity(intent)

    # --- full-screen incoming calls (Android 14+) ----------------------------------------------

    def can_ring_full_screen(self) -> bool:
        if self._sdk_int < FULL_SCREEN_PERMISSION_SINCE_SDK:
            return True  # granted with the manifest's USE_FULL_SCREEN_INTENT
        try:
            context = self._autoclass("android.content.Context")
            manager = self._activity.getSystemService(context.NOTIFICATION_SERVICE)
            return manager is None or bool(manager.canUseFullScreenIntent())
        except Exception:  # an answer we cannot read is no reason to nag
            log.exception("could not read the full-screen notification permission")
            return True

    def open_full_screen_settings(self) -> None:
        settings = self._autoclass("android.provider.Settings")
        self._open_settings(settings.ACTION_MANAGE_APP_USE_FULL_SCREEN_INTENT)

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
