"""LiveKit's webhooks (already verified by :meth:`server.media.MediaRooms.verify_webhook`).

``room_finished`` ends the call in that room at once. ``participant_left`` of a party of an
answered call does not: it starts that party's rejoin grace (``now + VOIP_REJOIN_GRACE_S``,
stored in the row, so any node settles it and it survives a restart), which
``participant_joined`` of that party clears and :func:`server.calls.sweeps.settle_lost_media`
ends the call after.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from server.calls import recording
from server.calls.deps import CallDeps
from server.calls.settle import Find, settle
from server.calls.steps import SYSTEM_ACTOR
from server.callstate import Role, StatusEvent
from server.db import calls as call_data
from server.db.models import CallRow
from server.db.transaction import Db
from server.media import MediaUnavailable, WebhookNotice, user_of_identity
from voip_contract import CallStatus

log = logging.getLogger(__name__)


async def on_webhook(deps: CallDeps, notice: WebhookNotice) -> None:
    """Act on the events that concern a call's room or recording; ignore the rest."""
    if notice.egress is not None:
        await recording.on_egress(deps, notice.event, notice.egress)
        return
    if not notice.room_name:
        return
    if notice.event == "room_finished":
        find = _answered_call_in(notice.room_name)
        await settle(deps, find, StatusEvent.ROOM_FINISHED, device=notice.identity)
    elif notice.event == "participant_left":
        await _media_lost(deps, notice)
    elif notice.event == "participant_joined":
        await _media_back(deps, notice)


def _answered_call_in(room_name: str) -> Find:
    async def find(session: Db) -> tuple[CallRow, Role] | None:
        row = await call_data.answered_call_in_room(session, room_name=room_name)
        return None if row is None else (row, Role.SYSTEM)

    return find


async def _party_in_room(deps: CallDeps, notice: WebhookNotice) -> tuple[str, str] | None:
    """``(call id, "caller" | "callee")``: the answered call and the party ``notice`` is about."""
    if notice.identity is None:
        return None
    async with deps.sessions() as session:
        found = await call_data.parties_in_room(session, room_name=notice.room_name)
    if found is None:
        return None
    call_id, caller_id, callee_id = found
    user_id = user_of_identity(notice.identity)
    if user_id == caller_id:
        return call_id, "caller"
    if user_id == callee_id:
        return call_id, "callee"
    return None


async def _still_in_room(deps: CallDeps, notice: WebhookNotice) -> bool:
    """A newer session of the same identity is in the room (a rejoin whose ``joined``
    came before the old session's ``left``). When LiveKit cannot tell, assume not: the
    grace then only delays the end, and a later ``joined`` still clears it."""
    try:
        people = await deps.media.list_participants(notice.room_name)
    except MediaUnavailable as exc:
        log.warning("participants not listed", extra={"room": notice.room_name, "error": str(exc)})
        return False
    return any(p.identity == notice.identity for p in people)


async def _media_lost(deps: CallDeps, notice: WebhookNotice) -> None:
    party = await _party_in_room(deps, notice)
    if party is None or await _still_in_room(deps, notice):
        return
    call_id, side = party
    deadline = deps.clock.now() + timedelta(seconds=deps.settings.rejoin_grace_s)
    # a grace already running is not extended by a repeated webhook
    if await _set_grace(deps, call_id, side, deadline, "participant_left", notice.identity):
        log.info("media lost", extra={"call": call_id, "identity": notice.identity})


async def _media_back(deps: CallDeps, notice: WebhookNotice) -> None:
    party = await _party_in_room(deps, notice)
    if party is None:
        return
    call_id, side = party
    # nothing to clear on the first join, or once the call ended
    if await _set_grace(deps, call_id, side, None, "participant_joined", notice.identity):
        log.info("media back", extra={"call": call_id, "identity": notice.identity})


async def _set_grace(
    deps: CallDeps,
    call_id: str,
    side: str,
    deadline: datetime | None,
    event: str,
    identity: str | None,
) -> bool:
    """Start (``deadline``) or clear (``None``) a party's rejoin grace; only if that changed
    the call is the event written (IN_PROGRESS -> IN_PROGRESS, no status change)."""
    async with deps.sessions() as session:
        if not await call_data.set_grace(session, call_id=call_id, party=side, deadline=deadline):
            return False
        status = CallStatus.IN_PROGRESS.value
        await call_data.insert_event(
            session,
            call_id=call_id,
            at=deps.clock.now(),
            event=event,
            from_status=status,
            to_status=status,
            reason=None,
            actor=SYSTEM_ACTOR,
            device=identity,
        )
        await session.commit()
    return True
