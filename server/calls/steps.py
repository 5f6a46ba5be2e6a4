"""A move of the call table (:mod:`server.callstate`) written to the database.

Every status change is one conditional UPDATE (``... WHERE id = :id AND status = :from``) plus a
``call_events`` row, in one transaction that also frees both parties' lines when the status is
final. Whoever's UPDATE changes the row is the one node or device that goes on to tell the
parties; everyone else learns they lost.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import ColumnElement

from server import callstate
from server.auth import Identity
from server.calls.deps import CallDeps
from server.callstate import IllegalStatusEvent, Role, StatusEvent, Transition
from server.db import calls as call_data
from server.db import folded as folded_data
from server.db import push as push_data
from server.db import webhooks as hook_data
from server.db.models import CallRow
from server.db.transaction import Db
from server.db.users import PartyRow
from server.errors import ServiceError
from server.webhooks import events as webhook_events
from voip_contract import CallStatus, ErrorCode

SYSTEM_ACTOR = "system"
"""``call_events.actor`` of what the server does itself (timers, webhooks, media failures)."""


def legal_step(status: CallStatus, event: StatusEvent, role: Role) -> Transition:
    """The table's row for ``event`` by ``role``; a :class:`ServiceError` for a client otherwise:
    ``forbidden`` when the event exists in this status for another role, else ``invalid_state``."""
    try:
        return callstate.transition(status, event, role)
    except IllegalStatusEvent as exc:
        row = callstate.TRANSITIONS.get((status, event))
        code = ErrorCode.FORBIDDEN if row is not None else ErrorCode.INVALID_STATE
        raise ServiceError(code, str(exc)) from exc


async def load_party_call(
    session: Db, ident: Identity, call_id: str
) -> tuple[CallRow, Role, dict[str, PartyRow]]:
    """The call ``ident`` is a party of, its role in it, and both parties (names only: their
    lines are not read here); ``not_found`` for anyone else, exactly as for no call at all."""
    found = await call_data.load_call_with_parties(session, call_id=call_id)
    if found is None or ident.user_id not in (found[0].caller_id, found[0].callee_id):
        raise ServiceError(ErrorCode.NOT_FOUND, "no such call")
    row, parties = found
    role = Role.CALLER if row.caller_id == ident.user_id else Role.CALLEE
    return row, role, parties


def _changes(
    row: CallRow, step: Transition, now: datetime, values: dict[str, Any] | None
) -> dict[str, Any]:
    """The columns ``step`` sets on ``row`` at ``now``, besides ``values``."""
    changes: dict[str, Any] = {"status": step.target.value, **(values or {})}
    if step.reason is not None:
        changes["reason"] = step.reason.value
    if step.target.is_final:
        changes["ended_at"] = now
        if row.answered_at is not None:
            changes["duration_s"] = round((now - row.answered_at).total_seconds(), 3)
    return changes


async def write_step(
    deps: CallDeps,
    session: Db,
    row: CallRow,
    step: Transition,
    *,
    actor: str,
    device: str | None,
    values: dict[str, Any] | None = None,
    guard: ColumnElement[bool] | None = None,
) -> bool:
    """Write ``step`` unless the row moved first or ``guard`` fails, and commit; whether it won."""
    now = deps.clock.now()
    changes = _changes(row, step, now, values)
    event = _event_row(step, now, actor, device)
    folded = guard is None and folded_data.applies(session)
    stops_ringing = deps.push.enabled and step.source is CallStatus.RINGING
    # Nothing to write beside the folded statement: it may be its own transaction.
    alone = folded and not stops_ringing and _no_delivery(session, row, step)
    won = await _decide(session, row, step, changes, event, folded=folded, alone=alone, guard=guard)
    if not won:
        await session.rollback()
        return False
    hooked = await _write_consequences(
        session, row, step, changes, event, now=now, written=folded, cancels=stops_ringing
    )
    await session.commit()
    if hooked:  # a kick costs the sender a look at the outbox: only when it has news
        deps.webhooks.kick()
    if stops_ringing:
        deps.push.kick()
    # Mirror the change on the loaded row without making it dirty: a later autoflush must
    # never write these values again unconditionally (that could undo a later transition).
    for name, value in changes.items():
        set_committed_value(row, name, value)
    return True


async def _decide(
    session: Db,
    row: CallRow,
    step: Transition,
    changes: dict[str, Any],
    event: dict[str, Any],
    *,
    folded: bool,
    alone: bool,
    guard: ColumnElement[bool] | None,
) -> bool:
    """The step's conditional UPDATE; whether it changed the row. ``folded`` (PostgreSQL, no
    ``guard``): the release of the lines and the event row ride in its statement; ``alone``:
    and it is the step's only write (:func:`server.db.folded.write_step`)."""
    if folded:
        return await folded_data.write_step(
            session,
            call_id=row.id,
            from_status=step.source.value,
            changes=changes,
            release=(row.caller_id, row.callee_id) if step.target.is_final else (),
            event=event,
            alone=alone,
        )
    return await call_data.update_status(
        session, call_id=row.id, from_status=step.source.value, changes=changes, guard=guard
    )


def _no_delivery(session: Db, row: CallRow, step: Transition) -> bool:
    """Whether the step writes no webhook delivery: its event is none the CRM hears of, or
    the step's own SELECT found no endpoint of the tenant."""
    if webhook_events.event_for_status(step.target.value) is None:
        return True
    return hook_data.noted_none(session, tenant_id=row.tenant_id)


def _event_row(step: Transition, now: datetime, actor: str, device: str | None) -> dict[str, Any]:
    """The ``call_events`` row of ``step`` (its call aside)."""
    return {
        "at": now,
        "event": step.event.value,
        "from_status": step.source.value,
        "to_status": step.target.value,
        "reason": step.reason.value if step.reason else None,
        "actor": actor,
        "device": device,
    }


async def _write_consequences(
    session: Db,
    row: CallRow,
    step: Transition,
    changes: dict[str, Any],
    event: dict[str, Any],
    *,
    now: datetime,
    written: bool,
    cancels: bool,
) -> bool:
    """What a won step writes beside the row, in its transaction: the lines it frees and the
    ``call_events`` row (unless ``written``: they were in the UPDATE's statement), the push
    cancels (``cancels``), and the CRM's webhook outbox; whether a webhook delivery was
    written."""
    if not written and step.target.is_final:  # the call no longer holds its parties' lines
        parties = (row.caller_id, row.callee_id)
        await call_data.release_lines(session, call_id=row.id, user_ids=parties)
    if cancels:  # every notification of it must stop: cancels, in this transaction
        await push_data.enqueue_cancels(session, call_id=row.id, status=step.target.value, at=now)
    if not written:
        await call_data.insert_event(session, call_id=row.id, **event)
    kind = webhook_events.event_for_status(step.target.value)
    if kind is None:
        return False
    # the CRM hears of it: in this transaction (an outbox)
    return await webhook_events.enqueue(session, row, kind, at=now, changes=changes)
