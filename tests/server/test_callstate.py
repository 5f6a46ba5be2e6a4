"""The call state machine, exhaustively: every (status, event, role) triple is tried."""

from __future__ import annotations

import itertools

import pytest

from server.callstate import (
    TRANSITIONS,
    IllegalStatusEvent,
    Opening,
    Role,
    StatusEvent,
    StatusMachine,
    hangup_event,
    open_call,
    transition,
)
from voip_contract import CallStatus, Reason

LEGAL = {
    (CallStatus.RINGING, StatusEvent.ACCEPT, Role.CALLEE): (CallStatus.IN_PROGRESS, None),
    (CallStatus.RINGING, StatusEvent.DECLINE, Role.CALLEE): (CallStatus.DECLINED, Reason.DECLINED),
    (CallStatus.RINGING, StatusEvent.CANCEL, Role.CALLER): (CallStatus.CANCELED, Reason.CANCELED),
    (CallStatus.RINGING, StatusEvent.RING_TIMEOUT, Role.SYSTEM): (
        CallStatus.MISSED,
        Reason.RING_TIMEOUT,
    ),
    (CallStatus.RINGING, StatusEvent.MEDIA_FAILED, Role.SYSTEM): (
        CallStatus.FAILED,
        Reason.MEDIA_UNAVAILABLE,
    ),
    (CallStatus.IN_PROGRESS, StatusEvent.HANGUP, Role.CALLER): (
        CallStatus.COMPLETED,
        Reason.HANGUP,
    ),
    (CallStatus.IN_PROGRESS, StatusEvent.HANGUP, Role.CALLEE): (
        CallStatus.COMPLETED,
        Reason.HANGUP,
    ),
    (CallStatus.IN_PROGRESS, StatusEvent.PARTICIPANT_LEFT, Role.SYSTEM): (
        CallStatus.COMPLETED,
        Reason.PARTICIPANT_LEFT,
    ),
    (CallStatus.IN_PROGRESS, StatusEvent.ROOM_FINISHED, Role.SYSTEM): (
        CallStatus.COMPLETED,
        Reason.ROOM_FINISHED,
    ),
    (CallStatus.IN_PROGRESS, StatusEvent.MEDIA_FAILED, Role.SYSTEM): (
        CallStatus.FAILED,
        Reason.MEDIA_UNAVAILABLE,
    ),
}

ALL = list(itertools.product(CallStatus, StatusEvent, Role))
ILLEGAL = [triple for triple in ALL if triple not in LEGAL]


def test_the_table_is_exactly_the_documented_graph() -> None:
    table = {
        (status, event, role): (row.target, row.reason)
        for (status, event), row in TRANSITIONS.items()
        for role in row.roles
    }
    assert table == LEGAL


@pytest.mark.parametrize(("status", "event", "role"), list(LEGAL))
def test_legal_transition_moves_the_call(
    status: CallStatus, event: StatusEvent, role: Role
) -> None:
    machine = StatusMachine(status)
    row = machine.handle(event, role)
    assert (machine.status, machine.reason) == LEGAL[status, event, role]
    assert (row.source, row.event, row.target) == (status, event, machine.status)


@pytest.mark.parametrize(("status", "event", "role"), ILLEGAL)
def test_illegal_transition_raises_and_changes_nothing(
    status: CallStatus, event: StatusEvent, role: Role
) -> None:
    machine = StatusMachine(status)
    machine.reason = Reason.HANGUP  # a marker: must survive the refused event
    with pytest.raises(IllegalStatusEvent) as info:
        machine.handle(event, role)
    assert (machine.status, machine.reason) == (status, Reason.HANGUP)
    assert (info.value.status, info.value.event, info.value.role) == (status, event, role)
    with pytest.raises(IllegalStatusEvent):
        transition(status, event, role)


@pytest.mark.parametrize("status", [s for s in CallStatus if s.is_final])
def test_a_final_status_never_changes(status: CallStatus) -> None:
    for event, role in itertools.product(StatusEvent, Role):
        with pytest.raises(IllegalStatusEvent):
            StatusMachine(status).handle(event, role)


@pytest.mark.parametrize(
    ("opening", "expected"),
    [
        (Opening.REACHABLE, (CallStatus.RINGING, None)),
        (Opening.BUSY, (CallStatus.BUSY, Reason.CALLEE_BUSY)),
        (Opening.OFFLINE, (CallStatus.MISSED, Reason.CALLEE_OFFLINE)),
    ],
)
def test_an_invite_opens_the_call(
    opening: Opening, expected: tuple[CallStatus, Reason | None]
) -> None:
    assert open_call(opening) == expected


@pytest.mark.parametrize(
    ("status", "role", "event"),
    [
        (CallStatus.RINGING, Role.CALLER, StatusEvent.CANCEL),
        (CallStatus.RINGING, Role.CALLEE, StatusEvent.DECLINE),
        (CallStatus.IN_PROGRESS, Role.CALLER, StatusEvent.HANGUP),
        (CallStatus.IN_PROGRESS, Role.CALLEE, StatusEvent.HANGUP),
        (CallStatus.COMPLETED, Role.CALLER, StatusEvent.HANGUP),
    ],
)
def test_hangup_before_an_answer_is_cancel_or_decline(
    status: CallStatus, role: Role, event: StatusEvent
) -> None:
    assert hangup_event(status, role) is event
