"""``accept`` (the first answer wins, then the room and both tokens) and the rejoin token.

Accept first locks the answer in (RINGING -> IN_PROGRESS, one conditional UPDATE), then creates
the LiveKit room and mints two room-scoped tokens: the callee's comes back in the ack, the
caller's goes in ``accepted`` to the calling device's current socket only. Tokens are never
broadcast and never minted before the answer. If LiveKit cannot be reached, the call ends
``FAILED`` / ``media_unavailable`` for both parties.
"""

from __future__ import annotations

import logging

from server.auth import Identity
from server.calls import announce, recording, settle
from server.calls.deps import CallDeps, DeviceSocket
from server.calls.steps import legal_step, load_party_call, write_step
from server.callstate import Role, StatusEvent
from server.db import calls as call_data
from server.db.models import CallRow
from server.db.users import PartyRow
from server.errors import ServiceError
from server.media import MediaUnavailable, participant_identity
from voip_contract import CallStatus, ErrorCode, RoomToken

log = logging.getLogger(__name__)


async def accept(deps: CallDeps, ident: Identity, dev: DeviceSocket, call_id: str) -> RoomToken:
    """``dev`` answers: the callee's room token; ``accepted`` with the caller's goes out."""
    row, parties = await _lock_in_answer(deps, ident, dev, call_id)
    assert row.room_name is not None
    await announce.answered_elsewhere(deps.notifier, row, answering_sid=dev.sid)
    try:
        room_sid = await deps.media.create_room(row.room_name)
        caller_token = _token(deps, row, parties[row.caller_id], row.caller_device)
        callee_token = _token(deps, row, parties[row.callee_id], dev.device_id)
    except MediaUnavailable as exc:
        log.warning("media unavailable at accept", extra={"call": row.id, "error": str(exc)})
        await settle.fail(deps, row.id)
        raise ServiceError(ErrorCode.UNAVAILABLE, "media server unavailable") from exc
    async with deps.sessions() as session:
        caller_sid = await call_data.set_room_sid(session, call_id=row.id, room_sid=room_sid)
        await session.commit()
    if caller_sid is None:
        deps.background.spawn(settle.delete_room(deps.media, row.room_name))
        raise ServiceError(ErrorCode.INVALID_STATE, "the call ended while it was answered")
    await announce.accepted(deps.notifier, row, caller_sid=caller_sid, token=caller_token)
    deps.background.spawn(recording.start_at_answer(deps, row.id))  # never delays the answer
    return callee_token


async def _lock_in_answer(
    deps: CallDeps, ident: Identity, dev: DeviceSocket, call_id: str
) -> tuple[CallRow, dict[str, PartyRow]]:
    """RINGING -> IN_PROGRESS for ``dev`` and the room's name; ``invalid_state`` when another
    device answered first or the call ended."""
    async with deps.sessions() as session:
        row, role, parties = await load_party_call(session, ident, call_id)
        step = legal_step(CallStatus(row.status), StatusEvent.ACCEPT, role)
        slug = await deps.tenants.slug(session, row.tenant_id)
        answer = {
            "answered_at": deps.clock.now(),
            "answer_device": dev.device_id,
            "answer_sid": dev.sid,
            "room_name": f"{slug}_{row.id}",
        }
        won = await write_step(
            deps, session, row, step, actor=ident.user_id, device=dev.device_id, values=answer
        )
        if not won:
            raise ServiceError(ErrorCode.INVALID_STATE, "the call was answered or ended")
    return row, parties


def _token(deps: CallDeps, row: CallRow, user: PartyRow, device_id: str) -> RoomToken:
    """A token for ``device_id`` of ``user`` to join ``row``'s room, and where."""
    assert row.room_name is not None
    token = deps.media.mint_token(
        room=row.room_name,
        identity=participant_identity(user.id, device_id),
        name=user.display_name,
    )
    return RoomToken(livekit_url=deps.media.client_url, room_name=row.room_name, token=token)


async def rejoin_token(
    deps: CallDeps, ident: Identity, call_id: str, device_id: str | None
) -> RoomToken:
    """A fresh room token to rejoin an IN_PROGRESS call: only for the device on it (the
    caller's calling device, the callee's answering device), named by ``device_id``."""
    async with deps.sessions() as session:
        row, role, parties = await load_party_call(session, ident, call_id)
    if row.status != CallStatus.IN_PROGRESS.value or row.room_name is None:
        raise ServiceError(ErrorCode.INVALID_STATE, "the call is not in progress")
    stored: str | None
    stored_sid: str | None
    if role is Role.CALLER:
        stored, stored_sid = row.caller_device, row.caller_sid
    else:
        stored, stored_sid = row.answer_device, row.answer_sid
    if device_id is None and stored == stored_sid:
        # That device connected without naming itself (its device is its socket id, which
        # changes on every reconnect): it cannot name itself now, so it may rejoin unnamed.
        device_id = stored
    if device_id is None:
        # A named device always names itself; an unnamed request is another device, and a
        # token under the stored identity would push the device on the call out of the
        # room (LiveKit drops the older of two participants with one identity).
        raise ServiceError(
            ErrorCode.FORBIDDEN,
            "Say which device is rejoining (device_id): only the device on the call may.",
        )
    if device_id != stored:
        raise ServiceError(ErrorCode.FORBIDDEN, "This call is on another of your devices.")
    try:
        return _token(deps, row, parties[ident.user_id], device_id)
    except MediaUnavailable as exc:
        raise ServiceError(ErrorCode.UNAVAILABLE, "media server unavailable") from exc
