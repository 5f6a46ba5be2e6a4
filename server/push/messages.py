"""What a push says: FCM HTTP v1 messages built from a claimed outbox row. No I/O.

Data messages only (no ``notification`` block): the app's native side decides what to show, and
a data message reaches it with the app in the background or killed. Every value is a string
(FCM's rule for ``data``). Nothing secret travels: no access token, no LiveKit token; an
``incoming`` carries only a capability that can decline that one call, until the ring ends.

- ``incoming``: ``{type, call_id, caller_id, caller_name, ring_expires_at, decline_capability,
  context_label}`` (the label of the CRM record called from, or empty);
- ``cancel``: ``{type, call_id, status}`` (the call's status when it stopped ringing).

Android: priority ``HIGH`` (it wakes a phone in Doze), a time to live of what is left of the ring
(a phone that comes online later gets nothing; a cancel: of its minute of tries), and the call id
as collapse key, so a cancel that waits in FCM for an offline phone replaces that call's
``incoming``.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from server.db.push import CANCEL, INCOMING, OutboxItem
from voip_contract import CallStatus, CancelPush, IncomingPush

MIN_TTL_S = 1


def _strings(model: IncomingPush | CancelPush) -> dict[str, str]:
    return {key: str(value) for key, value in model.model_dump(mode="json").items()}


def incoming_data(
    item: OutboxItem, *, decline_capability: str, with_context: bool = True
) -> dict[str, str]:
    """The ``data`` of an ``incoming`` push; ``with_context``: the call's CRM context label too
    (it travels through FCM like the caller's name)."""
    assert item.kind == INCOMING
    push = IncomingPush(
        call_id=item.call_id,
        caller_id=item.caller_id,
        caller_name=item.caller_name,
        ring_expires_at=item.expires_at,
        decline_capability=decline_capability,
        context_label=(item.context_label or "") if with_context else "",
    )
    return _strings(push)


def cancel_data(item: OutboxItem) -> dict[str, str]:
    """The ``data`` of a ``cancel`` push."""
    assert item.kind == CANCEL
    assert item.status is not None
    return _strings(CancelPush(call_id=item.call_id, status=CallStatus(item.status)))


def ttl_s(item: OutboxItem, now: datetime) -> int:
    """What is left of ``item``'s time at ``now`` (the ring's; a cancel's minute), in whole
    seconds (at least one)."""
    return max(MIN_TTL_S, math.ceil((item.expires_at - now).total_seconds()))


def fcm_message(item: OutboxItem, data: dict[str, str], *, now: datetime) -> dict[str, Any]:
    """The body of ``POST /v1/projects/{project}/messages:send`` for ``item``'s device."""
    assert item.token is not None
    return {
        "message": {
            "token": item.token,
            "data": data,
            "android": {
                "priority": "HIGH",
                "ttl": f"{ttl_s(item, now)}s",
                "collapse_key": item.call_id,
            },
        }
    }
