"""The media interface on Android: the ``flet-livekit`` extension (LiveKit's Flutter SDK).

LiveKit's Python SDK has no Android build, so on Android a call's media runs in the Flutter client
and :class:`AndroidMediaSession` drives it through the :class:`flet_livekit.LiveKitRoom` service
(``android/flet_livekit``). The call engine sees the same :class:`MediaSession` as on desktop:
this module only translates, both ways.

:func:`choose_media_session` is the one place the choice is made, once at start:
``choose_media_session(desktop=LiveKitMediaSession)`` (or whatever the desktop factory is) returns
this implementation inside the APK and the desktop one everywhere else.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import Any, get_args

from flet_livekit import (
    AudioOutputChangedEvent,
    AudioOutputInfo,
    ConnectionQualityEvent,
    DisconnectedEvent,
    LiveKitError,
    LiveKitRoom,
    ParticipantEvent,
    RoomEvent,
    TrackMutedEvent,
)

from voip_app.media.base import (
    AudioOutput,
    AudioOutputChanged,
    AudioOutputKind,
    Connected,
    ConnectionQuality,
    ConnectionQualityChanged,
    Disconnected,
    MediaError,
    MediaEvent,
    MediaListener,
    MediaSession,
    ParticipantConnected,
    ParticipantDisconnected,
    Reconnected,
    Reconnecting,
    TrackMuted,
)

log = logging.getLogger(__name__)

_QUALITIES: frozenset[str] = frozenset(get_args(ConnectionQuality))
_OUTPUT_KINDS: frozenset[str] = frozenset(get_args(AudioOutputKind))


def running_on_android() -> bool:
    """True inside the APK (Flet's Android runtime sets the activity host class name)."""
    return sys.platform == "android" or bool(os.environ.get("MAIN_ACTIVITY_HOST_CLASS_NAME"))


def choose_media_session(
    desktop: Callable[[], MediaSession], *, android: bool | None = None
) -> MediaSession:
    """This platform's media session: the extension on Android, ``desktop()`` elsewhere.

    On Android, call it where Flet runs the app (inside ``main(page)`` or an event handler): the
    extension's service registers with the current page.
    """
    if running_on_android() if android is None else android:
        return AndroidMediaSession()
    return desktop()


class AndroidMediaSession:
    """:class:`MediaSession` on the :class:`flet_livekit.LiveKitRoom` service.

    Construct it inside the Flet app (the service registers with the current page); keep it for
    the call: it holds the only reference that keeps the service registered.
    """

    def __init__(
        self,
        *,
        notification_title: str = "Call in progress",
        notification_text: str = "Tap to return to the call",
    ) -> None:
        self._listener: MediaListener | None = None
        # Handlers go in with the registration: the Dart side sends only the events whose
        # `on_*` handler is set when it first sees the service.
        self.room = LiveKitRoom(
            notification_title=notification_title,
            notification_text=notification_text,
            on_connected=self._on_connected,
            on_reconnecting=self._on_reconnecting,
            on_reconnected=self._on_reconnected,
            on_disconnected=self._on_disconnected,
            on_participant_connected=self._on_participant_connected,
            on_participant_disconnected=self._on_participant_disconnected,
            on_track_muted=self._on_track_muted,
            on_connection_quality=self._on_connection_quality,
            on_audio_output_changed=self._on_audio_output_changed,
        )

    # -- MediaSession ------------------------------------------------------------------------

    def set_listener(self, listener: MediaListener | None) -> None:
        self._listener = listener

    async def connect(self, url: str, token: str) -> None:
        try:
            await self.room.connect(url, token)
        except (ValueError, LiveKitError) as e:
            raise MediaError(f"Could not join the call's audio: {e}") from e

    async def disconnect(self) -> None:
        try:
            await self.room.disconnect()
        except LiveKitError as e:
            raise MediaError(f"Could not leave the call's audio cleanly: {e}") from e

    async def set_microphone_enabled(self, enabled: bool) -> None:
        try:
            await self.room.set_microphone_enabled(enabled)
        except (ValueError, LiveKitError) as e:
            action = "unmute" if enabled else "mute"
            raise MediaError(f"Could not {action} the microphone: {e}") from e

    async def list_audio_outputs(self) -> list[AudioOutput]:
        try:
            outputs = await self.room.list_audio_outputs()
        except LiveKitError as e:
            raise MediaError(f"Could not list the audio outputs: {e}") from e
        return [_output(o) for o in outputs]

    async def select_audio_output(self, output_id: str) -> None:
        try:
            await self.room.select_audio_output(output_id)
        except (ValueError, LiveKitError) as e:
            raise MediaError(f"Could not switch the audio output: {e}") from e

    # -- events from the Dart side -----------------------------------------------------------

    def _emit(self, event: MediaEvent) -> None:
        listener = self._listener
        if listener is None:
            return
        try:
            listener(event)
        except Exception:
            log.exception("media listener failed on %r", event)

    def _on_connected(self, e: RoomEvent) -> None:
        self._emit(Connected())

    def _on_reconnecting(self, e: RoomEvent) -> None:
        self._emit(Reconnecting())

    def _on_reconnected(self, e: RoomEvent) -> None:
        self._emit(Reconnected())

    def _on_disconnected(self, e: DisconnectedEvent) -> None:
        self._emit(Disconnected(reason=str(e.reason).lower() or "unknown"))

    def _on_participant_connected(self, e: ParticipantEvent) -> None:
        self._emit(ParticipantConnected(identity=e.identity))

    def _on_participant_disconnected(self, e: ParticipantEvent) -> None:
        self._emit(ParticipantDisconnected(identity=e.identity))

    def _on_track_muted(self, e: TrackMutedEvent) -> None:
        self._emit(TrackMuted(identity=e.identity, muted=bool(e.muted)))

    def _on_connection_quality(self, e: ConnectionQualityEvent) -> None:
        quality: Any = e.quality if e.quality in _QUALITIES else "unknown"
        self._emit(ConnectionQualityChanged(identity=e.identity, quality=quality))

    def _on_audio_output_changed(self, e: AudioOutputChangedEvent) -> None:
        kind: Any = e.kind if e.kind in _OUTPUT_KINDS else "system"
        output = AudioOutput(id=e.output_id, name=e.output_name, kind=kind)
        self._emit(AudioOutputChanged(output=output))


def _output(info: AudioOutputInfo) -> AudioOutput:
    return AudioOutput(id=info.id, name=info.name, kind=info.kind)


__all__ = ["AndroidMediaSession", "choose_media_session", "running_on_android"]
