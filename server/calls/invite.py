"""``invite``: a call is written, and rings, or ends at once (``BUSY``, ``MISSED`` offline).

An invite reads everything it decides on in one SELECT (:func:`server.db.users.invite_facts`).
One line per user is a database fact, not a check-then-act: the invite that would ring claims
both parties' lines with one conditional UPDATE in the transaction that inserts the call; if
another invite took a line first, the transaction is rolled back and the invite decided again.
A retried invite (same ``request_id``) returns the call the first one made.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from server import callstate
from server.auth import Identity
from server.calls import announce, presence, recording
from server.calls.deps import CallDeps, DeviceSocket
from server.calls.settle import announce_end
from server.calls.views import call_view
from server.callstate import Opening
from server.db import calls as call_data
from server.db import folded as folded_data
from server.db import locks
from server.db import push as push_data
from server.db import users as user_data
from server.db.models import CallRow, new_id
from server.db.transaction import Db
from server.db.users import InviteFacts, PartyRow
from server.errors import ServiceError
from server.webhooks import events as webhook_events
from voip_contract import Call, CallStatus, ErrorCode, InvitePayload

RATE_WINDOW = timedelta(seconds=60)


async def invite(
    deps: CallDeps, ident: Identity, dev: DeviceSocket, payload: InvitePayload
) -> Call:
    """Place a call from ``ident`` to ``payload.callee_id``; the call as the caller sees it."""
    call, _ = await place(deps, ident, dev, payload)
    return call


async def place(
    deps: CallDeps, ident: Identity, dev: DeviceSocket, payload: InvitePayload
) -> tuple[Call, bool]:
    """:func:`invite`, and whether the call will be recorded once answered (the tenant's
    policy is ``all``), read in the invite's own SELECT."""
    if payload.callee_id == ident.user_id:
        raise ServiceError(ErrorCode.SELF_CALL, "you cannot call yourself")
    now = deps.clock.now()
    row: CallRow | None = None
    parties: dict[str, PartyRow] = {}
    async with deps.transactions() as session:
        # The caller's invites one after another (PostgreSQL): the limit's count and the
        # insert it allows are one step, exact under parallel invites on any node.
        await locks.serialize(session, f"invite:{ident.user_id}")
        facts = await user_data.invite_facts(
            session,
            caller_id=ident.user_id,
            callee_id=payload.callee_id,
            request_id=payload.request_id,
            since=now - RATE_WINDOW,
            live_since=deps.live_since(now),
        )
        if facts.existing_call_id is None:
            _admit(deps, ident, payload, facts)
            row, parties, hooked = await _open_call(deps, session, ident, dev, payload, facts, now)
    if row is None:  # a retried invite (same request_id): the call it made
        retried = await _retried(deps, ident, dev, payload)
        return retried, await recording.consent(deps, ident.tenant_id)
    if hooked:
        deps.webhooks.kick()
    recorded = recording.effective_policy(deps, facts.recording_policy) == "all"
    if row.status == CallStatus.RINGING.value:
        deps.push.kick()  # after the commit, on the sender's own task
        await announce.ringing(deps.notifier, row, parties, recording=recorded)
        await presence.publish(deps, row.tenant_id, [row.caller_id, row.callee_id])
    elif CallStatus(row.status).is_final and row.caller_sid == dev.sid:
        await announce_end(deps, row)
    return call_view(row, parties, ident.user_id), recorded


def _admit(deps: CallDeps, ident: Identity, payload: InvitePayload, facts: InviteFacts) -> None:
    """Refuse an invite to nobody or another tenant (alike), or past the caller's rate limit."""
    callee = facts.users.get(payload.callee_id)
    # Another tenant's user is answered as nobody: an id tells nothing about who exists.
    if callee is None or ident.user_id not in facts.users or callee.tenant_id != ident.tenant_id:
        raise ServiceError(ErrorCode.NOT_FOUND, "no such user")
    if facts.recent_invites >= deps.settings.invite_limit_per_min:
        raise ServiceError(ErrorCode.RATE_LIMITED, "too many calls; try again in a minute")


def _opening(caller: PartyRow, callee: PartyRow, live: bool, *, lost_race: bool = False) -> Opening:
    """What an invite from ``caller`` finds; ``lost_race``: its claim of the lines failed."""
    if caller.active_call_id is not None:
        raise ServiceError(ErrorCode.INVALID_STATE, "you are already in a call")
    if lost_race or callee.active_call_id is not None:
        return Opening.BUSY
    return Opening.REACHABLE if live else Opening.OFFLINE


async def _open_call(
    deps: CallDeps,
    session: Db,
    ident: Identity,
    dev: DeviceSocket,
    payload: InvitePayload,
    facts: InviteFacts,
    now: datetime,
) -> tuple[CallRow | None, dict[str, PartyRow], bool]:
    """Insert the call, claim both lines if it rings, log the invite (and write its pushes),
    commit; ``None`` when a call with this ``request_id`` exists already (a raced retry);
    and whether a webhook delivery was written."""
    me, callee_id, users = ident.user_id, payload.callee_id, facts.users
    # A callee rings on a live socket, or on a device a push can wake (push on).
    reachable = facts.callee_live or (deps.push.enabled and facts.callee_pushable)
    opening = _opening(users[me], users[callee_id], reachable)
    folded = folded_data.applies(session)
    if folded:  # PostgreSQL: the claim and the event row ride in the call's INSERT
        row, claimed = await _open_folded(deps, session, ident, dev, payload, opening, now)
    else:
        row = await _insert_call(deps, session, ident, dev, payload, opening, now)
        claimed = (
            row is None
            or opening is not Opening.REACHABLE
            or await call_data.claim_lines(session, call_id=row.id, user_ids=(me, callee_id))
        )
    if not claimed:
        # Another invite took one of the two lines since we looked: that call rings,
        # this one does not (the claim is the decision, not the look).
        await session.rollback()
        users = await user_data.users_by_id(session, ids=(me, callee_id))
        opening = _opening(users[me], users[callee_id], reachable, lost_race=True)
        row = await _insert_call(deps, session, ident, dev, payload, opening, now)
        folded = False
    if row is None:
        return None, users, False
    hooked = await _log_invite(deps, session, row, dev, now, logged=folded)
    await session.commit()
    return row, users, hooked


def _invite_event(row: CallRow, dev: DeviceSocket, now: datetime) -> dict[str, Any]:
    """The invite's ``call_events`` row (its call aside)."""
    return {
        "at": now,
        "event": "invite",
        "from_status": None,
        "to_status": row.status,
        "reason": row.reason,
        "actor": row.caller_id,
        "device": dev.device_id,
    }


async def _log_invite(
    deps: CallDeps,
    session: Db,
    row: CallRow,
    dev: DeviceSocket,
    now: datetime,
    *,
    logged: bool,
) -> bool:
    """The invite's ``call_events`` row (unless ``logged``: it was in the call's INSERT) and,
    if it rings, its pushes (in its transaction); whether a webhook endpoint wants the
    invite's event (a delivery was written)."""
    if not logged:
        await call_data.insert_event(session, call_id=row.id, **_invite_event(row, dev, now))
    event = webhook_events.event_for_status(row.status)
    hooked = False
    if event is not None:  # the CRM hears of it: in this transaction (an outbox)
        hooked = await webhook_events.enqueue(session, row, event, at=now)
    if deps.push.enabled and row.ring_deadline is not None:
        await push_data.enqueue_incoming(
            session, call_id=row.id, callee_id=row.callee_id, at=now, expires_at=row.ring_deadline
        )
    return hooked


async def _open_folded(
    deps: CallDeps,
    session: Db,
    ident: Identity,
    dev: DeviceSocket,
    payload: InvitePayload,
    opening: Opening,
    now: datetime,
) -> tuple[CallRow | None, bool]:
    """PostgreSQL: the new call, its event row and (ringing) the claim of both lines in one
    statement; ``None`` (rolled back) if its ``request_id`` was used; whether both lines
    were claimed (or none was to be)."""
    values = _call_values(deps, ident, dev, payload, opening, now)
    row = call_data.call_row(values)
    claim = (ident.user_id, payload.callee_id) if opening is Opening.REACHABLE else ()
    claimed = await folded_data.open_call(
        session, values=values, claim=claim, event=_invite_event(row, dev, now)
    )
    if claimed is None:
        return None, True
    return row, claimed == (len(claim) or 1)


async def _insert_call(
    deps: CallDeps,
    session: Db,
    ident: Identity,
    dev: DeviceSocket,
    payload: InvitePayload,
    opening: Opening,
    now: datetime,
) -> CallRow | None:
    """The new call, INSERTed; ``None`` (rolled back) if its ``request_id`` was used."""
    values = _call_values(deps, ident, dev, payload, opening, now)
    if not await call_data.insert_call(session, values=values):
        return None
    return call_data.call_row(values)


def _call_values(
    deps: CallDeps,
    ident: Identity,
    dev: DeviceSocket,
    payload: InvitePayload,
    opening: Opening,
    now: datetime,
) -> dict[str, Any]:
    """The new call's columns."""
    status, reason = callstate.open_call(opening)
    ringing = status is CallStatus.RINGING
    values: dict[str, Any] = {
        "id": new_id(),
        "tenant_id": ident.tenant_id,
        "caller_id": ident.user_id,
        "callee_id": payload.callee_id,
        "request_id": payload.request_id,
        "status": status.value,
        "reason": reason.value if reason else None,
        "created_at": now,
        "ring_deadline": now + timedelta(seconds=deps.settings.ring_timeout_s) if ringing else None,
        "ended_at": now if status.is_final else None,
        "caller_device": dev.device_id,
        "caller_sid": dev.sid,
        **_context(payload),
    }
    return values


def _context(payload: InvitePayload) -> dict[str, Any]:
    """The CRM record the invite names, as the call's columns (none: all ``None``)."""
    given = payload.context
    return {
        "context_type": given.object_type if given else None,
        "context_id": given.object_id if given else None,
        "context_label": given.label if given else None,
    }


async def _retried(
    deps: CallDeps, ident: Identity, dev: DeviceSocket, payload: InvitePayload
) -> Call:
    """The call a retried (or raced) invite with the same ``request_id`` created; a retry
    from a new socket of the calling device, while the call rings, moves ``accepted`` to
    that socket (conditional on the status and the device, so it never takes a call
    another device placed, nor one answered meanwhile)."""
    async with deps.sessions() as session:
        first = await call_data.call_by_request(
            session, caller_id=ident.user_id, request_id=payload.request_id
        )
        if first is not None and first.callee_id != payload.callee_id:
            raise ServiceError(
                ErrorCode.INVALID_PAYLOAD, "request_id was used for a call to someone else"
            )
        await call_data.follow_retry(
            session,
            user_id=ident.user_id,
            request_id=payload.request_id,
            device_id=dev.device_id,
            sid=dev.sid,
        )
        await session.commit()
        row = await call_data.call_by_request(
            session, caller_id=ident.user_id, request_id=payload.request_id
        )
        if row is None:
            raise ServiceError(ErrorCode.INVALID_STATE, "the invite could not be stored")
        parties = await user_data.users_by_id(session, ids=(row.caller_id, row.callee_id))
    return call_view(row, parties, ident.user_id)
