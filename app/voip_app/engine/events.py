"""The engine's log: typed event names and one frozen payload class per name.

As livekit's ``rtc/room.py`` types its room events, :data:`EngineEventName` lists every name the
engine tells its event listeners (:meth:`CallEngine.add_event_listener`), and each
:class:`EngineEvent` subclass is one of them with its fields. ``event.name`` and ``event.data``
(the fields as a dict) are what ``voip-softphone`` prints as one JSON line.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar, Literal

EngineEventName = Literal[
    "signed_in",
    "sign_in_failed",
    "signed_out",
    "session_renewed",
    "session_renewal_failed",
    "session_not_renewable",
    "session_refused",
    "signaling_up",
    "signaling_down",
    "auth_refused",
    "presence_watched",
    "presence_watch_failed",
    "presence_heard",
    "push_registered",
    "push_registration_failed",
    "dialing",
    "invite_retry",
    "incoming",
    "accepting",
    "answer_found",
    "resuming",
    "resume_refused",
    "phase",
    "muted",
    "unmuted",
    "media_connected",
    "media_failed",
    "media_reconnecting",
    "media_disconnected",
    "rejoining",
    "rejoined",
    "peer_joined",
    "peer_left",
    "ended",
]


@dataclass(frozen=True, slots=True)
class EngineEvent:
    """One line of the engine's log."""

    name: ClassVar[EngineEventName]

    @property
    def data(self) -> dict[str, Any]:
        """The payload's fields by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


# --- the session ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignedInEvent(EngineEvent):
    name: ClassVar[EngineEventName] = "signed_in"
    user_id: str
    email: str


@dataclass(frozen=True, slots=True)
class SignInFailedEvent(EngineEvent):
    name: ClassVar[EngineEventName] = "sign_in_failed"
    error: str


@dataclass(frozen=True, slots=True)
class SignedOutEvent(EngineEvent):
    name: ClassVar[EngineEventName] = "signed_out"


@dataclass(frozen=True, slots=True)
class SessionRenewedEvent(EngineEvent):
    name: ClassVar[EngineEventName] = "session_renewed"
    expires_in: int


@dataclass(frozen=True, slots=True)
class SessionRenewalFailedEvent(EngineEvent):
    """The server could not renew the token now; the renewal tries again later."""

    name: ClassVar[EngineEventName] = "session_renewal_failed"
    error: str


@dataclass(frozen=True, slots=True)
class SessionNotRenewableEvent(EngineEvent):
    """An identity provider's token: the identity provider renews it."""

    name: ClassVar[EngineEventName] = "session_not_renewable"
    message: str


@dataclass(frozen=True, slots=True)
class SessionRefusedEvent(EngineEvent):
    """The server refused the token of an HTTP request: sign in again."""

    name: ClassVar[EngineEventName] = "session_refused"
    message: str


@dataclass(frozen=True, slots=True)
class SignalingUpEvent(EngineEvent):
    name: ClassVar[EngineEventName] = "signaling_up"
    reconnected: bool


@dataclass(frozen=True, slots=True)
class SignalingDownEvent(EngineEvent):
    name: ClassVar[EngineEventName] = "signaling_down"
    reason: str


@dataclass(frozen=True, slots=True)
class AuthRefusedEvent(EngineEvent):
    """The server refused the token on a reconnect; signaling has stopped."""

    name: ClassVar[EngineEventName] = "auth_refused"
    message: str


@dataclass(frozen=True, slots=True)
class PresenceWatchedEvent(EngineEvent):
    name: ClassVar[EngineEventName] = "presence_watched"
    count: int


@dataclass(frozen=True, slots=True)
class PresenceWatchFailedEvent(EngineEvent):
    name: ClassVar[EngineEventName] = "presence_watch_failed"
    error: str


@dataclass(frozen=True, slots=True)
class PresenceHeardEvent(EngineEvent):
    """A ``presence`` event from the server: this contact is now ``presence``."""

    name: ClassVar[EngineEventName] = "presence_heard"
    user_id: str
    presence: str


@dataclass(frozen=True, slots=True)
class PushRegisteredEvent(EngineEvent):
    name: ClassVar[EngineEventName] = "push_registered"
    device_id: str


@dataclass(frozen=True, slots=True)
class PushRegistrationFailedEvent(EngineEvent):
    name: ClassVar[EngineEventName] = "push_registration_failed"
    error: str


# --- the call ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DialingEvent(EngineEvent):
    name: ClassVar[EngineEventName] = "dialing"
    callee_id: str


@dataclass(frozen=True, slots=True)
class InviteRetryEvent(EngineEvent):
    name: ClassVar[EngineEventName] = "invite_retry"
    callee_id: str
    attempt: int
    error: str


@dataclass(frozen=True, slots=True)
class IncomingEvent(EngineEvent):
    name: ClassVar[EngineEventName] = "incoming"
    call_id: str
    caller: str


@dataclass(frozen=True, slots=True)
class AcceptingEvent(EngineEvent):
    name: ClassVar[EngineEventName] = "accepting"
    call_id: str | None


@dataclass(frozen=True, slots=True)
class AnswerFoundEvent(EngineEvent):
    """The call log says the call I placed was answered (its ``accepted`` was lost)."""

    name: ClassVar[EngineEventName] = "answer_found"
    call_id: str


@dataclass(frozen=True, slots=True)
class ResumingEvent(EngineEvent):
    name: ClassVar[EngineEventName] = "resuming"
    call_id: str


@dataclass(frozen=True, slots=True)
class ResumeRefusedEvent(EngineEvent):
    """A call in progress that ``sync`` listed is not this device's to rejoin."""

    name: ClassVar[EngineEventName] = "resume_refused"
    call_id: str
    error: str


@dataclass(frozen=True, slots=True)
class PhaseEvent(EngineEvent):
    name: ClassVar[EngineEventName] = "phase"
    call_id: str | None
    phase: str


@dataclass(frozen=True, slots=True)
class MutedEvent(EngineEvent):
    name: ClassVar[EngineEventName] = "muted"
    call_id: str | None


@dataclass(frozen=True, slots=True)
class UnmutedEvent(EngineEvent):
    name: ClassVar[EngineEventName] = "unmuted"
    call_id: str | None


@dataclass(frozen=True, slots=True)
class EndedEvent(EngineEvent):
    name: ClassVar[EngineEventName] = "ended"
    call_id: str | None
    status: str | None
    reason: str | None
    error: str | None


# --- media ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MediaConnectedEvent(EngineEvent):
    name: ClassVar[EngineEventName] = "media_connected"
    call_id: str | None


@dataclass(frozen=True, slots=True)
class MediaFailedEvent(EngineEvent):
    name: ClassVar[EngineEventName] = "media_failed"
    error: str


@dataclass(frozen=True, slots=True)
class MediaReconnectingEvent(EngineEvent):
    name: ClassVar[EngineEventName] = "media_reconnecting"
    call_id: str | None


@dataclass(frozen=True, slots=True)
class MediaDisconnectedEvent(EngineEvent):
    name: ClassVar[EngineEventName] = "media_disconnected"
    call_id: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class RejoiningEvent(EngineEvent):
    name: ClassVar[EngineEventName] = "rejoining"
    call_id: str
    attempt: int


@dataclass(frozen=True, slots=True)
class RejoinedEvent(EngineEvent):
    name: ClassVar[EngineEventName] = "rejoined"
    call_id: str
    attempt: int


@dataclass(frozen=True, slots=True)
class PeerJoinedEvent(EngineEvent):
    name: ClassVar[EngineEventName] = "peer_joined"
    identity: str


@dataclass(frozen=True, slots=True)
class PeerLeftEvent(EngineEvent):
    name: ClassVar[EngineEventName] = "peer_left"
    identity: str
