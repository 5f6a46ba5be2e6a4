"""The client's call state machine: a table, no I/O.

One :class:`CallMachine` follows one call on this device through its :class:`Phase` s::

    idle -> dialing -> ringing_out -> connecting -> active <-> reconnecting -> ended
    idle -> incoming -> connecting -> active ...
    idle -> connecting -> active ...      (a call in progress found by ``sync``, rejoined here)

Every user action, server event and media event is an :class:`Event`; :meth:`CallMachine.handle`
looks the pair ``(phase, event kind)`` up in :data:`TRANSITIONS`. A pair that is not in the table
raises :class:`IllegalTransition` and leaves the machine exactly as it was, so a late, duplicated
or out-of-order event can never corrupt the call.

``ended`` carries the server's final :class:`~voip_contract.CallStatus` and
:class:`~voip_contract.Reason`; ``status is None`` means the call went on without this device
(another device of the same user answered it).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from voip_contract import CallStatus, Reason


class Phase(StrEnum):
    """Where this device stands in a call."""

    IDLE = "idle"
    DIALING = "dialing"
    RINGING_OUT = "ringing_out"
    INCOMING = "incoming"
    CONNECTING = "connecting"
    ACTIVE = "active"
    RECONNECTING = "reconnecting"
    ENDED = "ended"


class EventKind(StrEnum):
    """What can happen to a call; the prefix says who caused it."""

    # the user
    USER_DIAL = "user_dial"
    USER_ACCEPT = "user_accept"
    USER_DECLINE = "user_decline"
    USER_CANCEL = "user_cancel"
    USER_HANG_UP = "user_hang_up"
    USER_DISMISS = "user_dismiss"
    # the call server
    SERVER_RINGING = "server_ringing"
    SERVER_INCOMING = "server_incoming"
    SERVER_ACCEPTED = "server_accepted"
    SERVER_ANSWERED_ELSEWHERE = "server_answered_elsewhere"
    SERVER_ENDED = "server_ended"
    SERVER_REFUSED = "server_refused"
    SERVER_IN_PROGRESS = "server_in_progress"
    """``sync`` lists a call in progress this device has no screen for, and the server handed it
    a room token (the app restarted mid-call, or came back after losing everything)."""
    # the media session
    MEDIA_CONNECTED = "media_connected"
    MEDIA_RECONNECTING = "media_reconnecting"
    MEDIA_FAILED = "media_failed"


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened. ``status``/``reason`` matter for the events that end a call."""

    kind: EventKind
    status: CallStatus | None = None
    reason: Reason | None = None


@dataclass(frozen=True, slots=True)
class CallState:
    """The machine's whole state: a phase, plus the outcome once ``ended``."""

    phase: Phase = Phase.IDLE
    status: CallStatus | None = None
    reason: Reason | None = None

    @property
    def in_call(self) -> bool:
        """True from dialing/incoming until ended: the device is busy with a call."""
        return self.phase not in (Phase.IDLE, Phase.ENDED)


class IllegalTransition(Exception):
    """The event makes no sense in the current phase; the machine did not change."""

    def __init__(self, phase: Phase, kind: EventKind) -> None:
        super().__init__(f"{kind.value} is not allowed while {phase.value}")
        self.phase = phase
        self.kind = kind


P = Phase
E = EventKind

#: ``(phase, event) -> next phase``. Anything absent is illegal.
TRANSITIONS: dict[tuple[Phase, EventKind], Phase] = {
    # placing a call
    (P.IDLE, E.USER_DIAL): P.DIALING,
    (P.DIALING, E.SERVER_RINGING): P.RINGING_OUT,
    (P.RINGING_OUT, E.SERVER_RINGING): P.RINGING_OUT,
    (P.DIALING, E.SERVER_ACCEPTED): P.CONNECTING,
    (P.RINGING_OUT, E.SERVER_ACCEPTED): P.CONNECTING,
    (P.DIALING, E.USER_CANCEL): P.ENDED,
    (P.RINGING_OUT, E.USER_CANCEL): P.ENDED,
    (P.DIALING, E.SERVER_REFUSED): P.ENDED,
    # receiving a call
    (P.IDLE, E.SERVER_INCOMING): P.INCOMING,
    (P.INCOMING, E.SERVER_INCOMING): P.INCOMING,  # re-sent after a reconnect: no second ring
    (P.INCOMING, E.USER_ACCEPT): P.CONNECTING,
    (P.INCOMING, E.USER_DECLINE): P.ENDED,
    (P.INCOMING, E.SERVER_ANSWERED_ELSEWHERE): P.ENDED,
    (P.CONNECTING, E.SERVER_REFUSED): P.ENDED,
    # rejoining a call in progress that only the server remembered
    (P.IDLE, E.SERVER_IN_PROGRESS): P.CONNECTING,
    # media
    (P.CONNECTING, E.MEDIA_CONNECTED): P.ACTIVE,
    (P.CONNECTING, E.MEDIA_FAILED): P.ENDED,
    (P.ACTIVE, E.MEDIA_RECONNECTING): P.RECONNECTING,
    (P.RECONNECTING, E.MEDIA_RECONNECTING): P.RECONNECTING,
    (P.RECONNECTING, E.MEDIA_CONNECTED): P.ACTIVE,
    (P.RECONNECTING, E.MEDIA_FAILED): P.ENDED,
    (P.ACTIVE, E.MEDIA_FAILED): P.ENDED,
    # hanging up
    (P.CONNECTING, E.USER_HANG_UP): P.ENDED,
    (P.ACTIVE, E.USER_HANG_UP): P.ENDED,
    (P.RECONNECTING, E.USER_HANG_UP): P.ENDED,
    # the server's word is final in every phase of a call, and may correct a local ending
    (P.DIALING, E.SERVER_ENDED): P.ENDED,
    (P.RINGING_OUT, E.SERVER_ENDED): P.ENDED,
    (P.INCOMING, E.SERVER_ENDED): P.ENDED,
    (P.CONNECTING, E.SERVER_ENDED): P.ENDED,
    (P.ACTIVE, E.SERVER_ENDED): P.ENDED,
    (P.RECONNECTING, E.SERVER_ENDED): P.ENDED,
    (P.ENDED, E.SERVER_ENDED): P.ENDED,
    # back to idle
    (P.ENDED, E.USER_DISMISS): P.IDLE,
}

# What a call ends as when this device ends it, before the server confirms.
_LOCAL_OUTCOME: dict[EventKind, tuple[CallStatus | None, Reason | None]] = {
    E.USER_CANCEL: (CallStatus.CANCELED, Reason.CANCELED),
    E.USER_DECLINE: (CallStatus.DECLINED, Reason.DECLINED),
    E.USER_HANG_UP: (CallStatus.COMPLETED, Reason.HANGUP),
    E.MEDIA_FAILED: (CallStatus.FAILED, Reason.MEDIA_UNAVAILABLE),
    E.SERVER_ANSWERED_ELSEWHERE: (None, None),
}


def next_state(state: CallState, event: Event) -> CallState:
    """The state after ``event``; raises :class:`IllegalTransition` for a pair not in the table."""
    target = TRANSITIONS.get((state.phase, event.kind))
    if target is None:
        raise IllegalTransition(state.phase, event.kind)
    if target is Phase.IDLE:
        return CallState()
    if target is not Phase.ENDED:
        return CallState(phase=target)
    if event.kind in (E.SERVER_ENDED, E.SERVER_REFUSED):
        return CallState(Phase.ENDED, event.status or CallStatus.FAILED, event.reason)
    if state.phase is Phase.CONNECTING and event.kind is E.USER_HANG_UP:
        # Hung up before any audio: a caller's hang-up here still ends an answered call.
        return CallState(Phase.ENDED, CallStatus.COMPLETED, Reason.HANGUP)
    status, reason = _LOCAL_OUTCOME[event.kind]
    return CallState(Phase.ENDED, status, reason)


class CallMachine:
    """Holds one :class:`CallState` and moves it only through :func:`next_state`."""

    def __init__(self) -> None:
        self._state = CallState()

    @property
    def state(self) -> CallState:
        return self._state

    @property
    def phase(self) -> Phase:
        return self._state.phase

    def can(self, kind: EventKind) -> bool:
        """Would ``kind`` be accepted now?"""
        return (self._state.phase, kind) in TRANSITIONS

    def handle(self, event: Event) -> CallState:
        """Apply ``event``; on :class:`IllegalTransition` nothing changes."""
        self._state = next_state(self._state, event)
        return self._state
