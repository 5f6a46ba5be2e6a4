# No `from __future__ import annotations` here: see the note at the top of `types.py`.
"""The Python side of the extension: one :class:`LiveKitRoom` service per call.

Every method is one ``_invoke_method`` call to the Dart ``LiveKitRoomService`` (see
``src/flutter/flet_livekit/lib/src/room_service.dart``); every room event comes back through an
``on_*`` handler. The Dart side only sends an event whose handler is set when the service is
registered (Flet serializes a set handler as ``on_<name>: true``), so set handlers in the
constructor.

Arguments are checked here, before anything is sent: a bad argument raises :class:`ValueError`
and the Dart side never sees it. Whatever the Dart side refuses or fails raises
:class:`~flet_livekit.types.LiveKitError` with its message.
"""

import contextlib
from collections.abc import Mapping
from typing import Any, cast

import flet as ft

from flet_livekit.types import (
    AUDIO_OUTPUT_KINDS,
    AudioOutputChangedEvent,
    AudioOutputInfo,
    AudioOutputKind,
    ConnectionQualityEvent,
    DisconnectedEvent,
    LiveKitError,
    LiveKitProtocolError,
    LiveKitTimeoutError,
    ParticipantEvent,
    RoomEvent,
    TrackMutedEvent,
)

URL_SCHEMES = ("ws://", "wss://", "http://", "https://")
TOKEN_MAX = 8192
"""Longest access token accepted (LiveKit's JWTs are well under 2 KB)."""
OUTPUT_ID_MAX = 128
CONNECT_TIMEOUT_S = 30.0
"""Joining includes ICE and DTLS on a phone network: generous, but bounded."""
CALL_TIMEOUT_S = 10.0


# Flet's `control(name)` overload leaves its TypeVar unsolved (mypy infers `type[Never]`).
@ft.control("LiveKitRoom")  # type: ignore[arg-type]
class LiveKitRoom(ft.Service):
    """A LiveKit room in the Flutter client: join, publish the microphone, route the audio.

    While connected, the Android side keeps a foreground service of type ``microphone`` with an
    ongoing-call notification (so the call survives the screen turning off) and turns the screen
    off when the phone is held to the ear.
    """

    notification_title: str = "Call in progress"
    """Title of the ongoing-call notification shown while connected."""

    notification_text: str = "Tap to return to the call"
    """Text of the ongoing-call notification."""

    proximity_screen_off: bool = True
    """Turn the screen off while the proximity sensor is covered during a call."""

    on_connected: ft.EventHandler[RoomEvent] | None = None
    on_reconnecting: ft.EventHandler[RoomEvent] | None = None
    on_reconnected: ft.EventHandler[RoomEvent] | None = None
    on_disconnected: ft.EventHandler[DisconnectedEvent] | None = None
    on_participant_connected: ft.EventHandler[ParticipantEvent] | None = None
    on_participant_disconnected: ft.EventHandler[ParticipantEvent] | None = None
    on_track_muted: ft.EventHandler[TrackMutedEvent] | None = None
    on_connection_quality: ft.EventHandler[ConnectionQualityEvent] | None = None
    on_audio_output_changed: ft.EventHandler[AudioOutputChangedEvent] | None = None

    async def connect(self, url: str, token: str) -> None:
        """Join the room at ``url`` with ``token`` and publish the microphone.

        Returns once the room is joined; ``on_connected`` fires as well, then
        ``on_audio_output_changed`` with the route the call starts on. A join that does not
        finish in time is left (the Dart side releases it at its next step) before this raises;
        a caller that cancels ``connect`` calls :meth:`disconnect` to the same effect.
        """
        if not isinstance(url, str) or not url.startswith(URL_SCHEMES) or len(url) > 2048:
            raise ValueError("url must be a ws://, wss://, http:// or https:// URL")
        if "://" not in url or not url.split("://", 1)[1].strip("/"):
            raise ValueError("url has no host")
        if not isinstance(token, str) or not token.strip() or len(token) > TOKEN_MAX:
            raise ValueError(f"token must be a non-empty string of at most {TOKEN_MAX} characters")
        try:
            await self._call("connect", {"url": url, "token": token}, CONNECT_TIMEOUT_S)
        except LiveKitTimeoutError:
            # The join still runs in the Flutter client: leave it, or the microphone it is
            # about to publish would stay live with nobody to close it.
            with contextlib.suppress(LiveKitError):
                await self.disconnect()
            raise

    async def disconnect(self) -> None:
        """Leave the room and stop the call's foreground service; safe when not connected."""
        await self._call("disconnect", None, CALL_TIMEOUT_S)

    async def set_microphone_enabled(self, enabled: bool) -> None:
        """Unmute (``True``) or mute (``False``) the published microphone."""
        if not isinstance(enabled, bool):
            raise ValueError("enabled must be a bool")
        await self._call("set_microphone_enabled", {"enabled": enabled}, CALL_TIMEOUT_S)

    async def list_audio_outputs(self) -> list[AudioOutputInfo]:
        """What the call can be held to: ``automatic`` and ``speaker``.

        LiveKit's audioswitch owns the route and re-picks it whenever devices change, so these
        are the choices it keeps: ``speaker`` (forced) and ``automatic`` (Bluetooth, else a
        wired headset, else the earpiece; named and typed after what it would pick now). The
        route actually taken arrives as ``on_audio_output_changed``.
        """
        raw = await self._call("list_audio_outputs", None, CALL_TIMEOUT_S)
        if not isinstance(raw, list):
            raise LiveKitProtocolError(f"list_audio_outputs answered {type(raw).__name__}")
        return [parse_audio_output(item) for item in raw]

    async def select_audio_output(self, output_id: str) -> AudioOutputInfo:
        """Hold the call to ``output_id`` (from :meth:`list_audio_outputs`); returns it.

        ``on_audio_output_changed`` follows once Android has switched the route.
        """
        if not isinstance(output_id, str) or not output_id or len(output_id) > OUTPUT_ID_MAX:
            raise ValueError(f"output_id must be a non-empty string of at most {OUTPUT_ID_MAX}")
        raw = await self._call("select_audio_output", {"output_id": output_id}, CALL_TIMEOUT_S)
        return parse_audio_output(raw)

    async def _call(self, method: str, arguments: dict[str, Any] | None, wait_s: float) -> Any:
        return await call_dart(self, method, arguments, wait_s)


async def call_dart(
    service: ft.Service, method: str, arguments: dict[str, Any] | None, wait_s: float
) -> Any:
    """``service``'s Dart method ``method``; a :class:`LiveKitError` for what Dart throws, a
    :class:`LiveKitTimeoutError` when it does not answer within ``wait_s``."""
    try:
        return await service._invoke_method(method, arguments, timeout=wait_s)
    except TimeoutError as e:
        raise LiveKitTimeoutError(f"{method}: no answer from the app within {wait_s:g} s") from e
    except RuntimeError as e:
        # Flet raises RuntimeError with the Dart exception's toString() (or "not on a page");
        # Dart's `Exception(...)` prints as "Exception: ...", which says nothing.
        raise LiveKitError(f"{method}: {str(e).removeprefix('Exception: ')}") from e


def parse_audio_output(raw: object) -> AudioOutputInfo:
    """An output as the Dart side sends it: ``{"id", "name", "kind"}``."""
    if not isinstance(raw, Mapping):
        raise LiveKitProtocolError(f"an audio output must be a map, got {type(raw).__name__}")
    output_id, name, kind = raw.get("id"), raw.get("name"), raw.get("kind")
    if not isinstance(output_id, str) or not output_id:
        raise LiveKitProtocolError(f"audio output without an id: {dict(raw)!r}")
    if not isinstance(name, str):
        raise LiveKitProtocolError(f"audio output {output_id!r} without a name")
    if kind not in AUDIO_OUTPUT_KINDS:
        raise LiveKitProtocolError(f"audio output {output_id!r} of unknown kind {kind!r}")
    return AudioOutputInfo(id=output_id, name=name, kind=cast(AudioOutputKind, kind))
