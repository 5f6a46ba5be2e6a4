"""Taking access away: disabling a user, revoking a sign-in session, and closing the sockets
that may not stay.

Every request checks the token's user and session in the database
(:func:`server.auth.authenticate`), so HTTP refuses at once on every node. Sockets are closed
twice over: at once through the notifier (which, with Redis, reaches the node that holds the
socket), and by every node's sweep (:func:`close_sockets`, every ``VOIP_SWEEP_INTERVAL_S``),
which also covers ``voip-server disable-user`` run from a shell, with no socket server at hand.
The sweep also ends the calls of disabled users (:func:`end_calls_of_disabled`).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Identity
from server.calls import presence
from server.calls.deps import CallDeps
from server.calls.settle import Find, settle
from server.callstate import Role, StatusEvent
from server.db import access as access_data
from server.db import calls as call_data
from server.db import push as push_data
from server.db.models import CallRow, User
from server.db.transaction import Db
from voip_contract import CallStatus

log = logging.getLogger(__name__)


async def disable_user(deps: CallDeps, tenant_id: str, user_id: str) -> bool:
    """Disable ``user_id`` of ``tenant_id`` now, on every node: their tokens are refused, their
    sessions revoked, their sockets closed, their calls ended. ``False``: no such user there."""
    now = deps.clock.now()
    async with deps.sessions() as session:
        if not await _in_tenant(session, tenant_id, user_id):
            return False
        await access_data.set_disabled(session, user_id=user_id, at=now)
        await access_data.revoke(session, user_id=user_id, at=now)
        sids = await access_data.socket_ids(session, user_id=user_id)
        await session.commit()
    await _close(deps, sids)
    await end_calls_of_disabled(deps)
    return True


async def enable_user(deps: CallDeps, tenant_id: str, user_id: str) -> bool:
    """Let ``user_id`` sign in again (their old sessions stay revoked)."""
    async with deps.sessions() as session:
        if not await _in_tenant(session, tenant_id, user_id):
            return False
        await access_data.set_disabled(session, user_id=user_id, at=None)
        await session.commit()
    return True


async def revoke_session(
    deps: CallDeps,
    tenant_id: str,
    user_id: str,
    session_id: str,
    *,
    device_id: str | None = None,
) -> bool:
    """Sign out session ``session_id`` of ``user_id``: renewal refused, its sockets closed, the
    push registration of its device (or ``device_id``) removed. ``False``: no such session."""
    async with deps.sessions() as session:
        revoked = await access_data.revoke(
            session, user_id=user_id, at=deps.clock.now(), session_id=session_id
        )
        sids = await access_data.socket_ids(session, user_id=user_id, session_id=session_id)
        removed = False
        for device in {device_id, *(r.device_id for r in revoked)}:
            if device is not None:
                removed |= await push_data.remove_push_for_device(
                    session, user_id=user_id, device_id=device
                )
        await session.commit()
    await _close(deps, sids)
    if removed and deps.push.enabled:  # reachable by push no more
        await presence.publish(deps, tenant_id, [user_id])
    return bool(revoked)


async def renewed(deps: CallDeps, sid: str, ident: Identity) -> None:
    """Socket ``sid`` presented a renewed token (``ident``): it may stay until that expires."""
    async with deps.sessions() as session:
        await access_data.renew_socket(
            session, sid=sid, session_id=ident.session_id, expires_at=ident.expires_at
        )
        await session.commit()


async def close_sockets(deps: CallDeps, *, now: datetime) -> int:
    """Close this node's sockets whose user is disabled, session revoked or token expired at
    ``now``; how many."""
    async with deps.sessions() as session:
        sids = await access_data.sockets_to_close(session, node_id=deps.settings.node, now=now)
    await _close(deps, sids)
    return len(sids)


async def end_calls_of_disabled(deps: CallDeps) -> int:
    """End every call not over of a disabled party, as if that party hung up."""
    async with deps.sessions() as session:
        rows = await access_data.active_calls_of_disabled(session)
    ended = 0
    for call_id, user_id in rows:
        ended += await settle(deps, _as_party(call_id, user_id), StatusEvent.HANGUP)
    return ended


def _as_party(call_id: str, user_id: str) -> Find:
    async def find(session: Db) -> tuple[CallRow, Role] | None:
        row = await call_data.load_call(session, call_id=call_id)
        if row is None or CallStatus(row.status).is_final:
            return None
        return row, Role.CALLER if row.caller_id == user_id else Role.CALLEE

    return find


async def _close(deps: CallDeps, sids: list[str]) -> None:
    for sid in sids:
        try:
            await deps.notifier.disconnect(sid)
        except Exception:  # one socket that cannot be closed now: the sweep tries again
            log.exception("socket not closed", extra={"sid": sid})


async def _in_tenant(session: AsyncSession, tenant_id: str, user_id: str) -> bool:
    user = await session.get(User, user_id)
    return user is not None and user.tenant_id == tenant_id
