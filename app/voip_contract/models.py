"""Payloads of the contract (HTTP bodies and Socket.IO events) as pydantic models: each
:class:`~voip_contract.base.Inbound` (strict, closed, bounded) or
:class:`~voip_contract.base.Outbound` (open to extension). Signing in is in
:mod:`voip_contract.signin`, a call's note and outcomes in :mod:`voip_contract.notes`, push
payloads in :mod:`voip_contract.push` (the first two re-exported here).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import ConfigDict, Field

from voip_contract.base import ID_MAX, PRESENCE_WATCH_MAX, Inbound, Outbound
from voip_contract.errors import ErrorCode

# Re-exported: they were defined here, and ``voip_contract.models`` stays the one place to import
# the payloads from.
from voip_contract.notes import DEFAULT_OUTCOMES as DEFAULT_OUTCOMES
from voip_contract.notes import NOTE_MAX as NOTE_MAX
from voip_contract.notes import OUTCOME_MAX as OUTCOME_MAX
from voip_contract.notes import CallNote as CallNote
from voip_contract.notes import NotePayload as NotePayload
from voip_contract.notes import OutcomeName as OutcomeName
from voip_contract.notes import Outcomes as Outcomes
from voip_contract.signin import LoginRequest as LoginRequest
from voip_contract.signin import LoginResponse as LoginResponse
from voip_contract.signin import LogoutRequest as LogoutRequest
from voip_contract.signin import SignInSession as SignInSession
from voip_contract.signin import SignInSessionList as SignInSessionList
from voip_contract.signin import User as User


class CallStatus(StrEnum):
    """Where a call stands.

    ``RINGING -> IN_PROGRESS -> COMPLETED``; ``RINGING -> MISSED | DECLINED | CANCELED | FAILED``;
    ``BUSY`` for an invite that cannot ring. Every status but the first two is final.
    """

    RINGING = "RINGING"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    MISSED = "MISSED"
    DECLINED = "DECLINED"
    CANCELED = "CANCELED"
    FAILED = "FAILED"
    BUSY = "BUSY"

    @property
    def is_final(self) -> bool:
        return self not in (CallStatus.RINGING, CallStatus.IN_PROGRESS)


class Reason(StrEnum):
    """Why a call reached its final status (``call.reason``, ``ended.reason``)."""

    HANGUP = "hangup"
    DECLINED = "declined"
    CANCELED = "canceled"
    RING_TIMEOUT = "ring_timeout"
    CALLEE_BUSY = "callee_busy"
    CALLEE_OFFLINE = "callee_offline"
    MEDIA_UNAVAILABLE = "media_unavailable"
    PARTICIPANT_LEFT = "participant_left"
    ROOM_FINISHED = "room_finished"


Presence = Literal["online", "busy", "offline"]
Direction = Literal["outgoing", "incoming"]


# --- HTTP -----------------------------------------------------------------------------------


class Contact(Outbound):
    id: str
    display_name: str
    email: str
    presence: Presence


class Party(Outbound):
    id: str
    display_name: str


class CallContext(Outbound):
    """The CRM record a call was placed from (a deal, a contact...), as the caller's app gave it
    in ``invite``."""

    object_type: str
    object_id: str
    label: str


RecordingStatus = Literal["starting", "active", "complete", "failed"]
RecordingPolicy = Literal["off", "all", "on_demand"]


class Recording(Outbound):
    """A call's recording (``call.recording``): ``starting -> active -> complete | failed``;
    ``duration_s`` and ``size_bytes`` once complete."""

    id: str
    status: RecordingStatus
    duration_s: float | None = None
    size_bytes: int | None = None


class RecordingUrl(Outbound):
    """``POST /api/recordings/{id}/url``: a URL that plays this one recording for this user
    without a bearer header (for players that take only a URL), good until ``expires_at``."""

    url: str
    expires_at: datetime


class Call(Outbound):
    """A call as one of its parties sees it (``direction`` is relative to the viewer)."""

    id: str
    caller: Party
    callee: Party
    direction: Direction
    status: CallStatus
    reason: Reason | None = None
    created_at: datetime
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    duration_s: float | None = None
    context: CallContext | None = None
    note: CallNote | None = None
    recording: Recording | None = None
    """The call's latest recording, if it has one (and it was not deleted)."""


T = TypeVar("T")


class Page(Outbound, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class RoomToken(Outbound):
    """Where and how to join the call's LiveKit room (ack of ``accept``, ``POST .../token``)."""

    livekit_url: str
    room_name: str
    token: str


class ErrorBody(Outbound):
    code: ErrorCode
    message: str


# --- Socket.IO: client -> server --------------------------------------------------------------


class InviteContext(Inbound):
    """``invite``'s optional ``context``: the CRM record the rep called from."""

    object_type: str = Field(min_length=1, max_length=64)
    object_id: str = Field(min_length=1, max_length=128)
    label: str = Field(min_length=1, max_length=200)


class InvitePayload(Inbound):
    callee_id: str = Field(min_length=1, max_length=ID_MAX)
    request_id: str = Field(min_length=1, max_length=ID_MAX)
    context: InviteContext | None = None


class CallIdPayload(Inbound):
    """Payload of ``accept``, ``decline``, ``cancel`` and ``hangup``."""

    call_id: str = Field(min_length=1, max_length=ID_MAX)


class SyncPayload(Inbound):
    pass


class RenewTokenPayload(Inbound):
    """``renew_token``: the socket's renewed access token (same user), presented before the
    one it connected with expires; the server closes a socket whose token expired. The ack
    carries ``expires_at`` (ISO 8601) of the token now in force."""

    token: str = Field(min_length=1, max_length=4096)


class PresenceWatchPayload(Inbound):
    """``presence_watch``: the users whose ``presence`` this socket wants from now on (it
    replaces the socket's previous watch; ``[]`` stops watching). Ids that are not users of
    the caller's tenant are ignored."""

    user_ids: list[Annotated[str, Field(min_length=1, max_length=ID_MAX)]] = Field(
        max_length=PRESENCE_WATCH_MAX
    )


class Ack(Outbound):
    """Every ack: ``{"ok": true, ...}`` or ``{"ok": false, "error": {...}}``."""

    model_config = ConfigDict(extra="allow", frozen=True)

    ok: bool
    error: ErrorBody | None = None

    @classmethod
    def success(cls, **fields: Any) -> dict[str, Any]:
        return {"ok": True, **fields}

    @classmethod
    def failure(cls, code: ErrorCode, message: str) -> dict[str, Any]:
        return {"ok": False, "error": {"code": code.value, "message": message}}


# --- Socket.IO: server -> client --------------------------------------------------------------


class Incoming(Outbound):
    call: Call
    ring_expires_at: datetime
    recording: bool = False
    """Consent: the call will be recorded once answered (the tenant records all calls)."""


class RecordingChanged(Outbound):
    """``recording``: a recording of the call started, ended or failed (to both parties)."""

    call_id: str
    recording_id: str
    status: RecordingStatus


class Ringing(Outbound):
    call_id: str


class Accepted(RoomToken):
    call_id: str


class AnsweredElsewhere(Outbound):
    call_id: str


class Ended(Outbound):
    call_id: str
    status: CallStatus
    reason: Reason | None = None
    recording: Recording | None = None


class PresenceChanged(Outbound):
    user_id: str
    presence: Presence


class PresenceSnapshot(Outbound):
    """Ack of ``presence_watch``: the current presence of every watched user of the tenant
    (ids that were ignored are absent)."""

    presence: list[PresenceChanged]
