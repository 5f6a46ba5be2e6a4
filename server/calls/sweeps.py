"""The sweeps: calls whose deadline passed by ``now``, settled by whichever node looks first.

Every node runs them every ``VOIP_SWEEP_INTERVAL_S`` (rooms: ``VOIP_ROOM_AUDIT_S``) and once at
start, so calls whose deadline passed while every server was down are settled before the first
request. Deadlines live in the call rows; each sweep takes the time it judges them by, so a
test moves a fake clock instead of waiting.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from server.calls.deps import CallDeps
from server.calls.settle import by_id, settle
from server.callstate import StatusEvent
from server.db import calls as call_data
from server.db.models import CallRow
from server.media import MediaUnavailable
from voip_contract import CallStatus

log = logging.getLogger(__name__)

RINGING, IN_PROGRESS = CallStatus.RINGING, CallStatus.IN_PROGRESS


async def settle_overdue(deps: CallDeps, *, now: datetime, limit: int = 200) -> int:
    """End every call ringing past its deadline as MISSED / ``ring_timeout``, and every call
    whose rejoin grace ran out (:func:`settle_lost_media`); how many this node ended."""
    async with deps.sessions() as session:
        ids = await call_data.ids_where(
            session, status=RINGING.value, condition=CallRow.ring_deadline <= now, limit=limit
        )
    settled = 0
    for call_id in ids:
        settled += await settle(deps, by_id(call_id, status=RINGING), StatusEvent.RING_TIMEOUT)
    return settled + await settle_lost_media(deps, now=now, limit=limit)


async def settle_lost_media(deps: CallDeps, *, now: datetime, limit: int = 200) -> int:
    """End every answered call a party left and did not rejoin within the grace as
    COMPLETED / ``participant_left``; how many this node ended."""
    passed = call_data.grace_passed(now)
    async with deps.sessions() as session:
        ids = await call_data.ids_where(
            session, status=IN_PROGRESS.value, condition=passed, limit=limit
        )
    settled = 0
    for call_id in ids:
        # Only if the grace still ran out: a rejoin may have cleared it meanwhile.
        find = by_id(call_id, status=IN_PROGRESS)
        settled += await settle(deps, find, StatusEvent.PARTICIPANT_LEFT, guard=passed)
    return settled


async def settle_vanished_rooms(deps: CallDeps, *, now: datetime, limit: int = 500) -> int:
    """End answered calls whose room LiveKit no longer has, as ``room_finished`` would have;
    how many this node ended.

    The ``room_finished`` webhook is the only other news of a room's end, and it is lost
    when every node was down as it came, or LiveKit could not reach us: such a call would
    stay IN_PROGRESS, holding both parties' lines (``busy`` to every caller) forever. Calls
    answered less than ``VOIP_ROOM_AUDIT_MIN_AGE_S`` before ``now`` are left alone (their room
    may be in the making); if LiveKit does not answer, nothing is ended.
    """
    before = now - timedelta(seconds=deps.settings.room_audit_min_age_s)
    async with deps.sessions() as session:
        rows = await call_data.rooms_answered_before(session, before=before, limit=limit)
    if not rows:
        return 0
    try:
        alive = await deps.media.existing_rooms([room for _, room in rows])
    except MediaUnavailable as exc:
        log.warning("rooms not audited", extra={"error": str(exc)})
        return 0
    settled = 0
    for call_id, room in rows:
        find = by_id(call_id, status=IN_PROGRESS)
        if room not in alive and await settle(deps, find, StatusEvent.ROOM_FINISHED):
            settled += 1
            log.info("room vanished", extra={"call": call_id, "room": room})
    return settled
