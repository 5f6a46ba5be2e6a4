"""The wire contract between the app and the call server, as types.

One vocabulary for the server, the app and the tests (``shared/ARCHITECTURE.md`` is the prose
version): a renamed field or event breaks at import time, not in the field.

- :mod:`voip_contract.models`: HTTP and Socket.IO payloads (pydantic models), with
  :mod:`voip_contract.signin` (signing in), :mod:`voip_contract.notes` (a call's note and
  outcomes), :mod:`voip_contract.push` and :mod:`voip_contract.admin` beside it.
- :mod:`voip_contract.events`: Socket.IO namespace and event names.
- :mod:`voip_contract.errors`: the error codes every ack and HTTP error uses.

This package lives under ``app/`` because the app bundle (``flet build``) packs only ``app/``; the
server depends on it from there.
"""

from __future__ import annotations

from voip_contract.errors import ErrorCode
from voip_contract.events import NAMESPACE, ClientEvent, ServerEvent
from voip_contract.models import (
    Accepted,
    Ack,
    AnsweredElsewhere,
    Call,
    CallContext,
    CallIdPayload,
    CallNote,
    CallStatus,
    Contact,
    Direction,
    Ended,
    ErrorBody,
    Incoming,
    InvitePayload,
    LoginRequest,
    LoginResponse,
    LogoutRequest,
    Page,
    Party,
    Presence,
    PresenceChanged,
    PresenceSnapshot,
    PresenceWatchPayload,
    Reason,
    Recording,
    RecordingChanged,
    RecordingPolicy,
    RecordingStatus,
    RecordingUrl,
    RenewTokenPayload,
    Ringing,
    RoomToken,
    SignInSession,
    SignInSessionList,
    SyncPayload,
    User,
)
from voip_contract.push import CancelPush, IncomingPush, PushDecline, PushRegistration

__all__ = [
    "NAMESPACE",
    "Accepted",
    "Ack",
    "AnsweredElsewhere",
    "Call",
    "CallContext",
    "CallIdPayload",
    "CallNote",
    "CallStatus",
    "CancelPush",
    "ClientEvent",
    "Contact",
    "Direction",
    "Ended",
    "ErrorBody",
    "ErrorCode",
    "Incoming",
    "IncomingPush",
    "InvitePayload",
    "LoginRequest",
    "LoginResponse",
    "LogoutRequest",
    "Page",
    "Party",
    "Presence",
    "PresenceChanged",
    "PresenceSnapshot",
    "PresenceWatchPayload",
    "PushDecline",
    "PushRegistration",
    "Reason",
    "Recording",
    "RecordingChanged",
    "RecordingPolicy",
    "RecordingStatus",
    "RecordingUrl",
    "RenewTokenPayload",
    "Ringing",
    "RoomToken",
    "ServerEvent",
    "SignInSession",
    "SignInSessionList",
    "SyncPayload",
    "User",
]
