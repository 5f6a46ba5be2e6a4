"""A party's outcome and note on a finished call, and the tenant's list of outcomes.

The note is written, and its ``call.note`` webhook event with it, in one transaction: the CRM
hears of every note as it hears of every step.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Identity
from server.calls.deps import CallDeps
from server.calls.steps import load_party_call
from server.calls.views import calls_seen_by
from server.db import calls as call_data
from server.db import notes as note_data
from server.errors import ServiceError
from server.webhooks import events as webhook_events
from voip_contract import Call, ErrorCode
from voip_contract.models import DEFAULT_OUTCOMES, NotePayload


async def outcomes(session: AsyncSession, tenant_id: str) -> list[str]:
    """The tenant's outcomes (the default list until its admins set theirs)."""
    stored = await note_data.outcomes_of(session, tenant_id=tenant_id)
    return stored.split(",") if stored else list(DEFAULT_OUTCOMES)


async def set_outcomes(session: AsyncSession, tenant_id: str, given: list[str]) -> list[str]:
    """Replace the tenant's outcomes (duplicates dropped, order kept)."""
    unique = list(dict.fromkeys(o.strip() for o in given if o.strip()))
    if not unique:
        raise ServiceError(ErrorCode.INVALID_PAYLOAD, "outcomes: at least one")
    await note_data.set_outcomes(session, tenant_id=tenant_id, outcomes=",".join(unique))
    return unique


async def write_note(deps: CallDeps, ident: Identity, call_id: str, body: NotePayload) -> Call:
    """``ident``'s note on its finished call (it replaces an earlier one): ``not_found`` for a
    call it is not a party of, ``invalid_state`` while the call goes on, ``invalid_payload``
    for an outcome the tenant does not have, or neither outcome nor text."""
    text = (body.text or "").strip() or None
    if body.outcome is None and text is None:
        raise ServiceError(ErrorCode.INVALID_PAYLOAD, "give an outcome, a note, or both")
    async with deps.sessions() as session:
        row, _, _ = await load_party_call(session, ident, call_id)
        if body.outcome is not None and body.outcome not in await outcomes(session, row.tenant_id):
            raise ServiceError(ErrorCode.INVALID_PAYLOAD, f"outcome: unknown {body.outcome!r}")
        now = deps.clock.now()
        values = {"outcome": body.outcome, "note": text, "note_by": ident.user_id, "note_at": now}
        if not await note_data.set_note(
            session, call_id=row.id, outcome=body.outcome, text=text, by=ident.user_id, at=now
        ):
            raise ServiceError(ErrorCode.INVALID_STATE, "a note is added once the call is over")
        await webhook_events.enqueue(session, row, webhook_events.NOTE, at=now, changes=values)
        await session.commit()
        deps.webhooks.kick()
        fresh = await call_data.load_call(session, call_id=row.id)
        assert fresh is not None
        return (await calls_seen_by(session, [fresh], ident.user_id))[0]
