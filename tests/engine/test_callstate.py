"""The client call state machine, exhaustively: every (phase, event) pair is either in the table
and moves as documented, or is refused and changes nothing."""

from __future__ import annotations

import itertools

import pytest

from voip_app.callstate import (
    TRANSITIONS,
    CallMachine,
    CallState,
    Event,
    EventKind,
    IllegalTransition,
    Phase,
    next_state,
)
from voip_contract import CallStatus, Reason

E = EventKind
P = Phase


def drive(*kinds: EventKind) -> CallMachine:
    machine = CallMachine()
    for kind in kinds:
        machine.handle(Event(kind))
    return machine


def state_in(phase: Phase) -> CallState:
    if phase is P.ENDED:
        return CallState(P.ENDED, CallStatus.COMPLETED, Reason.HANGUP)
    return CallState(phase)


@pytest.mark.parametrize(("phase", "kind"), list(itertools.product(Phase, EventKind)))
def test_every_pair_is_either_a_transition_or_refused_without_change(
    phase: Phase, kind: EventKind
) -> None:
    machine = CallMachine()
    machine._state = state_in(phase)
    before = machine.state
    expected = TRANSITIONS.get((phase, kind))
    if expected is None:
        with pytest.raises(IllegalTransition) as info:
            machine.handle(Event(kind, CallStatus.MISSED, Reason.RING_TIMEOUT))
        assert machine.state is before
        assert info.value.phase is phase
        assert info.value.kind is kind
        assert not machine.can(kind)
    else:
        assert machine.can(kind)
        after = machine.handle(Event(kind, CallStatus.MISSED, Reason.RING_TIMEOUT))
        assert after.phase is expected
        assert machine.state == after


def test_a_placed_call_goes_through_every_phase() -> None:
    machine = drive(E.USER_DIAL)
    assert machine.phase is P.DIALING
    assert machine.state.in_call
    machine.handle(Event(E.SERVER_RINGING))
    assert machine.phase is P.RINGING_OUT
    machine.handle(Event(E.SERVER_ACCEPTED))
    assert machine.phase is P.CONNECTING
    machine.handle(Event(E.MEDIA_CONNECTED))
    assert machine.phase is P.ACTIVE
    machine.handle(Event(E.MEDIA_RECONNECTING))
    assert machine.phase is P.RECONNECTING
    machine.handle(Event(E.MEDIA_CONNECTED))
    assert machine.phase is P.ACTIVE
    state = machine.handle(Event(E.USER_HANG_UP))
    assert state == CallState(P.ENDED, CallStatus.COMPLETED, Reason.HANGUP)
    assert not state.in_call
    assert machine.handle(Event(E.USER_DISMISS)) == CallState()


def test_the_accepted_event_may_overtake_the_ringing_event() -> None:
    machine = drive(E.USER_DIAL, E.SERVER_ACCEPTED)
    assert machine.phase is P.CONNECTING


def test_a_received_call_is_answered_and_ended_by_the_server() -> None:
    machine = drive(E.SERVER_INCOMING, E.SERVER_INCOMING, E.USER_ACCEPT, E.MEDIA_CONNECTED)
    assert machine.phase is P.ACTIVE
    state = machine.handle(Event(E.SERVER_ENDED, CallStatus.COMPLETED, Reason.PARTICIPANT_LEFT))
    assert state == CallState(P.ENDED, CallStatus.COMPLETED, Reason.PARTICIPANT_LEFT)


@pytest.mark.parametrize(
    ("path", "outcome"),
    [
        ((E.USER_DIAL, E.USER_CANCEL), (CallStatus.CANCELED, Reason.CANCELED)),
        ((E.USER_DIAL, E.SERVER_RINGING, E.USER_CANCEL), (CallStatus.CANCELED, Reason.CANCELED)),
        ((E.SERVER_INCOMING, E.USER_DECLINE), (CallStatus.DECLINED, Reason.DECLINED)),
        ((E.SERVER_INCOMING, E.SERVER_ANSWERED_ELSEWHERE), (None, None)),
        ((E.SERVER_INCOMING, E.USER_ACCEPT, E.USER_HANG_UP), (CallStatus.COMPLETED, Reason.HANGUP)),
        (
            (E.SERVER_INCOMING, E.USER_ACCEPT, E.MEDIA_FAILED),
            (CallStatus.FAILED, Reason.MEDIA_UNAVAILABLE),
        ),
        (
            (
                E.USER_DIAL,
                E.SERVER_ACCEPTED,
                E.MEDIA_CONNECTED,
                E.MEDIA_RECONNECTING,
                E.MEDIA_FAILED,
            ),
            (CallStatus.FAILED, Reason.MEDIA_UNAVAILABLE),
        ),
    ],
)
def test_local_endings_carry_their_outcome(
    path: tuple[EventKind, ...], outcome: tuple[CallStatus | None, Reason | None]
) -> None:
    state = drive(*path).state
    assert state.phase is P.ENDED
    assert (state.status, state.reason) == outcome


def test_the_server_corrects_a_local_ending() -> None:
    machine = drive(E.USER_DIAL, E.SERVER_RINGING, E.USER_CANCEL)
    state = machine.handle(Event(E.SERVER_ENDED, CallStatus.MISSED, Reason.RING_TIMEOUT))
    assert (state.status, state.reason) == (CallStatus.MISSED, Reason.RING_TIMEOUT)


def test_a_refused_invite_ends_busy_and_a_statusless_refusal_fails() -> None:
    busy = drive(E.USER_DIAL).handle(Event(E.SERVER_REFUSED, CallStatus.BUSY, Reason.CALLEE_BUSY))
    assert (busy.status, busy.reason) == (CallStatus.BUSY, Reason.CALLEE_BUSY)
    failed = next_state(CallState(P.DIALING), Event(E.SERVER_REFUSED))
    assert failed.status is CallStatus.FAILED


@pytest.mark.parametrize(
    "kinds",
    [
        (E.USER_ACCEPT,),
        (E.USER_HANG_UP,),
        (E.USER_DIAL, E.USER_DIAL),
        (E.USER_DIAL, E.USER_ACCEPT),
        (E.SERVER_INCOMING, E.USER_CANCEL),
        (E.USER_DIAL, E.USER_CANCEL, E.USER_HANG_UP),
        (E.MEDIA_CONNECTED,),
    ],
)
def test_nonsense_is_refused_and_leaves_the_state_alone(kinds: tuple[EventKind, ...]) -> None:
    machine = drive(*kinds[:-1])
    before = machine.state
    with pytest.raises(IllegalTransition, match="not allowed"):
        machine.handle(Event(kinds[-1]))
    assert machine.state == before


def test_a_duplicate_incoming_keeps_the_call_ringing_unchanged() -> None:
    machine = drive(E.SERVER_INCOMING)
    before = machine.state
    assert machine.handle(Event(E.SERVER_INCOMING)) == before == CallState(P.INCOMING)
    machine.handle(Event(E.USER_ACCEPT))
    with pytest.raises(IllegalTransition):  # the engine drops it by call id before this
        machine.handle(Event(E.SERVER_INCOMING))
    assert machine.phase is P.CONNECTING


def test_a_call_in_progress_found_by_sync_is_rejoined_from_idle_only() -> None:
    machine = drive(E.SERVER_IN_PROGRESS)
    assert machine.phase is P.CONNECTING
    assert machine.handle(Event(E.MEDIA_CONNECTED)).phase is P.ACTIVE
    assert [p for p in Phase if (p, E.SERVER_IN_PROGRESS) in TRANSITIONS] == [P.IDLE]
