"""What a ``livekit.rtc.Room`` says, told as :mod:`voip_app.media.base` events
(:class:`RoomEvents`), and the watchdog that gives a room up when the SDK cannot repair it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from livekit import rtc

from voip_app.media.base import (
    ConnectionQuality,
    ConnectionQualityChanged,
    Disconnected,
    MediaEvent,
    ParticipantConnected,
    ParticipantDisconnected,
    Reconnected,
    Reconnecting,
    TrackMuted,
)

# The lines keep the logger name they had before this module was split from the session.
log = logging.getLogger("voip_app.media.livekit_session")

_QUALITY: dict[int, ConnectionQuality] = {
    rtc.ConnectionQuality.QUALITY_EXCELLENT: "excellent",
    rtc.ConnectionQuality.QUALITY_GOOD: "good",
    rtc.ConnectionQuality.QUALITY_POOR: "poor",
    rtc.ConnectionQuality.QUALITY_LOST: "lost",
}


class RoomEvents:
    """The room's listener for one session: emits its events until the session closes (after a
    ``Disconnected``, whatever the SDK says is moot); plays each remote audio track subscribed."""

    def __init__(
        self,
        emit: Callable[[MediaEvent], None],
        play: Callable[[rtc.RemoteAudioTrack, str], None],
        *,
        give_up_s: float,
    ) -> None:
        self._emit, self._play, self._give_up_s = emit, play, give_up_s
        self._watchdog: asyncio.Task[None] | None = None
        self.closing = False
        """The session is leaving (or has been left): no more events."""

    def wire(self, room: rtc.Room) -> None:
        """Listen to ``room``."""
        room.on("reconnecting", self._on_reconnecting)
        room.on("reconnected", self._on_reconnected)
        room.on("disconnected", self._on_disconnected)
        room.on("participant_connected", lambda p: self._emit(ParticipantConnected(p.identity)))
        room.on("participant_disconnected", self._on_participant_left)
        room.on("track_subscribed", self._on_track_subscribed)
        room.on("track_muted", lambda p, pub: self._on_muted(p, True))
        room.on("track_unmuted", lambda p, pub: self._on_muted(p, False))
        room.on("connection_quality_changed", self._on_quality)

    def close(self) -> None:
        """The session leaves: no more events, no give-up to come."""
        self.closing = True
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None and watchdog is not asyncio.current_task():
            watchdog.cancel()

    def _on_reconnecting(self) -> None:
        if self.closing:
            return
        if self._watchdog is None or self._watchdog.done():
            self._watchdog = asyncio.get_running_loop().create_task(self._give_up_later())
        self._emit(Reconnecting())

    def _on_reconnected(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if not self.closing:
            self._emit(Reconnected())

    async def _give_up_later(self) -> None:
        await asyncio.sleep(self._give_up_s)
        if not self.closing:
            log.info("the SDK did not reconnect within %.0f s; giving the room up", self._give_up_s)
            self.closing = True  # whatever the SDK says later is moot
            self._emit(Disconnected("reconnect_timeout"))

    def _on_disconnected(self, reason: Any = None) -> None:
        if self.closing:
            return
        self.closing = True
        try:
            name = rtc.DisconnectReason.Name(reason).lower()
        except (ValueError, TypeError):
            name = str(reason).lower()
        self._emit(Disconnected(name))

    def _on_muted(self, participant: rtc.Participant, muted: bool) -> None:
        # The SDK reports our own track's mute too; TrackMuted is about the far end only.
        if isinstance(participant, rtc.RemoteParticipant):
            self._emit(TrackMuted(participant.identity, muted))

    def _on_participant_left(self, participant: rtc.RemoteParticipant) -> None:
        self._emit(ParticipantDisconnected(participant.identity))

    def _on_track_subscribed(
        self,
        track: rtc.Track,
        publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> None:
        if isinstance(track, rtc.RemoteAudioTrack):
            self._play(track, participant.identity)

    def _on_quality(self, participant: rtc.Participant | None, quality: Any) -> None:
        if participant is None:
            return
        self._emit(ConnectionQualityChanged(participant.identity, _QUALITY.get(quality, "unknown")))
