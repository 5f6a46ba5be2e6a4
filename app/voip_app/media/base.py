"""The media interface every platform fills: join a call's room, talk, route audio, report.

Events are frozen dataclasses delivered to one listener; names follow LiveKit's room events. The
call engine drives a :class:`MediaSession` and never knows which implementation it has.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

ConnectionQuality = Literal["excellent", "good", "poor", "lost", "unknown"]
AudioOutputKind = Literal["speaker", "earpiece", "wired", "bluetooth", "system"]


class MediaError(Exception):
    """Joining or using the room failed; ``message`` is fit to show a person."""


@dataclass(frozen=True, slots=True)
class AudioOutput:
    id: str
    name: str
    kind: AudioOutputKind


@dataclass(frozen=True, slots=True)
class Connected:
    pass


@dataclass(frozen=True, slots=True)
class Reconnecting:
    pass


@dataclass(frozen=True, slots=True)
class Reconnected:
    pass


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The room is gone for this client; ``reason`` is LiveKit's disconnect reason, lower case."""

    reason: str


@dataclass(frozen=True, slots=True)
class ParticipantConnected:
    identity: str


@dataclass(frozen=True, slots=True)
class ParticipantDisconnected:
    identity: str


@dataclass(frozen=True, slots=True)
class TrackMuted:
    identity: str
    muted: bool


@dataclass(frozen=True, slots=True)
class ConnectionQualityChanged:
    identity: str
    quality: ConnectionQuality


@dataclass(frozen=True, slots=True)
class AudioOutputChanged:
    output: AudioOutput


@dataclass(frozen=True, slots=True)
class AudioDevicesChanged:
    """Whether this side has a working microphone and speaker (a missing one never ends a call:
    the session runs without it and picks one up when it appears)."""

    microphone: bool
    speaker: bool


MediaEvent = (
    Connected
    | Reconnecting
    | Reconnected
    | Disconnected
    | ParticipantConnected
    | ParticipantDisconnected
    | TrackMuted
    | ConnectionQualityChanged
    | AudioOutputChanged
    | AudioDevicesChanged
)
MediaListener = Callable[[MediaEvent], None]


@runtime_checkable
class MediaSession(Protocol):
    """One call's media. ``connect`` publishes the microphone and plays the remote participant."""

    def set_listener(self, listener: MediaListener | None) -> None:
        """Receive every :data:`MediaEvent`; a listener that raises is logged, never fatal."""

    async def connect(self, url: str, token: str) -> None:
        """Join the room; raises :class:`MediaError` when it cannot."""

    async def disconnect(self) -> None:
        """Leave the room and release the devices; safe to call twice."""

    async def set_microphone_enabled(self, enabled: bool) -> None:
        """Mute (``False``) or unmute the published microphone track."""

    async def list_audio_outputs(self) -> list[AudioOutput]:
        """The outputs this platform can route the call to."""

    async def select_audio_output(self, output_id: str) -> None:
        """Route the call's audio; emits :class:`AudioOutputChanged`."""


@runtime_checkable
class LevelMeter(Protocol):
    """A media session that can say how loud each direction is (desktop; optional)."""

    def audio_levels(self) -> tuple[float, float]:
        """RMS level, 0 (silence) to 1 (full scale), of the last 10 ms sent (``0`` while muted:
        what the far end hears) and of the last 10 ms heard from the far end."""
        ...
