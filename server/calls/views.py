"""A call row as one party sees it: the contract's :class:`~voip_contract.Call`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Identity
from server.db import calls as call_data
from server.db import recordings as rec_data
from server.db import users as user_data
from server.db.models import CallRow, RecordingRow
from server.db.users import PartyRow
from voip_contract import Call, CallContext, CallNote, CallStatus, Party, Recording

if TYPE_CHECKING:  # (the deps' notifier builds on these views)
    from server.calls.deps import CallDeps


def call_view(
    row: CallRow,
    parties: Mapping[str, PartyRow],
    viewer_id: str,
    recording: RecordingRow | None = None,
) -> Call:
    """``row`` as ``viewer_id`` sees it (``direction`` is theirs); ``parties`` has both users;
    ``recording`` is the call's latest."""
    caller, callee = parties[row.caller_id], parties[row.callee_id]
    return Call(
        id=row.id,
        caller=Party(id=caller.id, display_name=caller.display_name),
        callee=Party(id=callee.id, display_name=callee.display_name),
        direction="outgoing" if viewer_id == row.caller_id else "incoming",
        status=CallStatus(row.status),
        reason=row.reason,
        created_at=row.created_at,
        answered_at=row.answered_at,
        ended_at=row.ended_at,
        duration_s=row.duration_s,
        context=context_of(row),
        note=note_of(row),
        recording=recording_view(recording),
    )


def recording_view(row: RecordingRow | None) -> Recording | None:
    if row is None:
        return None
    return Recording(
        id=row.id,
        status=row.status,
        duration_s=row.duration_s,
        size_bytes=row.size_bytes,
    )


def context_of(row: CallRow) -> CallContext | None:
    """The CRM record the call was placed from, if the caller named one."""
    if not (row.context_type and row.context_id and row.context_label):
        return None
    return CallContext(
        object_type=row.context_type, object_id=row.context_id, label=row.context_label
    )


def note_of(row: CallRow) -> CallNote | None:
    if row.note_at is None or row.note_by is None:
        return None
    return CallNote(outcome=row.outcome, text=row.note, by=row.note_by, at=row.note_at)


async def calls_seen_by(
    session: AsyncSession, rows: Sequence[CallRow], viewer_id: str
) -> list[Call]:
    """Each of ``rows`` as ``viewer_id`` sees it (one SELECT for the parties' names, one for
    the recordings)."""
    parties = await user_data.users_by_id(
        session, ids={u for r in rows for u in (r.caller_id, r.callee_id)}
    )
    answered = {r.id for r in rows if r.answered_at is not None}
    recordings = await rec_data.latest_for_calls(session, call_ids=answered)
    return [call_view(r, parties, viewer_id, recordings.get(r.id)) for r in rows]


async def active_calls(deps: CallDeps, ident: Identity) -> list[Call]:
    """``sync``: the ringing and answered calls ``ident`` is a party of, newest first."""
    async with deps.sessions() as session:
        rows = await call_data.active_calls_of(session, user_id=ident.user_id)
        return await calls_seen_by(session, rows, ident.user_id)
