"""``PUT /api/calls/{id}/note`` (a party's outcome and note), ``GET /api/outcomes`` (the
tenant's outcomes) and ``PUT /api/admin/outcomes`` (its admins set them)."""

from __future__ import annotations

from fastapi import APIRouter

from server.api.admin import AdminDep
from server.api.deps import CallsDep, DbDep, IdentityDep
from server.calls import notes
from voip_contract import Call
from voip_contract.base import ID_MAX
from voip_contract.models import NotePayload, Outcomes

router = APIRouter()


@router.put("/calls/{call_id}/note", response_model=Call)
async def put_note(call_id: str, body: NotePayload, ident: IdentityDep, deps: CallsDep) -> Call:
    """Only a party of the call, once it is over; the CRM gets a ``call.note`` webhook."""
    return await notes.write_note(deps, ident, call_id[:ID_MAX], body)


@router.get("/outcomes", response_model=Outcomes)
async def get_outcomes(ident: IdentityDep, session: DbDep) -> Outcomes:
    return Outcomes(outcomes=await notes.outcomes(session, ident.tenant_id))


@router.put("/admin/outcomes", response_model=Outcomes)
async def put_outcomes(body: Outcomes, admin: AdminDep, session: DbDep) -> Outcomes:
    chosen = await notes.set_outcomes(session, admin.tenant_id, body.outcomes)
    await session.commit()
    return Outcomes(outcomes=chosen)
