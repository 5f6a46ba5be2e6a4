"""The call screens' model (outgoing, incoming, in call): the engine's call as it is, and the
person's actions on it. It decides nothing about phases: the engine's table does, and an action
the call has moved past since the screen was drawn is ignored. The ringer rings exactly while the
call is ``incoming``."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import flet as ft

from voip_app.call.machine import IllegalTrigger, Phase
from voip_app.call.model import ActiveCall
from voip_app.errors import VoipError
from voip_app.media.base import AudioOutput, MediaError
from voip_app.platform import Permission, PermissionState, Platform
from voip_app.ui.models.banner import Banner, BannerAction
from voip_app.ui.ports import EnginePort, Ringer
from voip_contract import CallStatus, Contact, Reason

log = logging.getLogger(__name__)

Fail = Callable[[BaseException], Awaitable[None]]
"""Show a failure (or end the session, when the server refused it)."""

_SCREENS = {
    Phase.DIALING: "outgoing",
    Phase.RINGING_OUT: "outgoing",
    Phase.INCOMING: "incoming",
    Phase.CONNECTING: "incall",
    Phase.ACTIVE: "incall",
    Phase.RECONNECTING: "incall",
}
_STATUS_TEXTS = {
    Phase.DIALING: "Calling…",
    Phase.RINGING_OUT: "Ringing…",
    Phase.CONNECTING: "Connecting…",
    Phase.INCOMING: "Incoming call",
    Phase.ACTIVE: "Connected",
    Phase.RECONNECTING: "Reconnecting…",
}
_QUALITY_TEXTS = {
    "excellent": "Excellent connection",
    "good": "Good connection",
    "poor": "Poor connection",
    "lost": "Connection lost",
}


def ended_message(call: ActiveCall) -> tuple[str, BannerAction] | None:
    """The banner for a call that ended badly from this side, or ``None`` for a normal end."""
    name = call.peer.display_name or "They"
    outgoing = call.direction == "outgoing"
    if call.error:
        return call.error, BannerAction.CALL_AGAIN if outgoing else BannerAction.NONE
    status, reason = call.status, call.reason
    if status is CallStatus.BUSY or reason is Reason.CALLEE_BUSY:
        return f"{name} is on another call. Try again in a few minutes.", BannerAction.CALL_AGAIN
    if status is CallStatus.FAILED or reason is Reason.MEDIA_UNAVAILABLE:
        return (
            "The call could not connect: the media server is unavailable. Try again shortly.",
            BannerAction.CALL_AGAIN if outgoing else BannerAction.NONE,
        )
    if not outgoing:
        return None
    if reason is Reason.CALLEE_OFFLINE:
        return (
            f"{name} is offline. They will see your missed call; try again later.",
            BannerAction.CALL_AGAIN,
        )
    if status is CallStatus.MISSED:
        return f"{name} did not answer. They will see your missed call.", BannerAction.CALL_AGAIN
    if status is CallStatus.DECLINED:
        return f"{name} declined the call.", BannerAction.CALL_AGAIN
    return None


@ft.observable
@dataclass
class CallModel:
    """The call on this device (``None``: none) and where its audio goes."""

    engine: EnginePort
    ringer: Ringer
    platform: Platform
    banner: Banner
    fail: Fail
    call: ActiveCall | None = None
    outputs: list[AudioOutput] = field(default_factory=list)
    last_callee: Contact | None = None

    @property
    def screen(self) -> str:
        """``outgoing``, ``incoming``, ``incall`` or ``""`` (no call screen)."""
        call = self.call
        if call is None:
            return ""
        if call.phase is Phase.CONNECTING and call.direction == "outgoing":
            return "outgoing"  # the caller's screen stays until the media is up
        return _SCREENS.get(call.phase, "")

    @property
    def status_text(self) -> str:
        return _STATUS_TEXTS.get(self.call.phase, "") if self.call else ""

    @property
    def quality_text(self) -> str:
        call = self.call
        if call is not None and call.phase in (Phase.RECONNECTING, Phase.CONNECTING):
            return self.status_text
        return _QUALITY_TEXTS.get(call.quality if call else "unknown", "Connected")

    @property
    def devices_text(self) -> str:
        """What is missing on this side and the way forward ("" when both devices work)."""
        call = self.call
        if call is None or (call.has_microphone and call.has_speaker):
            return ""
        if not call.has_microphone and not call.has_speaker:
            missing, effect = "No microphone and no speaker", "neither of you can hear the other"
        elif not call.has_microphone:
            missing, effect = "No microphone", "the other person cannot hear you"
        else:
            missing, effect = "No speaker", "you cannot hear the other person"
        return (
            f"{missing}: {effect}. Plug one in, or choose another in Settings; "
            "the call goes on and picks it up."
        )

    def local_level(self) -> float:
        """What the other side gets from this microphone now, 0..1 (0 while muted)."""
        return self.engine.audio_levels()[0]

    def remote_level(self) -> float:
        """What this side hears from the other now, 0..1."""
        return self.engine.audio_levels()[1]

    @property
    def output_label(self) -> str:
        output = self.call.output if self.call else None
        return output.name if output else "System default"

    def show(self, call: ActiveCall | None) -> bool:
        """The engine's call now; ``True`` when it has just ended."""
        before, self.call = self.call, call
        self.ringer.set_ringing(call is not None and call.phase is Phase.INCOMING)
        ended = call is not None and call.phase is Phase.ENDED
        return ended and (before is None or before.phase is not Phase.ENDED)

    # --- the person's actions -------------------------------------------------------------

    async def dial(self, contact: Contact) -> None:
        """Call ``contact`` (once the microphone may be used)."""
        if not await self._microphone_ready():
            return
        self.banner.clear()
        self.last_callee = contact
        await self._run(lambda: self.engine.dial(contact))

    async def call_again(self) -> None:
        if self.last_callee is not None:
            await self.dial(self.last_callee)

    async def accept(self) -> None:
        if await self._microphone_ready():
            await self._run(self.engine.accept)

    async def decline(self) -> None:
        await self._run(self.engine.decline)

    async def cancel(self) -> None:
        await self._run(self.engine.cancel)

    async def hang_up(self) -> None:
        await self._run(self.engine.hang_up)

    async def toggle_mute(self) -> None:
        muted = not (self.call is not None and self.call.muted)
        await self._run(lambda: self.engine.set_muted(muted))

    async def load_outputs(self) -> None:
        try:
            self.outputs = await self.engine.audio_outputs()
        except (VoipError, MediaError) as exc:
            await self.fail(exc)

    async def select_output(self, output_id: str) -> None:
        await self._run(lambda: self.engine.select_audio_output(output_id))

    async def _run(self, action: Callable[[], Awaitable[None]]) -> None:
        try:
            await action()
        except IllegalTrigger as exc:
            log.info("ignored, the call has moved on: %s", exc)
        except (VoipError, MediaError) as exc:
            await self.fail(exc)

    async def _microphone_ready(self) -> bool:
        state = self.platform.permission_state(Permission.MICROPHONE)
        if state is PermissionState.DENIED:
            state = await self.platform.request_permission(Permission.MICROPHONE)
        if state is PermissionState.GRANTED:
            await self.platform.request_permission(Permission.BLUETOOTH)  # optional: headsets
            return True
        if state is PermissionState.BLOCKED:
            self.banner.show(
                "Microphone access is off for this app. Turn it on in the app's settings "
                "to make and answer calls.",
                BannerAction.OPEN_SETTINGS,
            )
        else:
            self.banner.show(
                "Calls need the microphone. Allow it so the other person can hear you.",
                BannerAction.ALLOW_MICROPHONE,
            )
        return False
