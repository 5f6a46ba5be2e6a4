"""The client's call state machine: one table, no I/O.

This device's call goes through :class:`Phase` s::

    idle -> dialing -> ringing_out -> connecting -> active <-> reconnecting -> ended
    idle -> incoming -> connecting -> active ...
    idle -> connecting -> active ...      (a call in progress found by ``sync``, rejoined here)

Everything that can happen to it is a :class:`Trigger`; :func:`next_step` looks the pair
``(phase, trigger)`` up in :data:`TRANSITIONS` and answers with the next :class:`CallProgress`
and the :class:`Effect` s the engine must run. A pair that is not in the table raises
:class:`IllegalTrigger` and changes nothing, so a late, duplicated or out-of-order event can never
corrupt the call. The table is the only place that decides about phases: the engine runs what it
says, and :data:`ENDING` / :data:`LEAVING` say what "end the call" and "leave" mean per phase.

``ended`` carries the server's final :class:`~voip_contract.CallStatus` and
:class:`~voip_contract.Reason`; ``status is None`` means the call went on without this device
(another device of the same user answered it).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

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


class Trigger(StrEnum):
    """What can happen to this device's call; the prefix says who caused it."""

    USER_DIAL = "user_dial"
    USER_ACCEPT = "user_accept"
    USER_DECLINE = "user_decline"
    USER_CANCEL = "user_cancel"
    USER_HANG_UP = "user_hang_up"
    USER_DISMISS = "user_dismiss"
    SERVER_INCOMING = "server_incoming"
    """``incoming`` for a call that is not on screen here."""
    SERVER_INCOMING_AGAIN = "server_incoming_again"
    """``incoming`` re-sent (after a reconnect) for the call on screen: no second ring."""
    SERVER_RINGING = "server_ringing"
    SERVER_ACCEPTED = "server_accepted"
    """``accepted``, with the caller's room token."""
    SERVER_ANSWER_CONFIRMED = "server_answer_confirmed"
    """``accept``'s ack, with the answering device's room token."""
    SERVER_ANSWERED_ELSEWHERE = "server_answered_elsewhere"
    SERVER_ENDED = "server_ended"
    """``ended``, or an ack or the call log saying the call ended (with the outcome)."""
    SERVER_REFUSED = "server_refused"
    """The invite or the answer was refused (with the outcome)."""
    SERVER_REPORTS_RINGING = "server_reports_ringing"
    """An invite's ack, ``sync`` or the call log: my call rings."""
    SERVER_REPORTS_ANSWERED = "server_reports_answered"
    """An invite's ack, ``sync`` or the call log: my call was answered."""
    SERVER_REPORTS_MISSING = "server_reports_missing"
    """``sync`` no longer lists the call on screen."""
    SERVER_REPORTS_UNSEEN = "server_reports_unseen"
    """``sync`` lists a call in progress this device shows nothing of (the app restarted)."""
    SERVER_IN_PROGRESS = "server_in_progress"
    """The server handed this device a room token for that call: rejoin it."""
    SERVER_RELINKED = "server_relinked"
    """Signaling came back after a drop (and synced)."""
    MEDIA_CONNECTED = "media_connected"
    """The engine's join of the room connected."""
    MEDIA_RECOVERED = "media_recovered"
    """The media SDK's own reconnect worked."""
    MEDIA_RECONNECTING = "media_reconnecting"
    MEDIA_LOST = "media_lost"
    """The room disconnected for good: join again with fresh tokens."""
    MEDIA_FAILED = "media_failed"
    """Joining gave up: the call fails, and the server hears it."""
    MEDIA_RESUME_FAILED = "media_resume_failed"
    """A call found by ``sync`` could not be rejoined: it ends here only (the server's rejoin
    grace ends it for everyone if nobody comes back)."""


class Effect(StrEnum):
    """What the engine does after a step, in the order the table lists them."""

    START_CALL = "start_call"
    """The trigger's call is the one on screen now (it replaces an ended one)."""
    ANNOUNCE_PHASE = "announce_phase"
    JOIN_MEDIA = "join_media"
    """Join the room: with the trigger's token, or with fresh ones (leaving any old session)."""
    RESUME_MEDIA = "resume_media"
    """Join a call found by ``sync`` with the trigger's token."""
    MARK_CONNECTED = "mark_connected"
    """The media is up: the timer starts (unless it already runs)."""
    POLL_FOR_ANSWER = "poll_for_answer"
    """Read the call log for an answer whose ``accepted`` went to a connection that is gone."""
    SETTLE_FROM_LOG = "settle_from_log"
    FETCH_ROOM_TOKEN = "fetch_room_token"
    """Ask for a token for the call ``sync`` listed; the answer is ``SERVER_IN_PROGRESS``."""
    REMEMBER_ENDED = "remember_ended"
    """The call's id never rings or is rejoined here again."""
    END_CALL = "end_call"
    """Stop the call's tasks and media, and tell how it ended."""
    SEND_CANCEL = "send_cancel"
    SEND_DECLINE = "send_decline"
    SEND_HANGUP = "send_hangup"
    CLEAR_CALL = "clear_call"


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a call ended: the server's final status and reason (``None`` status: elsewhere)."""

    status: CallStatus | None
    reason: Reason | None


CANCELED = Outcome(CallStatus.CANCELED, Reason.CANCELED)
DECLINED = Outcome(CallStatus.DECLINED, Reason.DECLINED)
HUNG_UP = Outcome(CallStatus.COMPLETED, Reason.HANGUP)
MEDIA_DOWN = Outcome(CallStatus.FAILED, Reason.MEDIA_UNAVAILABLE)
ELSEWHERE = Outcome(None, None)

OutcomeRule = Outcome | Literal["server", "keep"] | None
"""How a step sets the outcome: a fixed one (this device ended the call), ``"server"`` (the
trigger's), ``"keep"`` (an ended call stays as it ended), ``None`` (the call is not over)."""


@dataclass(frozen=True, slots=True)
class Step:
    """One row of the table: where the call goes, and what the engine does."""

    phase: Phase
    effects: tuple[Effect, ...] = ()
    outcome: OutcomeRule = None


@dataclass(frozen=True, slots=True)
class CallProgress:
    """The machine's whole state: a phase, plus the outcome once ``ended``."""

    phase: Phase = Phase.IDLE
    status: CallStatus | None = None
    reason: Reason | None = None

    @property
    def in_call(self) -> bool:
        """True from dialing/incoming until ended: the device is busy with a call."""
        return self.phase not in (Phase.IDLE, Phase.ENDED)


class IllegalTrigger(Exception):
    """The trigger (or action) makes no sense in the current phase; nothing changed."""

    def __init__(self, phase: Phase, action: str) -> None:
        super().__init__(f"{action} is not allowed while {phase.value}")
        self.phase = phase
        self.action = action


P, T, E = Phase, Trigger, Effect


def to(phase: Phase, *effects: Effect) -> Step:
    """A step to a phase of a call that goes on."""
    return Step(phase, effects)


def ends(outcome: Outcome | Literal["server"], *effects: Effect) -> Step:
    """A step that ends the call: remembered, stopped, then ``effects`` (telling the server)."""
    return Step(P.ENDED, (E.REMEMBER_ENDED, E.END_CALL, *effects), outcome)


def stays_ended(*effects: Effect) -> Step:
    """An ended call that stays as it ended."""
    return Step(P.ENDED, effects, "keep")


_IN_CALL = (P.DIALING, P.RINGING_OUT, P.INCOMING, P.CONNECTING, P.ACTIVE, P.RECONNECTING)

# A declarative table: one row per legal pair (kept whole, not split, so it reads as one).
TRANSITIONS: dict[tuple[Phase, Trigger], Step] = {
    # placing a call
    (P.IDLE, T.USER_DIAL): to(P.DIALING, E.START_CALL),
    (P.ENDED, T.USER_DIAL): to(P.DIALING, E.START_CALL),
    (P.DIALING, T.SERVER_RINGING): to(P.RINGING_OUT, E.ANNOUNCE_PHASE),
    (P.RINGING_OUT, T.SERVER_RINGING): to(P.RINGING_OUT, E.ANNOUNCE_PHASE),
    (P.DIALING, T.SERVER_ACCEPTED): to(P.CONNECTING, E.ANNOUNCE_PHASE, E.JOIN_MEDIA),
    (P.RINGING_OUT, T.SERVER_ACCEPTED): to(P.CONNECTING, E.ANNOUNCE_PHASE, E.JOIN_MEDIA),
    (P.DIALING, T.USER_CANCEL): ends(CANCELED, E.SEND_CANCEL),
    (P.RINGING_OUT, T.USER_CANCEL): ends(CANCELED, E.SEND_CANCEL),
    (P.DIALING, T.SERVER_REFUSED): ends("server"),
    # what the server says about the call I placed (its ack, sync, the call log)
    (P.DIALING, T.SERVER_REPORTS_RINGING): to(P.RINGING_OUT, E.ANNOUNCE_PHASE),
    (P.RINGING_OUT, T.SERVER_REPORTS_RINGING): to(P.RINGING_OUT),
    (P.DIALING, T.SERVER_REPORTS_ANSWERED): to(P.CONNECTING, E.ANNOUNCE_PHASE, E.JOIN_MEDIA),
    (P.RINGING_OUT, T.SERVER_REPORTS_ANSWERED): to(P.CONNECTING, E.ANNOUNCE_PHASE, E.JOIN_MEDIA),
    (P.DIALING, T.SERVER_RELINKED): to(P.DIALING, E.POLL_FOR_ANSWER),
    (P.RINGING_OUT, T.SERVER_RELINKED): to(P.RINGING_OUT, E.POLL_FOR_ANSWER),
    # cancelled while the invite was on its way: the ack brings the id to stop it with
    (P.ENDED, T.SERVER_REPORTS_RINGING): stays_ended(E.REMEMBER_ENDED, E.SEND_CANCEL),
    (P.ENDED, T.SERVER_REPORTS_ANSWERED): stays_ended(E.REMEMBER_ENDED, E.SEND_HANGUP),
    # receiving a call (a second one while one rings here replaces it: the newer one shows)
    (P.IDLE, T.SERVER_INCOMING): to(P.INCOMING, E.START_CALL),
    (P.ENDED, T.SERVER_INCOMING): to(P.INCOMING, E.START_CALL),
    (P.INCOMING, T.SERVER_INCOMING): to(P.INCOMING, E.START_CALL),
    (P.INCOMING, T.SERVER_INCOMING_AGAIN): to(P.INCOMING),
    (P.INCOMING, T.USER_ACCEPT): to(P.CONNECTING),
    (P.CONNECTING, T.SERVER_ANSWER_CONFIRMED): to(P.CONNECTING, E.JOIN_MEDIA),
    (P.INCOMING, T.USER_DECLINE): ends(DECLINED, E.SEND_DECLINE),
    (P.INCOMING, T.SERVER_ANSWERED_ELSEWHERE): ends(ELSEWHERE),
    (P.INCOMING, T.SERVER_REPORTS_ANSWERED): ends(ELSEWHERE),
    (P.CONNECTING, T.SERVER_REFUSED): ends("server"),
    # rejoining a call in progress that only the server remembered
    (P.IDLE, T.SERVER_REPORTS_UNSEEN): to(P.IDLE, E.FETCH_ROOM_TOKEN),
    (P.ENDED, T.SERVER_REPORTS_UNSEEN): stays_ended(E.FETCH_ROOM_TOKEN),
    (P.IDLE, T.SERVER_IN_PROGRESS): to(P.CONNECTING, E.START_CALL, E.RESUME_MEDIA),
    (P.ENDED, T.SERVER_IN_PROGRESS): to(P.CONNECTING, E.START_CALL, E.RESUME_MEDIA),
    (P.CONNECTING, T.MEDIA_RESUME_FAILED): ends(MEDIA_DOWN),
    # media
    (P.CONNECTING, T.MEDIA_CONNECTED): to(P.ACTIVE, E.ANNOUNCE_PHASE, E.MARK_CONNECTED),
    (P.RECONNECTING, T.MEDIA_CONNECTED): to(P.ACTIVE, E.ANNOUNCE_PHASE, E.MARK_CONNECTED),
    (P.RECONNECTING, T.MEDIA_RECOVERED): to(P.ACTIVE, E.ANNOUNCE_PHASE, E.MARK_CONNECTED),
    (P.ACTIVE, T.MEDIA_RECONNECTING): to(P.RECONNECTING, E.ANNOUNCE_PHASE),
    (P.RECONNECTING, T.MEDIA_RECONNECTING): to(P.RECONNECTING, E.ANNOUNCE_PHASE),
    (P.ACTIVE, T.MEDIA_LOST): to(P.RECONNECTING, E.ANNOUNCE_PHASE, E.JOIN_MEDIA),
    (P.RECONNECTING, T.MEDIA_LOST): to(P.RECONNECTING, E.ANNOUNCE_PHASE, E.JOIN_MEDIA),
    (P.CONNECTING, T.MEDIA_FAILED): ends(MEDIA_DOWN, E.SEND_HANGUP),
    (P.ACTIVE, T.MEDIA_FAILED): ends(MEDIA_DOWN, E.SEND_HANGUP),
    (P.RECONNECTING, T.MEDIA_FAILED): ends(MEDIA_DOWN, E.SEND_HANGUP),
    # hanging up (before any audio too: an answered call is ended for both)
    (P.CONNECTING, T.USER_HANG_UP): ends(HUNG_UP, E.SEND_HANGUP),
    (P.ACTIVE, T.USER_HANG_UP): ends(HUNG_UP, E.SEND_HANGUP),
    (P.RECONNECTING, T.USER_HANG_UP): ends(HUNG_UP, E.SEND_HANGUP),
    # the server's word is final in every phase of a call, and may correct a local ending
    **{(phase, T.SERVER_ENDED): ends("server") for phase in (*_IN_CALL, P.ENDED)},
    # the server no longer lists the call: its log says how it ended
    **{(phase, T.SERVER_REPORTS_MISSING): to(phase, E.SETTLE_FROM_LOG) for phase in _IN_CALL},
    # back to idle
    (P.ENDED, T.USER_DISMISS): to(P.IDLE, E.CLEAR_CALL),
}

#: What "end the call" (the one red button) means in each phase of a call.
ENDING: dict[Phase, Trigger] = {
    P.DIALING: T.USER_CANCEL,
    P.RINGING_OUT: T.USER_CANCEL,
    P.INCOMING: T.USER_DECLINE,
    P.CONNECTING: T.USER_HANG_UP,
    P.ACTIVE: T.USER_HANG_UP,
    P.RECONNECTING: T.USER_HANG_UP,
}

#: What this device does to its call when it goes away (sign-out, a closed window): a call that
#: rings is left alone, since the person's other devices still ring and leaving is no answer.
LEAVING: dict[Phase, Trigger] = {p: t for p, t in ENDING.items() if t is not T.USER_DECLINE}


def next_step(
    progress: CallProgress, trigger: Trigger, outcome: Outcome | None = None
) -> tuple[CallProgress, tuple[Effect, ...]]:
    """The progress after ``trigger`` and the effects to run; ``outcome`` is the server's word
    for the triggers that carry one. Raises :class:`IllegalTrigger` for a pair not in the table."""
    step = TRANSITIONS.get((progress.phase, trigger))
    if step is None:
        raise IllegalTrigger(progress.phase, trigger.value)
    return _progress_after(progress, step, outcome), step.effects


def _progress_after(progress: CallProgress, step: Step, outcome: Outcome | None) -> CallProgress:
    rule = step.outcome
    if step.phase is not P.ENDED:
        return CallProgress(step.phase)
    if rule == "keep":
        return progress
    if rule == "server":
        said = outcome or ELSEWHERE
        return CallProgress(P.ENDED, said.status or CallStatus.FAILED, said.reason)
    assert rule is not None, "a step to ended says how the call ended"
    return CallProgress(P.ENDED, rule.status, rule.reason)


def allows(phase: Phase, trigger: Trigger) -> bool:
    """Does the table have a row for ``trigger`` in ``phase``?"""
    return (phase, trigger) in TRANSITIONS


def placing(phase: Phase) -> bool:
    """Is an outgoing call still being placed here (could the person still cancel it)?"""
    return allows(phase, T.USER_CANCEL)
