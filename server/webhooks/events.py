"""The events of a call, written into the webhook outbox in the transaction of the step that
causes them: ``call.ringing`` (an invite that rings), ``call.answered``, ``call.ended`` (with the
final call record; also for a call that never rang: ``BUSY``, ``MISSED`` offline) and
``call.note``; and ``recording.ready`` once a call's recording is complete (its
``data.recording`` says which).

The body is Standard Webhooks' ``{"type", "timestamp", "data"}``; ``data.call`` is the call as
it stands after the step, the same for every endpoint and every attempt.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from server.db import webhooks as hook_data
from server.db.models import CallRow
from server.db.transaction import Db
from voip_contract import CallStatus

RINGING, ANSWERED, ENDED, NOTE = "call.ringing", "call.answered", "call.ended", "call.note"
RECORDING_READY = "recording.ready"


def event_for_status(status: str) -> str | None:
    """The event a call entering ``status`` causes."""
    if status == CallStatus.RINGING.value:
        return RINGING
    if status == CallStatus.IN_PROGRESS.value:
        return ANSWERED
    return ENDED if CallStatus(status).is_final else None


def _time(value: object) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if isinstance(value, datetime) else None


def call_record(row: CallRow, changes: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The call as a webhook tells it: ``row`` with ``changes`` applied."""
    now = {**{c: getattr(row, c) for c in _FIELDS}, **(changes or {})}
    context = None
    if now.get("context_type"):
        context = {
            "object_type": now["context_type"],
            "object_id": now["context_id"],
            "label": now["context_label"],
        }
    note = None
    if now.get("note_at") is not None:
        note = {
            "outcome": now["outcome"],
            "text": now["note"],
            "by": now["note_by"],
            "at": _time(now["note_at"]),
        }
    return {
        "id": row.id,
        "tenant_id": row.tenant_id,
        "caller_id": row.caller_id,
        "callee_id": row.callee_id,
        "status": now["status"],
        "reason": now["reason"],
        "created_at": _time(now["created_at"]),
        "answered_at": _time(now["answered_at"]),
        "ended_at": _time(now["ended_at"]),
        "duration_s": now["duration_s"],
        "context": context,
        "note": note,
    }


_FIELDS = (
    "status",
    "reason",
    "created_at",
    "answered_at",
    "ended_at",
    "duration_s",
    "context_type",
    "context_id",
    "context_label",
    "outcome",
    "note",
    "note_by",
    "note_at",
)


async def enqueue(
    session: Db,
    row: CallRow,
    event_type: str,
    *,
    at: datetime,
    changes: Mapping[str, Any] | None = None,
    more: Mapping[str, Any] | None = None,
) -> bool:
    """Write ``event_type`` about ``row`` (after ``changes``; ``more`` beside the call in
    ``data``) for every endpoint that wants it, in the caller's transaction; whether any does
    (the sender need not look otherwise)."""
    if not hook_data.may_deliver(session, tenant_id=row.tenant_id):
        return False  # the step's own SELECT found no endpoint: nothing to write
    data = {"call": call_record(row, changes), **(more or {})}
    body = {"type": event_type, "timestamp": _time(at), "data": data}
    return await hook_data.enqueue(
        session,
        tenant_id=row.tenant_id,
        call_id=row.id,
        event_id=f"msg_{uuid.uuid4().hex}",
        event_type=event_type,
        payload=json.dumps(body, separators=(",", ":")),
        at=at,
    )
