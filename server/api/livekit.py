"""LiveKit: its webhooks (signature verified), and my tenant's rooms and their participants."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from server.api.deps import CallsDep, IdentityDep
from server.auth import Identity
from server.calls import webhooks
from server.calls.deps import CallDeps
from server.db import calls as call_data
from server.errors import ServiceError
from server.media import MediaUnavailable, WebhookRejected
from voip_contract import ErrorCode

router = APIRouter()


@router.post("/livekit/webhook", status_code=200)
async def livekit_webhook(request: Request, deps: CallsDep) -> dict[str, bool]:
    raw = await request.body()  # bounded by server.bodylimit (VOIP_MAX_WEBHOOK_BODY_BYTES)
    try:
        notice = deps.media.verify_webhook(
            raw.decode("utf-8", "replace"), request.headers.get("authorization")
        )
    except WebhookRejected as exc:
        raise ServiceError(ErrorCode.UNAUTHORIZED, f"webhook refused: {exc}") from exc
    await webhooks.on_webhook(deps, notice)
    return {"ok": True}


class RoomOut(BaseModel):
    name: str
    sid: str
    num_participants: int


class ParticipantOut(BaseModel):
    identity: str
    name: str


async def _tenant_prefix(deps: CallDeps, ident: Identity) -> str:
    async with deps.sessions() as session:
        return f"{await deps.tenants.slug(session, ident.tenant_id)}_"


async def _owned(deps: CallDeps, ident: Identity, names: list[str]) -> set[str]:
    """Which of ``names`` are rooms of calls of the caller's tenant: the call table decides,
    not the name (a prefix ``acme_`` also matches tenant ``acme_eu``'s rooms)."""
    async with deps.sessions() as session:
        return await call_data.rooms_of_tenant(session, tenant_id=ident.tenant_id, names=names)


@router.get("/rooms/active", response_model=list[RoomOut])
async def active_rooms(ident: IdentityDep, deps: CallsDep) -> list[RoomOut]:
    prefix = await _tenant_prefix(deps, ident)
    try:
        rooms = await deps.media.list_rooms(prefix)
    except MediaUnavailable as exc:
        raise ServiceError(ErrorCode.UNAVAILABLE, "media server unavailable") from exc
    mine = await _owned(deps, ident, [r.name for r in rooms])
    return [
        RoomOut(name=r.name, sid=r.sid, num_participants=r.num_participants)
        for r in rooms
        if r.name in mine
    ]


@router.get("/rooms/{room_name}/participants", response_model=list[ParticipantOut])
async def room_participants(
    room_name: str, ident: IdentityDep, deps: CallsDep
) -> list[ParticipantOut]:
    if len(room_name) > 128 or not await _owned(deps, ident, [room_name]):
        raise ServiceError(ErrorCode.NOT_FOUND, "no such room")
    try:
        people = await deps.media.list_participants(room_name)
    except MediaUnavailable as exc:
        raise ServiceError(ErrorCode.UNAVAILABLE, "media server unavailable") from exc
    return [ParticipantOut(identity=p.identity, name=p.name) for p in people]
