"""The media interface on Android: the ``flet-livekit`` extension (LiveKit's Flutter SDK).

LiveKit's Python SDK has no Android build, so on Android a call's media runs in the Flutter client
and :class:`AndroidMediaSession` drives it through the :class:`flet_livekit.LiveKitRoom` service
(``android/flet_livekit``). The call engine sees the same :class:`MediaSession` as on desktop:
this module only translates, both ways.

:func:`platform_media_factory` is the one place the choice is made, once at start::

    engine = CallEngine(media_factory=platform_media_factory(default_media_factory, page))

hands the engine this implementation inside the APK and the desktop factory everywhere else.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar, cast, get_args

import flet as ft
from flet.controls.context import _context_page

from voip_app.listeners import notify
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

if TYPE_CHECKING:
    # Imported when a session is built: desktop bundles do not ship the extension, and they
    # import this module for platform_media_factory.
    from flet_livekit import (
        AudioOutputChangedEvent,
        AudioOutputInfo,
        ConnectionQualityEvent,
        DisconnectedEvent,
        LiveKitRoom,
        ParticipantEvent,
        RoomEvent,
        TrackMutedEvent,
    )

log = logging.getLogger(__name__)

P = TypeVar("P")

_QUALITIES: frozenset[str] = frozenset(get_args(ConnectionQuality))
_OUTPUT_KINDS: frozenset[str] = frozenset(get_args(AudioOutputKind))


def running_on_android() -> bool:
    """True inside the APK (Flet's Android runtime sets the activity host class name)."""
    return sys.platform == "android" or bool(os.environ.get("MAIN_ACTIVITY_HOST_CLASS_NAME"))


def platform_media_factory(
    desktop: Callable[[P], MediaSession],
    page: ft.Page | None = None,
    *,
    android: bool | None = None,
) -> Callable[[P], MediaSession]:
    """The engine's media factory for this platform: the extension on Android, else ``desktop``.

    ``page`` is the app's page, which the extension's service registers with (by default the page
    Flet is running the caller for). ``android`` overrides :func:`running_on_android`.
    """
    if not (running_on_android() if android is None else android):
        return desktop

    def android_media(prefs: P) -> MediaSession:
        # Device choices (prefs) do not apply: Android routes through the phone's outputs.
        return AndroidMediaSession(page=page)

    return android_media


class AndroidMediaSession:
    """:class:`MediaSession` on the :class:`flet_livekit.LiveKitRoom` service.

    Its service registers with ``page`` (default: the page Flet is running the caller for); keep
    the session for the call: it holds the reference that keeps the service registered.

    As on desktop, a ``disconnect()`` the app asked for is not reported back as ``Disconnected``:
    that event means the room went away on its own.
    """

    def __init__(
        self,
        *,
        page: ft.Page | None = None,
        notification_title: str = "Call in progress",
        notification_text: str = "Tap to return to the call",
    ) -> None:
        import flet_livekit

        self._errors: tuple[type[Exception], ...] = (ValueError, flet_livekit.LiveKitError)
        self._listener: MediaListener | None = None
        self._leaving = False
        # Flet registers a service with the page in its context; the engine may build sessions
        # outside one (a background task), hence the explicit page.
        # (`_context_page` is declared with a None default, hence the cast for mypy.)
        token = cast("ContextVar[Any]", _context_page).set(page) if page is not None else None
        try:
            self.room = self._new_room(notification_title, notification_text)
        finally:
            if token is not None:
                _context_page.reset(token)

    def _new_room(self, notification_title: str, notification_text: str) -> LiveKitRoom:
        from flet_livekit import LiveKitRoom

        # Handlers go in with the registration: the Dart side sends only the events whose
        # `on_*` handler is set when it first sees the service.
        return LiveKitRoom(
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
        self._leaving = False
        try:
            await self.room.connect(url, token)
        except self._errors as e:
            raise MediaError(f"Could not join the call's audio: {e}") from e

    async def disconnect(self) -> None:
        self._leaving = True
        try:
            await self.room.disconnect()
        except self._errors as e:
            raise MediaError(f"Could not leave the call's audio cleanly: {e}") from e

    async def set_microphone_enabled(self, enabled: bool) -> None:
        try:
            await self.room.set_microphone_enabled(enabled)
        except self._errors as e:
            action = "unmute" if enabled else "mute"
            raise MediaError(f"Could not {action} the microphone: {e}") from e

    async def list_audio_outputs(self) -> list[AudioOutput]:
        try:
            outputs = await self.room.list_audio_outputs()
        except self._errors as e:
            raise MediaError(f"Could not list the audio outputs: {e}") from e
        return [_output(o) for o in outputs]

    async def select_audio_output(self, output_id: str) -> None:
        try:
            await self.room.select_audio_output(output_id)
        except self._errors as e:
            raise MediaError(f"Could not switch the audio output: {e}") from e

    # -- events from the Dart side -----------------------------------------------------------

    def _emit(self, event: MediaEvent) -> None:
        notify([self._listener], event, log=log, what="media")

    def _on_connected(self, e: RoomEvent) -> None:
        self._emit(Connected())

    def _on_reconnecting(self, e: RoomEvent) -> None:
        self._emit(Reconnecting())

    def _on_reconnected(self, e: RoomEvent) -> None:
        self._emit(Reconnected())

    def _on_disconnected(self, e: DisconnectedEvent) -> None:
        if self._leaving:
            return
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


__all__ = ["AndroidMediaSession", "platform_media_factory", "running_on_android"]
