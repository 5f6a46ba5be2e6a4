"""A device's push registration (``PUT``/``DELETE /api/devices/{device_id}/push``) and a decline
from a notification, with the capability its push carried instead of a session.

A registration belongs to the signed-in user and the device it names: nobody can touch another
user's. A token is one device's: registering it takes it from whichever device had it (of any
user: a phone handed to a colleague). With push on, a registration makes its user reachable
(``online``), so its presence is published.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from server.auth import Identity
from server.calls import presence
from server.calls.deps import CallDeps
from server.calls.settle import settle
from server.callstate import Role, StatusEvent
from server.db import calls as call_data
from server.db import push as push_data
from server.db.models import CallRow
from server.db.transaction import Db
from server.errors import ServiceError
from server.push.capability import DeclineGrant
from voip_contract import ErrorCode, PushRegistration

ATTEMPTS = 3
"""A registration racing another for the same token or device is tried again (the unique
constraint decided, not a look)."""


async def register(deps: CallDeps, ident: Identity, device_id: str, body: PushRegistration) -> None:
    """``device_id`` of the signed-in user is woken with ``body.token`` from now on."""
    for _ in range(ATTEMPTS):
        taken_from = await _store(deps, ident, device_id, body)
        if taken_from is not None:
            break
    else:
        raise ServiceError(ErrorCode.INVALID_STATE, "the registration raced another; try again")
    if deps.push.enabled:
        await presence.publish(deps, ident.tenant_id, [ident.user_id])
        for user_id, tenant_id in taken_from:  # reachable no more, if that was their one device
            await presence.publish(deps, tenant_id, [user_id])


async def _store(
    deps: CallDeps, ident: Identity, device_id: str, body: PushRegistration
) -> list[tuple[str, str]] | None:
    """One try at writing the registration; ``None`` when a racing one made it fail."""
    async with deps.sessions() as session:
        try:
            taken_from = await push_data.register_device(
                session,
                user_id=ident.user_id,
                tenant_id=ident.tenant_id,
                device_id=device_id,
                provider=body.provider,
                token=body.token,
                at=deps.clock.now(),
            )
            await session.commit()
        except IntegrityError:
            await session.rollback()
            return None
    return taken_from


async def unregister(deps: CallDeps, ident: Identity, device_id: str) -> None:
    """Forget the push registration of ``device_id`` of the signed-in user (none: nothing)."""
    async with deps.sessions() as session:
        removed = await push_data.remove_push_for_device(
            session, user_id=ident.user_id, device_id=device_id
        )
        await session.commit()
    if removed and deps.push.enabled:
        await presence.publish(deps, ident.tenant_id, [ident.user_id])


async def decline_from_push(deps: CallDeps, grant: DeclineGrant) -> None:
    """The callee declined ``grant.call_id`` from the notification; ``invalid_state`` when it
    no longer rings."""

    async def callee_call(session: Db) -> tuple[CallRow, Role]:
        row = await call_data.load_call(session, call_id=grant.call_id)
        if row is None or row.callee_id != grant.callee_id:
            raise ServiceError(ErrorCode.NOT_FOUND, "no such call")
        return row, Role.CALLEE

    won = await settle(
        deps, callee_call, StatusEvent.DECLINE, actor=grant.callee_id, device=grant.device_id
    )
    if not won:
        raise ServiceError(ErrorCode.INVALID_STATE, "the call changed meanwhile")
