"""The client's call table against a specification written out here, independently of it.

:data:`SPEC` lists every legal ``(phase, trigger)`` pair with the phase it leads to, the effects
in order and how the outcome is set; every pair it does not list must be refused without a change.
Every one of the 8 x 26 pairs is a test case, so deleting, changing or adding a row of
``TRANSITIONS`` fails here, in milliseconds, before any engine or browser test runs.
"""

from __future__ import annotations

import itertools

import pytest

from voip_app.call.machine import (
    ENDING,
    LEAVING,
    CallProgress,
    Effect,
    IllegalTrigger,
    Outcome,
    Phase,
    Trigger,
    next_step,
    placing,
)
from voip_contract import CallStatus, Reason

# phase, trigger -> the phase it leads to, its effects in order (END: remember_ended end_call),
# and how it sets the outcome (one of OUTCOMES); every pair not listed is refused.
SPEC = """
idle         user_dial                 -> dialing      start_call
ended        user_dial                 -> dialing      start_call
dialing      server_ringing            -> ringing_out  announce_phase
ringing_out  server_ringing            -> ringing_out  announce_phase
dialing      server_accepted           -> connecting   announce_phase join_media
ringing_out  server_accepted           -> connecting   announce_phase join_media
dialing      user_cancel               -> ended        END send_cancel               canceled
ringing_out  user_cancel               -> ended        END send_cancel               canceled
dialing      server_refused            -> ended        END                           server
dialing      server_reports_ringing    -> ringing_out  announce_phase
ringing_out  server_reports_ringing    -> ringing_out
dialing      server_reports_answered   -> connecting   announce_phase join_media
ringing_out  server_reports_answered   -> connecting   announce_phase join_media
dialing      server_relinked           -> dialing      poll_for_answer
ringing_out  server_relinked           -> ringing_out  poll_for_answer
ended        server_reports_ringing    -> ended        remember_ended send_cancel    keep
ended        server_reports_answered   -> ended        remember_ended send_hangup    keep
idle         server_incoming           -> incoming     start_call
ended        server_incoming           -> incoming     start_call
incoming     server_incoming           -> incoming     start_call
incoming     server_incoming_again     -> incoming
incoming     user_accept               -> connecting
connecting   server_answer_confirmed   -> connecting   join_media
incoming     user_decline              -> ended        END send_decline              declined
incoming     server_answered_elsewhere -> ended        END                           elsewhere
incoming     server_reports_answered   -> ended        END                           elsewhere
connecting   server_refused            -> ended        END                           server
idle         server_reports_unseen     -> idle         fetch_room_token
ended        server_reports_unseen     -> ended        fetch_room_token              keep
idle         server_in_progress        -> connecting   start_call resume_media
ended        server_in_progress        -> connecting   start_call resume_media
connecting   media_resume_failed       -> ended        END                           media_down
connecting   media_connected           -> active       announce_phase mark_connected
reconnecting media_connected           -> active       announce_phase mark_connected
reconnecting media_recovered           -> active       announce_phase mark_connected
active       media_reconnecting        -> reconnecting announce_phase
reconnecting media_reconnecting        -> reconnecting announce_phase
active       media_lost                -> reconnecting announce_phase join_media
reconnecting media_lost                -> reconnecting announce_phase join_media
connecting   media_failed              -> ended        END send_hangup               media_down
active       media_failed              -> ended        END send_hangup               media_down
reconnecting media_failed              -> ended        END send_hangup               media_down
connecting   user_hang_up              -> ended        END send_hangup               hung_up
active       user_hang_up              -> ended        END send_hangup               hung_up
reconnecting user_hang_up              -> ended        END send_hangup               hung_up
dialing      server_ended              -> ended        END                           server
ringing_out  server_ended              -> ended        END                           server
incoming     server_ended              -> ended        END                           server
connecting   server_ended              -> ended        END                           server
active       server_ended              -> ended        END                           server
reconnecting server_ended              -> ended        END                           server
ended        server_ended              -> ended        END                           server
dialing      server_reports_missing    -> dialing      settle_from_log
ringing_out  server_reports_missing    -> ringing_out  settle_from_log
incoming     server_reports_missing    -> incoming     settle_from_log
connecting   server_reports_missing    -> connecting   settle_from_log
active       server_reports_missing    -> active       settle_from_log
reconnecting server_reports_missing    -> reconnecting settle_from_log
ended        user_dismiss              -> idle         clear_call
"""

OUTCOMES: dict[str, tuple[CallStatus | None, Reason | None] | None] = {
    "canceled": (CallStatus.CANCELED, Reason.CANCELED),
    "declined": (CallStatus.DECLINED, Reason.DECLINED),
    "hung_up": (CallStatus.COMPLETED, Reason.HANGUP),
    "media_down": (CallStatus.FAILED, Reason.MEDIA_UNAVAILABLE),
    "elsewhere": (None, None),  # another device of mine answered
    "server": None,  # the server's word (the trigger's outcome)
    "keep": None,  # an ended call stays as it ended
}
END = ["remember_ended", "end_call"]


def parse(spec: str) -> dict[tuple[Phase, Trigger], tuple[Phase, tuple[Effect, ...], str | None]]:
    rows: dict[tuple[Phase, Trigger], tuple[Phase, tuple[Effect, ...], str | None]] = {}
    for line in spec.strip().splitlines():
        phase, trigger, arrow, target, *rest = line.split()
        assert arrow == "->", line
        outcome = rest.pop() if rest and rest[-1] in OUTCOMES else None
        rest = [e for word in rest for e in (END if word == "END" else [word])]
        key = (Phase(phase), Trigger(trigger))
        assert key not in rows, f"listed twice: {line}"
        rows[key] = (Phase(target), tuple(Effect(e) for e in rest), outcome)
    return rows


EXPECTED = parse(SPEC)
SERVER_SAID = Outcome(CallStatus.MISSED, Reason.RING_TIMEOUT)
BEFORE_ENDED = CallProgress(Phase.ENDED, CallStatus.COMPLETED, Reason.HANGUP)


def progress_in(phase: Phase) -> CallProgress:
    return BEFORE_ENDED if phase is Phase.ENDED else CallProgress(phase)


def outcome_after(rule: str | None, before: CallProgress) -> tuple[object, object]:
    if rule is None:
        return (None, None)
    if rule == "server":
        return (SERVER_SAID.status, SERVER_SAID.reason)
    if rule == "keep":
        return (before.status, before.reason)
    fixed = OUTCOMES[rule]
    assert fixed is not None
    return fixed


@pytest.mark.parametrize(("phase", "trigger"), list(itertools.product(Phase, Trigger)))
def test_every_pair_does_what_the_spec_says(phase: Phase, trigger: Trigger) -> None:
    before = progress_in(phase)
    expected = EXPECTED.get((phase, trigger))
    if expected is None:
        with pytest.raises(IllegalTrigger) as refused:
            next_step(before, trigger, SERVER_SAID)
        assert (refused.value.phase, refused.value.action) == (phase, trigger.value)
        assert before == progress_in(phase)  # a value: nothing to change, nothing changed
        return
    target, effects, rule = expected
    after, done = next_step(before, trigger, SERVER_SAID)
    assert after.phase is target
    assert done == effects
    assert (after.status, after.reason) == outcome_after(rule, before)


def test_the_spec_names_every_phase_and_trigger() -> None:
    assert {p for p, _ in EXPECTED} | {t for t, _, _ in EXPECTED.values()} == set(Phase)
    assert {t for _, t in EXPECTED} == set(Trigger)


def test_an_end_the_server_gives_no_status_for_is_a_failure() -> None:
    after, _ = next_step(CallProgress(Phase.DIALING), Trigger.SERVER_REFUSED)
    assert (after.status, after.reason) == (CallStatus.FAILED, None)
    busy = Outcome(CallStatus.BUSY, Reason.CALLEE_BUSY)
    after, _ = next_step(CallProgress(Phase.DIALING), Trigger.SERVER_REFUSED, busy)
    assert (after.status, after.reason) == (CallStatus.BUSY, Reason.CALLEE_BUSY)


def test_ending_and_leaving_per_phase() -> None:
    assert ENDING == {
        Phase.DIALING: Trigger.USER_CANCEL,
        Phase.RINGING_OUT: Trigger.USER_CANCEL,
        Phase.INCOMING: Trigger.USER_DECLINE,
        Phase.CONNECTING: Trigger.USER_HANG_UP,
        Phase.ACTIVE: Trigger.USER_HANG_UP,
        Phase.RECONNECTING: Trigger.USER_HANG_UP,
    }
    assert {p: t for p, t in ENDING.items() if p is not Phase.INCOMING} == LEAVING
    for phase, trigger in ENDING.items():
        assert EXPECTED[(phase, trigger)][0] is Phase.ENDED


def test_a_call_is_being_placed_while_dialing_or_ringing_out() -> None:
    assert {p for p in Phase if placing(p)} == {Phase.DIALING, Phase.RINGING_OUT}


def drive(*triggers: Trigger) -> CallProgress:
    progress = CallProgress()
    for trigger in triggers:
        progress, _ = next_step(progress, trigger)
    return progress


def test_a_placed_call_goes_through_every_phase_and_back_to_idle() -> None:
    T = Trigger
    path = (T.USER_DIAL, T.SERVER_RINGING, T.SERVER_ACCEPTED, T.MEDIA_CONNECTED)
    assert drive(*path).phase is Phase.ACTIVE
    path += (T.MEDIA_RECONNECTING, T.MEDIA_RECOVERED, T.USER_HANG_UP)
    assert drive(*path) == CallProgress(Phase.ENDED, CallStatus.COMPLETED, Reason.HANGUP)
    assert drive(*path, T.USER_DISMISS) == CallProgress()


def test_the_server_corrects_a_local_ending() -> None:
    cancelled = drive(Trigger.USER_DIAL, Trigger.USER_CANCEL)
    corrected, _ = next_step(cancelled, Trigger.SERVER_ENDED, SERVER_SAID)
    assert (corrected.status, corrected.reason) == (CallStatus.MISSED, Reason.RING_TIMEOUT)


def test_the_callee_stops_ringing_when_the_caller_cancels() -> None:
    ringing = drive(Trigger.SERVER_INCOMING, Trigger.SERVER_INCOMING_AGAIN)
    canceled = Outcome(CallStatus.CANCELED, Reason.CANCELED)
    after, effects = next_step(ringing, Trigger.SERVER_ENDED, canceled)
    assert after == CallProgress(Phase.ENDED, CallStatus.CANCELED, Reason.CANCELED)
    assert Effect.END_CALL in effects
