"""Who hears a presence change, and what a watch may see.

Presence is derived in the database (:func:`server.db.presence.presence_of`). A change goes to
the whole tenant up to ``VOIP_PRESENCE_FANOUT_MAX`` users (one event per connected device),
above it only to the sockets that watch the user (``presence_watch``: one event per watcher),
so a change costs O(watchers), not O(tenant).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from server.auth import Identity
from server.calls.deps import CallDeps
from server.db import users as user_data
from server.db.presence import presence_of
from voip_contract import Presence, PresenceChanged, ServerEvent


async def fans_out(deps: CallDeps, tenant_id: str) -> bool:
    """The whole tenant hears its users' changes (it is at most the fan-out limit)."""
    size = await deps.tenants.size(deps.sessions, tenant_id)
    return size <= deps.settings.presence_fanout_max


@dataclass(frozen=True)
class Hearing:
    """Who hears a change of some users of one tenant: the whole tenant, or each user's
    watchers; ``user_ids``: those of the users whose change reaches anyone."""

    tenant_id: str
    tenant_hears: bool
    user_ids: list[str]


async def heard(deps: CallDeps, tenant_id: str, user_ids: Sequence[str]) -> Hearing:
    """Who hears a change of ``user_ids``: all of them up to the fan-out limit (the tenant
    hears); above it, those a socket may be watching. That is known on every node
    (:mod:`server.sio.watches`)."""
    if await fans_out(deps, tenant_id):
        return Hearing(tenant_id, True, list(user_ids))
    return Hearing(tenant_id, False, await deps.notifier.watched_among(user_ids))


async def publish(deps: CallDeps, tenant_id: str, user_ids: Sequence[str]) -> None:
    """Tell those who can hear it where these users stand now."""
    await tell(deps, await heard(deps, tenant_id, user_ids))


async def tell(deps: CallDeps, hearing: Hearing) -> None:
    """Tell ``hearing``'s hearers where its users stand now (who hears was read before)."""
    if not hearing.user_ids:
        return
    async with deps.sessions() as session:
        states = await presence_of(
            session, user_ids=hearing.user_ids, live_since=deps.live_since(), push=deps.push.enabled
        )
    for uid, state in states.items():
        data = PresenceChanged(user_id=uid, presence=state).model_dump(mode="json")
        if hearing.tenant_hears:
            await deps.notifier.to_tenant(hearing.tenant_id, ServerEvent.PRESENCE, data)
        else:
            await deps.notifier.to_watchers(uid, ServerEvent.PRESENCE, data)


async def watchable(deps: CallDeps, ident: Identity, user_ids: Sequence[str]) -> list[str]:
    """The ids (deduplicated, in order) that are users of the caller's own tenant: the only
    ones ``presence_watch`` may watch. Unknown ids and other tenants' users are dropped
    alike, so the answer tells nothing about who exists elsewhere."""
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        return []
    async with deps.sessions() as session:
        found = await user_data.tenant_users_among(session, tenant_id=ident.tenant_id, ids=wanted)
    return [uid for uid in wanted if uid in found]


async def snapshot(deps: CallDeps, user_ids: Sequence[str]) -> dict[str, Presence]:
    """Where these users stand now (the caller checked they are of its tenant)."""
    async with deps.sessions() as session:
        return await presence_of(
            session, user_ids=user_ids, live_since=deps.live_since(), push=deps.push.enabled
        )
