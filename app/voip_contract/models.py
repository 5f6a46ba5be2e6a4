"""Payloads of the contract (HTTP bodies and Socket.IO events) as pydantic models.

Models the server *receives* forbid unknown fields and bound every string, so a malformed or
oversized payload is refused as ``invalid_payload`` before anything changes. Models the app
receives ignore unknown fields, so the server can extend the contract without breaking old apps.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from voip_contract.errors import ErrorCode

ID_MAX = 64
"""Longest id (user, call, request) the server accepts from a client."""
PUSH_TOKEN_MAX = 1024
"""Longest push token (FCM's are about 160 characters)."""
CAPABILITY_MAX = 2048
"""Longest decline capability a client may send back."""
PRESENCE_WATCH_MAX = 200
"""Most user ids one ``presence_watch`` may name (a page of contacts)."""


class Inbound(BaseModel):
    """A payload the server receives from a client: strict, closed, bounded."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Outbound(BaseModel):
    """A payload the server sends: clients ignore fields they do not know."""

    model_config = ConfigDict(extra="ignore", frozen=True)


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


class LoginRequest(Inbound):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=256)


class User(Outbound):
    id: str
    tenant_id: str
    email: str
    display_name: str


class LoginResponse(Outbound):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(ge=0)
    """Seconds the token is good for, from now."""
    user: User


class Contact(Outbound):
    id: str
    display_name: str
    email: str
    presence: Presence


class Party(Outbound):
    id: str
    display_name: str


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


class InvitePayload(Inbound):
    callee_id: str = Field(min_length=1, max_length=ID_MAX)
    request_id: str = Field(min_length=1, max_length=ID_MAX)


class CallIdPayload(Inbound):
    """Payload of ``accept``, ``decline``, ``cancel`` and ``hangup``."""

    call_id: str = Field(min_length=1, max_length=ID_MAX)


class SyncPayload(Inbound):
    pass


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


# --- push (HTTP in, FCM data messages out) ----------------------------------------------------


class PushRegistration(Inbound):
    """``PUT /api/devices/{device_id}/push``: wake this device with this token."""

    provider: Literal["fcm"]
    token: str = Field(min_length=1, max_length=PUSH_TOKEN_MAX, pattern=r"^[\x21-\x7e]+$")


class PushDecline(Inbound):
    """``POST /api/calls/{call_id}/push-decline``: the capability an ``incoming`` push carried."""

    capability: str = Field(min_length=1, max_length=CAPABILITY_MAX)


class IncomingPush(Outbound):
    """The ``data`` of an ``incoming`` push (every value a string, as FCM wants)."""

    type: Literal["incoming"] = "incoming"
    call_id: str
    caller_id: str
    caller_name: str
    ring_expires_at: datetime
    decline_capability: str
    """Declines this call for this callee until the ring ends, and does nothing else."""


class CancelPush(Outbound):
    """The ``data`` of a ``cancel`` push: the call stopped ringing (``status`` is its status then:
    ``IN_PROGRESS`` when answered, else its final status)."""

    type: Literal["cancel"] = "cancel"
    call_id: str
    status: CallStatus
