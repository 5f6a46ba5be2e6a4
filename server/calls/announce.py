"""Telling clients: the :class:`Notifier` (whom an event goes to, in the server's own terms:
users, tenants, watchers, one socket) and the events of a call's life built from its row.

The Socket.IO side (:class:`server.sio.notifier.SocketNotifier`) maps these to its rooms; the
call operations never name a room.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from server.calls.views import call_view
from server.db.models import CallRow
from server.db.users import PartyRow
from voip_contract import (
    Accepted,
    AnsweredElsewhere,
    CallStatus,
    Ended,
    Incoming,
    Recording,
    Ringing,
    RoomToken,
    ServerEvent,
)

Payload = dict[str, Any]


class Notifier(Protocol):
    """Delivers server -> client events, on this node or (with Redis) any node."""

    async def to_user(
        self, user_id: str, event: ServerEvent, data: Payload, *, except_sid: str | None = None
    ) -> None:
        """Every connected device of ``user_id`` (but the socket ``except_sid``)."""
        ...

    async def to_tenant(self, tenant_id: str, event: ServerEvent, data: Payload) -> None:
        """Every connected device of every user of ``tenant_id``."""
        ...

    async def to_watchers(self, user_id: str, event: ServerEvent, data: Payload) -> None:
        """Every socket that watches ``user_id``'s presence (``presence_watch``)."""
        ...

    async def to_socket(self, sid: str, event: ServerEvent, data: Payload) -> None:
        """One socket, on whichever node holds it."""
        ...

    async def watched_among(self, user_ids: Sequence[str]) -> list[str]:
        """Those of ``user_ids`` that a socket on some node may be watching, in order (a user
        left out is watched by no socket on any node)."""
        ...

    async def disconnect(self, sid: str) -> None:
        """Close one socket, on whichever node holds it (access taken away)."""
        ...


def incoming(row: CallRow, parties: Mapping[str, PartyRow], *, recording: bool = False) -> Payload:
    """``incoming`` for the callee's devices: the call as the callee sees it, its deadline, and
    whether it will be recorded (consent, before the callee answers)."""
    assert row.ring_deadline is not None
    view = call_view(row, parties, row.callee_id)
    payload = Incoming(call=view, ring_expires_at=row.ring_deadline, recording=recording)
    return payload.model_dump(mode="json")


async def ringing(
    notifier: Notifier, row: CallRow, parties: Mapping[str, PartyRow], *, recording: bool = False
) -> None:
    """A call started to ring: ``incoming`` to every device of the callee, ``ringing`` to the
    caller's."""
    data = incoming(row, parties, recording=recording)
    await notifier.to_user(row.callee_id, ServerEvent.INCOMING, data)
    ring = Ringing(call_id=row.id).model_dump(mode="json")
    await notifier.to_user(row.caller_id, ServerEvent.RINGING, ring)


async def answered_elsewhere(notifier: Notifier, row: CallRow, *, answering_sid: str) -> None:
    """``answered_elsewhere`` to the callee's devices but the one that answered."""
    elsewhere = AnsweredElsewhere(call_id=row.id).model_dump(mode="json")
    await notifier.to_user(
        row.callee_id, ServerEvent.ANSWERED_ELSEWHERE, elsewhere, except_sid=answering_sid
    )


async def accepted(notifier: Notifier, row: CallRow, *, caller_sid: str, token: RoomToken) -> None:
    """``accepted`` with the caller's room token, to the caller's one socket only."""
    accepted = Accepted(
        call_id=row.id, livekit_url=token.livekit_url, room_name=token.room_name, token=token.token
    )
    data = accepted.model_dump(mode="json")
    await notifier.to_socket(caller_sid, ServerEvent.ACCEPTED, data)


async def ended(notifier: Notifier, row: CallRow, recording: Recording | None = None) -> None:
    """``ended`` to every device of both parties (with the call's recording, if any)."""
    payload = Ended(
        call_id=row.id, status=CallStatus(row.status), reason=row.reason, recording=recording
    )
    data = payload.model_dump(mode="json")
    await notifier.to_user(row.caller_id, ServerEvent.ENDED, data)
    await notifier.to_user(row.callee_id, ServerEvent.ENDED, data)
