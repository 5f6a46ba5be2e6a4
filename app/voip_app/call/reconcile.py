"""What the server's word about calls means for the call on this device: pure, no I/O.

After every (re)connect the signaling client calls ``sync``, which lists the active calls I am
part of. :func:`reconcile` turns that list into the triggers that make this device's call agree
with it (the machine's table decides what each one does in the current phase):

- a call on screen that the server no longer lists: read its outcome from the call log;
- a call on screen that the server lists: what it says (ringing, answered);
- no call on screen: a call ringing for me rings here; a call in progress that only the server
  remembers (the app restarted mid-call) is rejoined if the server hands this device a token;
- after a reconnect, a call still being placed watches the call log for its answer.

Calls that ended on this device (``finished``) never ring or are rejoined again.
:func:`report` reads one record of my call (an invite's ack, the call log) the same way.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from voip_app.call.machine import CallProgress, Outcome, Trigger
from voip_contract import Call, CallStatus


@dataclass(frozen=True, slots=True)
class SyncEvent:
    """One trigger for the machine, and the listed call it is about (if any)."""

    trigger: Trigger
    call: Call | None = None

    @property
    def outcome(self) -> Outcome | None:
        """The server's outcome, for a report that the call ended."""
        if self.call is None or not self.call.status.is_final:
            return None
        return Outcome(self.call.status, self.call.reason)


def report(call: Call) -> SyncEvent:
    """What the server's record of my call says: it rings, it was answered, or it ended."""
    if call.status.is_final:
        return SyncEvent(Trigger.SERVER_ENDED, call)
    if call.status is CallStatus.IN_PROGRESS:
        return SyncEvent(Trigger.SERVER_REPORTS_ANSWERED, call)
    return SyncEvent(Trigger.SERVER_REPORTS_RINGING, call)


def reconcile(
    progress: CallProgress,
    current_id: str | None,
    synced: Sequence[Call],
    finished: Collection[str],
    *,
    can_resume: bool,
    reconnected: bool,
) -> list[SyncEvent]:
    """The triggers that make the call on screen (``current_id``, in ``progress``) agree with
    ``synced``. ``can_resume``: this device has a stable id, so it may be the one a call in
    progress was on."""
    if progress.in_call:
        events = _about_the_call_on_screen(current_id, synced)
    else:
        events = _about_calls_not_on_screen(synced, finished, can_resume)
    if reconnected:
        events.append(SyncEvent(Trigger.SERVER_RELINKED))
    return events


def _about_the_call_on_screen(current_id: str | None, synced: Sequence[Call]) -> list[SyncEvent]:
    if current_id is None:
        return []  # the invite is still on its way: its ack says what became of it
    listed = next((c for c in synced if c.id == current_id), None)
    if listed is None:
        return [SyncEvent(Trigger.SERVER_REPORTS_MISSING)]
    return [report(listed)]


def _about_calls_not_on_screen(
    synced: Sequence[Call], finished: Collection[str], can_resume: bool
) -> list[SyncEvent]:
    for call in synced:
        if call.id in finished:
            continue  # ended on this device; the server settles it on its own
        if call.status is CallStatus.RINGING and call.direction == "incoming":
            return [SyncEvent(Trigger.SERVER_INCOMING, call)]
        if call.status is CallStatus.IN_PROGRESS and can_resume:
            return [SyncEvent(Trigger.SERVER_REPORTS_UNSEEN, call)]
    return []
