"""Reconciliation as a table: what a ``sync`` (and one record of my call) means for the call on
this device, case by case, written out here."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tests.engine.fakes import make_call
from voip_app.call.machine import CallProgress, Outcome, Phase, Trigger
from voip_app.call.reconcile import reconcile, report
from voip_contract import Call, CallStatus, Reason

T = Trigger


def ringing_out(call_id: str) -> Call:
    return make_call(call_id=call_id)


def answered(call_id: str, direction: str = "outgoing") -> Call:
    return make_call(call_id=call_id, direction=direction, status="IN_PROGRESS")


def ringing_in(call_id: str) -> Call:
    return make_call(call_id=call_id, direction="incoming")


@dataclass(frozen=True)
class Case:
    phase: Phase
    current: str | None
    synced: tuple[Call, ...]
    expected: list[tuple[Trigger, str | None]]
    finished: frozenset[str] = field(default_factory=frozenset)
    can_resume: bool = True
    reconnected: bool = False


CASES = {
    "on screen, no longer listed: settle": Case(
        Phase.RINGING_OUT, "c1", (), [(T.SERVER_REPORTS_MISSING, None)]
    ),
    "on screen, still ringing": Case(
        Phase.RINGING_OUT, "c1", (ringing_out("c1"),), [(T.SERVER_REPORTS_RINGING, "c1")]
    ),
    "on screen, answered while away": Case(
        Phase.DIALING, "c1", (answered("c1"),), [(T.SERVER_REPORTS_ANSWERED, "c1")]
    ),
    "ringing here, answered elsewhere": Case(
        Phase.INCOMING,
        "c1",
        (answered("c1", "incoming"),),
        [(T.SERVER_REPORTS_ANSWERED, "c1")],
    ),
    "on screen and active: reported, the table ignores it": Case(
        Phase.ACTIVE, "c1", (answered("c1"),), [(T.SERVER_REPORTS_ANSWERED, "c1")]
    ),
    "other calls are not looked at during a call": Case(
        Phase.ACTIVE, "c1", (answered("c1"), ringing_in("c2")), [(T.SERVER_REPORTS_ANSWERED, "c1")]
    ),
    "invite still on its way: nothing": Case(Phase.DIALING, None, (ringing_out("c1"),), []),
    "invite on its way, after a reconnect: watch for the answer": Case(
        Phase.DIALING, None, (), [(T.SERVER_RELINKED, None)], reconnected=True
    ),
    "ringing out after a reconnect: report, then watch": Case(
        Phase.RINGING_OUT,
        "c1",
        (ringing_out("c1"),),
        [(T.SERVER_REPORTS_RINGING, "c1"), (T.SERVER_RELINKED, None)],
        reconnected=True,
    ),
    "idle, a call rings for me": Case(
        Phase.IDLE, None, (ringing_in("c5"),), [(T.SERVER_INCOMING, "c5")]
    ),
    "idle, my own outgoing call ringing elsewhere: nothing": Case(
        Phase.IDLE, None, (ringing_out("c5"),), []
    ),
    "idle, a call in progress only the server remembers": Case(
        Phase.IDLE, None, (answered("c3"),), [(T.SERVER_REPORTS_UNSEEN, "c3")]
    ),
    "idle without a device id: not claimed": Case(
        Phase.IDLE, None, (answered("c3"),), [], can_resume=False
    ),
    "ended here: never rejoined": Case(
        Phase.ENDED, "c3", (answered("c3"),), [], finished=frozenset({"c3"})
    ),
    "ended here: never rings again; the next one does": Case(
        Phase.ENDED,
        "c7",
        (ringing_in("c7"), ringing_in("c8")),
        [(T.SERVER_INCOMING, "c8")],
        finished=frozenset({"c7"}),
    ),
    "only the first call that matters": Case(
        Phase.IDLE, None, (answered("c3"), ringing_in("c5")), [(T.SERVER_REPORTS_UNSEEN, "c3")]
    ),
    "idle after a reconnect: relinked, which the table ignores when idle": Case(
        Phase.IDLE, None, (), [(T.SERVER_RELINKED, None)], reconnected=True
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_reconcile(case: Case) -> None:
    events = reconcile(
        CallProgress(case.phase),
        case.current,
        case.synced,
        case.finished,
        can_resume=case.can_resume,
        reconnected=case.reconnected,
    )
    assert [(e.trigger, e.call.id if e.call else None) for e in events] == case.expected


@pytest.mark.parametrize(
    ("status", "reason", "trigger", "outcome"),
    [
        ("RINGING", None, T.SERVER_REPORTS_RINGING, None),
        ("IN_PROGRESS", None, T.SERVER_REPORTS_ANSWERED, None),
        (
            "MISSED",
            "ring_timeout",
            T.SERVER_ENDED,
            Outcome(CallStatus.MISSED, Reason.RING_TIMEOUT),
        ),
        ("COMPLETED", "hangup", T.SERVER_ENDED, Outcome(CallStatus.COMPLETED, Reason.HANGUP)),
    ],
)
def test_one_record_of_my_call(
    status: str, reason: str | None, trigger: Trigger, outcome: Outcome | None
) -> None:
    said = report(make_call(status=status, reason=reason))
    assert (said.trigger, said.outcome) == (trigger, outcome)
