"""Ending a call: one :func:`settle` for a party's ``decline``/``cancel``/``hangup``, the sweeps
(ring timeout, rejoin grace, vanished rooms), the ``room_finished`` webhook and a media failure.

Settling writes the table's step (:func:`server.calls.steps.write_step`); only the node whose
UPDATE changed the row announces the end: ``ended`` to both parties, the room deleted in the
background, both parties' presence published. So a call settled twice (two nodes sweeping, a
webhook racing a hang-up) ends once and is announced once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.sql.elements import ColumnElement

from server import callstate
from server.auth import Identity
from server.calls import announce, presence, recording
from server.calls.deps import CallDeps, DeviceSocket
from server.calls.steps import SYSTEM_ACTOR, legal_step, load_party_call, write_step
from server.calls.views import recording_view
from server.callstate import Role, StatusEvent
from server.db import calls as call_data
from server.db import recordings as rec_data
from server.db.models import CallRow
from server.db.transaction import Db
from server.errors import ServiceError
from server.media import MediaRooms, MediaUnavailable
from voip_contract import CallStatus, ErrorCode

log = logging.getLogger(__name__)

Find = Callable[[Db], Awaitable[tuple[CallRow, Role] | None]]
"""Reads the call to settle and who moves it, in the settling transaction; ``None``: nothing to
do."""


async def settle(
    deps: CallDeps,
    find: Find,
    event: StatusEvent,
    *,
    actor: str = SYSTEM_ACTOR,
    device: str | None = None,
    guard: ColumnElement[bool] | None = None,
) -> bool:
    """End the call ``find`` reads by ``event`` (``hangup`` before an answer is ``cancel`` or
    ``decline``); whether this call of it ended the call. An illegal step is a
    :class:`ServiceError`; ``guard`` is a further condition the row must meet."""
    async with deps.transactions() as session:
        found = await find(session)
        if found is None:
            return False
        row, role = found
        status = CallStatus(row.status)
        if event is StatusEvent.HANGUP:
            event = callstate.hangup_event(status, role)
        step = legal_step(status, event, role)
        won = await write_step(deps, session, row, step, actor=actor, device=device, guard=guard)
    if won:
        await announce_end(deps, row)
    return won


async def announce_end(deps: CallDeps, row: CallRow) -> None:
    """Both parties hear ``ended``, the recording stops, the room goes, their presence is
    published."""
    latest = None
    if row.answered_at is not None:
        async with deps.sessions() as session:
            found = await rec_data.latest_for_calls(session, call_ids=[row.id])
        latest = found.get(row.id)
    await announce.ended(deps.notifier, row, recording_view(latest))
    if row.room_name:
        deps.background.spawn(_stop_then_delete(deps, row.id, row.room_name, latest is not None))
    await presence.publish(deps, row.tenant_id, [row.caller_id, row.callee_id])


async def _stop_then_delete(deps: CallDeps, call_id: str, room: str, recorded: bool) -> None:
    # egress gets its StopEgress before the room goes (it would end with the room anyway)
    if recorded:
        try:
            await recording.stop_for_call(deps, call_id)
        except Exception:
            log.exception("recording not stopped", extra={"call": call_id})
    await delete_room(deps.media, room)


async def delete_room(media: MediaRooms, name: str) -> None:
    """Delete a call's room; LiveKit unreachable is logged (the room's empty timeout closes it)."""
    try:
        await media.delete_room(name)
    except MediaUnavailable as exc:
        log.warning("room not deleted", extra={"room": name, "error": str(exc)})


def by_id(call_id: str, *, status: CallStatus | None = None) -> Find:
    """The server settles call ``call_id`` if it is (still) in ``status``; ``None``: if it is
    not final yet."""

    async def find(session: Db) -> tuple[CallRow, Role] | None:
        row = await call_data.load_call(session, call_id=call_id)
        if row is None or CallStatus(row.status).is_final:
            return None
        if status is not None and row.status != status.value:
            return None
        return row, Role.SYSTEM

    return find


async def finish(
    deps: CallDeps, ident: Identity, dev: DeviceSocket, call_id: str, event: StatusEvent
) -> None:
    """A party's ``decline``, ``cancel`` or ``hangup``; ``invalid_state`` when the call changed
    meanwhile."""

    async def party_call(session: Db) -> tuple[CallRow, Role]:
        row, role, _ = await load_party_call(session, ident, call_id)
        return row, role

    won = await settle(deps, party_call, event, actor=ident.user_id, device=dev.device_id)
    if not won:
        raise ServiceError(ErrorCode.INVALID_STATE, "the call changed meanwhile")


async def fail(deps: CallDeps, call_id: str) -> None:
    """The media server failed the call: it ends ``FAILED`` for both parties."""
    await settle(deps, by_id(call_id), StatusEvent.MEDIA_FAILED)
