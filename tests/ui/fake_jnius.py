"""A fake ``jnius`` for :mod:`voip_app.platform.android`: just the Android classes it touches.

:class:`FakeActivity` plays the system as Android 11+ defines it: ``requestPermissions`` takes the
window focus away (the dialog) and the test's ``answer`` decides what the person chose when the
focus comes back. A first denial makes Android offer a rationale; a second denial is final (no
rationale, no dialog any more); a dialog dismissed unanswered changes nothing; a final denial is
answered at once, without a dialog.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Any

GRANTED, DENIED = 0, -1


@dataclass
class FakeVibrator:
    present: bool = True
    patterns: list[tuple[list[int], int]] = field(default_factory=list)
    cancelled: int = 0

    def hasVibrator(self) -> bool:
        return self.present

    def vibrate(self, effect: tuple[list[int], int]) -> None:
        self.patterns.append(effect)

    def cancel(self) -> None:
        self.cancelled += 1


@dataclass
class FakeNotificationManager:
    """``NotificationManager.canUseFullScreenIntent()`` (Android 14+)."""

    full_screen: bool = True

    def canUseFullScreenIntent(self) -> bool:
        return self.full_screen


@dataclass
class FakeActivity:
    """The app's activity: permissions, focus, settings intents, the vibrator."""

    granted: set[str] = field(default_factory=set)
    answer: str = "grant"
    """What the person does in the next dialog: ``grant``, ``deny``, ``dismiss`` (back, or a tap
    outside: no answer) or ``deny_forever`` (Android 6 to 10's "don't ask again" box)."""
    rationale: set[str] = field(default_factory=set)
    blocked: set[str] = field(default_factory=set)
    requests: list[list[str]] = field(default_factory=list)
    started: list[Any] = field(default_factory=list)
    vibrator: FakeVibrator = field(default_factory=FakeVibrator)
    notifications: FakeNotificationManager = field(
        default_factory=lambda: FakeNotificationManager()
    )
    _focus_polls: list[bool] = field(default_factory=list)

    def checkSelfPermission(self, name: str) -> int:
        return GRANTED if name in self.granted else DENIED

    def shouldShowRequestPermissionRationale(self, name: str) -> bool:
        return name in self.rationale

    def requestPermissions(self, names: list[str], code: int) -> None:
        self.requests.append(list(names))
        if any(n in self.blocked for n in names):
            return  # the system answers at once, no dialog, no focus change
        self._focus_polls = [False, False]  # the dialog is up for two polls
        for name in names:
            if self.answer == "grant":
                self.granted.add(name)
            elif self.answer == "dismiss":
                pass
            elif self.answer == "deny" and name not in self.rationale:
                self.rationale.add(name)
            else:  # a second denial, or "don't ask again": final
                self.rationale.discard(name)
                self.blocked.add(name)

    def hasWindowFocus(self) -> bool:
        return self._focus_polls.pop(0) if self._focus_polls else True

    def getPackageName(self) -> str:
        return "test.acme.crm.crm_calls"

    def startActivity(self, intent: Any) -> None:
        self.started.append(intent)

    def getSystemService(self, name: str) -> Any:
        return {"vibrator": self.vibrator, "notification": self.notifications}.get(name)


@dataclass
class FakeIntent:
    action: str
    data: Any = None
    flags: int = 0
    FLAG_ACTIVITY_NEW_TASK = 0x10000000

    def setData(self, data: Any) -> None:
        self.data = data

    def addFlags(self, flags: int) -> None:
        self.flags |= flags


class FakeUri:
    @staticmethod
    def fromParts(scheme: str, ssp: str, fragment: Any) -> str:
        return f"{scheme}:{ssp}"


class FakeVibrationEffect:
    @staticmethod
    def createWaveform(timings: list[int], repeat: int) -> tuple[list[int], int]:
        return (list(timings), repeat)


def fake_jnius(activity: FakeActivity, sdk_int: int = 34) -> types.ModuleType:
    """A module object standing in for ``jnius`` (``sys.modules["jnius"]``)."""

    host = types.SimpleNamespace(mActivity=activity)
    classes: dict[str, Any] = {
        "test.acme.crm.MainActivity": host,
        "android.os.Build$VERSION": types.SimpleNamespace(SDK_INT=sdk_int),
        "android.content.Intent": FakeIntent,
        "android.provider.Settings": types.SimpleNamespace(
            ACTION_APPLICATION_DETAILS_SETTINGS="android.settings.APPLICATION_DETAILS_SETTINGS",
            ACTION_MANAGE_APP_USE_FULL_SCREEN_INTENT=(
                "android.settings.MANAGE_APP_USE_FULL_SCREEN_INTENT"
            ),
        ),
        "android.net.Uri": FakeUri,
        "android.content.Context": types.SimpleNamespace(
            VIBRATOR_SERVICE="vibrator", NOTIFICATION_SERVICE="notification"
        ),
        "android.os.VibrationEffect": FakeVibrationEffect,
    }

    def autoclass(name: str) -> Any:
        try:
            return classes[name]
        except KeyError:
            raise LookupError(f"fake jnius has no class {name}") from None

    module = types.ModuleType("jnius")
    module.autoclass = autoclass  # type: ignore[attr-defined]
    return module
