"""The server's call table: the call's status as a pure, table-driven machine (no I/O, no clock,
no database). The server's vocabulary: a call has a *status* (the contract's ``CallStatus``),
moved by a :class:`StatusEvent` of a :class:`Role`; the app keeps its own machine of *phases*
(``voip_app``), and the two share no names.

Every legal move is one row of :data:`TRANSITIONS`: ``(status, event) -> (new status, reason,
roles allowed)``. Anything else raises :class:`IllegalStatusEvent` and leaves the machine as it
was. :func:`server.calls.steps.write_step` applies a transition with one conditional UPDATE
(``... WHERE id = :id AND status = :from``), so when two nodes or two devices race, exactly one
of them changes the row and the others see that they lost.

An invite that cannot ring never enters ``RINGING``: :func:`open_call` says which status it
starts (and ends) with.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from voip_contract import CallStatus, Reason


class StatusEvent(StrEnum):
    """What moves a call's status: a party's request, or the server's timers and webhooks."""

    ACCEPT = "accept"
    DECLINE = "decline"
    CANCEL = "cancel"
    HANGUP = "hangup"
    RING_TIMEOUT = "ring_timeout"
    MEDIA_FAILED = "media_failed"
    PARTICIPANT_LEFT = "participant_left"
    ROOM_FINISHED = "room_finished"


class Role(StrEnum):
    """Who causes an event: a party of the call, or the server itself (timers, webhooks)."""

    CALLER = "caller"
    CALLEE = "callee"
    SYSTEM = "system"


class Opening(StrEnum):
    """What an invite finds on the callee's side."""

    REACHABLE = "reachable"
    BUSY = "busy"
    OFFLINE = "offline"


class IllegalStatusEvent(Exception):
    """The event is not allowed in this status, or not for this role."""

    def __init__(self, status: CallStatus, event: StatusEvent, role: Role) -> None:
        super().__init__(f"{event.value} by {role.value} is not allowed in {status.value}")
        self.status = status
        self.event = event
        self.role = role


@dataclass(frozen=True, slots=True)
class Transition:
    """One row of the table: where the call goes, why, and who may make it go there."""

    source: CallStatus
    event: StatusEvent
    target: CallStatus
    reason: Reason | None
    roles: frozenset[Role]


_PARTIES = frozenset({Role.CALLER, Role.CALLEE})
_CALLER = frozenset({Role.CALLER})
_CALLEE = frozenset({Role.CALLEE})
_SYSTEM = frozenset({Role.SYSTEM})

_ROWS = (
    Transition(CallStatus.RINGING, StatusEvent.ACCEPT, CallStatus.IN_PROGRESS, None, _CALLEE),
    Transition(
        CallStatus.RINGING, StatusEvent.DECLINE, CallStatus.DECLINED, Reason.DECLINED, _CALLEE
    ),
    Transition(
        CallStatus.RINGING, StatusEvent.CANCEL, CallStatus.CANCELED, Reason.CANCELED, _CALLER
    ),
    Transition(
        CallStatus.RINGING,
        StatusEvent.RING_TIMEOUT,
        CallStatus.MISSED,
        Reason.RING_TIMEOUT,
        _SYSTEM,
    ),
    Transition(
        CallStatus.RINGING,
        StatusEvent.MEDIA_FAILED,
        CallStatus.FAILED,
        Reason.MEDIA_UNAVAILABLE,
        _SYSTEM,
    ),
    Transition(
        CallStatus.IN_PROGRESS, StatusEvent.HANGUP, CallStatus.COMPLETED, Reason.HANGUP, _PARTIES
    ),
    Transition(
        CallStatus.IN_PROGRESS,
        StatusEvent.PARTICIPANT_LEFT,
        CallStatus.COMPLETED,
        Reason.PARTICIPANT_LEFT,
        _SYSTEM,
    ),
    Transition(
        CallStatus.IN_PROGRESS,
        StatusEvent.ROOM_FINISHED,
        CallStatus.COMPLETED,
        Reason.ROOM_FINISHED,
        _SYSTEM,
    ),
    # The first answer is locked in before the room is created; when LiveKit then fails, the
    # call that was just accepted fails too.
    Transition(
        CallStatus.IN_PROGRESS,
        StatusEvent.MEDIA_FAILED,
        CallStatus.FAILED,
        Reason.MEDIA_UNAVAILABLE,
        _SYSTEM,
    ),
)

TRANSITIONS: dict[tuple[CallStatus, StatusEvent], Transition] = {
    (t.source, t.event): t for t in _ROWS
}
"""The whole machine. A pair that is not a key is illegal."""

_OPENINGS: dict[Opening, tuple[CallStatus, Reason | None]] = {
    Opening.REACHABLE: (CallStatus.RINGING, None),
    Opening.BUSY: (CallStatus.BUSY, Reason.CALLEE_BUSY),
    Opening.OFFLINE: (CallStatus.MISSED, Reason.CALLEE_OFFLINE),
}


def open_call(opening: Opening) -> tuple[CallStatus, Reason | None]:
    """The status (and reason) a new call starts with."""
    return _OPENINGS[opening]


def transition(status: CallStatus, event: StatusEvent, role: Role) -> Transition:
    """The row for ``event`` by ``role`` in ``status``; :class:`IllegalStatusEvent` if none."""
    row = TRANSITIONS.get((status, event))
    if row is None or role not in row.roles:
        raise IllegalStatusEvent(status, event, role)
    return row


def hangup_event(status: CallStatus, role: Role) -> StatusEvent:
    """``hangup`` before an answer means cancel (caller) or decline (callee)."""
    if status is CallStatus.RINGING:
        return StatusEvent.CANCEL if role is Role.CALLER else StatusEvent.DECLINE
    return StatusEvent.HANGUP


class StatusMachine:
    """One call's status; :meth:`handle` moves it or raises and changes nothing."""

    def __init__(self, status: CallStatus = CallStatus.RINGING) -> None:
        self.status = status
        self.reason: Reason | None = None

    def handle(self, event: StatusEvent, role: Role) -> Transition:
        row = transition(self.status, event, role)
        self.status = row.target
        self.reason = row.reason
        return row
