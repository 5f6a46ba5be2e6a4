"""The call on this device, as one value the engine publishes and the UI renders.

:class:`ActiveCall` is the only type for a call in progress on this device: the engine replaces it
on every change (``EngineSnapshot.call``), the UI's call screens render it as it is. Its ``phase``,
``status`` and ``reason`` are the machine's (:mod:`voip_app.call.machine`); the rest is what the
signaling and media sessions told about it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from voip_app.call.machine import CallProgress, Phase
from voip_app.media.base import AudioOutput, ConnectionQuality
from voip_contract import CallContext, CallStatus, Direction, Party, Reason, RecordingStatus


@dataclass(frozen=True, slots=True)
class ActiveCall:
    """The call on this device, from dialing / incoming until it is dismissed.

    ``phase`` is the state machine's; ``status``/``reason`` are set once ``ended`` (``status`` is
    ``None`` when another device of mine answered). ``connected_at`` (UTC) is the timer's zero:
    when the media connected, or the server's answer time for a call rejoined after a restart.
    """

    id: str | None
    peer: Party
    direction: Direction
    phase: Phase
    status: CallStatus | None = None
    reason: Reason | None = None
    muted: bool = False
    remote_muted: bool = False
    connected_at: datetime | None = None
    ring_expires_at: datetime | None = None
    quality: ConnectionQuality = "unknown"
    output: AudioOutput | None = None
    has_microphone: bool = True
    has_speaker: bool = True
    """This side's sound devices work (a missing one is shown; it never ends the call)."""
    error: str | None = None
    """A media or signaling failure of this call, fit to show a person."""
    context: CallContext | None = None
    """The CRM record the caller called from (``invite``'s ``context``), shown to the callee."""
    recorded: bool = False
    """The server said (``incoming``, consent) that the call will be recorded once answered."""
    recording: RecordingStatus | None = None
    """The call's recording as the server's ``recording`` events tell it."""

    @property
    def recording_now(self) -> bool:
        """A recording of this call runs (both parties are shown it)."""
        return self.recording in ("starting", "active")

    @property
    def in_call(self) -> bool:
        """The call is on (from dialing or ringing until it ended)."""
        return CallProgress(self.phase).in_call

    def at(self, progress: CallProgress) -> ActiveCall:
        """This call moved to ``progress`` (its phase and outcome)."""
        return replace(self, phase=progress.phase, status=progress.status, reason=progress.reason)
